package grid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ritual"
	"ritual/client"
	"ritual/grid"
	"ritual/grid/peer"
	"ritual/internal/pgtest"
	"ritual/store"
	"ritual/store/sqlite"
	"ritual/trace"
)

// deafConn is a region's UDP socket that can go deaf: once deaf, every
// datagram is dropped, as a process that hangs would.
type deafConn struct {
	net.PacketConn
	deaf atomic.Bool
}

func (c *deafConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, a, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.deaf.Load() {
			return n, a, err
		}
	}
}

// twoProcs is West (with the login service) and East in two "processes"
// (two grids, each with its own connection to one SQLite file), side by
// side on the map.
type twoProcs struct {
	west, east *grid.Server
	eastUDP    *deafConn
	westMem    *trace.Memory
	eastMem    *trace.Memory
}

func startTwo(t testing.TB, release time.Duration) *twoProcs {
	t.Helper()
	dir := t.TempDir()
	return startTwoOn(t, release, func() store.Store {
		st, err := sqlite.OpenContext(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

// startTwoOn is startTwo with each process's store opened by open.
func startTwoOn(t testing.TB, release time.Duration, open func() store.Store) *twoProcs {
	t.Helper()
	p := &twoProcs{westMem: &trace.Memory{}, eastMem: &trace.Memory{}}
	beat := grid.Config{Listen: "127.0.0.1:0", Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: time.Second,
		ReleaseTimeout: release, Logger: quietLogger()}
	cfg := beat
	cfg.Store, cfg.Recorder = open(), p.westMem
	cfg.Regions = []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}}
	var err error
	if p.west, err = grid.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.west.Close(context.Background()) })
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.eastUDP = &deafConn{PacketConn: pc}
	cfg = beat
	cfg.Store, cfg.NoLogin, cfg.PacketConn, cfg.Recorder = open(), true, p.eastUDP, p.eastMem
	cfg.Regions = []grid.RegionSpec{{Name: "East", GridX: 2001, GridY: 2000}}
	if p.east, err = grid.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.east.Close(context.Background()) })
	addAccount(t, p.west.Store, "Grid", "Walker", "secret")
	return p
}

func (p *twoProcs) login(t testing.TB, start string) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{
		LoginURI: p.west.LoginURI(), First: "Grid", Last: "Walker", Password: "secret",
		Start: start, Logger: quietLogger(),
		Timeouts: client.Timeouts{UseCircuitCode: time.Second, Handshake: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitRitual(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

// waitAvatars waits until the region's world holds n avatars.
func waitAvatars(t *testing.T, srv *grid.Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); srv.Region.World().Avatars != n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's world holds %d avatars, want %d", srv.Region.Info().Name, srv.Region.World().Avatars, n)
		}
	}
}

// waitAlert waits for an AlertMessage containing every one of words.
func waitAlert(t *testing.T, s *client.Session, words ...string) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, a := range s.Alerts() {
			ok := true
			for _, w := range words {
				ok = ok && strings.Contains(a, w)
			}
			if ok {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert saying %q; alerts %q", words, s.Alerts())
		}
	}
}

// hearsSelf says text and waits to hear it back: the agent's chat works
// in its region.
func hearsSelf(t *testing.T, s *client.Session, text string) {
	t.Helper()
	if err := s.Say(text); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-s.WorldEvents():
			if ev.Chat != nil && ev.Chat.Text == text {
				return
			}
		case <-deadline:
			t.Fatalf("never heard %q", text)
		}
	}
}

// TestNeighboursAcrossProcesses: an agent arriving in West is told of
// East, run by another process (EnableSimulator, EstablishAgentCommunication)
// and opens a child circuit there, which gets East's terrain; its avatar
// is in West's world only.
func TestNeighboursAcrossProcesses(t *testing.T) {
	p := startTwo(t, 0)
	s := p.login(t, "uri:West&250&128&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatalf("neighbours: %v (regions %+v)", err, s.Regions())
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		views := s.Regions()
		if len(views) == 2 && views[1].Handle == p.east.Region.Handle() && views[1].Role == client.RoleChild &&
			views[1].Of > 0 && views[1].Patches == views[1].Of {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no child at East with its terrain: %+v", views)
		}
	}
	waitAvatars(t, p.west, 1)
	waitAvatars(t, p.east, 0)
}

