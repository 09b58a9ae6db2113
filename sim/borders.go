package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/trace"
)

// Borders is what a Directory that carries news between neighbouring
// regions adds: where an agent stands for the regions it sees into, and
// the chat spoken near their borders. Both calls are data only (the
// values travel as JSON between processes) and must never block: the
// caller is a region's frame loop or an agent's goroutine. What cannot be
// carried is dropped (and logged by the implementation); the next call
// says it again.
type Borders interface {
	// UpdateChildView tells the region with handle h where an agent that
	// has a child circuit there stands and how far it sees
	// (Region.SetChildView there).
	UpdateChildView(h ritual.RegionHandle, v ChildView)
	// RelayChat hands the region with handle h a chat line spoken near
	// its border (Region.HearChat there).
	RelayChat(h ritual.RegionHandle, line ChatLine)
}

// ChildView is where an agent that is root in a neighbouring region
// stands, as the region it has a child circuit in sees it: its position in
// the receiving region's coordinates (outside 0..256 across the border:
// x = -10 is 10 m west of the west edge), and its draw distance.
type ChildView struct {
	Agent    ritual.UUID    `json:"agent"`
	Position ritual.Vector3 `json:"position"`
	Far      float32        `json:"far"`
}

// ChatLine is a chat line spoken in a neighbouring region, as the region
// that hears it across the border receives it: Position is the speaker's,
// in the receiving region's coordinates; From is the speaker's region.
// Type is ChatWhisper, ChatSay or ChatShout (typing is not relayed);
// SourceType and Audible are ChatFromSimulator's.
type ChatLine struct {
	Speaker    ritual.UUID         `json:"speaker"`
	Name       string              `json:"name"`
	Type       uint8               `json:"type"`
	Channel    int32               `json:"channel"`
	Position   ritual.Vector3      `json:"position"`
	From       ritual.RegionHandle `json:"from"`
	Text       string              `json:"text"`
	SourceType uint8               `json:"source_type"`
	Audible    uint8               `json:"audible"`
}

// How the root region keeps its neighbours told of an agent's view.
const (
	// childViewMove is how far (metres) an avatar moves before its
	// neighbours are told again; childViewMin the least time between two
	// tellings, childViewRefresh the most (a still avatar is told again
	// so that its neighbours keep the view).
	childViewMove    = 8
	childViewMin     = time.Second
	childViewRefresh = 10 * time.Second
	// childViewTTL is how long a neighbour keeps a view it is not told
	// again: past it the child agent is sent nothing more until told.
	childViewTTL = 30 * time.Second
)

// ErrNotChild refuses a child view for an agent that has no child
// circuit in the region (unknown, gone, or root here).
var ErrNotChild = errors.New("sim: the agent is not a child agent of this region")

// validView checks a child view's numbers and bounds its draw distance.
func validView(v *ChildView) error {
	p := v.Position
	for _, f := range [...]float32{p.X, p.Y, p.Z, v.Far} {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("sim: a child view with a non-finite number: %+v", *v)
		}
	}
	if v.Far <= 0 {
		v.Far = DefaultDrawDistance
	}
	v.Far = min(max(v.Far, MinDrawDistance), MaxDrawDistance)
	return nil
}

// SetChildView records where a child agent of this region stands (in
// this region's coordinates) and how far it sees: the agent is then sent
// this region's avatars within its view as if it stood there, by interest
// passes of its own (it has no avatar here: it is invisible and counted
// nowhere). A view for a child circuit provisioned but not yet open is
// kept for its opening. An agent unknown here, gone or root here is
// ErrNotChild.
func (r *Region) SetChildView(v ChildView) error {
	if err := validView(&v); err != nil {
		return err
	}
	r.mu.Lock()
	a := r.agents[v.Agent]
	if a == nil || a.conn.Err() != nil {
		for _, p := range r.pending {
			if p.Agent == v.Agent && p.child {
				p.view = &v
				r.mu.Unlock()
				return nil
			}
		}
		r.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotChild, v.Agent)
	}
	r.mu.Unlock()
	if a.root.Load() {
		return fmt.Errorf("%w: %s is root here", ErrNotChild, v.Agent)
	}
	r.world.observe(a.av, v.Position, v.Far)
	return nil
}

