package narrative

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"ritual/trace"
)

// Part is a section of the story. The zero Part, Background, holds the
// signals that are counted in the epilogue rather than told (PacketAck
// other than those of the handshake, StartPingCheck, CompletePingCheck,
// AgentUpdate).
type Part int

// The parts, in the order the story tells them.
const (
	Background    Part = iota
	PartLogin          // Part I: the login sequence (HTTP, XML-RPC or LLSD)
	PartHandshake      // Part II: UseCircuitCode, RegionHandshake and their acks
	PartCaps           // Part III: the seed capability, other capabilities, the event queue
	PartWorld          // Part IV: movement, objects, terrain and the rest of the UDP stream
	PartEpilogue       // logout and the closing of circuits
	PartStall          // the diagnosis of a stalled ritual
)

// Title returns the heading of the part without its protocol note, for
// example "Part II: The Handshake".
func (p Part) Title() string {
	switch p {
	case PartLogin:
		return "Part I: The Login Sequence"
	case PartHandshake:
		return "Part II: The Handshake"
	case PartCaps:
		return "Part III: The Capabilities"
	case PartWorld:
		return "Part IV: World Materialization"
	case PartEpilogue:
		return "Epilogue: Departure and Summary"
	case PartStall:
		return "Stall"
	}
	if p >= PartRegions {
		return "Part " + roman(int(PartWorld)+1+int(p-PartRegions))
	}
	return "Background"
}

// Messages sorted into parts by name.
var (
	handshakeMessages = map[string]bool{
		"UseCircuitCode":       true,
		"RegionHandshake":      true,
		"RegionHandshakeReply": true,
	}
	epilogueMessages = map[string]bool{
		"LogoutRequest":    true,
		"LogoutReply":      true,
		"CloseCircuit":     true,
		"KickUser":         true,
		"DisableSimulator": true,
	}
	backgroundMessages = map[string]bool{
		"PacketAck":         true,
		"StartPingCheck":    true,
		"CompletePingCheck": true,
		"AgentUpdate":       true,
	}
)

// Prepare returns events as the renderers read them: nil events (and
// events without a header) dropped,
// every event passed through trace.Visible (masked unless show), and the
// whole stably sorted by time. An event without a time keeps the time of
// the event before it (the first, of the first stamped event). The input slice and its events are not modified.
func Prepare(events []trace.Event, show trace.Secrets) []trace.Event {
	evs, _ := prepare(events, show)
	return evs
}

// prepare is Prepare that also returns the time each event is told at.
func prepare(events []trace.Event, show trace.Secrets) ([]trace.Event, []time.Time) {
	type timed struct {
		ev trace.Event
		t  time.Time
	}
	out := make([]timed, 0, len(events))
	var last time.Time // before any stamped event: the first stamped time
	for _, ev := range events {
		if !isNil(ev) && ev.Head() != nil && !ev.Head().Time.IsZero() {
			last = ev.Head().Time
			break
		}
	}
	for _, ev := range events {
		if isNil(ev) {
			continue
		}
		ev = trace.Visible(ev, show)
		if isNil(ev) || ev.Head() == nil {
			continue
		}
		t := ev.Head().Time
		if t.IsZero() {
			t = last
		}
		last = t
		out = append(out, timed{ev, t})
	}
	slices.SortStableFunc(out, func(a, b timed) int { return a.t.Compare(b.t) })
	evs := make([]trace.Event, len(out))
	times := make([]time.Time, len(out))
	for i, x := range out {
		evs[i], times[i] = x.ev, x.t
	}
	return evs, times
}

