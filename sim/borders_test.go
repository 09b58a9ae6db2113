package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
)

// child opens a child agent's circuit (Region.AdmitChild, then
// UseCircuitCode and nothing more), after before runs on the provisioned
// circuit.
func (r *rig) child(t *testing.T, first, last string, before func(login.Circuit)) *member {
	t.Helper()
	c := login.Circuit{
		Code: 9000 + codes.Add(1), Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: first, Last: last, Expiry: time.Now().Add(5 * time.Second),
	}
	if _, err := r.region.AdmitChild(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(c)
	}
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatalf("UseCircuitCode: %v", err)
	}
	return &member{c: c, conn: conn}
}

// avatarIn returns the block of id's avatar in m, an ObjectUpdate.
func avatarIn(m msg.Message, id ritual.UUID) (msg.ObjectUpdateObjectData, *msg.ObjectUpdate, bool) {
	u, ok := m.(*msg.ObjectUpdate)
	if !ok {
		return msg.ObjectUpdateObjectData{}, nil, false
	}
	for _, od := range u.ObjectData {
		if od.FullID == id {
			return od, u, true
		}
	}
	return msg.ObjectUpdateObjectData{}, u, false
}

// TestChildView: a child agent told where it stands across the border
// (x = -10, 64 m view) is sent the region's avatars within its view, from
// there, and no others; it has no avatar here (the others are never sent
// one, the minimap does not show it, the world does not count it); moved
// far along, it is sent the avatars it now sees and the departure of those
// it no longer does. A view for an agent that is not a child here is
// refused.
func TestChildView(t *testing.T) {
	r := newRig(t)
	cfg := circuit.Config{Side: trace.Client, PingInterval: -1}
	ann := r.arriveStart(t, "Ann", "Near", ritual.ZeroUUID, "uri:Ritual&10&128&25", cfg)
	bob := r.arriveStart(t, "Bob", "Far", ritual.ZeroUUID, "uri:Ritual&200&128&25", cfg)
	if err := r.region.SetChildView(sim.ChildView{Agent: ritual.NewUUID(), Far: 64}); !errors.Is(err, sim.ErrNotChild) {
		t.Errorf("a view for an unknown agent: %v, want ErrNotChild", err)
	}
	// Told before its circuit opens: the view waits for it.
	cal := r.child(t, "Cal", "Across", func(c login.Circuit) {
		if err := r.region.SetChildView(sim.ChildView{Agent: c.Agent, Position: ritual.Vector3{X: -10, Y: 128, Z: 25}, Far: 64}); err != nil {
			t.Fatalf("a view for a child provisioned: %v", err)
		}
	})

	var annBlock msg.ObjectUpdateObjectData
	waitFor(t, cal, 5*time.Second, "Ann's avatar", func(m msg.Message) bool {
		if _, _, ok := avatarIn(m, bob.c.Agent); ok {
			t.Fatalf("Cal, 210 m from Bob with a 64 m view, was sent Bob")
		}
		od, u, ok := avatarIn(m, ann.c.Agent)
		if ok {
			annBlock = od
			if u.RegionData.RegionHandle != uint64(r.region.Handle()) {
				t.Errorf("Ann's update names region %d, want %d", u.RegionData.RegionHandle, r.region.Handle())
			}
		}
		return ok
	})
	never(t, cal, time.Second, "Bob's avatar", fullOf(bob.c.Agent))
	never(t, ann, 500*time.Millisecond, "Cal's avatar", fullOf(cal.c.Agent))
	cl := waitFor(t, ann, 3*time.Second, "CoarseLocationUpdate", func(m msg.Message) bool {
		_, ok := m.(*msg.CoarseLocationUpdate)
		return ok
	}).(*msg.CoarseLocationUpdate)
	for _, ad := range cl.AgentData {
		if ad.AgentID == cal.c.Agent {
			t.Errorf("the minimap shows the child agent: %+v", cl.AgentData)
		}
	}
	if st := r.region.World(); st.Avatars != 2 || st.ChildViews != 1 {
		t.Errorf("world: %d avatars, %d child views; want 2 and 1", st.Avatars, st.ChildViews)
	}

	// Along the region to x = 190: Bob comes into view, Ann leaves it.
	if err := r.region.SetChildView(sim.ChildView{Agent: cal.c.Agent, Position: ritual.Vector3{X: 190, Y: 128, Z: 25}, Far: 64}); err != nil {
		t.Fatal(err)
	}
	sawBob, sawKill := false, false
	waitFor(t, cal, 5*time.Second, "Bob's avatar and Ann's departure", func(m msg.Message) bool {
		if _, _, ok := avatarIn(m, bob.c.Agent); ok {
			sawBob = true
		}
		if k, ok := m.(*msg.KillObject); ok {
			for _, od := range k.ObjectData {
				sawKill = sawKill || od.ID == annBlock.ID
			}
		}
		return sawBob && sawKill
	})

	for _, tc := range []struct {
		name string
		v    sim.ChildView
	}{
		{"root here", sim.ChildView{Agent: ann.c.Agent, Far: 64}},
		{"not a number", sim.ChildView{Agent: cal.c.Agent, Position: ritual.Vector3{X: float32(math.NaN())}, Far: 64}},
		{"infinitely far", sim.ChildView{Agent: cal.c.Agent, Far: float32(math.Inf(1))}},
	} {
		if err := r.region.SetChildView(tc.v); err == nil {
			t.Errorf("%s: a view taken", tc.name)
		}
	}
	if err := r.region.SetChildView(sim.ChildView{Agent: ann.c.Agent, Far: 64}); !errors.Is(err, sim.ErrNotChild) {
		t.Errorf("a view for a root agent: %v, want ErrNotChild", err)
	}
}

