package seqdiagram

import (
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/narrative"
)

// Diagram is the sequence diagram as data, for renderers other than
// Mermaid (the observatory draws it as SVG): the same participants and
// lines Render writes, with plain text (no Mermaid entity codes; a
// renderer escapes for its own format).
type Diagram struct {
	Title        string
	Participants []Participant
	Lines        []Line
}

// Participant is one lane of the diagram.
type Participant struct {
	ID    string // "Client", "Login", "Region", "Caps" or one made from End
	End   string // the endpoint name of the events (trace.EndClient, ...)
	Label string // what to write over the lane
}

// Line kinds, beyond the message groups ("pkt", "cap", "eqpoll",
// "eqdeliver", "eqtimeout", "one").
const (
	KindPart    = "part"    // a note opening a part of the story, over every lane
	KindQuiet   = "quiet"   // the closing note counting the packets not drawn
	KindResent  = "resent"  // resent packets, folded
	KindAnomaly = "anomaly" // an anomaly, told over the side that saw it
	KindStall   = "stall"   // the diagnosis of a stall, over every lane
)

// Line is one arrow or note. From and To are participant ids for an
// arrow; Over is the participant a note sits over, or "" for a note over
// every lane.
type Line struct {
	Kind     string
	From, To string
	Over     string
	Text     string
	Dashed   bool // a response
	Lost     bool // sent and, with both sides recorded, never received
	Count    int  // events folded into the line (a stream's packets)
	Part     narrative.Part
	At       time.Time // when the first of its events was observed
}

// Arrow reports whether the line is an arrow between two lanes.
func (l Line) Arrow() bool { return l.From != "" }

// Anomalous reports whether the line tells something that did not go as
// the ritual expects: a resend, an anomaly, a lost packet or a stall.
func (l Line) Anomalous() bool {
	return l.Lost || l.Kind == KindResent || l.Kind == KindAnomaly || l.Kind == KindStall
}

// mermaidEntities undoes esc's entity codes.
var mermaidEntities = strings.NewReplacer("#35;", "#", "#59;", ";", "#60;", "<", "#62;", ">")

// Build returns the diagram of events as data. It returns ErrNoEvents when
// there is nothing to draw.
func Build(events []trace.Event, opt Options) (*Diagram, error) {
	evs := narrative.Prepare(events, opt.Show)
	if len(evs) == 0 {
		return nil, ErrNoEvents
	}
	lay := newDiagram(evs).layout(opt)
	out := &Diagram{Title: mermaidEntities.Replace(esc(lay.title, 0))}
	for i, id := range lay.ids {
		label := id
		for _, k := range known {
			if k.id == id && k.label != "" {
				label = k.label
			}
		}
		if label == id && !isKnown(id) {
			label = mermaidEntities.Replace(esc(lay.ends[i], 32))
		}
		out.Participants = append(out.Participants, Participant{ID: id, End: lay.ends[i], Label: label})
	}
	for _, l := range lay.body {
		ln := Line{
			Kind: l.kind, Text: mermaidEntities.Replace(l.text),
			Dashed: l.dashed, Lost: l.lost, Count: max(l.n, 1), Part: l.part, At: l.at,
		}
		switch {
		case l.from != "":
			ln.From, ln.To = participantID(l.from), participantID(l.to)
		case l.over != "*":
			ln.Over = participantID(l.over)
		}
		out.Lines = append(out.Lines, ln)
	}
	return out, nil
}

func isKnown(id string) bool {
	for _, k := range known {
		if k.id == id {
			return true
		}
	}
	return false
}
