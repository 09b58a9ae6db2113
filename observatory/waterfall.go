package observatory

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
)

// The phases of the waterfall, in the order of the ritual.
const (
	PhaseLogin        = "login"
	PhaseHandshake    = "handshake"
	PhaseCapabilities = "capabilities"
	PhaseMovement     = "movement"
	PhaseFirstObject  = "first object"
	PhaseTerrain      = "full terrain"
	PhaseLogout       = "logout"
)

// Span is one phase of the waterfall: when it began and ended, relative
// to the first event. A phase never reached has Done false; Start is then
// when it began, if it did (Started), and End the last event seen.
type Span struct {
	Name       string
	Start, End time.Duration
	Started    bool
	Done       bool
	Note       string // what marked its end, or how far it got
}

// Duration is how long the phase took (or has taken so far).
func (s Span) Duration() time.Duration { return s.End - s.Start }

type pred func(trace.Event) bool

func isType[E trace.Event]() pred {
	return func(ev trace.Event) bool { _, ok := ev.(E); return ok }
}

func milestone(step string) pred {
	return func(ev trace.Event) bool {
		m, ok := ev.(*trace.Milestone)
		return ok && m.Step == step
	}
}

// sent matches one of msgs leaving the client (sent there, or received
// by the server when only the server was recorded).
func sent(msgs ...string) pred {
	return func(ev trace.Event) bool {
		p, ok := ev.(*trace.Packet)
		if !ok || !slices.Contains(msgs, p.Message) {
			return false
		}
		return p.Head().Side == trace.Client && p.Dir == trace.Send || p.Head().Side == trace.Server && p.Dir == trace.Recv
	}
}

// arrived matches one of msgs arriving at the client (received there, or
// sent by the server when only the server was recorded).
func arrived(msgs ...string) pred {
	return func(ev trace.Event) bool {
		p, ok := ev.(*trace.Packet)
		if !ok || !slices.Contains(msgs, p.Message) {
			return false
		}
		return p.Head().Side == trace.Client && p.Dir == trace.Recv || p.Head().Side == trace.Server && p.Dir == trace.Send
	}
}

func either(ps ...pred) pred {
	return func(ev trace.Event) bool {
		for _, p := range ps {
			if p(ev) {
				return true
			}
		}
		return false
	}
}

var objectMessages = []string{"ObjectUpdate", "ObjectUpdateCompressed", "ObjectUpdateCached"}

