package grid_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/client"
	"ritual/grid"
	"ritual/internal/pgtest"
	"ritual/login"
	"ritual/store"
	"ritual/store/postgres"
)

// openPG opens the test database as one process of the grid would.
func openPG(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func addAccount(t testing.TB, st store.Store, first, last, pw string) {
	t.Helper()
	h, err := account.Hash(pw, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Accounts().Create(t.Context(), &store.Account{First: first, Last: last, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

// loginTo logs Grid Walker in with start and waits for the ritual to
// complete.
func loginTo(t *testing.T, uri, start string) (*client.Session, error) {
	t.Helper()
	return loginAs(t, uri, "Grid", "Walker", start)
}

func loginAs(t *testing.T, uri, first, last, start string) (*client.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{
		LoginURI: uri, First: first, Last: last, Password: "secret",
		Start: start, Logger: quietLogger(),
	})
	if err != nil {
		return nil, err
	}
	if err := s.WaitRitual(ctx); err != nil {
		s.Close()
		t.Fatalf("ritual in %s: %v", start, err)
	}
	return s, nil
}

// TestRegionsInSeparateProcesses runs a login service and two region
// "processes" (grids each with their own connection pool, sharing only
// the PostgreSQL database): the client logs in to each region by its uri:
// start and lands where it asked; a region that stops without leaving the
// map is swept off it after missed heartbeats, and a login there then
// fails naming it.
func TestRegionsInSeparateProcesses(t *testing.T) {
	dsn := pgtest.Database(t, "")
	beat := grid.Config{Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: 400 * time.Millisecond}

	loginSt := openPG(t, dsn)
	addAccount(t, loginSt, "Grid", "Walker", "secret")
	cfg := beat
	cfg.Store, cfg.Listen, cfg.NoRegion = loginSt, "127.0.0.1:0", true
	lg := start(t, cfg)
	defer stop(t, lg)
	if lg.Region != nil || lg.Login == nil {
		t.Fatalf("login service: region %v, login %v", lg.Region, lg.Login)
	}

	regionProc := func(name string, x, y uint32) *grid.Server {
		cfg := beat
		cfg.Store, cfg.Listen, cfg.NoLogin = openPG(t, dsn), "127.0.0.1:0", true
		cfg.Regions = []grid.RegionSpec{{Name: name, GridX: x, GridY: y}}
		return start(t, cfg)
	}
	north := regionProc("North", 1000, 1001)
	south := regionProc("South", 1000, 1000)
	defer stop(t, south)

	for _, tt := range []struct {
		start, region string
		x, y          float32
	}{
		{"uri:North&100&50&30", "North", 100, 50},
		{"uri:south&20&200&30", "South", 20, 200},
	} {
		s, err := loginTo(t, lg.LoginURI(), tt.start)
		if err != nil {
			t.Fatalf("login to %s: %v", tt.start, err)
		}
		if got := s.Region().Name; got != tt.region {
			t.Errorf("%s: landed in %q", tt.start, got)
		}
		m, _ := s.Movement()
		if m.Position.X != tt.x || m.Position.Y != tt.y {
			t.Errorf("%s: arrived at %v", tt.start, m.Position)
		}
		if _, err := s.Logout(t.Context()); err != nil {
			t.Errorf("logout from %s: %v", tt.region, err)
		}
		s.Close()
	}
	// "last": where the last login placed the agent (South, at 20, 200).
	waitLocation(t, loginSt, "Grid", "Walker", south.Region.Info().ID)
	if s, err := loginTo(t, lg.LoginURI(), "last"); err != nil {
		t.Errorf("login to last: %v", err)
	} else {
		m, _ := s.Movement()
		if s.Region().Name != "South" || m.Position.X != 20 || m.Position.Y != 200 {
			t.Errorf("last: landed in %q at %v; want South at 20, 200", s.Region().Name, m.Position)
		}
		s.Logout(t.Context())
		s.Close()
	}
	// An agent with no last location, with no region in the login
	// process: the first running region by name.
	addAccount(t, loginSt, "New", "Comer", "secret")
	if s, err := loginAs(t, lg.LoginURI(), "New", "Comer", "last"); err != nil || s.Region().Name != "North" {
		t.Errorf("first login to last: %v", err)
	} else {
		s.Close()
	}

	hosts, err := loginSt.Hosts().List(t.Context())
	if err != nil || len(hosts) != 2 {
		t.Fatalf("map = %+v, %v; want two regions", hosts, err)
	}
	// A login service without a region and a region without a login
	// service both serve their metrics.
	for _, srv := range []*grid.Server{lg, south} {
		resp, err := http.Get("http://" + srv.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "process_resident_memory_bytes") {
			t.Errorf("/metrics of %s: %d\n%.300s", srv.Addr(), resp.StatusCode, body)
		}
	}

	// North's process dies without leaving the map (no Unregister): its
	// record goes when its heartbeats stop.
	northID := north.Region.Info().ID
	north.Abandon()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := loginSt.Hosts().Get(t.Context(), northID)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("North still on the map 10 s after its heartbeats stopped: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err = loginTo(t, lg.LoginURI(), "uri:North&128&128&30")
	f, ok := errors.AsType[*login.Failure](err)
	if !ok || f.Reason != login.ReasonConnect || !strings.Contains(f.Message, `"North"`) {
		t.Fatalf("login to a stopped region: %v; want a connect failure naming North", err)
	}
	// South is unaffected.
	if s, err := loginTo(t, lg.LoginURI(), "uri:South&128&128&30"); err != nil {
		t.Errorf("South after North stopped: %v", err)
	} else {
		s.Close()
	}
	// A region that does not exist is named too.
	_, err = loginTo(t, lg.LoginURI(), "uri:Atlantis&1&1&1")
	if f, ok := errors.AsType[*login.Failure](err); !ok || !strings.Contains(f.Message, `"Atlantis"`) {
		t.Errorf("login to a region that does not exist: %v", err)
	}
}

// TestCleanStopLeavesTheMap: a region stopped cleanly leaves the map at
// once.
func TestCleanStopLeavesTheMap(t *testing.T) {
	dsn := pgtest.Database(t, "")
	st := openPG(t, dsn)
	srv := start(t, grid.Config{Store: st, Listen: "127.0.0.1:0", Regions: []grid.RegionSpec{{Name: "A", GridX: 5, GridY: 5}, {Name: "B", GridX: 6, GridY: 5}}})
	hosts, err := st.Hosts().List(t.Context())
	if err != nil || len(hosts) != 2 {
		t.Fatalf("map = %+v, %v", hosts, err)
	}
	if hosts[0].SimPort == hosts[1].SimPort {
		t.Errorf("two regions on one UDP port %d", hosts[0].SimPort)
	}
	stop(t, srv)
	if hosts, err := st.Hosts().List(t.Context()); err != nil || len(hosts) != 0 {
		t.Errorf("map after a clean stop = %+v, %v", hosts, err)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestSeveralRegionsInOneProcess runs two regions and the login service in
// one process on SQLite: each region has its own UDP port and a login
// reaches each by its uri: start; "last" goes where the last login went.
func TestSeveralRegionsInOneProcess(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, grid.Config{DataDir: dir, Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	addAccount(t, srv.Store, "Grid", "Walker", "secret")
	if len(srv.Regions) != 2 || srv.Region != srv.Regions[0] {
		t.Fatalf("regions %v", srv.Regions)
	}
	if e := srv.Regions[1].Info(); e.GridX != 2001 || e.GridY != 2000 {
		t.Errorf("East at %d,%d", e.GridX, e.GridY)
	}
	ports := map[uint16]bool{}
	for _, start := range []string{"uri:West&10&10&30", "uri:EAST&200&100&30", "last"} {
		s, err := loginTo(t, srv.LoginURI(), start)
		if err != nil {
			t.Fatalf("login to %s: %v", start, err)
		}
		want := "West"
		if start != "uri:West&10&10&30" {
			want = "East" // "last" follows the login to East
		}
		if start == "last" {
			// The location is recorded once the login is answered.
			waitLocation(t, srv.Store.(store.GridStore), "Grid", "Walker", srv.Regions[1].Info().ID)
		}
		if got := s.Region().Name; got != want {
			t.Errorf("%s landed in %q, want %q", start, got, want)
		}
		ports[s.Region().Addr.Port()] = true
		s.Logout(t.Context())
		s.Close()
	}
	if len(ports) != 2 {
		t.Errorf("the two regions' UDP ports: %v", ports)
	}
	// Both are on the (SQLite) map.
	gs := srv.Store.(store.GridStore)
	if hosts, err := gs.Hosts().List(t.Context()); err != nil || len(hosts) != 2 {
		t.Errorf("map = %+v, %v", hosts, err)
	}
}

// waitLocation waits until the agent's last location is the region.
func waitLocation(t *testing.T, gs store.GridStore, first, last string, region ritual.UUID) {
	t.Helper()
	acct, err := gs.Accounts().ByName(t.Context(), first, last)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if l, err := gs.Locations().Get(t.Context(), acct.ID); err == nil && l.Region == region {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s's location is not region %s 10 s after the login", first, last, region)
		}
	}
}
