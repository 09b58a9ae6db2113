package grid_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/client"
	"ritual/grid"
	"ritual/internal/pgtest"
	"ritual/trace"
)

// TestTeleportBetweenRegions runs two regions in one process: the client
// teleports from West to East and back (TeleportLocationRequest,
// TeleportStart, TeleportProgress, TeleportFinish on the event queue, the
// circuit at the destination) and the ritual completes at each
// destination; a teleport within the region ends at TeleportLocal with the
// avatar moved; one to a handle no region has fails with a reason.
func TestTeleportBetweenRegions(t *testing.T) {
	var mem trace.Memory
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Recorder: &mem,
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")
	s, err := loginTo(t, srv.LoginURI(), "uri:West&30&40&30")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	for _, hop := range []struct {
		region string
		pos    ritual.Vector3
	}{{"East", ritual.Vector3{X: 100, Y: 120, Z: 30}}, {"West", ritual.Vector3{X: 200, Y: 60, Z: 30}}, {"East", ritual.Vector3{X: 30, Y: 30, Z: 30}}} {
		since := time.Now()
		res, err := s.Teleport(ctx, hop.region, hop.pos, ritual.Vector3{X: 1})
		if err != nil {
			for _, ev := range mem.Events() {
				if ev.Head().Layer != trace.UDP {
					t.Logf("%T %+v", ev, ev)
				}
			}
			t.Fatalf("teleport to %s: %v", hop.region, err)
		}
		if res.Local || res.Region.Name != hop.region {
			t.Fatalf("teleport to %s arrived %+v", hop.region, res)
		}
		if d := res.Position; abs(d.X-hop.pos.X) > 0.5 || abs(d.Y-hop.pos.Y) > 0.5 {
			t.Errorf("teleport to %s arrived at %v, want %v", hop.region, d, hop.pos)
		}
		if res.Flags&client.TeleportViaLocation == 0 {
			t.Errorf("teleport flags %#x", res.Flags)
		}
		if err := s.WaitArrival(ctx, since); err != nil {
			t.Fatalf("ritual in %s: %v", hop.region, err)
		}
		if s.Region().Name != hop.region {
			t.Errorf("main region %q after the teleport to %s", s.Region().Name, hop.region)
		}
		// The avatar is in the destination's world, and only there.
		waitWorld(t, srv, hop.region)
	}

	// Within East: TeleportLocal, and the shared world's avatar moved.
	to := ritual.Vector3{X: 50, Y: 200, Z: 30}
	res, err := s.Teleport(ctx, "East", to, ritual.Vector3{X: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Local || res.Region.Name != "East" || abs(res.Position.X-50) > 0.5 || abs(res.Position.Y-200) > 0.5 {
		t.Fatalf("local teleport %+v", res)
	}

	// Nowhere: a handle no region has.
	_, err = s.TeleportToHandle(ctx, ritual.HandleFromGrid(3000, 3000), to, ritual.Vector3{X: 1})
	if te, ok := errors.AsType[*client.TeleportError](err); !ok || !strings.Contains(te.Reason, "3000,3000") {
		t.Fatalf("teleport to an unknown handle: %v; want a TeleportError naming 3000,3000", err)
	}
	// By landmark: refused with a reason.
	_, err = s.TeleportLandmark(ctx, ritual.NewUUID())
	if te, ok := errors.AsType[*client.TeleportError](err); !ok || !strings.Contains(te.Reason, "landmark") {
		t.Fatalf("teleport by landmark: %v", err)
	}
	// The agent still works where it is.
	if _, err := s.Logout(ctx); err != nil {
		t.Errorf("logout after the teleports: %v", err)
	}
	var kinds []string
	for _, ev := range mem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Side == trace.Server {
			kinds = append(kinds, rc.Kind)
		}
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{trace.TeleportRequest, trace.TeleportStart, trace.TeleportFinish, trace.TeleportLocal, trace.TeleportFailed} {
		if !strings.Contains(got, want) {
			t.Errorf("server trace lacks %s: %s", want, got)
		}
	}
}

// TestTeleportBackAfterRelogin: a session teleports West to East and logs
// out there, leaving its child at West until that circuit times out; the
// agent's next session, logged in at East, teleports to West and arrives
// (West provisions the new session's circuit rather than taking the old
// child for it).
func TestTeleportBackAfterRelogin(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	hop := func(s *client.Session, region string) {
		t.Helper()
		since := time.Now()
		if _, err := s.Teleport(ctx, region, ritual.Vector3{X: 100, Y: 100, Z: 30}, ritual.Vector3{X: 1}); err != nil {
			t.Fatalf("teleport to %s: %v", region, err)
		}
		if err := s.WaitArrival(ctx, since); err != nil {
			t.Fatalf("ritual in %s: %v", region, err)
		}
	}
	first, err := loginTo(t, srv.LoginURI(), "uri:West&30&40&30")
	if err != nil {
		t.Fatal(err)
	}
	hop(first, "East")
	if _, err := first.Logout(ctx); err != nil {
		t.Fatalf("logout: %v", err)
	}
	first.Close()

	second, err := loginTo(t, srv.LoginURI(), "uri:East&30&40&30")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	hop(second, "West")
	waitWorld(t, srv, "West")
}

func abs(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}

// waitWorld waits until the agent's avatar is in region's shared world
// and in no other.
func waitWorld(t *testing.T, srv *grid.Server, region string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ok := true
		for _, r := range srv.Regions {
			want := 0
			if r.Info().Name == region {
				want = 1
			}
			ok = ok && r.World().Avatars == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for _, r := range srv.Regions {
				t.Logf("%s: %+v", r.Info().Name, r.World())
			}
			t.Fatalf("the avatar is not in %s alone", region)
		}
	}
}

// BenchmarkTeleport measures a teleport between two regions of one
// process, from TeleportLocationRequest to TeleportFinish as the client
// sees it (p50-ms; p95-ms), each followed by the arrival at the
// destination before the next teleport back.
func BenchmarkTeleport(b *testing.B) {
	srv, err := grid.Start(b.Context(), grid.Config{DataDir: b.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger(),
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(context.Background())
	addAccount(b, srv.Store, "Grid", "Walker", "secret")
	ctx := b.Context()
	s, err := client.Login(ctx, client.Config{LoginURI: srv.LoginURI(), First: "Grid", Last: "Walker", Password: "secret",
		Start: "uri:West&128&128&30", Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		b.Fatal(err)
	}
	handles := []ritual.RegionHandle{srv.Regions[1].Handle(), srv.Regions[0].Handle()}
	var took []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		res, err := s.TeleportToHandle(ctx, handles[i%2], ritual.Vector3{X: 128, Y: 128, Z: 30}, ritual.Vector3{X: 1})
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, res.ToFinish)
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(took[len(took)*95/100])/1e6, "p95-ms")
}

// TestTeleportAcrossProcesses: two region processes and a login service
// share a PostgreSQL database; the client logs in to North, finds South on
// North's map and teleports there: North has South admit the agent
// through South's region-to-region API, and the ritual completes in South;
// South, North's neighbour, had the agent as a child already.
func TestTeleportAcrossProcesses(t *testing.T) {
	dsn := pgtest.Database(t, "")
	beat := grid.Config{Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: 2 * time.Second}
	loginSt := openPG(t, dsn)
	addAccount(t, loginSt, "Grid", "Walker", "secret")
	cfg := beat
	cfg.Store, cfg.Listen, cfg.NoRegion = loginSt, "127.0.0.1:0", true
	lg := start(t, cfg)
	defer stop(t, lg)
	regionProc := func(name string, x, y uint32) *grid.Server {
		cfg := beat
		cfg.Store, cfg.Listen, cfg.NoLogin = openPG(t, dsn), "127.0.0.1:0", true
		cfg.Regions = []grid.RegionSpec{{Name: name, GridX: x, GridY: y}}
		return start(t, cfg)
	}
	north := regionProc("North", 1000, 1001)
	defer stop(t, north)
	south := regionProc("South", 1000, 1000)
	defer stop(t, south)

	s, err := loginTo(t, lg.LoginURI(), "uri:North&100&50&30")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	since := time.Now()
	res, err := s.Teleport(ctx, "South", ritual.Vector3{X: 60, Y: 70, Z: 30}, ritual.Vector3{X: 1})
	if err != nil {
		t.Fatalf("teleport to South: %v", err)
	}
	if res.Region.Name != "South" || abs(res.Position.X-60) > 0.5 || abs(res.Position.Y-70) > 0.5 {
		t.Fatalf("arrived %+v", res)
	}
	if err := s.WaitArrival(ctx, since); err != nil {
		t.Fatal(err)
	}
	_, err = s.TeleportToHandle(ctx, ritual.HandleFromGrid(3000, 3000), ritual.Vector3{X: 1, Y: 1, Z: 30}, ritual.Vector3{X: 1})
	if te, ok := errors.AsType[*client.TeleportError](err); !ok || !strings.Contains(te.Reason, "3000,3000") {
		t.Fatalf("teleport to an unknown handle from South: %v", err)
	}
	if _, err := s.Logout(ctx); err != nil {
		t.Errorf("logout in South: %v", err)
	}
}
