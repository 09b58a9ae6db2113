package grid_test

import (
	"context"
	"testing"
	"time"

	"ritual"
	"ritual/grid"
	"ritual/sim"
	"ritual/store"
)

// TestLoginHome: a login with start "home" goes to the agent's home — a
// region of the process other than the first, at the spot recorded — and,
// with no home set, to the process's first region.
func TestLoginHome(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")

	s, err := loginTo(t, srv.LoginURI(), "home")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Region().Name; got != "West" {
		t.Errorf("with no home set, logged in to %q, want West (the first region)", got)
	}
	agent := s.AgentID()
	s.Close()

	east := srv.Regions[1].Info()
	h := &store.Home{Agent: agent, Region: east.ID, Position: ritual.Vector3{X: 77, Y: 66, Z: 30}, LookAt: ritual.Vector3{Y: 1}}
	if err := srv.Store.Homes().Set(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	s, err = loginTo(t, srv.LoginURI(), "home")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Region().Name; got != "East" {
		t.Errorf("home login placed the agent in %q, want East", got)
	}
	if m, ok := s.Movement(); !ok || m.Position.X != 77 || m.Position.Y != 66 {
		t.Errorf("home login placed the agent at %+v; want 77,66", m)
	}
}

// TestHomeAcrossRegions: an agent sets its home in West (the client's
// SetHome, answered "Home position set."), teleports to East, then Teleport
// Home (TeleportLandmark with the zero id) brings it back to West where it
// stood; logged out and in again with start "home", it lands there too.
func TestHomeAcrossRegions(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	s, err := loginTo(t, srv.LoginURI(), "uri:West&60&70&30")
	if err != nil {
		t.Fatal(err)
	}
	answer, err := s.SetHome(ctx)
	if err != nil || answer != sim.HomeSetText {
		t.Fatalf("SetHome = %q, %v", answer, err)
	}
	h, err := srv.Store.Homes().Get(ctx, s.AgentID())
	if err != nil || h.Region != srv.Regions[0].Info().ID || abs(h.Position.X-60) > 1 || abs(h.Position.Y-70) > 1 {
		t.Fatalf("home %+v, %v: want West near 60,70", h, err)
	}
	since := time.Now()
	if _, err := s.Teleport(ctx, "East", ritual.Vector3{X: 100, Y: 100, Z: 30}, ritual.Vector3{X: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitArrival(ctx, since); err != nil {
		t.Fatal(err)
	}
	since = time.Now()
	res, err := s.TeleportLandmark(ctx, ritual.UUID{})
	if err != nil {
		t.Fatalf("teleport home: %v", err)
	}
	if err := s.WaitArrival(ctx, since); err != nil {
		t.Fatal(err)
	}
	if got := s.Region().Name; got != "West" || res.Flags&0x20 == 0 {
		t.Errorf("teleport home ended in %q with flags %#x; want West, via home", got, res.Flags)
	}
	if p := s.Position(); abs(p.X-h.Position.X) > 1 || abs(p.Y-h.Position.Y) > 1 {
		t.Errorf("home teleport placed the agent at %v, want %v", p, h.Position)
	}
	waitWorld(t, srv, "West")
	if _, err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = loginTo(t, srv.LoginURI(), "home")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if m, _ := s.Movement(); s.Region().Name != "West" || abs(m.Position.X-h.Position.X) > 1 {
		t.Errorf("home login placed the agent in %q at %v; want West at %v", s.Region().Name, m.Position, h.Position)
	}
}