// TestHearChat: a line spoken across the border is heard by the avatars
// within its range, measured from where the speaker stands (in this
// region's coordinates), with that position; typing, other channels and
// lines out of range are not.
func TestHearChat(t *testing.T) {
	r := newRig(t)
	cfg := circuit.Config{Side: trace.Client, PingInterval: -1}
	ann := r.arriveStart(t, "Ann", "Near", ritual.ZeroUUID, "uri:Ritual&10&128&25", cfg)
	// Ann's height, from her own avatar.
	var z float32
	for deadline := time.Now().Add(5 * time.Second); r.region.World().Avatars < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Ann never joined the world")
		}
	}
	od := waitFor(t, ann, 5*time.Second, "Ann's own avatar", fullOf(ann.c.Agent)).(*msg.ObjectUpdate)
	for _, b := range od.ObjectData {
		if b.FullID == ann.c.Agent {
			z = motionZ(t, b.ObjectData)
		}
	}
	speaker := ritual.NewUUID()
	from := ritual.HandleFromGrid(999, 1000)
	for _, tc := range []struct {
		name    string
		typ     uint8
		channel int32
		x       float32
		heard   int
	}{
		{"say 15 m away", sim.ChatSay, 0, -5, 1},
		{"whisper 15 m away", sim.ChatWhisper, 0, -5, 0},
		{"say 70 m away", sim.ChatSay, 0, -60, 0},
		{"shout 70 m away", sim.ChatShout, 0, -60, 1},
		{"typing 5 m away", sim.ChatStartTyping, 0, 5, 0},
		{"say on channel 7", sim.ChatSay, 7, -5, 0},
		{"type 9", 9, 0, -5, 0},
	} {
		line := sim.ChatLine{
			Speaker: speaker, Name: "Dee Beyond", Type: tc.typ, Channel: tc.channel,
			Position: ritual.Vector3{X: tc.x, Y: 128, Z: z}, From: from, Text: tc.name,
			SourceType: 1, Audible: 1,
		}
		if got := r.region.HearChat(line); got != tc.heard {
			t.Errorf("%s: heard by %d, want %d", tc.name, got, tc.heard)
			continue
		}
		if tc.heard == 0 {
			continue
		}
		m := waitFor(t, ann, 3*time.Second, tc.name, func(m msg.Message) bool {
			c, ok := m.(*msg.ChatFromSimulator)
			return ok && string(c.ChatData.Message) == tc.name+"\x00"
		}).(*msg.ChatFromSimulator)
		if cd := m.ChatData; cd.SourceID != speaker || cd.ChatType != tc.typ || cd.Position != line.Position || string(cd.FromName) != "Dee Beyond\x00" {
			t.Errorf("%s: ChatFromSimulator %+v", tc.name, cd)
		}
	}
	var across []*trace.Chat
	for _, ev := range r.rec.Events() {
		if c, ok := ev.(*trace.Chat); ok && c.FromRegion == uint64(from) {
			across = append(across, c)
		}
	}
	// The four lines that could be heard here are traced, heard or not.
	if len(across) != 4 || across[0].Heard != 1 || across[1].Heard != 0 || across[3].Heard != 1 || across[0].Agent != speaker || across[0].Position.X != -5 {
		t.Errorf("trace of the lines heard across the border: %+v", across)
	}
	if st := r.region.World(); st.ChatAcross != 2 {
		t.Errorf("ChatAcross %d, want 2", st.ChatAcross)
	}
}

