package sim_test

import (
	"context"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/sim"
	"ritual/sim/motion"
	"ritual/store"
	"ritual/trace"
)

var codes atomic.Uint32

// member is one agent in the region, over a raw client circuit.
type member struct {
	c    login.Circuit
	conn *circuit.Conn
}

// arrive provisions first last (with a fresh or given agent id), opens its
// circuit and completes its movement into the region.
func (r *rig) arrive(t *testing.T, first, last string, id ritual.UUID) *member {
	t.Helper()
	return r.arriveWith(t, first, last, id, circuit.Config{Side: trace.Client, PingInterval: -1})
}

func (r *rig) arriveWith(t *testing.T, first, last string, id ritual.UUID, cfg circuit.Config) *member {
	t.Helper()
	return r.arriveStart(t, first, last, id, "last", cfg)
}

// arriveStart is arriveWith at a start location ("last", "home" or a
// "uri:Region&x&y&z").
func (r *rig) arriveStart(t *testing.T, first, last string, id ritual.UUID, start string, cfg circuit.Config) *member {
	t.Helper()
	if id.IsZero() {
		id = ritual.NewUUID()
	}
	c := login.Circuit{
		Code: 9000 + codes.Add(1), Agent: id, Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: first, Last: last, Start: start, Expiry: time.Now().Add(5 * time.Second),
	}
	if _, err := r.region.Provision(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	conn := r.dialWith(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatalf("UseCircuitCode: %v", err)
	}
	cam := &msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}
	if err := conn.Send(cam, true); err != nil {
		t.Fatal(err)
	}
	return &member{c: c, conn: conn}
}

func (m *member) update(controls motion.Controls, yaw float64) {
	m.conn.Send(&msg.AgentUpdate{AgentData: msg.AgentUpdateAgentData{
		AgentID: m.c.Agent, SessionID: m.c.Session, BodyRotation: motion.Heading(yaw),
		ControlFlags: uint32(controls), Far: 64,
	}}, false)
}

func (m *member) say(typ uint8, channel int32, text string) {
	m.conn.Send(&msg.ChatFromViewer{
		AgentData: msg.ChatFromViewerAgentData{AgentID: m.c.Agent, SessionID: m.c.Session},
		ChatData:  msg.ChatFromViewerChatData{Message: append([]byte(text), 0), Type: typ, Channel: channel},
	}, true)
}

func (m *member) im(to ritual.UUID, text string) {
	m.conn.Send(&msg.ImprovedInstantMessage{
		AgentData: msg.ImprovedInstantMessageAgentData{AgentID: m.c.Agent, SessionID: m.c.Session},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{
			ToAgentID: to, ID: ritual.NewUUID(), FromAgentName: []byte("Spoofed Name\x00"),
			Message: append([]byte(text), 0), BinaryBucket: []byte{0},
		},
	}, true)
}

// waitFor reads m's messages until match accepts one.
func waitFor(t *testing.T, m *member, within time.Duration, what string, match func(msg.Message) bool) msg.Message {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case in, ok := <-m.conn.Inbox():
			if !ok {
				t.Fatalf("%s: circuit closed waiting for %s", m.c.First, what)
			}
			if match(in.Message) {
				return in.Message
			}
		case <-deadline:
			t.Fatalf("%s: no %s within %v", m.c.First, what, within)
			return nil
		}
	}
}

// never reads m's messages for d and fails if match accepts one.
func never(t *testing.T, m *member, d time.Duration, what string, match func(msg.Message) bool) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case in, ok := <-m.conn.Inbox():
			if !ok {
				return
			}
			if match(in.Message) {
				t.Fatalf("%s: unexpected %s: %+v", m.c.First, what, in.Message)
			}
		case <-deadline:
			return
		}
	}
}

func fullOf(id ritual.UUID) func(msg.Message) bool {
	return func(m msg.Message) bool {
		u, ok := m.(*msg.ObjectUpdate)
		if !ok {
			return false
		}
		for _, od := range u.ObjectData {
			if od.FullID == id {
				return true
			}
		}
		return false
	}
}