// TestCrossingAcrossProcesses walks an agent from West into East, run by
// another process: CrossedRegion, the ritual at East with the position
// East's and the avatar still walking, West keeping the agent as a child
// and its avatar leaving West's world once East confirmed the arrival.
func TestCrossingAcrossProcesses(t *testing.T) {
	p := startTwo(t, 0)
	s := p.login(t, "uri:West&240&128&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	if err := s.WaitCrossings(ctx, 1); err != nil {
		t.Fatalf("crossing: %v (regions %+v)", err, s.Regions())
	}
	if s.Region().Name != "East" {
		t.Fatalf("main region %q after the crossing", s.Region().Name)
	}
	p1 := s.Position()
	if p1.X > 60 || abs(p1.Y-128) > 2 {
		t.Errorf("position after the crossing %v, want just inside East's west edge", p1)
	}
	waitAvatars(t, p.east, 1)
	waitAvatars(t, p.west, 0)
	views := s.Regions()
	if len(views) != 2 || views[1].Role != client.RoleChild || views[1].Handle != p.west.Region.Handle() {
		t.Errorf("regions after the crossing %+v, want East main and West child", views)
	}
	// The velocity was kept: the avatar goes on east in East.
	for deadline := time.Now().Add(5 * time.Second); s.Position().X < p1.X+2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the avatar stopped at %v after the crossing", s.Position())
		}
	}
	for _, ev := range p.westMem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Kind == trace.CrossStart && rc.Side == trace.Server {
			t.Logf("crossing hand-over (avatar past the edge to CrossedRegion queued, East admitting through the API): %v", rc.Elapsed)
		}
	}
}

// TestAcrossProcessesPostgres: on PostgreSQL (each process with its own
// pool), an agent is told of its neighbour in the other process, walks
// across the border into it, and teleports back.
func TestAcrossProcessesPostgres(t *testing.T) {
	dsn := pgtest.Database(t, "")
	p := startTwoOn(t, 0, func() store.Store { return openPG(t, dsn) })
	s := p.login(t, "uri:West&240&128&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	if err := s.WaitCrossings(ctx, 1); err != nil {
		t.Fatalf("crossing: %v (regions %+v)", err, s.Regions())
	}
	if s.Region().Name != "East" {
		t.Fatalf("main region %q after the crossing", s.Region().Name)
	}
	waitAvatars(t, p.east, 1)
	waitAvatars(t, p.west, 0)
	res, err := s.Teleport(ctx, "West", ritual.Vector3{X: 100, Y: 100, Z: 30}, ritual.Vector3{X: 1})
	if err != nil || res.Region.Name != "West" {
		t.Fatalf("teleport back to West: %+v %v", res, err)
	}
	t.Logf("teleport East to West: request to TeleportFinish %v", res.ToFinish)
	waitAvatars(t, p.west, 1)
	waitAvatars(t, p.east, 0)
	hearsSelf(t, s, "back in West")
}

