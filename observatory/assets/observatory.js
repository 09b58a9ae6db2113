// The observatory's own script: keyboard walking and filtering of the
// sequence diagram. No framework, nothing fetched.
(function () {
  "use strict";
  function rows(svg) { return Array.prototype.slice.call(svg.querySelectorAll("g.row")); }
  function wire(svg) {
    if (!svg || svg.dataset.wired) { return; }
    svg.dataset.wired = "1";
    svg.addEventListener("keydown", function (e) {
      var all = rows(svg).filter(function (r) { return r.getAttribute("tabindex") === "0"; });
      var i = all.indexOf(document.activeElement);
      if (i < 0) { return; }
      var next = -1;
      if (e.key === "ArrowDown" || e.key === "j") { next = Math.min(i + 1, all.length - 1); }
      if (e.key === "ArrowUp" || e.key === "k") { next = Math.max(i - 1, 0); }
      if (e.key === "Home") { next = 0; }
      if (e.key === "End") { next = all.length - 1; }
      if (next >= 0) { e.preventDefault(); all[next].focus(); }
    });
  }
  function filter(box) {
    var section = box.closest("section") || document;
    var svg = section.querySelector("svg.seq");
    if (!svg) { return; }
    svg.classList.toggle("only-anomalies", box.checked);
    rows(svg).forEach(function (r) {
      var shown = !box.checked || r.classList.contains("anomalous") || r.classList.contains("part");
      r.setAttribute("tabindex", shown ? "0" : "-1");
      r.setAttribute("aria-hidden", shown ? "false" : "true");
    });
  }
  window.ritualObservatory = {
    wire: function (root) {
      (root || document).querySelectorAll("svg.seq").forEach(wire);
      (root || document).querySelectorAll("input.only-anomalies").forEach(function (box) {
        if (!box.dataset.wired) {
          box.dataset.wired = "1";
          box.addEventListener("change", function () { filter(box); });
        }
        filter(box);
      });
    }
  };
  window.ritualObservatory.wire(document);
})();
