package client

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"ritual"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
)

func socialSession(t *testing.T) (*Session, *[]msg.Message) {
	t.Helper()
	cfg, err := Config{WorldEventBuffer: 8}.fill()
	if err != nil {
		t.Fatal(err)
	}
	resp := &login.Response{Agent: ritual.NewUUID(), Session: ritual.NewUUID(), FirstName: "Me", LastName: "Myself"}
	w, err := NewWorld(resp.Agent, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(cfg, resp, w)
	var out []msg.Message
	s.send = func(m msg.Message, _ bool) error {
		out = append(out, m)
		return nil
	}
	return s, &out
}

func avatarUpdate(local uint32, id ritual.UUID, first, last string, pos ritual.Vector3) *msg.ObjectUpdate {
	mo := prim.Motion{Form: prim.MotionFloat, HasCollisionPlane: true, Position: pos, Rotation: ritual.IdentityQuaternion}
	return &msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{{
		ID: local, FullID: id, PCode: prim.PCodeAvatar, ObjectData: mo.AppendTo(nil),
		NameValue: []byte("FirstName STRING RW SV " + first + "\nLastName STRING RW SV " + last + "\x00"),
	}}}
}

func nextEvent(t *testing.T, s *Session) WorldEvent {
	t.Helper()
	select {
	case ev := <-s.WorldEvents():
		return ev
	case <-time.After(time.Second):
		t.Fatal("no world event")
		return WorldEvent{}
	}
}

func TestSocialAvatarsChatIM(t *testing.T) {
	s, _ := socialSession(t)
	ann := ritual.NewUUID()
	s.handle(avatarUpdate(7, ann, "Ann", "Other", ritual.Vector3{X: 10, Y: 20, Z: 30}))
	// The agent's own avatar is not another avatar.
	s.handle(avatarUpdate(8, s.AgentID(), "Me", "Myself", ritual.Vector3{X: 1, Y: 1, Z: 1}))
	ev := nextEvent(t, s)
	if ev.Kind != AvatarArrived || ev.Avatar.Name != "Ann Other" || ev.Avatar.ID != ann || ev.Avatar.Position.X != 10 {
		t.Fatalf("arrival %+v", ev)
	}
	tr := prim.Terse{LocalID: 7, IsAvatar: true, Position: ritual.Vector3{X: 12, Y: 20, Z: 30}, Velocity: ritual.Vector3{X: 3}, Rotation: ritual.IdentityQuaternion}
	s.handle(&msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{{Data: tr.AppendTo(nil)}}})
	ev = nextEvent(t, s)
	if ev.Kind != AvatarMoved || ev.Avatar.Position.X != 12 || math.Abs(float64(ev.Avatar.Velocity.X-3)) > 0.01 || ev.Avatar.Updates != 2 {
		t.Fatalf("movement %+v", ev)
	}
	if av := s.Avatars(); len(av) != 1 || av[0].ID != ann {
		t.Fatalf("avatars %+v", av)
	}
	s.handle(&msg.ChatFromSimulator{ChatData: msg.ChatFromSimulatorChatData{
		FromName: []byte("Ann Other\x00"), SourceID: ann, ChatType: 1, Position: ritual.Vector3{X: 12}, Message: []byte("hi\x00"),
	}})
	ev = nextEvent(t, s)
	if ev.Kind != ChatHeard || ev.Chat.Text != "hi" || ev.Chat.FromName != "Ann Other" || ev.Chat.Type != Say {
		t.Fatalf("chat %+v", ev.Chat)
	}
	s.handle(&msg.ImprovedInstantMessage{AgentData: msg.ImprovedInstantMessageAgentData{AgentID: ann},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{FromAgentName: []byte("Ann Other\x00"), Message: []byte("psst\x00"), Offline: 1, Timestamp: 1000}})
	ev = nextEvent(t, s)
	if ev.Kind != IMReceived || ev.IM.Text != "psst" || !ev.IM.Offline || ev.IM.From != ann || ev.IM.Sent.Unix() != 1000 {
		t.Fatalf("IM %+v", ev.IM)
	}
	s.handle(&msg.KillObject{ObjectData: []msg.KillObjectObjectData{{ID: 7}}})
	ev = nextEvent(t, s)
	if ev.Kind != AvatarLeft || ev.Avatar.ID != ann || len(s.Avatars()) != 0 {
		t.Fatalf("departure %+v, avatars %d", ev, len(s.Avatars()))
	}
	// A full channel drops and counts.
	for i := range 20 {
		s.handle(avatarUpdate(100+uint32(i), ritual.NewUUID(), "Crowd", "Member", ritual.Vector3{}))
	}
	if s.WorldEventsDropped() != 12 || len(s.WorldEvents()) != 8 {
		t.Errorf("dropped %d, queued %d; want 12 and 8", s.WorldEventsDropped(), len(s.WorldEvents()))
	}
}

