package client

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
)

// Avatar is another agent's avatar as the session sees it: in the main
// region, or in a neighbour seen over a child circuit.
type Avatar struct {
	ID      ritual.UUID
	LocalID uint32 // in Region
	Name    string // "First Last" from its name values
	// Region is the region whose circuit tells of the avatar; Position is
	// in its coordinates (Global gives the grid's).
	Region   ritual.RegionHandle
	Position ritual.Vector3
	Velocity ritual.Vector3
	Rotation ritual.Quaternion
	// Animation is the first animation of its latest AvatarAnimation.
	Animation ritual.UUID
	// Arrived is when it came into view; Updated its last full or terse
	// update; Updates how many of those arrived.
	Arrived, Updated time.Time
	Updates          int
}

// Global returns the avatar's position in the grid's coordinates: its
// region's corner plus its position there.
func (a Avatar) Global() ritual.Vector3d { return global(a.Region, a.Position) }

func global(h ritual.RegionHandle, p ritual.Vector3) ritual.Vector3d {
	x, y := h.Meters()
	return ritual.Vector3d{X: float64(x) + float64(p.X), Y: float64(y) + float64(p.Y), Z: float64(p.Z)}
}

// WorldEventKind says what a WorldEvent tells.
type WorldEventKind uint8

// The kinds of world event.
const (
	AvatarArrived WorldEventKind = iota + 1 // an avatar came into view (of any region the session sees)
	AvatarMoved                             // an avatar's position or motion changed, or it crossed into another region
	AvatarLeft                              // an avatar left the view of every region the session sees
	ChatHeard                               // a ChatFromSimulator
	IMReceived                              // an ImprovedInstantMessage
)

func (k WorldEventKind) String() string {
	switch k {
	case AvatarArrived:
		return "arrived"
	case AvatarMoved:
		return "moved"
	case AvatarLeft:
		return "left"
	case ChatHeard:
		return "chat"
	case IMReceived:
		return "im"
	}
	return "unknown"
}

// ChatType is the kind of a chat line (ChatFromViewer and ChatFromSimulator
// ChatType).
type ChatType uint8

// Chat types.
const (
	Whisper     ChatType = 0
	Say         ChatType = 1
	Shout       ChatType = 2
	StartTyping ChatType = 4
	StopTyping  ChatType = 5
)

// Chat is one line heard (ChatFromSimulator).
type Chat struct {
	FromName   string
	SourceID   ritual.UUID
	OwnerID    ritual.UUID
	SourceType uint8
	Type       ChatType
	Audible    uint8
	Position   ritual.Vector3
	Text       string
}

// InstantMessage is one ImprovedInstantMessage received.
type InstantMessage struct {
	From     ritual.UUID
	FromName string
	To       ritual.UUID
	ID       ritual.UUID // the IM session id
	Dialog   uint8
	Offline  bool // stored while the agent was away
	Text     string
	Position ritual.Vector3
	// Sent is the message's timestamp (the time it was stored, for an
	// offline one).
	Sent time.Time
}

// WorldEvent is something that happened around the agent. Avatar is set
// for the avatar kinds, Chat for ChatHeard, IM for IMReceived.
type WorldEvent struct {
	Kind   WorldEventKind
	At     time.Time
	Avatar Avatar
	Chat   *Chat
	IM     *InstantMessage
}

// DefaultWorldEventBuffer is the capacity of Session.WorldEvents.
const DefaultWorldEventBuffer = 1024

// avatarKey names an avatar as one region's circuit tells of it.
type avatarKey struct {
	from  netip.AddrPort // the region's circuit
	local uint32
}

// source is the region's circuit a message came on.
type source struct {
	from   netip.AddrPort
	region ritual.RegionHandle
	child  bool // a neighbour's: only its avatars are followed
	// others is set when the session has circuits to other regions: an
	// avatar one of them lets go of may be crossing into another.
	others bool
}

// crossingGrace is how long an avatar a region let go of is kept from
// leaving while the session sees other regions: one crossing into a
// neighbour is told by the neighbour, which may speak after the region
// it left.
const crossingGrace = 2 * time.Second