// observe records an observer's view and has the frame loop pass for it.
func (w *world) observe(av *avatar, pos ritual.Vector3, far float32) {
	av.inMu.Lock()
	defer av.inMu.Unlock()
	av.childPos, av.childFar, av.childAt = pos, far, time.Now()
	if !av.watched {
		av.watched = true
		w.mu.Lock()
		w.watch = append(w.watch, av)
		w.mu.Unlock()
	}
}

// inWorld reports whether av is among the world's avatars (frame loop).
func (w *world) inWorld(av *avatar) bool {
	return av.slot >= 0 && av.slot < len(w.avatars) && w.avatars[av.slot] == av
}

// takeObservers adds the observers told since the last frame and drops
// those that joined the world, whose circuit closed or whose view went
// stale; the others' views are copied for this frame's passes.
func (w *world) takeObservers(watch []*avatar, now time.Time) {
	for _, av := range watch {
		if !av.observer {
			av.observer = true
			if av.view == nil {
				av.view = map[uint32]*seen{}
			}
			w.observers = append(w.observers, av)
		}
	}
	keep := w.observers[:0]
	for _, av := range w.observers {
		av.inMu.Lock()
		gone := w.inWorld(av) || av.a.conn.Err() != nil || now.Sub(av.childAt) > childViewTTL
		if gone {
			av.watched = false
		} else {
			av.obsPos, av.obsFar = av.childPos, av.childFar
		}
		av.inMu.Unlock()
		if gone {
			av.observer = false
			continue
		}
		keep = append(keep, av)
	}
	clear(w.observers[len(keep):])
	w.observers = keep
}

// neighbourSet is the handles of the regions next to a region that took
// its agents as children: where chat near the border is relayed.
type neighbourSet struct {
	mu sync.Mutex
	hs []ritual.RegionHandle // replaced, never modified: readers keep theirs
}

func (n *neighbourSet) add(hs []ritual.RegionHandle) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var grown []ritual.RegionHandle
	for _, h := range hs {
		if !slices.Contains(n.hs, h) && !slices.Contains(grown, h) {
			grown = append(grown, h)
		}
	}
	if len(grown) > 0 {
		n.hs = append(slices.Clip(n.hs), grown...)
	}
}

func (n *neighbourSet) list() []ritual.RegionHandle {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hs
}

// offset is where the region with handle h lies from this one: its
// south-west corner in this region's coordinates.
func (r *Region) offset(h ritual.RegionHandle) (dx, dy float32) {
	mx, my := r.handle.Meters()
	ox, oy := h.Meters()
	return float32(int64(ox) - int64(mx)), float32(int64(oy) - int64(my))
}

// tellNeighbours tells the regions where the agent has child circuits
// where its avatar stands, in their coordinates, when it moved
// childViewMove metres (at most once every childViewMin), when its draw
// distance or its neighbours changed, and every childViewRefresh anyway.
// It runs on the frame loop and never blocks it (Borders' calls do not).
func (w *world) tellNeighbours(av *avatar, far float32) {
	b := w.r.borders
	nb := av.a.neighbours.Load()
	if b == nil || nb == nil || len(*nb) == 0 {
		return
	}
	since := w.frame - av.toldAt
	pos := av.body.Position
	d := ritual.Vector3{X: pos.X - av.toldPos.X, Y: pos.Y - av.toldPos.Y, Z: pos.Z - av.toldPos.Z}
	moved := d.X*d.X+d.Y*d.Y+d.Z*d.Z >= childViewMove*childViewMove
	due := nb != av.toldNb || far != av.toldFar ||
		moved && since >= w.framesIn(childViewMin) || since >= w.framesIn(childViewRefresh)
	if !due {
		return
	}
	for _, h := range *nb {
		ox, oy := w.r.offset(h)
		b.UpdateChildView(h, ChildView{Agent: av.id, Position: ritual.Vector3{X: pos.X - ox, Y: pos.Y - oy, Z: pos.Z}, Far: far})
	}
	av.toldPos, av.toldFar, av.toldAt, av.toldNb = pos, far, w.frame, nb
}