func TestSocialSendAndSteer(t *testing.T) {
	s, out := socialSession(t)
	s.movement.Position = ritual.Vector3{X: 100, Y: 100, Z: 25}
	if err := s.Shout("far and wide"); err != nil {
		t.Fatal(err)
	}
	if err := s.Say(string(make([]byte, 1024))); err == nil {
		t.Error("a 1024-byte line was accepted")
	}
	to := ritual.NewUUID()
	if err := s.SendIM(to, "hello"); err != nil {
		t.Fatal(err)
	}
	c := (*out)[0].(*msg.ChatFromViewer)
	if string(c.ChatData.Message) != "far and wide\x00" || c.ChatData.Type != uint8(Shout) || c.ChatData.Channel != 0 {
		t.Errorf("chat sent %+v", c.ChatData)
	}
	im := (*out)[1].(*msg.ImprovedInstantMessage)
	if im.MessageBlock.ToAgentID != to || string(im.MessageBlock.FromAgentName) != "Me Myself\x00" || string(im.MessageBlock.Message) != "hello\x00" {
		t.Errorf("IM sent %+v", im.MessageBlock)
	}

	// Steering north: forward, facing +Y; then within a metre: one Stop.
	*out = nil
	s.social.goal, s.social.goalSet = ritual.Vector3{X: 100, Y: 110, Z: 25}, true
	flags, rot, ok := s.controls()
	yaw := 2 * math.Atan2(float64(rot.Z), float64(rot.W))
	if !ok || flags != controlAtPos || math.Abs(yaw-math.Pi/2) > 1e-3 {
		t.Errorf("steering north: flags %#x yaw %v ok %v", flags, yaw, ok)
	}
	s.social.fly = true
	s.social.goal.Z = 60
	if flags, _, _ := s.controls(); flags != controlAtPos|controlFly|controlUpPos {
		t.Errorf("flying up: flags %#x", flags)
	}
	s.social.goal = ritual.Vector3{X: 100.5, Y: 100, Z: 25}
	if flags, _, ok := s.controls(); flags != controlStop || ok || s.Moving() {
		t.Errorf("at the goal: flags %#x ok %v moving %v", flags, ok, s.Moving())
	}
	if flags, _, _ := s.controls(); flags != 0 {
		t.Errorf("after the stop: flags %#x, want none", flags)
	}
}