// social is the session's view of the other avatars and what it hears,
// fed by each circuit's dispatch in message order. An avatar near a
// border may be told of by two regions at once (while it crosses, or as
// both see it): it is one avatar, arriving once and leaving when no
// region tells of it any longer.
type social struct {
	agent   ritual.UUID
	mu      sync.Mutex
	avatars map[avatarKey]*Avatar // other avatars, by circuit and local id
	ids     map[ritual.UUID]int   // how many circuits tell of each
	// leaving are avatars no circuit tells of any longer, within their
	// crossing grace.
	leaving map[ritual.UUID]*time.Timer
	events  chan WorldEvent
	dropped atomic.Int64

	steerMu sync.Mutex
	goal    ritual.Vector3
	goalSet bool
	fly     bool
	stopped bool // send Stop once, then nothing
}

func newSocial(agent ritual.UUID, buffer int) *social {
	if buffer <= 0 {
		buffer = DefaultWorldEventBuffer
	}
	return &social{agent: agent, avatars: map[avatarKey]*Avatar{}, ids: map[ritual.UUID]int{},
		leaving: map[ritual.UUID]*time.Timer{},
		events:  make(chan WorldEvent, buffer)}
}

func (so *social) emit(ev WorldEvent) {
	select {
	case so.events <- ev:
	default:
		so.dropped.Add(1)
	}
}

// put records a new entry (under so.mu) and says whether its avatar is
// new to the session (not seen, nor leaving within its grace).
func (so *social) put(k avatarKey, a *Avatar) bool {
	so.avatars[k] = a
	so.ids[a.ID]++
	if t, ok := so.leaving[a.ID]; ok {
		t.Stop()
		delete(so.leaving, a.ID)
		return false
	}
	return so.ids[a.ID] == 1
}

// depart tells of an avatar no circuit tells of any longer (under
// so.mu): at once, or after crossingGrace when other regions may yet
// tell of it (put then cancels the departure). It says whether the
// departure is to be told now.
func (so *social) depart(src source, a *Avatar, now time.Time) bool {
	if !src.others {
		return true
	}
	if _, ok := so.leaving[a.ID]; ok {
		return false
	}
	cp := *a
	var t *time.Timer
	t = time.AfterFunc(crossingGrace, func() {
		so.mu.Lock()
		mine := so.leaving[cp.ID] == t
		if mine {
			delete(so.leaving, cp.ID)
		}
		so.mu.Unlock()
		if mine {
			so.emit(WorldEvent{Kind: AvatarLeft, At: now.Add(crossingGrace), Avatar: cp})
		}
	})
	so.leaving[a.ID] = t
	return false
}

// drop removes an entry (under so.mu) and says whether its avatar is no
// longer seen at all.
func (so *social) drop(k avatarKey, a *Avatar) bool {
	delete(so.avatars, k)
	so.ids[a.ID]--
	if so.ids[a.ID] > 0 {
		return false
	}
	delete(so.ids, a.ID)
	return true
}

// forget drops every avatar a region's circuit told of (it closed).
func (so *social) forget(from netip.AddrPort, now time.Time) {
	var gone []Avatar
	so.mu.Lock()
	for k, a := range so.avatars {
		if k.from == from && so.drop(k, a) {
			gone = append(gone, *a)
		}
	}
	so.mu.Unlock()
	for _, a := range gone {
		so.emit(WorldEvent{Kind: AvatarLeft, At: now, Avatar: a})
	}
}

