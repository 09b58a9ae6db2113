package grid_test

import (
	"context"
	"math"
	"testing"
	"time"

	"ritual"
	"ritual/client"
	"ritual/grid"
)

// waitChat reads s's world events until it hears text, and fails if it
// hears a line in never first.
func waitChat(t *testing.T, s *client.Session, text string, within time.Duration, never ...string) *client.Chat {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.WorldEvents():
			if ev.Kind != client.ChatHeard {
				continue
			}
			for _, n := range never {
				if ev.Chat.Text == n {
					t.Fatalf("%q was heard %v away", n, ev.Chat.Position)
				}
			}
			if ev.Chat.Text == text {
				return ev.Chat
			}
		case <-deadline:
			t.Fatalf("%q not heard within %v", text, within)
			return nil
		}
	}
}

// waitSees waits until s sees the avatar of id in region h.
func waitSees(t *testing.T, s *client.Session, id ritual.UUID, h ritual.RegionHandle) client.Avatar {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if a, ok := s.AvatarByID(id); ok && a.Region == h {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never saw %s in region %v: avatars %+v, regions %+v", s.LoginResponse().FirstName, id, h, s.Avatars(), s.Regions())
		}
	}
}

// TestSeeAndHearAcrossBorder runs West and East side by side, Xan in West
// 6 m from the border and Yul in East 6 m from it: each sees the other,
// over the child circuit to the other's region, where the other stands;
// what Xan says Yul hears, placed in East's coordinates; from 60 m from
// the border a say is not heard across it and a shout is. Walking across,
// Xan stays one avatar to Yul: it moves into East, it never leaves.
func TestSeeAndHearAcrossBorder(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	west, east := srv.Regions[0], srv.Regions[1]
	addAccount(t, srv.Store, "Xan", "West", "secret")
	addAccount(t, srv.Store, "Yul", "East", "secret")
	xan, err := loginAs(t, srv.LoginURI(), "Xan", "West", "uri:West&250&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer xan.Close()
	yul, err := loginAs(t, srv.LoginURI(), "Yul", "East", "uri:East&6&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer yul.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, s := range []*client.Session{xan, yul} {
		if err := s.WaitNeighbours(ctx, 1); err != nil {
			t.Fatalf("%s: %v", s.LoginResponse().FirstName, err)
		}
	}

	// Each sees the other across the border, in the other's region.
	y := waitSees(t, xan, yul.AgentID(), east.Handle())
	x := waitSees(t, yul, xan.AgentID(), west.Handle())
	if math.Abs(float64(y.Position.X-6)) > 1 || math.Abs(float64(x.Position.X-250)) > 1 {
		t.Errorf("Xan sees Yul at %v in East, Yul sees Xan at %v in West; want x = 6 and x = 250", y.Position, x.Position)
	}
	if d := y.Global().X - xan.GlobalPosition().X; math.Abs(d-12) > 1.5 {
		t.Errorf("Yul is %.1f m east of Xan in the grid's coordinates, want about 12", d)
	}
	if st := east.World(); st.Avatars != 1 || st.ChildViews != 1 {
		t.Errorf("East's world: %d avatars, %d child views; want 1 and 1", st.Avatars, st.ChildViews)
	}

	// Xan's line is heard by Yul, placed 6 m west of East's west edge.
	xanAt := xan.Position()
	if err := xan.Say("hello across the border"); err != nil {
		t.Fatal(err)
	}
	c := waitChat(t, yul, "hello across the border", 5*time.Second)
	if c.SourceID != xan.AgentID() || c.FromName != "Xan West" || c.Type != client.Say ||
		math.Abs(float64(c.Position.X-(xanAt.X-256))) > 1 || math.Abs(float64(c.Position.Y-xanAt.Y)) > 1 {
		t.Errorf("heard %+v, want Xan's say at x = %.1f in East's coordinates", c, xanAt.X-256)
	}

	// 60 m from the border: the say stays in West, the shout carries.
	if _, err := xan.Teleport(ctx, "West", ritual.Vector3{X: 196, Y: 128, Z: 30}, ritual.Vector3{X: 1}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); math.Abs(float64(xan.Position().X-196)) > 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Xan at %v after teleporting to x = 196", xan.Position())
		}
	}
	time.Sleep(300 * time.Millisecond) // the world has Xan there
	if err := xan.Say("too far to be heard"); err != nil {
		t.Fatal(err)
	}
	if err := xan.Shout("loud enough to be heard"); err != nil {
		t.Fatal(err)
	}
	c = waitChat(t, yul, "loud enough to be heard", 5*time.Second, "too far to be heard")
	if c.Type != client.Shout || math.Abs(float64(c.Position.X+60)) > 1 {
		t.Errorf("heard %+v, want Xan's shout at x = -60", c)
	}
	time.Sleep(300 * time.Millisecond)
	for len(yul.WorldEvents()) > 0 {
		if ev := <-yul.WorldEvents(); ev.Kind == client.ChatHeard && ev.Chat.Text == "too far to be heard" {
			t.Error("a say 66 m away was heard across the border")
		}
	}
	if w, e := west.World(), east.World(); w.ChatRelayed < 2 || e.ChatAcross != 2 {
		t.Errorf("West relayed %d lines, East's avatars heard %d; want at least 2 and 2", w.ChatRelayed, e.ChatAcross)
	}

	// Xan walks across into East: to Yul it moves there, never leaving.
	if _, err := xan.Teleport(ctx, "West", ritual.Vector3{X: 250, Y: 120, Z: 30}, ritual.Vector3{X: 1}); err != nil {
		t.Fatal(err)
	}
	waitSees(t, yul, xan.AgentID(), west.Handle())
	for len(yul.WorldEvents()) > 0 {
		<-yul.WorldEvents()
	}
	xan.WalkTo(ritual.Vector3{X: 266, Y: 120, Z: 30})
	if err := xan.WaitCrossings(ctx, 1); err != nil {
		t.Fatalf("crossing: %v", err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		select {
		case ev := <-yul.WorldEvents():
			if ev.Avatar.ID == xan.AgentID() && (ev.Kind == client.AvatarLeft || ev.Kind == client.AvatarArrived) {
				t.Fatalf("Yul saw Xan %s while Xan crossed: %+v", ev.Kind, ev.Avatar)
			}
		case <-time.After(20 * time.Millisecond):
		}
		if a, ok := yul.AvatarByID(xan.AgentID()); ok && a.Region == east.Handle() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Yul never saw Xan in East: %+v", yul.Avatars())
		}
	}
	// The grace for a crossing avatar passes without a departure.
	for end := time.After(3 * time.Second); ; {
		select {
		case ev := <-yul.WorldEvents():
			if ev.Avatar.ID == xan.AgentID() && (ev.Kind == client.AvatarLeft || ev.Kind == client.AvatarArrived) {
				t.Fatalf("Yul saw Xan %s after Xan crossed: %+v", ev.Kind, ev.Avatar)
			}
			continue
		case <-end:
		}
		break
	}
	if n := len(yul.Avatars()); n != 1 {
		t.Errorf("Yul sees %d avatars after Xan crossed, want 1: %+v", n, yul.Avatars())
	}
}