// isNil reports whether ev is nil or a nil pointer, which the renderers
// skip rather than dereference.
func isNil(ev trace.Event) bool {
	if ev == nil {
		return true
	}
	v := reflect.ValueOf(ev)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// seqKey names one packet of one side's circuit by its sequence number.
type seqKey struct {
	side trace.Side
	seq  uint32
}

// seqIndex remembers which message each side sent and received under each
// sequence number, to tell what a PacketAck acknowledges.
type seqIndex struct {
	sent, recv map[seqKey]string
}

func newSeqIndex(events []trace.Event) seqIndex {
	x := seqIndex{sent: map[seqKey]string{}, recv: map[seqKey]string{}}
	for _, ev := range events {
		p, ok := ev.(*trace.Packet)
		if !ok || p.Message == "PacketAck" {
			continue
		}
		m := x.sent
		if p.Dir == trace.Recv {
			m = x.recv
		}
		k := seqKey{p.Side, p.Seq}
		if _, seen := m[k]; !seen {
			m[k] = p.Message
		}
	}
	return x
}

// acked returns the messages a PacketAck acknowledges, as far as the
// stream shows them: an ack this side sends covers packets it received,
// an ack it receives covers packets it sent. Unknown ids give "".
func (x seqIndex) acked(p *trace.Packet) (ids []uint32, msgs []string) {
	ids = ackIDs(p)
	m := x.recv
	if p.Dir == trace.Recv {
		m = x.sent
	}
	msgs = make([]string, len(ids))
	for i, id := range ids {
		msgs[i] = m[seqKey{p.Side, id}]
	}
	return ids, msgs
}

// maxAckIDs bounds how many ids of one PacketAck are read; the message
// itself carries at most 255.
const maxAckIDs = 255

// ackIDs reads the "ids" field of a PacketAck: decimal sequence numbers
// separated by commas. Malformed entries are skipped.
func ackIDs(p *trace.Packet) []uint32 {
	v, ok := p.Fields.Get(FieldAckIDs)
	if !ok {
		return nil
	}
	var ids []uint32
	for s := range strings.SplitSeq(v, ",") {
		if len(ids) == maxAckIDs {
			break
		}
		n, ok := count(s)
		if !ok {
			continue
		}
		ids = append(ids, uint32(n))
	}
	return ids
}

// Classify returns the part of the story each event belongs to; events
// must be in time order (see Prepare). The part is decided by the event's
// layer and message: the login layer is Part I; UseCircuitCode,
// RegionHandshake, RegionHandshakeReply, the server's circuit check and
// the PacketAcks that acknowledge those are Part II; capabilities and the
// event queue are Part III; logout and closed circuits are the Epilogue;
// the rest of the UDP stream is Part IV. An anomaly goes with the message
// it names, or, naming none, with the UDP part being told when it happened
// (Part II before any).
//
// The rituals in other regions (see trace.RegionChange) are parts of
// their own from PartRegions on, one per episode: the region changes, and
// the packets and capability calls of that region's lane (see Episodes).
func Classify(events []trace.Event) []Part {
	parts := classifyAll(events, newSeqIndex(events))
	classifyRegions(events, parts)
	return parts
}

// Episodes returns the titles of the rituals in other regions, in order:
// the title of part PartRegions+k is Episodes(events)[k], for events in
// time order (see Prepare).
func Episodes(events []trace.Event) []string {
	parts := classifyAll(events, newSeqIndex(events))
	eps := classifyRegions(events, parts)
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = ep.title
	}
	return out
}

func classifyAll(events []trace.Event, idx seqIndex) []Part {
	parts := make([]Part, len(events))
	current := Part(0) // the UDP part being told
	for i, ev := range events {
		p := classify(ev, idx)
		if p < 0 {
			p = current
			if p == Background {
				p = PartHandshake
			}
		}
		parts[i] = p
		switch p {
		case PartHandshake, PartWorld, PartEpilogue:
			if _, anomaly := ev.(*trace.Anomaly); !anomaly && ev.Head().Layer == trace.UDP {
				current = p
			}
		}
	}
	return parts
}

// classify returns the part of one event, or -1 for "the part being told".
func classify(ev trace.Event, idx seqIndex) Part {
	switch e := ev.(type) {
	case *trace.Packet:
		return byMessage(e.Message, e, idx)
	case *trace.CircuitCheck:
		return PartHandshake
	case *trace.Connected:
		return PartWorld
	case *trace.CircuitClosed, *trace.SessionEnd:
		return PartEpilogue
	case *trace.Stall:
		return PartStall
	case *trace.WorldView:
		return Background // drawn by the observatory, not told
	case *trace.Milestone:
		switch e.Step {
		case trace.MilestoneHandshake:
			return PartHandshake
		case trace.MilestoneLogout:
			return PartEpilogue
		}
		return PartWorld
	case *trace.Anomaly:
		switch e.Head().Layer {
		case trace.Login, trace.Caps, trace.EQ:
			return byLayer(e.Head().Layer)
		}
		if e.Message == "" {
			return -1
		}
		if p := byMessage(e.Message, nil, idx); p != Background {
			return p
		}
		return -1
	}
	return byLayer(ev.Head().Layer)
}

func byMessage(msg string, p *trace.Packet, idx seqIndex) Part {
	switch {
	case handshakeMessages[msg]:
		return PartHandshake
	case epilogueMessages[msg]:
		return PartEpilogue
	case msg == "PacketAck" && p != nil:
		_, msgs := idx.acked(p)
		for _, m := range msgs {
			if handshakeMessages[m] {
				return PartHandshake
			}
		}
		return Background
	case backgroundMessages[msg]:
		return Background
	}
	return PartWorld
}

func byLayer(l trace.Layer) Part {
	switch l {
	case trace.Login:
		return PartLogin
	case trace.Caps, trace.EQ:
		return PartCaps
	case trace.UDP:
		return PartWorld
	}
	return PartWorld
}
