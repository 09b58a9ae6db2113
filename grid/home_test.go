package grid_test

import (
	"context"
	"testing"

	"ritual"
	"ritual/grid"
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