// motionZ is the height of a full update's motion block.
func motionZ(t *testing.T, b []byte) float32 {
	t.Helper()
	var mo prim.Motion
	if err := mo.Decode(b); err != nil {
		t.Fatal(err)
	}
	return mo.Position.Z
}

// borders is a Directory with neighbours that records what a region tells
// them.
type borders struct {
	neighbour ritual.RegionHandle

	mu    sync.Mutex
	views []sim.ChildView
	lines []sim.ChatLine
}

func (b *borders) Regions() []store.Region { return nil }
func (b *borders) Admit(context.Context, ritual.RegionHandle, login.Circuit, ritual.Vector3, ritual.Vector3) (login.Destination, error) {
	return login.Destination{}, sim.ErrNoSuchRegion
}
func (b *borders) AdmitNeighbours(context.Context, ritual.RegionHandle, login.Circuit) []login.Destination {
	return []login.Destination{{RegionName: "East", Handle: b.neighbour, SimIP: netip.MustParseAddr("127.0.0.1"), SimPort: 9, SizeX: 256, SizeY: 256}}
}
func (b *borders) AdmitCrossing(context.Context, ritual.RegionHandle, login.Circuit, ritual.Vector3, ritual.Vector3, ritual.Quaternion) (login.Destination, error) {
	return login.Destination{}, sim.ErrNoSuchRegion
}
func (b *borders) UpdateChildView(h ritual.RegionHandle, v sim.ChildView) {
	if h != b.neighbour {
		panic("a view for a region that is no neighbour")
	}
	b.mu.Lock()
	b.views = append(b.views, v)
	b.mu.Unlock()
}
func (b *borders) RelayChat(h ritual.RegionHandle, l sim.ChatLine) {
	if h != b.neighbour {
		panic("a line for a region that is no neighbour")
	}
	b.mu.Lock()
	b.lines = append(b.lines, l)
	b.mu.Unlock()
}

func (b *borders) last() (v sim.ChildView, views int, lines []sim.ChatLine) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.views) > 0 {
		v = b.views[len(b.views)-1]
	}
	return v, len(b.views), append([]sim.ChatLine(nil), b.lines...)
}