// observe notes what a message from a region tells of other avatars,
// chat and instant messages. A child circuit's messages tell only of
// avatars: a region speaks to a child agent of nothing else.
func (so *social) observe(src source, m msg.Message, now time.Time) {
	if src.child {
		switch m.(type) {
		case *msg.ObjectUpdate, *msg.ImprovedTerseObjectUpdate, *msg.KillObject, *msg.AvatarAnimation:
		default:
			return
		}
	}
	switch m := m.(type) {
	case *msg.ObjectUpdate:
		for i := range m.ObjectData {
			od := &m.ObjectData[i]
			if od.PCode != prim.PCodeAvatar || od.FullID == so.agent {
				continue
			}
			var mo prim.Motion
			if err := mo.Decode(od.ObjectData); err != nil {
				continue
			}
			var first, last string
			for _, nv := range ParseNameValues(cString(od.NameValue)) {
				switch nv.Name {
				case "FirstName":
					first = nv.Value
				case "LastName":
					last = nv.Value
				}
			}
			k := avatarKey{src.from, od.ID}
			so.mu.Lock()
			a, known := so.avatars[k]
			var left *Avatar
			if known && a.ID != od.FullID {
				// The local id names another avatar now.
				if so.drop(k, a) {
					cp := *a
					left = &cp
				}
				known = false
			}
			arrived := false
			if !known {
				a = &Avatar{ID: od.FullID, LocalID: od.ID, Arrived: now}
				arrived = so.put(k, a)
			}
			a.Name = strings.TrimSpace(first + " " + last)
			a.Region = src.region
			a.Position, a.Velocity, a.Rotation = mo.Position, mo.Velocity, mo.Rotation
			a.Updated = now
			a.Updates++
			cp := *a
			so.mu.Unlock()
			if left != nil {
				so.emit(WorldEvent{Kind: AvatarLeft, At: now, Avatar: *left})
			}
			so.emit(WorldEvent{Kind: pick(arrived, AvatarArrived, AvatarMoved), At: now, Avatar: cp})
		}
	case *msg.ImprovedTerseObjectUpdate:
		for i := range m.ObjectData {
			var t prim.Terse
			if t.Decode(m.ObjectData[i].Data) != nil || !t.IsAvatar {
				continue
			}
			so.mu.Lock()
			a, known := so.avatars[avatarKey{src.from, t.LocalID}]
			if !known {
				so.mu.Unlock()
				continue
			}
			a.Position, a.Velocity, a.Rotation = t.Position, t.Velocity, t.Rotation
			a.Updated = now
			a.Updates++
			cp := *a
			so.mu.Unlock()
			so.emit(WorldEvent{Kind: AvatarMoved, At: now, Avatar: cp})
		}
	case *msg.KillObject:
		for _, od := range m.ObjectData {
			k := avatarKey{src.from, od.ID}
			so.mu.Lock()
			a, known := so.avatars[k]
			gone := known && so.drop(k, a) && so.depart(src, a, now)
			so.mu.Unlock()
			if gone {
				so.emit(WorldEvent{Kind: AvatarLeft, At: now, Avatar: *a})
			}
		}
	case *msg.AvatarAnimation:
		if len(m.AnimationList) == 0 {
			return
		}
		so.mu.Lock()
		for _, a := range so.avatars {
			if a.ID == m.Sender.ID {
				a.Animation = m.AnimationList[0].AnimID
			}
		}
		so.mu.Unlock()
	case *msg.ChatFromSimulator:
		cd := &m.ChatData
		so.emit(WorldEvent{Kind: ChatHeard, At: now, Chat: &Chat{
			FromName: cString(cd.FromName), SourceID: cd.SourceID, OwnerID: cd.OwnerID,
			SourceType: cd.SourceType, Type: ChatType(cd.ChatType), Audible: cd.Audible,
			Position: cd.Position, Text: cString(cd.Message),
		}})
	case *msg.ImprovedInstantMessage:
		mb := &m.MessageBlock
		so.emit(WorldEvent{Kind: IMReceived, At: now, IM: &InstantMessage{
			From: m.AgentData.AgentID, FromName: cString(mb.FromAgentName), To: mb.ToAgentID, ID: mb.ID,
			Dialog: mb.Dialog, Offline: mb.Offline != 0, Text: cString(mb.Message), Position: mb.Position,
			Sent: time.Unix(int64(mb.Timestamp), 0),
		}})
	}
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// avatars returns one entry per avatar: of two regions telling of the
// same avatar, the one that told last (the region it is in, while it
// crosses), the main region's on a tie.
func (s *Session) avatars() []Avatar {
	main := s.Region().Handle
	so := s.social
	so.mu.Lock()
	best := make(map[ritual.UUID]*Avatar, len(so.ids))
	for _, a := range so.avatars {
		b := best[a.ID]
		if b == nil || a.Updated.After(b.Updated) || a.Updated.Equal(b.Updated) && a.Region == main && b.Region != main {
			best[a.ID] = a
		}
	}
	out := make([]Avatar, 0, len(best))
	for _, a := range best {
		out = append(out, *a)
	}
	so.mu.Unlock()
	return out
}

// Avatars returns the other avatars in view, in the main region and in
// the neighbours seen over child circuits (each once), nearest to the
// agent first.
func (s *Session) Avatars() []Avatar {
	out := s.avatars()
	me := s.GlobalPosition()
	slices.SortFunc(out, func(a, b Avatar) int {
		da, db := dist2d(a.Global(), me), dist2d(b.Global(), me)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		if c := cmp.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		return cmp.Compare(a.LocalID, b.LocalID)
	})
	return out
}

// AvatarByID returns the avatar of the given agent, if in view.
func (s *Session) AvatarByID(id ritual.UUID) (Avatar, bool) {
	for _, a := range s.avatars() {
		if a.ID == id {
			return a, true
		}
	}
	return Avatar{}, false
}

// WorldEvents returns the channel of world events: avatars arriving,
// moving and leaving, chat heard and instant messages received. It is
// bounded (Config.WorldEventBuffer); events it has no room for are dropped
// and counted (WorldEventsDropped), never waited for.
func (s *Session) WorldEvents() <-chan WorldEvent { return s.social.events }

// WorldEventsDropped returns how many world events found WorldEvents full.
func (s *Session) WorldEventsDropped() int64 { return s.social.dropped.Load() }

// Position returns where the agent's own avatar is, as the region last
// said (its avatar's updates; before any, the arrival position).
func (s *Session) Position() ritual.Vector3 {
	if o, ok := s.world.Avatar(); ok {
		return o.Position
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.movement.Position
}

// GlobalPosition returns where the agent's own avatar is in the grid's
// coordinates (the main region's corner plus Position).
func (s *Session) GlobalPosition() ritual.Vector3d {
	return global(s.Region().Handle, s.Position())
}

func dist2d(a, b ritual.Vector3d) float64 {
	dx, dy, dz := a.X-b.X, a.Y-b.Y, a.Z-b.Z
	return dx*dx + dy*dy + dz*dz
}

// ErrChatTooLong reports a chat line or instant message over the
// protocol's 1023 bytes.
var ErrChatTooLong = errors.New("client: message over 1023 bytes")

const maxChat = 1023

// Chat says text on a channel (0: to avatars in range) as typ: Whisper
// (10 m), Say (20 m) or Shout (100 m); StartTyping and StopTyping show
// the typing indicator.
func (s *Session) Chat(typ ChatType, channel int32, text string) error {
	if len(text) > maxChat {
		return fmt.Errorf("%w: %d bytes", ErrChatTooLong, len(text))
	}
	return s.send(&msg.ChatFromViewer{
		AgentData: msg.ChatFromViewerAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
		ChatData:  msg.ChatFromViewerChatData{Message: cstr(text), Type: uint8(typ), Channel: channel},
	}, true)
}

// Say says text on channel 0, heard within 20 m.
func (s *Session) Say(text string) error { return s.Chat(Say, 0, text) }

// Whisper whispers text on channel 0, heard within 10 m.
func (s *Session) Whisper(text string) error { return s.Chat(Whisper, 0, text) }

// Shout shouts text on channel 0, heard within 100 m.
func (s *Session) Shout(text string) error { return s.Chat(Shout, 0, text) }

// SendIM sends an instant message to another agent, wherever it is on the
// grid; a region keeps it for an agent that is offline.
func (s *Session) SendIM(to ritual.UUID, text string) error {
	if len(text) > maxChat {
		return fmt.Errorf("%w: %d bytes", ErrChatTooLong, len(text))
	}
	name := s.resp.FirstName + " " + s.resp.LastName
	return s.send(&msg.ImprovedInstantMessage{
		AgentData: msg.ImprovedInstantMessageAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{
			ToAgentID: to, Position: s.Position(), ID: imSession(s.resp.Agent, to),
			Timestamp: uint32(time.Now().Unix()), FromAgentName: cstr(name), Message: cstr(text), BinaryBucket: []byte{0},
		},
	}, true)
}

// imSession is the IM session id of two agents, as viewers make it: the
// exclusive or of their ids.
func imSession(a, b ritual.UUID) ritual.UUID {
	var x ritual.UUID
	for i := range x {
		x[i] = a[i] ^ b[i]
	}
	return x
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// Control flags of AgentUpdate the session's steering uses.
const (
	controlAtPos = 1 << 0
	controlUpPos = 1 << 4
	controlUpNeg = 1 << 5
	controlFly   = 1 << 13
	controlStop  = 1 << 14
)

// arriveWithin is how close to its goal the agent stops.
const arriveWithin = 1.0

// steerInterval is how often AgentUpdate is sent while moving toward a
// goal.
const steerInterval = 100 * time.Millisecond

// WalkTo starts walking toward target (its Z is ignored: the avatar stays
// on the ground); the agent stops within a metre of it, or on Stop.
func (s *Session) WalkTo(target ritual.Vector3) { s.steerTo(target, false) }

// FlyTo starts flying toward target, climbing or descending to its Z.
func (s *Session) FlyTo(target ritual.Vector3) { s.steerTo(target, true) }

func (s *Session) steerTo(target ritual.Vector3, fly bool) {
	so := s.social
	so.steerMu.Lock()
	start := !so.goalSet
	so.goal, so.goalSet, so.fly, so.stopped = target, true, fly, false
	so.steerMu.Unlock()
	if start && !s.ended() {
		s.wg.Add(1)
		go s.steer()
	}
	s.sendAgentUpdate()
}

// Stop stops moving toward a goal.
func (s *Session) Stop() {
	so := s.social
	so.steerMu.Lock()
	so.goalSet = false
	so.steerMu.Unlock()
	s.sendAgentUpdate()
}

// Moving reports whether the agent is moving toward a goal.
func (s *Session) Moving() bool {
	so := s.social
	so.steerMu.Lock()
	defer so.steerMu.Unlock()
	return so.goalSet
}

// steer sends AgentUpdate often while a goal is set.
func (s *Session) steer() {
	defer s.wg.Done()
	t := time.NewTicker(steerInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.sendAgentUpdate()
			if !s.Moving() {
				return
			}
		}
	}
}

// controls returns the control flags and body rotation the next
// AgentUpdate carries: toward the goal while one is set, a single Stop
// once it is reached, nothing otherwise (ok false: keep the default
// rotation).
func (s *Session) controls() (flags uint32, rot ritual.Quaternion, ok bool) {
	so := s.social
	so.steerMu.Lock()
	defer so.steerMu.Unlock()
	if !so.goalSet {
		if !so.stopped {
			so.stopped = true
			return controlStop, ritual.Quaternion{}, false
		}
		return 0, ritual.Quaternion{}, false
	}
	pos := s.Position()
	dx, dy, dz := so.goal.X-pos.X, so.goal.Y-pos.Y, so.goal.Z-pos.Z
	if !so.fly {
		dz = 0
	}
	if math.Hypot(float64(dx), float64(dy)) < arriveWithin && math.Abs(float64(dz)) < arriveWithin {
		so.goalSet, so.stopped = false, true
		return controlStop, ritual.Quaternion{}, false
	}
	yaw := math.Atan2(float64(dy), float64(dx))
	rot = ritual.Quaternion{Z: float32(math.Sin(yaw / 2)), W: float32(math.Cos(yaw / 2))}
	if math.Hypot(float64(dx), float64(dy)) >= arriveWithin {
		flags |= controlAtPos
	}
	if so.fly {
		flags |= controlFly
		switch {
		case dz > arriveWithin/2:
			flags |= controlUpPos
		case dz < -arriveWithin/2:
			flags |= controlUpNeg
		}
	}
	return flags, rot, true
}
