package grid_test

import (
	"context"
	"testing"
	"time"

	"ritual"
	"ritual/client"
	"ritual/grid"
	"ritual/trace"
)

// TestNeighbours runs three regions in one process, West and East side by
// side and Far apart: an agent arriving in West is told of East
// (EnableSimulator and EstablishAgentCommunication on the event queue),
// opens a child circuit to it and receives its handshake and terrain, while
// its avatar stays in West's world only; Far, no neighbour, is not told.
func TestNeighbours(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}, {Name: "Far", GridX: 2005, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")
	s, err := loginTo(t, srv.LoginURI(), "uri:West&250&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatalf("neighbours: %v (regions %+v)", err, s.Regions())
	}
	east := srv.Regions[1]
	var child *client.RegionView
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		views := s.Regions()
		if len(views) != 2 {
			t.Fatalf("regions %+v, want West and East only", views)
		}
		v := views[1]
		if v.Handle == east.Handle() && v.Role == client.RoleChild && v.Of > 0 && v.Patches == v.Of {
			child = &v
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child region never got its terrain: %+v", views)
		}
	}
	if child.Addr.Port() == 0 {
		t.Errorf("child region %+v", child)
	}
	// The avatar is in West's world only.
	waitWorld(t, srv, "West")
}

// TestCrossing walks an agent from West across the border into East: the
// crossing completes (CrossedRegion, the ritual at East), the position is
// East's, the avatar is in East's world only and West keeps the agent's
// circuit as a child.
func TestCrossing(t *testing.T) {
	var mem trace.Memory
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Recorder: &mem,
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{
		LoginURI: srv.LoginURI(), First: "Grid", Last: "Walker", Password: "secret",
		Start: "uri:West&240&128&30", Logger: quietLogger(), Recorder: &mem,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	if err := s.WaitCrossings(ctx, 1); err != nil {
		t.Fatalf("crossing: %v (regions %+v)", err, s.Regions())
	}
	t.Logf("crossing: walk start to crossing complete %v", time.Since(since))
	// The hand-over, measured (not asserted): the region's, from the
	// avatar past the edge to CrossedRegion queued with the neighbour
	// ready; the client's, from CrossedRegion to AgentMovementComplete.
	for _, ev := range mem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && (rc.Kind == trace.CrossStart || rc.Kind == trace.CrossComplete) && rc.Elapsed > 0 {
			t.Logf("crossing hand-over: %s side %s %v", rc.Side, rc.Kind, rc.Elapsed)
		}
	}
	if s.Region().Name != "East" {
		t.Fatalf("main region %q after the crossing", s.Region().Name)
	}
	if p := s.Position(); p.X > 40 || abs(p.Y-128) > 2 {
		t.Errorf("position after the crossing %v, want just inside East's west edge", p)
	}
	waitWorld(t, srv, "East")
	views := s.Regions()
	if len(views) != 2 || views[1].Role != client.RoleChild || views[1].Handle != srv.Regions[0].Handle() {
		t.Errorf("regions after the crossing %+v, want East main and West child", views)
	}
	// East has no neighbour to the east: its edge is a wall.
	if _, err := s.Teleport(ctx, "East", ritual.Vector3{X: 240, Y: 128, Z: 30}, ritual.Vector3{X: 1}); err != nil {
		t.Fatal(err)
	}
	s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	for deadline := time.Now().Add(30 * time.Second); s.Position().X < 250; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never reached East's east edge: at %v", s.Position())
		}
	}
	time.Sleep(time.Second)
	if p := s.Position(); p.X > 256 || s.Region().Name != "East" || s.Crossings() != 1 {
		t.Errorf("at %v in %s after %d crossings: East's east edge is no wall", p, s.Region().Name, s.Crossings())
	}
}