func TestWorldSeeMoveLeave(t *testing.T) {
	r := newRig(t)
	ann := r.arrive(t, "Ann", "Walker", ritual.UUID{})
	bob := r.arrive(t, "Bob", "Watcher", ritual.UUID{})
	u := waitFor(t, bob, 5*time.Second, "Ann's avatar", fullOf(ann.c.Agent)).(*msg.ObjectUpdate)
	var annLocal uint32
	for _, od := range u.ObjectData {
		if od.FullID == ann.c.Agent {
			annLocal = od.ID
			if od.PCode != prim.PCodeAvatar || !strings.Contains(string(od.NameValue), "FirstName STRING RW SV Ann\nLastName STRING RW SV Walker") {
				t.Fatalf("Ann's block: pcode %d name values %q", od.PCode, od.NameValue)
			}
		}
	}
	waitFor(t, ann, 5*time.Second, "Bob's avatar", fullOf(bob.c.Agent))

	// Ann walks east: Bob sees her move through terse updates, and her
	// walk animation.
	var first, last ritual.Vector3
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				ann.update(motion.AtPos, 0)
			}
		}
	}()
	defer close(stop)
	n := 0
	walking := false
	waitFor(t, bob, 5*time.Second, "Ann walking 2 m", func(m msg.Message) bool {
		switch m := m.(type) {
		case *msg.AvatarAnimation:
			if m.Sender.ID == ann.c.Agent && len(m.AnimationList) > 0 && m.AnimationList[0].AnimID == motion.Walk.ID() {
				walking = true
			}
		case *msg.ImprovedTerseObjectUpdate:
			for _, od := range m.ObjectData {
				var tr prim.Terse
				if err := tr.Decode(od.Data); err != nil {
					t.Fatalf("terse: %v", err)
				}
				if tr.LocalID != annLocal {
					continue
				}
				if n == 0 {
					first = tr.Position
				}
				n++
				last = tr.Position
			}
		}
		return walking && last.X-first.X > 2
	})
	if math.Abs(float64(last.Y-first.Y)) > 0.01 {
		t.Errorf("walking east moved Ann from %v to %v", first, last)
	}

	// Ann leaves: Bob is told.
	ann.conn.Send(&msg.LogoutRequest{AgentData: msg.LogoutRequestAgentData{AgentID: ann.c.Agent, SessionID: ann.c.Session}}, true)
	waitFor(t, bob, 5*time.Second, "KillObject for Ann", func(m msg.Message) bool {
		k, ok := m.(*msg.KillObject)
		if !ok {
			return false
		}
		for _, od := range k.ObjectData {
			if od.ID == annLocal {
				return true
			}
		}
		return false
	})
	// And the minimap shows Bob.
	cl := waitFor(t, bob, 3*time.Second, "CoarseLocationUpdate", func(m msg.Message) bool {
		_, ok := m.(*msg.CoarseLocationUpdate)
		return ok
	}).(*msg.CoarseLocationUpdate)
	if len(cl.AgentData) != 1 || cl.AgentData[0].AgentID != bob.c.Agent || cl.Index.You != 0 {
		t.Errorf("minimap after Ann left: %+v", cl)
	}
	if st := r.region.World(); st.Frames == 0 || st.FullUpdates < 2 || st.TerseUpdates == 0 || st.Kills == 0 {
		t.Errorf("world stats %+v", st)
	}
}

func chatOf(text string) func(msg.Message) bool {
	return func(m msg.Message) bool {
		c, ok := m.(*msg.ChatFromSimulator)
		return ok && string(c.ChatData.Message) == text+"\x00"
	}
}

