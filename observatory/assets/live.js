// The live pages: a session page replaces its body as Server-Sent Events
// bring it, and the list its rows. No framework, nothing fetched but our
// own stream.
(function () {
  "use strict";
  function status(text, live) {
    var s = document.querySelector(".live-status");
    if (s) { s.textContent = text; }
    var d = document.querySelector(".live-dot");
    if (d) { d.classList.toggle("off", !live); }
  }
  var live = document.getElementById("live");
  if (live && live.dataset.stream) {
    var es = new EventSource(live.dataset.stream);
    var apply = function (ev) {
      var data = JSON.parse(ev.data);
      // Keep the reader's place: the focused row and the filter.
      var box = live.querySelector("input.only-anomalies");
      var only = box && box.checked;
      live.innerHTML = data.html;
      var nb = live.querySelector("input.only-anomalies");
      if (nb) { nb.checked = only; }
      window.ritualObservatory.wire(live);
    };
    es.addEventListener("update", apply);
    es.addEventListener("end", function (ev) {
      apply(ev);
      es.close();
      status("Ended.", false);
    });
    es.onerror = function () { status("Reconnecting…", false); };
    es.onopen = function () { status("Live: this page grows as the session's events arrive.", true); };
  }
  var table = document.querySelector("table.sessions");
  if (table && table.dataset.stream) {
    var ls = new EventSource(table.dataset.stream);
    ls.addEventListener("rows", function (ev) {
      var data = JSON.parse(ev.data);
      table.tBodies[0].innerHTML = data.html;
      var older = document.querySelector(".older");
      if (older) { older.textContent = data.older; }
      status("Live: this list follows the grid as agents arrive.", true);
    });
    ls.onerror = function () { status("Reconnecting…", false); };
  }
})();
