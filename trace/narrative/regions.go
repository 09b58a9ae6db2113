package narrative

import (
	"fmt"
	"strconv"
	"strings"

	"ritual"
	"ritual/trace"
)

// PartRegions is the first of the parts that tell the rituals beyond the
// first region, one part per episode: a neighbour's child circuit, a
// border crossing, a teleport. The episode of PartRegions+k is the k-th
// to begin.
const PartRegions Part = PartStall + 1

// episode is one ritual in another region.
type episode struct {
	start int    // index of the event that began it
	kind  string // trace.ChildOpen, trace.CrossStart or trace.TeleportRequest
	ends  map[string]bool
	title string
}

// teleportMessages are told with the teleport under way, whichever
// circuit carries them.
var teleportMessages = map[string]bool{
	"TeleportLocationRequest": true, "TeleportLandmarkRequest": true, "TeleportStart": true,
	"TeleportProgress": true, "TeleportFailed": true, "TeleportLocal": true, "TeleportCancel": true,
	"MapNameRequest": true, "MapBlockReply": true,
}

// standardEnds are the parties of the first region's ritual.
var standardEnds = map[string]bool{
	trace.EndClient: true, trace.EndLogin: true, trace.EndRegion: true, trace.EndCaps: true, "": true,
}

// regionLane returns the region endpoint an event travels to or from when
// it is not one of the first ritual's parties ("region X,Y" for "caps
// X,Y" too), or "".
func regionLane(ev trace.Event) string {
	h := ev.Head()
	for _, e := range [2]string{h.From, h.To} {
		if standardEnds[e] {
			continue
		}
		if rest, ok := strings.CutPrefix(e, "caps "); ok {
			return "region " + rest
		}
		return e
	}
	return ""
}

// laneOf is regionLane, with the login region's lane for its packets
// once an episode has claimed it (a teleport back to it).
func laneOf(ev trace.Event) string {
	if l := regionLane(ev); l != "" {
		return l
	}
	switch ev.(type) {
	case *trace.Packet, *trace.CircuitClosed:
		h := ev.Head()
		if h.Layer == trace.UDP && (h.From == trace.EndRegion || h.To == trace.EndRegion) {
			return trace.EndRegion
		}
	}
	return ""
}

// classifyRegions moves the events of other regions' rituals into their
// episodes' parts and returns the episodes, in order. A region's events
// go to the latest episode that claimed its lane at or before them: a
// neighbour claims its lane when its circuit opens, a crossing the lane of
// the region it enters, a teleport the destination's lane at
// TeleportFinish. Region changes go to the episode under way.
func classifyRegions(evs []trace.Event, parts []Part) []*episode {
	var eps []*episode
	claim := map[string]int{} // lane → episode index
	current := -1
	for i, ev := range evs {
		if rc, ok := ev.(*trace.RegionChange); ok {
			switch rc.Kind {
			case trace.ChildOpen, trace.CrossStart, trace.TeleportRequest:
				eps = append(eps, &episode{start: i, kind: rc.Kind, ends: map[string]bool{}})
				current = len(eps) - 1
				if rc.Kind == trace.ChildOpen {
					// A neighbour's steps are told in its own part, whatever
					// comes between.
					claim[rc.End] = current
				}
			}
			ep := current
			if rc.Kind == trace.ChildReady || rc.Kind == trace.ChildSeed || rc.Kind == trace.ChildClosed {
				if k, ok := claim[rc.End]; ok {
					ep = k
				}
			}
			if rc.End != "" && (rc.Kind == trace.CrossStart || rc.Kind == trace.TeleportFinish) {
				claim[rc.End] = current
			}
			if ep >= 0 {
				parts[i] = PartRegions + Part(ep)
				eps[ep].ends[rc.End] = true
				if eps[ep].title == "" || rc.Region != "" && (rc.Kind == trace.ChildReady || rc.Kind == trace.CrossComplete || rc.Kind == trace.TeleportArrived) {
					eps[ep].title = episodeTitle(eps[ep].kind, rc)
				}
			}
			continue
		}
		switch parts[i] {
		case Background, PartEpilogue, PartStall:
			continue
		}
		if p, ok := ev.(*trace.Packet); ok && current >= 0 && eps[current].kind == trace.TeleportRequest && teleportMessages[p.Message] {
			parts[i] = PartRegions + Part(current)
			continue
		}
		if lane := laneOf(ev); lane != "" {
			if k, ok := claim[lane]; ok {
				parts[i] = PartRegions + Part(k)
			}
		}
	}
	return eps
}

func episodeTitle(kind string, rc *trace.RegionChange) string {
	name := rc.Region
	if name == "" && rc.Handle != 0 {
		x, y := ritual.RegionHandle(rc.Handle).Grid()
		name = "region " + strconv.Itoa(int(x)) + "," + strconv.Itoa(int(y))
	}
	switch kind {
	case trace.ChildOpen:
		if name == "" {
			return "A Neighbour (UDP, HTTP)"
		}
		return "A Neighbour, " + name + " (UDP, HTTP)"
	case trace.CrossStart:
		if name == "" {
			return "Crossing a Border (EQ, UDP)"
		}
		return "Crossing into " + name + " (EQ, UDP)"
	}
	if name == "" || rc.Kind == trace.TeleportRequest && rc.Region == "" && rc.Handle == 0 {
		return "A Teleport (UDP, EQ)"
	}
	return "A Teleport to " + name + " (UDP, EQ)"
}