func TestWorldChatRanges(t *testing.T) {
	r := newRig(t)
	ann := r.arrive(t, "Ann", "Speaker", ritual.UUID{})
	bob := r.arrive(t, "Bob", "Hearer", ritual.UUID{})
	waitFor(t, bob, 5*time.Second, "Ann's avatar", fullOf(ann.c.Agent))
	waitFor(t, ann, 5*time.Second, "Bob's avatar", fullOf(bob.c.Agent))

	ann.say(sim.ChatSay, 0, "hello there")
	m := waitFor(t, bob, 3*time.Second, "Ann's line", chatOf("hello there")).(*msg.ChatFromSimulator)
	cd := m.ChatData
	if string(cd.FromName) != "Ann Speaker\x00" || cd.SourceID != ann.c.Agent || cd.ChatType != sim.ChatSay || cd.SourceType != 1 || cd.Position.X < 100 {
		t.Errorf("chat %+v", cd)
	}
	// The speaker hears herself too.
	waitFor(t, ann, 3*time.Second, "her own line", chatOf("hello there"))
	// Typing is shown to others, not to the typist.
	ann.say(sim.ChatStartTyping, 0, "")
	waitFor(t, bob, 3*time.Second, "typing", func(m msg.Message) bool {
		c, ok := m.(*msg.ChatFromSimulator)
		return ok && c.ChatData.ChatType == sim.ChatStartTyping && c.ChatData.SourceID == ann.c.Agent
	})
	// Another channel goes to scripts, not avatars.
	ann.say(sim.ChatSay, 7, "for scripts")

	// Bob flies 15 m up: a whisper no longer reaches him, speech does.
	stop := make(chan struct{})
	climb := func(stop chan struct{}, c motion.Controls) {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				bob.update(c, 0)
			}
		}
	}
	go climb(stop, motion.FlyControl|motion.UpPos)
	var height float32
	waitFor(t, bob, 5*time.Second, "Bob 15 m up", func(m msg.Message) bool {
		if u, ok := m.(*msg.ImprovedTerseObjectUpdate); ok {
			for _, od := range u.ObjectData {
				var tr prim.Terse
				tr.Decode(od.Data)
				if tr.LocalID >= 1<<24 && tr.Position.Z > height {
					height = tr.Position.Z
				}
			}
		}
		return height > 0 && height-r.region.Heightmap().Heights[125*256+128] > 16
	})
	close(stop)
	stop = make(chan struct{})
	go climb(stop, motion.FlyControl)
	defer close(stop)
	time.Sleep(300 * time.Millisecond)
	ann.say(sim.ChatWhisper, 0, "a whisper")
	ann.say(sim.ChatSay, 0, "a line")
	got := waitFor(t, bob, 3*time.Second, "speech", func(m msg.Message) bool {
		c, ok := m.(*msg.ChatFromSimulator)
		return ok && c.ChatData.ChatType != sim.ChatStartTyping && c.ChatData.ChatType != sim.ChatStopTyping
	}).(*msg.ChatFromSimulator)
	if string(got.ChatData.Message) != "a line\x00" {
		t.Errorf("Bob 16 m away heard %q first, want only the spoken line", got.ChatData.Message)
	}
	if st := r.region.World(); st.ChatChannel != 1 {
		t.Errorf("chat on other channels = %d, want 1", st.ChatChannel)
	}
}

func imFrom(text string) func(msg.Message) bool {
	return func(m msg.Message) bool {
		im, ok := m.(*msg.ImprovedInstantMessage)
		return ok && string(im.MessageBlock.Message) == text+"\x00"
	}
}