// TestSocialAcrossBorders: avatars told of by a neighbour's child circuit
// are in view with their region, nearest first in the grid's coordinates;
// an avatar crossing from the neighbour into the main region is one
// avatar throughout (moved, never a second arrival, no departure when the
// neighbour lets it go, before or after the main region tells of it); an
// avatar let go of and told of by no other region leaves after the
// crossing grace (at once in a session that sees one region); a child
// circuit's chat is not heard; a child circuit that closes takes its
// avatars with it.
func TestSocialAcrossBorders(t *testing.T) {
	s, _ := socialSession(t)
	west, east := ritual.HandleFromGrid(1000, 1000), ritual.HandleFromGrid(1001, 1000)
	s.region.Handle = west
	s.movement.Position = ritual.Vector3{X: 250, Y: 128, Z: 25}
	main := source{from: netip.MustParseAddrPort("127.0.0.1:9000"), region: west, others: true}
	child := source{from: netip.MustParseAddrPort("127.0.0.1:9001"), region: east, child: true, others: true}
	yan, zed, wes := ritual.NewUUID(), ritual.NewUUID(), ritual.NewUUID()
	now := time.Now()
	tick := func() time.Time { now = now.Add(time.Millisecond); return now }

	s.social.observe(child, avatarUpdate(5, yan, "Yan", "East", ritual.Vector3{X: 6, Y: 128, Z: 25}), tick())
	if ev := nextEvent(t, s); ev.Kind != AvatarArrived || ev.Avatar.ID != yan || ev.Avatar.Region != east {
		t.Fatalf("Yan across the border: %+v", ev)
	}
	s.social.observe(main, avatarUpdate(9, zed, "Zed", "West", ritual.Vector3{X: 200, Y: 128, Z: 25}), tick())
	nextEvent(t, s)
	s.social.observe(child, avatarUpdate(6, wes, "Wes", "East", ritual.Vector3{X: 100, Y: 128, Z: 25}), tick())
	nextEvent(t, s)
	// Yan is 12 m away across the border, Zed 50 m, Wes 106 m.
	av := s.Avatars()
	if len(av) != 3 || av[0].ID != yan || av[1].ID != zed || av[2].ID != wes {
		t.Fatalf("avatars %+v, want Yan, Zed, Wes", av)
	}
	if g := av[0].Global(); g.X != 256*1001+6 || g.Y != 256*1000+128 {
		t.Errorf("Yan's global position %+v", g)
	}
	s.social.observe(child, &msg.ChatFromSimulator{ChatData: msg.ChatFromSimulatorChatData{Message: []byte("not for you\x00")}}, tick())

	// Yan crosses west: the main region tells of it, then the neighbour
	// lets it go.
	s.social.observe(main, avatarUpdate(11, yan, "Yan", "East", ritual.Vector3{X: 255, Y: 128, Z: 25}), tick())
	if ev := nextEvent(t, s); ev.Kind != AvatarMoved || ev.Avatar.ID != yan || ev.Avatar.Region != west {
		t.Fatalf("Yan in the main region: %+v, want moved", ev)
	}
	if a, ok := s.AvatarByID(yan); !ok || a.Region != west || a.LocalID != 11 {
		t.Errorf("Yan while both regions tell of it: %+v", a)
	}
	s.social.observe(child, &msg.KillObject{ObjectData: []msg.KillObjectObjectData{{ID: 5}}}, tick())
	tr := prim.Terse{LocalID: 5, IsAvatar: true, Position: ritual.Vector3{X: 1}, Rotation: ritual.IdentityQuaternion}
	s.social.observe(child, &msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{{Data: tr.AppendTo(nil)}}}, tick())
	if n := len(s.Avatars()); n != 3 {
		t.Errorf("%d avatars after Yan crossed, want 3", n)
	}
	if a, _ := s.AvatarByID(yan); a.Region != west || a.Position.X != 255 {
		t.Errorf("Yan after crossing %+v", a)
	}

	// Vic crosses too, but the neighbour lets it go before the main
	// region tells of it: it neither leaves nor arrives again. Uma, let
	// go of and told of by no other region, leaves after the grace.
	vic, uma := ritual.NewUUID(), ritual.NewUUID()
	s.social.observe(child, avatarUpdate(7, vic, "Vic", "East", ritual.Vector3{X: 2, Y: 100, Z: 25}), tick())
	s.social.observe(child, avatarUpdate(8, uma, "Uma", "East", ritual.Vector3{X: 2, Y: 90, Z: 25}), tick())
	nextEvent(t, s)
	nextEvent(t, s)
	s.social.observe(child, &msg.KillObject{ObjectData: []msg.KillObjectObjectData{{ID: 7}, {ID: 8}}}, tick())
	s.social.observe(main, avatarUpdate(12, vic, "Vic", "East", ritual.Vector3{X: 255, Y: 100, Z: 25}), tick())
	if ev := nextEvent(t, s); ev.Kind != AvatarMoved || ev.Avatar.ID != vic || ev.Avatar.Region != west {
		t.Fatalf("Vic in the main region: %+v, want moved", ev)
	}
	if _, ok := s.AvatarByID(uma); ok {
		t.Error("Uma, let go of, is still listed")
	}
	var ev WorldEvent
	select {
	case ev = <-s.WorldEvents():
	case <-time.After(crossingGrace + time.Second):
	}
	if ev.Kind != AvatarLeft || ev.Avatar.ID != uma {
		t.Fatalf("after the grace: %+v, want Uma left", ev)
	}
	alone := main
	alone.others = false
	s.social.observe(alone, &msg.KillObject{ObjectData: []msg.KillObjectObjectData{{ID: 12}}}, tick())
	if ev := nextEvent(t, s); ev.Kind != AvatarLeft || ev.Avatar.ID != vic {
		t.Fatalf("Vic let go of by the main region of a session seeing no other: %+v, want left at once", ev)
	}

	// The neighbour's circuit closes: Wes goes, Yan and Zed stay.
	s.social.forget(child.from, tick())
	if ev := nextEvent(t, s); ev.Kind != AvatarLeft || ev.Avatar.ID != wes {
		t.Fatalf("after the child circuit closed: %+v, want Wes left", ev)
	}
	if av := s.Avatars(); len(av) != 2 || av[0].ID != yan || av[1].ID != zed {
		t.Errorf("avatars %+v, want Yan and Zed", av)
	}
	select {
	case ev := <-s.WorldEvents():
		t.Errorf("unexpected %+v", ev)
	default:
	}
}