// TestTellBorders: the region tells its eastern neighbour where an agent
// near the border stands, in the neighbour's coordinates, and again when
// it moved; a line spoken near the border is relayed with the speaker's
// position in the neighbour's coordinates, a say 56 m from it is not, a
// shout is.
func TestTellBorders(t *testing.T) {
	b := &borders{neighbour: ritual.HandleFromGrid(1001, 1000)}
	r := newRigWith(t, func(c *sim.Config) { c.Directory = b })
	cfg := circuit.Config{Side: trace.Client, PingInterval: -1}
	ann := r.arriveStart(t, "Ann", "Edge", ritual.ZeroUUID, "uri:Ritual&250&128&25", cfg)
	var v sim.ChildView
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		if v, n, _ = b.last(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the neighbour was never told of Ann's view")
		}
	}
	if v.Agent != ann.c.Agent || math.Abs(float64(v.Position.X+6)) > 0.5 || math.Abs(float64(v.Position.Y-128)) > 0.5 || v.Far != sim.DefaultDrawDistance {
		t.Errorf("view %+v, want Ann at x = -6 (6 m west of the neighbour's west edge), seeing 64 m", v)
	}
	// A still avatar is not told again at once.
	time.Sleep(500 * time.Millisecond)
	if _, n, _ := b.last(); n != 1 {
		t.Errorf("told %d times standing still", n)
	}
	// Seeing farther is told at once.
	ann.conn.Send(&msg.AgentUpdate{AgentData: msg.AgentUpdateAgentData{
		AgentID: ann.c.Agent, SessionID: ann.c.Session, BodyRotation: ritual.IdentityQuaternion, Far: 128,
	}}, false)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if v, _, _ = b.last(); v.Far == 128 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a farther view was never told: %+v", v)
		}
	}

	ann.say(sim.ChatSay, 0, "near the border")
	waitFor(t, ann, 3*time.Second, "her own line", func(m msg.Message) bool { _, ok := m.(*msg.ChatFromSimulator); return ok })
	ann.say(sim.ChatStartTyping, 0, "")
	// 56 m from the border: a say does not reach it, a shout does.
	ann.conn.Send(&msg.TeleportLocationRequest{
		AgentData: msg.TeleportLocationRequestAgentData{AgentID: ann.c.Agent, SessionID: ann.c.Session},
		Info:      msg.TeleportLocationRequestInfo{RegionHandle: uint64(r.region.Handle()), Position: ritual.Vector3{X: 200, Y: 128, Z: 25}, LookAt: ritual.Vector3{X: 1}},
	}, true)
	waitFor(t, ann, 3*time.Second, "TeleportLocal", func(m msg.Message) bool { _, ok := m.(*msg.TeleportLocal); return ok })
	time.Sleep(300 * time.Millisecond) // the next frame has her there
	ann.say(sim.ChatSay, 0, "too far to be heard there")
	ann.say(sim.ChatShout, 0, "loud enough")
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, lines := b.last(); len(lines) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	_, _, lines := b.last()
	if len(lines) != 2 {
		t.Fatalf("relayed %+v, want the say near the border and the shout", lines)
	}
	if l := lines[0]; l.Text != "near the border" || l.Speaker != ann.c.Agent || l.Name != "Ann Edge" || l.Type != sim.ChatSay ||
		math.Abs(float64(l.Position.X+6)) > 0.5 || l.From != r.region.Handle() {
		t.Errorf("relayed line %+v, want Ann's say at x = -6", l)
	}
	if l := lines[1]; l.Text != "loud enough" || l.Type != sim.ChatShout || math.Abs(float64(l.Position.X+56)) > 0.5 {
		t.Errorf("relayed line %+v, want Ann's shout at x = -56", l)
	}
	if st := r.region.World(); st.ChatRelayed != 2 {
		t.Errorf("ChatRelayed %d, want 2", st.ChatRelayed)
	}
}

// TestBordersJSON: the values Borders carries between processes, as JSON.
func TestBordersJSON(t *testing.T) {
	id := ritual.MustParseUUID("3c3c9e8e-2f4f-4b4e-9b6a-0a1b2c3d4e5f")
	for _, tc := range []struct {
		v    any
		want string
	}{
		{sim.ChildView{Agent: id, Position: ritual.Vector3{X: -10, Y: 128, Z: 25.5}, Far: 64},
			`{"agent":"3c3c9e8e-2f4f-4b4e-9b6a-0a1b2c3d4e5f","position":{"X":-10,"Y":128,"Z":25.5},"far":64}`},
		{sim.ChatLine{Speaker: id, Name: "Ann Edge", Type: sim.ChatShout, Position: ritual.Vector3{X: -56, Y: 128, Z: 25}, From: ritual.HandleFromGrid(1000, 1000), Text: "hi", SourceType: 1, Audible: 1},
			`{"speaker":"3c3c9e8e-2f4f-4b4e-9b6a-0a1b2c3d4e5f","name":"Ann Edge","type":2,"channel":0,"position":{"X":-56,"Y":128,"Z":25},"from":1099511628032000,"text":"hi","source_type":1,"audible":1}`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%T as JSON:\n%s\nwant\n%s", tc.v, b, tc.want)
		}
		back := reflect.New(reflect.TypeOf(tc.v))
		if err := json.Unmarshal(b, back.Interface()); err != nil || !reflect.DeepEqual(back.Elem().Interface(), tc.v) {
			t.Errorf("%T back from JSON: %+v, %v", tc.v, back.Elem().Interface(), err)
		}
	}
}