// TestTeleportAcrossProcessesAPI: West teleports the agent to East (another
// process) through the region-to-region API, and back: West, where the
// agent is still a child, makes the child the arriving agent (it is not
// kicked as a new login would kick it).
func TestTeleportAcrossProcessesAPI(t *testing.T) {
	p := startTwo(t, 0)
	s := p.login(t, "uri:West&30&40&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, hop := range []struct {
		to        string
		in, empty *grid.Server
	}{{"East", p.east, p.west}, {"West", p.west, p.east}, {"East", p.east, p.west}} {
		since := time.Now()
		res, err := s.Teleport(ctx, hop.to, ritual.Vector3{X: 100, Y: 120, Z: 30}, ritual.Vector3{X: 1})
		if err != nil {
			t.Fatalf("teleport to %s: %v", hop.to, err)
		}
		if res.Region.Name != hop.to || abs(res.Position.X-100) > 0.5 {
			t.Fatalf("teleport to %s arrived %+v", hop.to, res)
		}
		t.Logf("teleport to %s: request to TeleportFinish %v, to arrival %v", hop.to, res.ToFinish, res.Took)
		if err := s.WaitArrival(ctx, since); err != nil {
			t.Fatalf("ritual in %s: %v", hop.to, err)
		}
		waitAvatars(t, hop.in, 1)
		waitAvatars(t, hop.empty, 0)
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Err(); err != nil {
		t.Fatalf("the session ended: %v", err)
	}
	hearsSelf(t, s, "still here")
	if _, err := s.Logout(ctx); err != nil {
		t.Errorf("logout after the teleports: %v", err)
	}
}

// TestTeleportIntoGoneProcess: East's process is gone (its HTTP side and
// UDP socket closed, its record still on the map): the teleport fails with
// a reason naming East and the agent stays in West, walking and chatting.
func TestTeleportIntoGoneProcess(t *testing.T) {
	p := startTwo(t, 0)
	s := p.login(t, "uri:West&30&40&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p.east.Abandon()
	_, err := s.TeleportToHandle(ctx, ritual.HandleFromGrid(2001, 2000), ritual.Vector3{X: 100, Y: 120, Z: 30}, ritual.Vector3{X: 1})
	te, ok := err.(*client.TeleportError)
	if !ok {
		for _, ev := range p.westMem.Events() {
			if rc, ok := ev.(*trace.RegionChange); ok {
				t.Logf("%+v", rc)
			}
		}
	}
	if !ok || !strings.Contains(te.Reason, `"East"`) {
		t.Fatalf("teleport into a gone process: %v; want a TeleportError naming East", err)
	}
	t.Logf("reason: %s", te.Reason)
	if s.Region().Name != "West" || s.Err() != nil {
		t.Fatalf("after the failed teleport: in %q, session %v", s.Region().Name, s.Err())
	}
	waitAvatars(t, p.west, 1)
	hearsSelf(t, s, "still in West")
}

// TestTeleportDestinationDiesMidway: East admits the agent, then hears
// nothing more (its UDP goes deaf): the client's ritual there fails and
// the session stays with West; West, without East's confirmation within
// ReleaseTimeout, keeps the agent as a root agent and tells it
// (AlertMessage); the agent walks and chats in West.
func TestTeleportDestinationDiesMidway(t *testing.T) {
	p := startTwo(t, 3*time.Second)
	s := p.login(t, "uri:West&30&40&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p.eastUDP.deaf.Store(true)
	_, err := s.Teleport(ctx, "East", ritual.Vector3{X: 100, Y: 120, Z: 30}, ritual.Vector3{X: 1})
	if err == nil {
		t.Fatal("the teleport into a deaf region succeeded")
	}
	t.Logf("client: %v", err)
	if s.Region().Name != "West" || s.Err() != nil {
		t.Fatalf("after the failed teleport: main region %q, session %v", s.Region().Name, s.Err())
	}
	alert := waitAlert(t, s, "East", "did not complete", "West")
	t.Logf("alert: %s", alert)
	waitAvatars(t, p.west, 1)
	hearsSelf(t, s, "back in West")
	before := s.Position()
	s.WalkTo(ritual.Vector3{X: 60, Y: 40, Z: 30})
	for deadline := time.Now().Add(10 * time.Second); abs(s.Position().X-before.X) < 5; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the avatar does not walk in West: at %v", s.Position())
		}
	}
	var failed bool
	for _, ev := range p.westMem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Side == trace.Server && rc.Kind == trace.TeleportFailed && strings.Contains(rc.Reason, "did not confirm") {
			failed = true
		}
	}
	if !failed {
		t.Error("West traced no teleport.failed for the unconfirmed arrival")
	}
	// East can be reached again: the next teleport there goes through.
	p.eastUDP.deaf.Store(false)
	if _, err := s.Teleport(ctx, "East", ritual.Vector3{X: 100, Y: 120, Z: 30}, ritual.Vector3{X: 1}); err != nil {
		t.Fatalf("teleport to East once it hears again: %v", err)
	}
	waitAvatars(t, p.east, 1)
	waitAvatars(t, p.west, 0)
}