// framesIn is how many frames make d (at least one).
func (w *world) framesIn(d time.Duration) uint64 {
	return uint64(max(d/w.frameDur, 1))
}

// chatRange is how far a chat type carries; 0 for a type avatars do not
// hear.
func chatRange(typ uint8) float32 {
	switch typ {
	case ChatWhisper:
		return WhisperRange
	case ChatSay, ChatStartTyping, ChatStopTyping:
		return SayRange
	case ChatShout:
		return ShoutRange
	}
	return 0
}

// relayChat hands a line spoken at pos to each neighbour whose ground
// lies within its range (the distance from pos to the neighbour's square,
// across the border or the corner). It runs on the speaker's goroutine;
// Borders' calls do not block.
func (w *world) relayChat(av *avatar, pos ritual.Vector3, typ uint8, text []byte) {
	b := w.r.borders
	if b == nil || typ == ChatStartTyping || typ == ChatStopTyping {
		return
	}
	rng := chatRange(typ)
	var line *ChatLine
	for _, h := range w.r.neighbours.list() {
		ox, oy := w.r.offset(h)
		dx := max(ox-pos.X, 0, pos.X-(ox+ritual.RegionSize))
		dy := max(oy-pos.Y, 0, pos.Y-(oy+ritual.RegionSize))
		if dx*dx+dy*dy > rng*rng {
			continue
		}
		if line == nil {
			line = &ChatLine{
				Speaker: av.id, Name: av.name, Type: typ, From: w.r.handle,
				Text: string(text), SourceType: chatSourceAgent, Audible: chatAudibleFully,
			}
		}
		l := *line
		l.Position = ritual.Vector3{X: pos.X - ox, Y: pos.Y - oy, Z: pos.Z}
		b.RelayChat(h, l)
		w.chatRelayed.Add(1)
	}
}

// HearChat hands a chat line spoken in a neighbouring region (Position in
// this region's coordinates) to this region's avatars within its range,
// as ChatFromSimulator on their own circuits, the Position this region's
// coordinates of the speaker. Only whisper, say and shout on channel 0 are
// heard. It returns how many avatars were sent the line.
func (r *Region) HearChat(line ChatLine) (heard int) {
	w := r.world
	rng := chatRange(line.Type)
	p := line.Position
	finite := !math.IsNaN(float64(p.X+p.Y+p.Z)) && !math.IsInf(float64(p.X+p.Y+p.Z), 0)
	if line.Channel != 0 || rng == 0 || line.Type == ChatStartTyping || line.Type == ChatStopTyping || !finite {
		return 0
	}
	text := line.Text
	if len(text) > maxChatText {
		text = text[:maxChatText]
	}
	out := &msg.ChatFromSimulator{ChatData: msg.ChatFromSimulatorChatData{
		FromName: cstr(line.Name), SourceID: line.Speaker, OwnerID: line.Speaker,
		SourceType: line.SourceType, ChatType: line.Type, Audible: line.Audible,
		Position: p, Message: cstr(text),
	}}
	s := w.snap.Load()
	s.near(p, rng, func(i int32, _ float32) {
		h := s.avs[i].av
		if h.id == line.Speaker {
			return
		}
		if h.a.conn.Queued() < ChatQueueLimit && w.send(h, out, true) {
			heard++
			w.chatAcross.Add(1)
		} else {
			w.chatDropped.Add(1)
		}
	})
	if r.cfg.Recorder != nil {
		n := len(text)
		if len(text) > 80 {
			text = text[:80]
		}
		trace.Emit(r.cfg.Recorder, &trace.Chat{
			Header: r.worldHeader(), Agent: line.Speaker, FromName: line.Name,
			Type: line.Type, Channel: line.Channel, Position: p,
			Text: text, Length: n, Heard: heard, Delivered: heard > 0,
			FromRegion: uint64(line.From),
		})
	}
	return heard
}