// roman returns n (1 to 39) in Roman numerals, else the decimal.
func roman(n int) string {
	if n < 1 || n > 39 {
		return strconv.Itoa(n)
	}
	var b strings.Builder
	for ; n >= 10; n -= 10 {
		b.WriteString("X")
	}
	ones := []string{"", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"}
	b.WriteString(ones[n])
	return b.String()
}

// regionKindWords tells a region change's kind.
var regionKindWords = map[string]string{
	trace.ChildOpen:        "opens a child circuit to the neighbour",
	trace.ChildReady:       "sees across the border: the neighbour answered with RegionHandshake, and the client replied",
	trace.ChildSeed:        "learns the neighbour's seed capability (EstablishAgentCommunication)",
	trace.ChildClosed:      "closes its child circuit to the neighbour",
	trace.CrossStart:       "is handed across the border (CrossedRegion)",
	trace.CrossComplete:    "completes the crossing",
	trace.CrossFailed:      "is not taken by the neighbour: the crossing failed",
	trace.TeleportRequest:  "asks to teleport",
	trace.TeleportStart:    "hears the teleport begin (TeleportStart)",
	trace.TeleportProgress: "hears the teleport progress (TeleportProgress)",
	trace.TeleportFinish:   "is told the destination (TeleportFinish)",
	trace.TeleportLocal:    "is moved within the region (TeleportLocal)",
	trace.TeleportArrived:  "arrives (AgentMovementComplete from the destination)",
	trace.TeleportFailed:   "is told the teleport failed",
	trace.RegionComplete:   "has the whole ritual in the new region: movement complete, objects and terrain",
}

// tellRegionChange is the sentence of one region change.
func tellRegionChange(e *trace.RegionChange) string {
	var b strings.Builder
	subj := "The client "
	if e.Kind == trace.CrossStart || e.Kind == trace.CrossComplete || e.Kind == trace.TeleportArrived || e.Kind == trace.TeleportLocal {
		subj = "The agent "
	}
	words, ok := regionKindWords[e.Kind]
	if !ok {
		words = "records " + code(e.Kind)
	}
	b.WriteString(subj + words)
	var d []string
	if e.Region != "" {
		d = append(d, "region "+code(e.Region))
	}
	if e.Handle != 0 {
		x, y := ritual.RegionHandle(e.Handle).Grid()
		d = append(d, fmt.Sprintf("at grid %s", code(strconv.Itoa(int(x))+","+strconv.Itoa(int(y)))))
	}
	if e.Remote != "" {
		d = append(d, "address "+code(e.Remote))
	}
	if e.Position != nil {
		p := e.Position
		d = append(d, fmt.Sprintf("position %s", code(fmt.Sprintf("<%.1f, %.1f, %.1f>", p.X, p.Y, p.Z))))
	}
	if e.Seed != "" {
		d = append(d, "seed "+code(e.Seed))
	}
	if e.Flags != 0 {
		d = append(d, "flags "+code(fmt.Sprintf("0x%x", e.Flags)))
	}
	if e.Of > 0 {
		d = append(d, fmt.Sprintf("%s, %d/%d terrain patches", plural(e.Objects, "object", "objects"), e.Patches, e.Of))
	}
	if len(d) > 0 {
		b.WriteString(": " + strings.Join(d, ", "))
	}
	if e.Elapsed > 0 {
		b.WriteString(", " + dur(e.Elapsed) + " after the episode began")
	}
	if e.Reason != "" {
		b.WriteString(" — " + text(e.Reason))
	}
	return b.String()
}

// episodeTimings are the summary's lines for the rituals in other regions:
// how long each took to its outcome, as the client measured it.
func (s *story) episodeTimings() []string {
	var out []string
	for k, ep := range s.episodes {
		part := PartRegions + Part(k)
		var outcomes []string
		for i, ev := range s.evs {
			rc, ok := ev.(*trace.RegionChange)
			if !ok || s.parts[i] != part || rc.Elapsed <= 0 {
				continue
			}
			var what string
			switch rc.Kind {
			case trace.ChildReady:
				what = "neighbour ready"
			case trace.CrossComplete:
				what = "crossed"
			case trace.CrossFailed:
				what = "crossing failed"
			case trace.TeleportFinish:
				what = "to TeleportFinish"
			case trace.TeleportArrived:
				what = "arrived"
			case trace.TeleportLocal:
				what = "moved within the region"
			case trace.TeleportFailed:
				what = "failed"
			case trace.RegionComplete:
				what = "whole"
			default:
				continue
			}
			outcomes = append(outcomes, what+" in "+dur(rc.Elapsed))
		}
		if len(outcomes) == 0 {
			outcomes = []string{"no outcome recorded"}
		}
		title, _, _ := strings.Cut(ep.title, " (") // without the protocols
		out = append(out, fmt.Sprintf("%s, %s: %s", part.Title(), text(title), strings.Join(outcomes, ", ")))
	}
	return out
}