// TestCrossingIntoGoneNeighbour: East's process dies after the agent in
// West was told of it; walking east, the agent stays at West's edge and is
// told why.
func TestCrossingIntoGoneNeighbour(t *testing.T) {
	p := startTwo(t, 0)
	s := p.login(t, "uri:West&230&128&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.east.Abandon()
	s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	alert := waitAlert(t, s, "East", "edge of West")
	t.Logf("alert: %s", alert)
	time.Sleep(500 * time.Millisecond)
	if s.Region().Name != "West" || s.Crossings() != 0 || s.Err() != nil {
		t.Fatalf("in %q after %d crossings, session %v", s.Region().Name, s.Crossings(), s.Err())
	}
	if x := s.Position().X; x < 240 || x > 256 {
		t.Errorf("at %v, want at West's east edge", s.Position())
	}
	waitAvatars(t, p.west, 1)
	hearsSelf(t, s, "at the edge")
}

// TestCrossingDestinationDiesMidway: East takes the crossing (CrossedRegion
// is sent) and then hears nothing more (its UDP goes deaf): the client's
// ritual there fails and it stays with West; West, without East's
// confirmation within ReleaseTimeout, puts the avatar back at its edge and
// tells it.
func TestCrossingDestinationDiesMidway(t *testing.T) {
	p := startTwo(t, 3*time.Second)
	s := p.login(t, "uri:West&245&128&30")
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.eastUDP.deaf.Store(true)
	s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	alert := waitAlert(t, s, "East", "did not complete", "edge of West")
	t.Logf("alert: %s", alert)
	s.Stop()
	if s.Region().Name != "West" || s.Err() != nil {
		t.Fatalf("in %q after the failed crossing, session %v", s.Region().Name, s.Err())
	}
	waitAvatars(t, p.west, 1)
	hearsSelf(t, s, "still at the edge")
	// Back west, the avatar walks in West.
	s.WalkTo(ritual.Vector3{X: 200, Y: 128, Z: 30})
	for deadline := time.Now().Add(10 * time.Second); s.Position().X > 240; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the avatar does not walk in West: at %v", s.Position())
		}
	}
}

