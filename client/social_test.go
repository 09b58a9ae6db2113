package client

import (
	"math"
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