// Waterfall finds the phases of the ritual in events (either side or
// both): login, handshake, capabilities, movement, first object, full
// terrain and logout. Events need not be sorted; they are read in time
// order.
func Waterfall(events []trace.Event) []Span {
	evs := slices.Clone(events)
	evs = slices.DeleteFunc(evs, func(ev trace.Event) bool { return ev == nil || ev.Head() == nil })
	slices.SortStableFunc(evs, func(a, b trace.Event) int { return a.Head().Time.Compare(b.Head().Time) })
	if len(evs) == 0 {
		return nil
	}
	t0 := evs[0].Head().Time
	last := evs[len(evs)-1].Head().Time.Sub(t0)
	find := func(from int, p pred) (int, bool) {
		for i := max(from, 0); i < len(evs); i++ {
			if p(evs[i]) {
				return i, true
			}
		}
		return -1, false
	}
	at := func(i int) time.Duration { return evs[i].Head().Time.Sub(t0) }

	type def struct {
		name       string
		start, end pred
		note       string
	}
	defs := []def{
		{PhaseLogin, either(isType[*trace.LoginStart](), isType[*trace.LoginRequest]()), isType[*trace.LoginResponse](), "login response"},
		{PhaseHandshake, sent("UseCircuitCode"), either(milestone(trace.MilestoneHandshake), arrived("RegionHandshake")), "RegionHandshake"},
		{PhaseCapabilities, either(isType[*trace.SeedRequest](), isType[*trace.SeedGrant]()), isType[*trace.SeedGrant](), "seed capability answered"},
		{PhaseMovement, sent("CompleteAgentMovement"), either(milestone(trace.MilestoneMovementComplete), arrived("AgentMovementComplete")), "AgentMovementComplete"},
		{PhaseFirstObject, nil, either(milestone(trace.MilestoneFirstObject), arrived(objectMessages...)), "first object update"},
		{PhaseTerrain, arrived("LayerData"), nil, ""},
		{PhaseLogout, sent("LogoutRequest"), either(arrived("LogoutReply"), isType[*trace.CircuitClosed](), milestone(trace.MilestoneLogout)), "logout answered"},
	}
	var out []Span
	prevEnd, prevOK := time.Duration(0), false
	for _, d := range defs {
		sp := Span{Name: d.name}
		si := -1
		if d.start != nil {
			if i, ok := find(0, d.start); ok {
				si, sp.Start, sp.Started = i, at(i), true
			}
		}
		if d.name == PhaseFirstObject {
			// The scene begins to arrive once the agent is in the region.
			si, sp.Start, sp.Started = -1, prevEnd, prevOK
			if mv := out[len(out)-1]; mv.Name == PhaseMovement {
				sp.Start, sp.Started = mv.End, mv.Done
			}
		}
		switch {
		case d.name == PhaseTerrain:
			if ei, note, ok := terrainDone(evs, max(si, 0)); ok {
				sp.End, sp.Done, sp.Note = at(ei), true, note
			} else {
				sp.Note = note
			}
		case sp.Started || d.name == PhaseFirstObject:
			if ei, ok := find(si, d.end); ok {
				sp.End, sp.Done, sp.Note = at(ei), true, d.note
				if !sp.Started {
					sp.Start, sp.Started = sp.End, true
				}
			}
		}
		if !sp.Done {
			sp.End = last
		}
		if sp.Started && sp.Done && sp.End < sp.Start {
			sp.End = sp.Start
		}
		out = append(out, sp)
		if sp.Done {
			prevEnd, prevOK = sp.End, true
		}
	}
	return out
}

// terrainDone finds when every land patch had arrived: the client's
// milestone, or the LayerData that brought the land patches to the total
// (the milestone's Of, else 256), counted at the client when it was
// recorded and else at the server.
func terrainDone(evs []trace.Event, from int) (int, string, bool) {
	total := 256
	for i, ev := range evs {
		if m, ok := ev.(*trace.Milestone); ok && m.Step == trace.MilestoneTerrainComplete {
			return i, "every land patch (the client's count)", true
		}
		if m, ok := ev.(*trace.Milestone); ok && m.Of > 0 {
			total = m.Of
		}
		if w, ok := ev.(*trace.WorldView); ok && w.Of > 0 {
			total = w.Of
		}
	}
	best := 0
	for _, side := range []trace.Side{trace.Client, trace.Server} {
		land := 0
		seen := map[uint32]bool{}
		for i := from; i < len(evs); i++ {
			p, ok := evs[i].(*trace.Packet)
			if !ok || p.Message != "LayerData" || p.Head().Side != side {
				continue
			}
			if side == trace.Client && p.Dir != trace.Recv || side == trace.Server && p.Dir != trace.Send {
				continue
			}
			if seen[p.Seq] {
				continue
			}
			seen[p.Seq] = true
			if l, _ := p.Fields.Get("layer"); l != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(l)), "land") {
				continue
			}
			n, _ := p.Fields.Get("patches")
			k, err := strconv.Atoi(n)
			if err != nil || k < 0 {
				continue
			}
			land += k
			if land >= total {
				return i, strconv.Itoa(land) + "/" + strconv.Itoa(total) + " land patches", true
			}
		}
		best = max(best, land)
	}
	if best > 0 {
		return -1, strconv.Itoa(best) + "/" + strconv.Itoa(total) + " land patches", false
	}
	return -1, "", false
}
