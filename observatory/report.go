package observatory

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/narrative"
	"ritual/trace/seqdiagram"
)

//go:embed assets/observatory.css
var styleCSS string

//go:embed assets/observatory.js
var scriptJS string

// ErrNoEvents is returned by Report for a stream with nothing to show.
var ErrNoEvents = errors.New("observatory: no events to report")

// Options shape a report. The zero value masks secrets and takes the
// title from the events.
type Options struct {
	// Title replaces the generated title.
	Title string
	// Show reveals secrets; the default masks them as the narrative does.
	Show trace.Secrets
	// Narrative names the server and the client in the story.
	Narrative narrative.Options
}

// Report writes one self-contained HTML page telling the ritual of
// events: the stall diagnosis first when there is one, the phase
// waterfall, the sequence diagram as SVG, the terrain the client decoded
// with its objects, and the narrative. Nothing on the page is fetched:
// its style, script and images are inline. Report is deterministic: the
// same events give the same bytes.
func Report(w io.Writer, events []trace.Event, opt Options) error {
	evs := narrative.Prepare(events, opt.Show)
	if len(evs) == 0 {
		return ErrNoEvents
	}
	var body bytes.Buffer
	title, err := writeBody(&body, evs, opt)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	writeHead(&b, title)
	b.Write(body.Bytes())
	writeTail(&b, "")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("observatory: writing the report: %w", err)
	}
	return nil
}