// TestBordersAcrossProcesses: Xan in West and Yul in East, run by another
// process, 6 m from the border: each sees the other where it stands (the
// child views carried through the region-to-region API), and what each
// says the other hears.
func TestBordersAcrossProcesses(t *testing.T) {
	p := startTwo(t, 0)
	addAccount(t, p.west.Store, "Xan", "West", "secret")
	addAccount(t, p.west.Store, "Yul", "East", "secret")
	xan, err := loginAs(t, p.west.LoginURI(), "Xan", "West", "uri:West&250&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer xan.Close()
	yul, err := loginAs(t, p.west.LoginURI(), "Yul", "East", "uri:East&6&128&30")
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
	y := waitSees(t, xan, yul.AgentID(), p.east.Region.Handle())
	x := waitSees(t, yul, xan.AgentID(), p.west.Region.Handle())
	if abs(y.Position.X-6) > 1 || abs(x.Position.X-250) > 1 {
		t.Errorf("Xan sees Yul at %v in East, Yul sees Xan at %v in West", y.Position, x.Position)
	}
	if err := xan.Say("hello from West"); err != nil {
		t.Fatal(err)
	}
	if c := waitChat(t, yul, "hello from West", 5*time.Second); c.SourceID != xan.AgentID() || abs(c.Position.X+6) > 1 {
		t.Errorf("Yul heard %+v, want Xan's say at x = -6", c)
	}
	if err := yul.Say("hello from East"); err != nil {
		t.Fatal(err)
	}
	if c := waitChat(t, xan, "hello from East", 5*time.Second); c.SourceID != yul.AgentID() || abs(c.Position.X-262) > 1 {
		t.Errorf("Xan heard %+v, want Yul's say at x = 262", c)
	}
	for _, srv := range []*grid.Server{p.west, p.east} {
		sent, dropped := srv.BorderNews()
		t.Logf("%s: border news sent %d, dropped %d", srv.Region.Info().Name, sent, dropped)
		if sent == 0 {
			t.Errorf("%s sent no border news", srv.Region.Info().Name)
		}
		if m := scrape(t, srv); m["ritual_border_news_total{outcome=sent}"] < float64(sent) || m["ritual_border_news_total{outcome=dropped}"] != float64(dropped) {
			t.Errorf("%s: /metrics tells border news %v sent, %v dropped; the server counted %d, %d", srv.Region.Info().Name,
				m["ritual_border_news_total{outcome=sent}"], m["ritual_border_news_total{outcome=dropped}"], sent, dropped)
		}
	}
}

// TestRegionAPIRefuses: calls to the region-to-region API that are not
// signed with the grid's secret, replayed, too large, malformed or for a
// region the process does not run are refused; a grid whose store keeps
// no secret serves no API.
func TestRegionAPIRefuses(t *testing.T) {
	p := startTwo(t, 0)
	secret, err := p.west.Store.(store.GridStore).Secret(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	good, _ := peer.NewSigner(secret)
	forged, _ := peer.NewSigner(bytes.Repeat([]byte{1}, 32))
	west := p.west.Region.Info().ID
	base := "http://" + p.west.Addr()
	post := func(path string, body []byte, header string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", base+path, bytes.NewReader(body))
		if header != "" {
			req.Header.Set(peer.Header, header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var ans peer.Answer
		json.NewDecoder(res.Body).Decode(&ans)
		code := ""
		if ans.Error != nil {
			code = ans.Error.Code
		}
		return res.StatusCode, code
	}
	release := peer.Path(west, "release")
	body := []byte(`{"agent":"` + ritual.NewUUID().String() + `"}`)
	replayed := good.Sign("POST", release, body)
	nowhere := peer.Path(ritual.NewUUID(), "release")
	big := append([]byte(`{"agent":"`), bytes.Repeat([]byte("x"), peer.MaxBody)...)
	for _, tt := range []struct {
		name   string
		path   string
		body   []byte
		header string
		status int
		code   string
	}{
		{"unsigned", release, body, "", 401, peer.CodeUnauthorized},
		{"forged", release, body, forged.Sign("POST", release, body), 401, peer.CodeUnauthorized},
		{"garbage", release, body, "v1 t=x n=y s=z", 401, peer.CodeUnauthorized},
		{"signed", release, body, replayed, 200, ""},
		{"replayed", release, body, replayed, 401, peer.CodeUnauthorized},
		{"other body", release, []byte(`{"agent":"` + ritual.NewUUID().String() + `"}`), good.Sign("POST", release, body), 401, peer.CodeUnauthorized},
		{"too large", release, big, good.Sign("POST", release, big), 413, peer.CodeTooLarge},
		{"bad json", release, []byte(`{"agent":`), good.Sign("POST", release, []byte(`{"agent":`)), 400, peer.CodeBadRequest},
		{"unknown region", nowhere, body, good.Sign("POST", nowhere, body), 404, peer.CodeNoSuchRegion},
		{"unknown op", peer.Path(west, "explode"), body, good.Sign("POST", peer.Path(west, "explode"), body), 404, peer.CodeUnknownOp},
	} {
		if status, code := post(tt.path, tt.body, tt.header); status != tt.status || code != tt.code {
			t.Errorf("%s: HTTP %d %q, want %d %q", tt.name, status, code, tt.status, tt.code)
		}
	}
	// A region this process does not run (East's, signed properly).
	east := peer.Path(p.east.Region.Info().ID, "release")
	if status, code := post(east, body, good.Sign("POST", east, body)); status != 404 || code != peer.CodeNoSuchRegion {
		t.Errorf("East's region at West: HTTP %d %q", status, code)
	}
	// Signed admit with a zero circuit: the region refuses, saying why.
	admit := peer.Path(west, "admit")
	zero := []byte(`{"circuit":{"code":0}}`)
	if status, code := post(admit, zero, good.Sign("POST", admit, zero)); status != 422 || code != peer.CodeRefused {
		t.Errorf("admit of circuit 0: HTTP %d %q", status, code)
	}

	// Without a secret in the store: no API.
	st, err := sqlite.OpenContext(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	plain := start(t, grid.Config{Store: plainStore{st}, Listen: "127.0.0.1:0", NoLogin: true})
	defer stop(t, plain)
	base = "http://" + plain.Addr()
	p2 := peer.Path(plain.Region.Info().ID, "release")
	if status, code := post(p2, body, good.Sign("POST", p2, body)); status != 404 || code != peer.CodeNoAPI {
		t.Errorf("a grid without a secret: HTTP %d %q", status, code)
	}
}

// plainStore hides a store's GridStore side.
type plainStore struct{ store.Store }

// BenchmarkTeleportAcrossProcesses measures teleports between two
// processes through the region-to-region API, from TeleportLocationRequest
// to TeleportFinish as the client sees it (p50-ms, p95-ms) and to the
// arrival (arrive-p50-ms).
func BenchmarkTeleportAcrossProcesses(b *testing.B) {
	p := startTwo(b, 0)
	s := p.login(b, "uri:West&128&128&30")
	defer s.Close()
	handles := []ritual.RegionHandle{p.east.Region.Handle(), p.west.Region.Handle()}
	var finish, arrive []time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res, err := s.TeleportToHandle(b.Context(), handles[i%2], ritual.Vector3{X: 128, Y: 128, Z: 30}, ritual.Vector3{X: 1})
		if err != nil {
			b.Fatal(err)
		}
		finish, arrive = append(finish, res.ToFinish), append(arrive, res.Took)
	}
	b.StopTimer()
	slices.Sort(finish)
	slices.Sort(arrive)
	b.ReportMetric(float64(finish[len(finish)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(finish[len(finish)*95/100])/1e6, "p95-ms")
	b.ReportMetric(float64(arrive[len(arrive)/2])/1e6, "arrive-p50-ms")
}

// BenchmarkCrossingAcrossProcesses walks the agent from West across the
// border into East, run by another process, then teleports it back to
// West's edge, and reports the hand-over as West sees it, from the avatar
// past the edge to CrossedRegion queued with East's admission through the
// API (handover-p50-ms), and as the client sees it, from CrossedRegion to
// AgentMovementComplete in East (client-p50-ms).
func BenchmarkCrossingAcrossProcesses(b *testing.B) {
	p := startTwo(b, 0)
	var cmem trace.Memory
	ctx := b.Context()
	s, err := client.Login(ctx, client.Config{
		LoginURI: p.west.LoginURI(), First: "Grid", Last: "Walker", Password: "secret",
		Start: "uri:West&252&128&30", Logger: quietLogger(), Recorder: &cmem,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := s.WaitNeighbours(wctx, 1); err != nil {
			b.Fatal(err)
		}
		s.WalkTo(ritual.Vector3{X: 275, Y: 128, Z: 30})
		err := s.WaitCrossings(wctx, i+1)
		if err == nil {
			_, err = s.Teleport(wctx, "West", ritual.Vector3{X: 252, Y: 128, Z: 30}, ritual.Vector3{X: 1})
		}
		cancel()
		if err != nil {
			b.Fatalf("crossing %d: %v (at %v in %s; alerts %q)", i+1, err, s.Position(), s.Region().Name, s.Alerts())
		}
	}
	b.StopTimer()
	var server, cl []time.Duration
	for _, ev := range p.westMem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Kind == trace.CrossStart && rc.Side == trace.Server {
			server = append(server, rc.Elapsed)
		}
	}
	for _, ev := range cmem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Kind == trace.CrossComplete && rc.Elapsed > 0 {
			cl = append(cl, rc.Elapsed)
		}
	}
	if len(server) == 0 || len(cl) == 0 {
		b.Fatalf("%d server and %d client hand-overs traced", len(server), len(cl))
	}
	slices.Sort(server)
	slices.Sort(cl)
	b.ReportMetric(float64(server[len(server)/2])/1e6, "handover-p50-ms")
	b.ReportMetric(float64(cl[len(cl)/2])/1e6, "client-p50-ms")
}
