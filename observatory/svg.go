package observatory

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ritual/trace"
	"ritual/trace/narrative"
	"ritual/trace/seqdiagram"
)

// Geometry of the sequence diagram, in SVG user units (pixels at 100 %).
const (
	seqLeft    = 84  // the time column
	seqLane    = 230 // distance between lanes
	seqTop     = 56  // below the lane headers
	seqRow     = 26  // one line of the diagram
	seqCharW   = 6.6 // average width of a character at 12 px
	seqMaxText = 150 // runes drawn before cutting (the full text is in <title>)
)

// esc escapes text for HTML and SVG content and attributes, after
// making it valid text: bad UTF-8 and control characters (other than tab
// and newline) become U+FFFD and spaces.
func esc(s string) string { return html.EscapeString(clean(s)) }

// clean makes s valid UTF-8 without the control characters that neither
// HTML nor XML allow.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n':
			return r
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfffe || r == 0xffff:
			return ' '
		}
		return r
	}, s)
}

// cut shortens s to n runes with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ms formats a duration in milliseconds with one decimal.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// writeSequenceSVG draws d as an inline SVG: a lane per participant, an
// arrow per message (dashed for answers, crossed when never received),
// notes over a lane for what one side saw, and bands over every lane for
// the parts of the story and a stall. Each row is focusable and carries
// its kind, so the page's script can walk and filter them.
func writeSequenceSVG(b *bytes.Buffer, d *seqdiagram.Diagram, t0 time.Time) {
	lanes := map[string]int{}
	for i, p := range d.Participants {
		lanes[p.ID] = i
	}
	x := func(id string) int { return seqLeft + seqLane/2 + lanes[id]*seqLane }
	width := seqLeft + len(d.Participants)*seqLane
	height := seqTop + len(d.Lines)*seqRow + 16
	fmt.Fprintf(b, `<svg class="seq" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="group" aria-label="Sequence diagram: %s">`+"\n",
		width, height, width, height, esc(d.Title))
	b.WriteString(`<defs><marker id="ah" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#34495e"/></marker>` +
		`<marker id="ax" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="10" markerHeight="10"><path d="M0,0L10,10M10,0L0,10" stroke="#c0392b" stroke-width="2"/></marker></defs>` + "\n")
	// Lanes and their headers.
	for i, p := range d.Participants {
		cx := seqLeft + seqLane/2 + i*seqLane
		fmt.Fprintf(b, `<g class="lane" data-lane="%s"><rect x="%d" y="8" width="%d" height="30" rx="4"/><text x="%d" y="28" text-anchor="middle">%s</text><line x1="%d" y1="38" x2="%d" y2="%d"/></g>`+"\n",
			esc(p.ID), cx-seqLane/2+12, seqLane-24, cx, esc(p.Label), cx, cx, height-8)
	}
	for i, l := range d.Lines {
		y := seqTop + i*seqRow
		classes := []string{"row", l.Kind}
		if l.Dashed {
			classes = append(classes, "answer")
		}
		if l.Lost {
			classes = append(classes, "lost")
		}
		if l.Anomalous() {
			classes = append(classes, "anomalous")
		}
		text := l.Text
		if l.Count > 1 && !strings.Contains(text, "×") {
			text += " ×" + strconv.Itoa(l.Count)
		}
		fmt.Fprintf(b, `<g class="%s" data-kind="%s" data-count="%d" tabindex="0"><title>%s</title>`,
			strings.Join(classes, " "), esc(l.Kind), l.Count, esc(text))
		if !l.At.IsZero() && !t0.IsZero() {
			fmt.Fprintf(b, `<text class="t" x="%d" y="%d" text-anchor="end">+%s</text>`, seqLeft-8, y+17, esc(ms(l.At.Sub(t0))))
		}
		switch {
		case l.Arrow():
			x1, x2 := x(l.From), x(l.To)
			lo := min(x1, x2)
			marker := `marker-end="url(#ah)"`
			if l.Lost {
				marker = `marker-end="url(#ax)"`
			}
			fmt.Fprintf(b, `<line class="msg" x1="%d" y1="%d" x2="%d" y2="%d" %s/>`, x1, y+20, x2, y+20, marker)
			// The label above the arrow, from its left end; long labels run
			// on over the next lanes.
			room := max(int(float64(width-lo-8)/seqCharW), 24)
			fmt.Fprintf(b, `<text class="label" x="%d" y="%d">%s</text>`, lo+6, y+15, esc(cut(text, min(room, seqMaxText))))
		default:
			x0, w := seqLeft+4, width-seqLeft-8
			if l.Over != "" {
				cx := x(l.Over)
				x0, w = cx-seqLane/2+6, seqLane-12
				// A long note runs on to the right, over the next lanes.
				need := int(float64(utf8.RuneCountInString(text))*seqCharW) + 14
				w = max(w, min(need, width-x0-4))
			}
			fmt.Fprintf(b, `<rect class="note" x="%d" y="%d" width="%d" height="%d" rx="3"/>`, x0, y+3, w, seqRow-6)
			room := max(int(float64(w-12)/seqCharW), 8)
			fmt.Fprintf(b, `<text class="label" x="%d" y="%d">%s</text>`, x0+6, y+17, esc(cut(text, min(room, seqMaxText))))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
}

// SequenceSVG writes the sequence diagram of events as a standalone SVG
// document (the one a report embeds). It returns seqdiagram.ErrNoEvents
// when there is nothing to draw.
func SequenceSVG(w io.Writer, events []trace.Event, opt Options) error {
	d, err := seqdiagram.Build(events, seqdiagram.Options{Show: opt.Show, Title: opt.Title})
	if err != nil {
		return err
	}
	var t0 time.Time
	if len(d.Lines) > 0 {
		t0 = narrative.Prepare(events, opt.Show)[0].Head().Time
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	writeSequenceSVG(&b, d, t0)
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("observatory: writing the diagram: %w", err)
	}
	return nil
}