func TestWorldInstantMessages(t *testing.T) {
	r := newRig(t)
	// Cara has an account but is not logged in.
	cara := &store.Account{First: "Cara", Last: "Away", PasswordHash: "x"}
	if err := r.store.Accounts().Create(t.Context(), cara); err != nil {
		t.Fatal(err)
	}
	ann := r.arrive(t, "Ann", "Sender", ritual.UUID{})
	bob := r.arrive(t, "Bob", "Reader", ritual.UUID{})
	waitFor(t, ann, 5*time.Second, "Bob's avatar", fullOf(bob.c.Agent))

	ann.im(bob.c.Agent, "are you there?")
	got := waitFor(t, bob, 3*time.Second, "Ann's IM", imFrom("are you there?")).(*msg.ImprovedInstantMessage)
	mb := got.MessageBlock
	if got.AgentData.AgentID != ann.c.Agent || string(mb.FromAgentName) != "Ann Sender\x00" || mb.ToAgentID != bob.c.Agent || mb.Offline != 0 {
		t.Errorf("IM as delivered: %+v", got)
	}
	// OpenSimulator's wire form: the body ends after EstateBlock, without
	// the empty MetaData's count, which older templates lack.
	if got.Absent() != 1 || got.EstateBlock.EstateID != 1 {
		t.Errorf("IM as delivered: %d blocks absent (want MetaData's count left out), EstateID %d", got.Absent(), got.EstateBlock.EstateID)
	}

	// Typing to an offline account is not kept.
	ann.conn.Send(&msg.ImprovedInstantMessage{
		AgentData:    msg.ImprovedInstantMessageAgentData{AgentID: ann.c.Agent, SessionID: ann.c.Session},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{ToAgentID: cara.ID, Dialog: sim.IMStartTyping},
	}, true)
	ann.im(cara.ID, "see you later")
	reply := waitFor(t, ann, 3*time.Second, "the offline reply", imFrom(sim.OfflineReply)).(*msg.ImprovedInstantMessage)
	if reply.AgentData.AgentID != cara.ID || string(reply.MessageBlock.FromAgentName) != "Cara Away\x00" {
		t.Errorf("offline reply %+v", reply)
	}
	if reply.Absent() != 1 {
		t.Errorf("offline reply: %d blocks absent, want 1 (MetaData)", reply.Absent())
	}

	c := r.arrive(t, "Cara", "Away", cara.ID)
	saved := waitFor(t, c, 5*time.Second, "the saved IM", imFrom("see you later")).(*msg.ImprovedInstantMessage)
	if saved.MessageBlock.Offline != 1 || saved.AgentData.AgentID != ann.c.Agent || string(saved.MessageBlock.FromAgentName) != "Ann Sender\x00" || saved.MessageBlock.Timestamp == 0 {
		t.Errorf("saved IM as delivered: %+v", saved)
	}
	if saved.Absent() != 1 {
		t.Errorf("saved IM: %d blocks absent, want 1 (MetaData)", saved.Absent())
	}
	if left, _ := r.store.Messages().Take(t.Context(), cara.ID); len(left) != 0 {
		t.Errorf("%d messages still stored after delivery", len(left))
	}
	// The online delivery is counted and traced just after it is sent.
	var events []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		events = events[:0]
		for _, ev := range r.rec.Events() {
			if im, ok := ev.(*trace.InstantMessage); ok {
				events = append(events, im.Outcome)
			}
		}
		if len(events) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	st := r.region.World()
	if st.IMs != 1 || st.IMsOffline != 1 || st.IMsDelivered != 1 {
		t.Errorf("IM counts %+v", st)
	}
	if len(events) != 3 || events[0] != "delivered" || events[1] != "stored: recipient offline" || !strings.HasPrefix(events[2], "delivered at login") {
		t.Errorf("IM trace outcomes %q", events)
	}
}

// A crowd around an agent that stops reading: the region stops sending it
// more than its circuit holds, and what it keeps for it stays bounded.
func TestWorldAgentThatStopsReading(t *testing.T) {
	// Small circuit windows make the point in seconds: the region's
	// circuits hold 32 unacknowledged packets, the deaf bot's 8 undelivered
	// messages.
	r := newRigWith(t, func(c *sim.Config) { c.Circuit.Unacked = 32 })
	deaf := r.arriveWith(t, "Deaf", "Bot", ritual.UUID{}, circuit.Config{Side: trace.Client, PingInterval: -1, Deliver: 8})
	var crowd []*member
	for i := range 8 {
		crowd = append(crowd, r.arrive(t, "Crowd", string(rune('A'+i)), ritual.UUID{}))
	}
	// The crowd walks in circles and talks; its members read everything.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i, m := range crowd {
		go func() {
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-m.conn.Inbox():
				case <-time.After(20 * time.Millisecond):
					m.update(motion.AtPos, float64(n)/10+float64(i))
					if n%5 == 0 {
						m.say(sim.ChatShout, 0, strings.Repeat("chatter ", 40))
					}
				}
			}
		}()
	}
	// The deaf bot keeps its circuit alive but never reads what arrives.
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
				deaf.update(0, 0)
			}
		}
	}()
	time.Sleep(4 * time.Second)
	st := r.region.World()
	if st.Avatars != 9 {
		t.Fatalf("%d avatars in the world, want 9", st.Avatars)
	}
	t.Logf("%+v", st)
	if st.Skipped == 0 && st.ChatDropped == 0 {
		t.Errorf("nothing held back from an agent that does not read: %+v", st)
	}
	if st.ViewEntries > 9*9 {
		t.Errorf("%d view entries for 9 avatars", st.ViewEntries)
	}
	if st.MaxQueued > sim.ChatQueueLimit+64 {
		t.Errorf("an agent's circuit holds %d queued messages, bound %d", st.MaxQueued, sim.ChatQueueLimit+64)
	}
}