// writeHead opens a page: its head with the inline style, and the skip
// link.
func writeHead(b *bytes.Buffer, title string) {
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n")
	fmt.Fprintf(b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", esc(title), styleCSS)
	b.WriteString(`<a class="skip" href="#main">Skip to the report</a>` + "\n")
}

// writeTail closes a page with the inline script and extra, a script of
// the page's own.
func writeTail(b *bytes.Buffer, extra string) {
	fmt.Fprintf(b, "<script>\n//<![CDATA[\n%s%s//]]>\n</script>\n</body>\n</html>\n", scriptJS, extra)
}

// writeBody writes the report of prepared events (sorted, masked): the
// header and the main sections. It returns the title.
func writeBody(b *bytes.Buffer, evs []trace.Event, opt Options) (string, error) {
	var story bytes.Buffer
	nopt := opt.Narrative
	nopt.Show, nopt.Title = opt.Show, opt.Title
	if err := narrative.Render(&story, evs, nopt); err != nil {
		return "", fmt.Errorf("observatory: the narrative: %w", err)
	}
	d, err := seqdiagram.Build(evs, seqdiagram.Options{Show: opt.Show, Title: opt.Title})
	if err != nil {
		return "", fmt.Errorf("observatory: the sequence diagram: %w", err)
	}
	title := d.Title
	t0 := evs[0].Head().Time

	fmt.Fprintf(b, "<header>\n<h1>%s</h1>\n", esc(title))
	writeSummary(b, evs)
	b.WriteString(`<nav aria-label="Sections"><ul><li><a href="#waterfall">Phases</a></li><li><a href="#diagram">Sequence diagram</a></li><li><a href="#terrain">Terrain</a></li><li><a href="#narrative">Narrative</a></li></ul></nav>` + "\n</header>\n")
	b.WriteString("<main id=\"main\">\n")
	if st := lastStall(evs); st != nil {
		writeStall(b, st)
	}
	b.WriteString("<section id=\"waterfall\" aria-labelledby=\"waterfall-h\">\n<h2 id=\"waterfall-h\">Phases</h2>\n")
	writeWaterfall(b, Waterfall(evs))
	b.WriteString("</section>\n")

	b.WriteString("<section id=\"diagram\" aria-labelledby=\"diagram-h\">\n<h2 id=\"diagram-h\">Sequence diagram</h2>\n")
	b.WriteString(`<p class="controls"><label><input type="checkbox" class="only-anomalies" /> Only resends, anomalies and stalls</label> <span class="hint">Arrow keys move between lines; streams are folded with their count (×n).</span></p>` + "\n")
	b.WriteString(`<div class="scroll" tabindex="0" role="region" aria-label="Sequence diagram, scrollable">` + "\n")
	writeSequenceSVG(b, d, t0)
	b.WriteString("</div>\n</section>\n")

	b.WriteString("<section id=\"terrain\" aria-labelledby=\"terrain-h\">\n<h2 id=\"terrain-h\">Terrain</h2>\n")
	if wv := lastWorldView(evs); wv != nil {
		var tb bytes.Buffer
		if err := writeTerrainSVG(&tb, wv); err != nil {
			fmt.Fprintf(b, "<p class=\"missing\">%s</p>\n", esc(err.Error()))
		} else {
			b.Write(tb.Bytes())
			fmt.Fprintf(b, "<p class=\"legend\">%s: %d/%d land patches, %s. North is up; <span class=\"key prim\">■</span> prims, <span class=\"key tree\">●</span> trees and grass, <span class=\"key avatar\">○</span> avatars.</p>\n",
				esc(orUnnamed(wv.Region)), wv.Patches, wv.Of, plural(len(wv.Objects), "object", "objects"))
		}
	} else {
		b.WriteString("<p class=\"missing\">No terrain: the events carry no view of the world from the client (a server-side log, or the client never got in).</p>\n")
	}
	b.WriteString("</section>\n")

	b.WriteString("<section id=\"narrative\" aria-labelledby=\"narrative-h\">\n<h2 id=\"narrative-h\">Narrative</h2>\n<div class=\"story\">\n")
	b.WriteString(markdownHTML(story.String()))
	b.WriteString("</div>\n</section>\n</main>\n")
	return title, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func lastStall(evs []trace.Event) *trace.Stall {
	var st *trace.Stall
	for _, ev := range evs {
		if s, ok := ev.(*trace.Stall); ok {
			st = s
		}
	}
	return st
}

// Outcome says how a ritual ended, as far as its events tell.
func Outcome(evs []trace.Event) string {
	o := "incomplete"
	for _, ev := range evs {
		switch e := ev.(type) {
		case *trace.Milestone:
			if e.Step == trace.MilestoneComplete {
				o = "complete"
			}
		case *trace.LoginResponse:
			if !e.OK {
				return "refused"
			}
		case *trace.Stall:
			return "stalled"
		}
	}
	return o
}

func writeSummary(b *bytes.Buffer, evs []trace.Event) {
	t0, t1 := evs[0].Head().Time, evs[len(evs)-1].Head().Time
	anomalies := 0
	sides := map[trace.Side]bool{}
	for _, ev := range evs {
		sides[ev.Head().Side] = true
		if _, ok := ev.(*trace.Anomaly); ok {
			anomalies++
		}
	}
	var seen []string
	for _, s := range []trace.Side{trace.Client, trace.Server} {
		if sides[s] {
			seen = append(seen, strings.ToLower(s.String()))
		}
	}
	o := Outcome(evs)
	fmt.Fprintf(b, `<p class="summary"><span class="state %s">%s</span> %s over %s, recorded at the %s; %s; from %s.</p>`+"\n",
		esc(strings.ReplaceAll(o, " ", "-")), esc(o), plural(len(evs), "event", "events"), esc(ms(t1.Sub(t0))),
		esc(strings.Join(seen, " and ")), plural(anomalies, "anomaly", "anomalies"), esc(t0.UTC().Format("2006-01-02 15:04:05.000 UTC")))
}

// writeStall writes the diagnosis banner.
func writeStall(b *bytes.Buffer, st *trace.Stall) {
	b.WriteString(`<section id="diagnosis" class="stall" role="alert" aria-labelledby="diagnosis-h">` + "\n")
	fmt.Fprintf(b, "<h2 id=\"diagnosis-h\">Stalled at step %d", st.Step)
	if st.Waited > 0 {
		fmt.Fprintf(b, " after %s", esc(st.Waited.Round(time.Millisecond).String()))
	}
	b.WriteString("</h2>\n<dl>")
	if st.LastSeen != "" {
		fmt.Fprintf(b, "<dt>Last seen</dt><dd>%s</dd>", esc(st.LastSeen))
	}
	if st.Expected != "" {
		fmt.Fprintf(b, "<dt>Expected next</dt><dd>%s</dd>", esc(st.Expected))
	}
	if st.Fault != "" {
		fmt.Fprintf(b, "<dt>At fault</dt><dd class=\"fault\">%s</dd>", esc(st.Fault))
	}
	b.WriteString("</dl>\n")
	if len(st.Causes) > 0 {
		b.WriteString("<p>Likely causes:</p>\n<ul>\n")
		for _, c := range st.Causes {
			fmt.Fprintf(b, "<li>%s</li>\n", esc(c))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("</section>\n")
}

// writeWaterfall draws the phases as bars on one time axis, with a table
// of the same figures for reading and for screen readers.
func writeWaterfall(b *bytes.Buffer, spans []Span) {
	const labelW, barW, rowH = 120, 560, 26
	var end time.Duration
	for _, s := range spans {
		if s.Started || s.Done {
			end = max(end, s.End)
		}
	}
	if end <= 0 {
		end = time.Millisecond
	}
	scale := func(d time.Duration) float64 { return float64(barW) * float64(d) / float64(end) }
	width, height := labelW+barW+110, len(spans)*rowH+30
	fmt.Fprintf(b, `<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="waterfall-title">`,
		width, height, width, height)
	b.WriteString(`<title id="waterfall-title">Phase waterfall: when each phase of the ritual began and ended</title>`)
	for i, s := range spans {
		y := i*rowH + 4
		state := "pending"
		switch {
		case s.Done:
			state = "done"
		case s.Started:
			state = "stuck"
		}
		fmt.Fprintf(b, `<g class="phase %s" data-phase="%s"><text class="name" x="0" y="%d">%s</text>`, state, esc(s.Name), y+16, esc(s.Name))
		if s.Started || s.Done {
			x, w := scale(s.Start), max(scale(s.End)-scale(s.Start), 2)
			fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, float64(labelW)+x, y+3, w, rowH-8)
			label := ms(s.Duration())
			if !s.Done {
				label = "not reached"
			}
			fmt.Fprintf(b, `<text class="dur" x="%.1f" y="%d">%s</text>`, float64(labelW)+x+w+6, y+16, esc(label))
		} else {
			fmt.Fprintf(b, `<text class="dur" x="%d" y="%d">not reached</text>`, labelW, y+16)
		}
		b.WriteString("</g>")
	}
	axisY := len(spans)*rowH + 12
	fmt.Fprintf(b, `<g class="axis"><line x1="%d" y1="%d" x2="%d" y2="%d"/><text x="%d" y="%d">0</text><text x="%d" y="%d" text-anchor="end">%s</text></g>`,
		labelW, axisY, labelW+barW, axisY, labelW, axisY+14, labelW+barW, axisY+14, esc(ms(end)))
	b.WriteString("</svg>\n")
	b.WriteString(`<table class="phases"><caption>Phase timings, from the first event</caption><thead><tr><th scope="col">Phase</th><th scope="col">Began</th><th scope="col">Ended</th><th scope="col">Took</th><th scope="col">Marked by</th></tr></thead><tbody>` + "\n")
	for _, s := range spans {
		began, ended, took := "—", "—", "not reached"
		if s.Started || s.Done {
			began = "+" + ms(s.Start)
		}
		if s.Done {
			ended, took = "+"+ms(s.End), ms(s.Duration())
		}
		fmt.Fprintf(b, "<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", esc(s.Name), esc(began), esc(ended), esc(took), esc(s.Note))
	}
	b.WriteString("</tbody></table>\n")
}
