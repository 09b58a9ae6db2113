package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"ritual"
	"ritual/client"
	"ritual/internal/pgtest"
	"ritual/login"
	"ritual/store/postgres"
)

// grid4 is a grid of five processes over one PostgreSQL database: a login
// service and four regions in a 2×2 square.
type grid4 struct {
	bin, dsn, uri string
	regions       map[string]*proc
}

// grid4Square names the four regions and their grid coordinates.
var grid4Square = []struct {
	name string
	x, y uint32
}{{"SW", 1000, 1000}, {"SE", 1001, 1000}, {"NW", 1000, 1001}, {"NE", 1001, 1001}}

// startGrid4 builds the ritual binary and starts `ritual serve --no-region`
// and four `ritual region` processes on loopback, with accounts Grid
// Walker, Grid Watcher, Grid Caller and Grid Visitor<region> for each
// region (password secret).
func startGrid4(t *testing.T) *grid4 {
	t.Helper()
	g := &grid4{dsn: pgtest.Database(t, ""), regions: map[string]*proc{}}
	g.bin = filepath.Join(t.TempDir(), "ritual")
	if out, err := exec.Command("go", "build", "-o", g.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	userEnv(t, "")
	accounts := []string{"Walker", "Watcher", "Caller"}
	for _, r := range grid4Square {
		accounts = append(accounts, "Visitor"+r.name)
	}
	for _, last := range accounts {
		userMustRun(t, "user", "create", "--db", g.dsn, "--first", "Grid", "--last", last, "--password", "secret")
	}
	// Short heartbeats so a killed region leaves the map within seconds;
	// the timeout is generous enough that a loaded machine's late beats
	// do not take live regions off.
	beat := []string{"--heartbeat", "200ms", "--heartbeat-timeout", "2s", "--log-level", "warn"}
	lg := startProc(t, g.bin, append([]string{"serve", "--db", g.dsn, "--no-region", "--listen", "127.0.0.1:0"}, beat...)...)
	g.uri = lg.waitLine(t, regexp.MustCompile(`login URI (\S+)`))
	for _, r := range grid4Square {
		p := startProc(t, g.bin, append([]string{"region", "--db", g.dsn, "--name", r.name,
			"--location", fmt.Sprintf("%d,%d", r.x, r.y), "--listen", "127.0.0.1:0"}, beat...)...)
		g.regions[r.name] = p
	}
	for _, r := range grid4Square {
		g.regions[r.name].waitLine(t, regexp.MustCompile(`capabilities on`))
	}
	return g
}

// login logs Grid <last> in at start and waits for the ritual.
func (g *grid4) login(t *testing.T, last, start string) (*client.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{LoginURI: g.uri, First: "Grid", Last: last, Password: "secret", Start: start, Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	if err := s.WaitRitual(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// TestFourRegionProcesses runs a grid as five processes over PostgreSQL: a
// login service and four regions in a square, SW, SE, NW and NE. Our
// client logs in to SW, sees its three neighbours (NE diagonally), walks
// across the east border into SE and teleports to NE, then logs out;
// `ritual connect --teleport` tells a teleport from SW to NE. Then NW is
// killed (SIGKILL): the map forgets it, a login there fails naming it,
// and an agent in SE goes on walking and chatting.
func TestFourRegionProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ritual binary and runs five processes")
	}
	g := startGrid4(t)
	// step bounds one step's waits, generously for a loaded machine.
	step := func(d time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		t.Cleanup(cancel)
		return ctx
	}

	// Logging in and out at once, region after region, on the fresh grid:
	// each session ends while its neighbours are still being told of it,
	// and the next login goes to one of those neighbours.
	t.Run("quick relogins", func(t *testing.T) {
		for _, name := range []string{"NW", "NE", "SE", "SW"} {
			s, err := g.login(t, "Walker", "uri:"+name+"&128&128&30")
			if err != nil {
				t.Fatalf("login to %s right after a logout next door: %v", name, err)
			}
			if _, err := s.Logout(step(20 * time.Second)); err != nil {
				t.Errorf("logout in %s: %v", name, err)
			}
		}
	})

	// Login placement: each region by its uri: start, in its own process
	// (an account for each, so that no session's neighbours are those of
	// the one before).
	for _, r := range grid4Square {
		s, err := g.login(t, "Visitor"+r.name, "uri:"+r.name+"&128&128&30")
		if err != nil {
			t.Fatalf("login to %s: %v", r.name, err)
		}
		if s.Region().Name != r.name || s.Region().Handle != ritual.HandleFromGrid(r.x, r.y) {
			t.Errorf("uri:%s landed in %q (handle %v)", r.name, s.Region().Name, s.Region().Handle)
		}
		if _, err := s.Logout(step(20 * time.Second)); err != nil {
			t.Errorf("logout in %s: %v", r.name, err)
		}
	}

	// The walker: SW, 16 m from the east border.
	s, err := g.login(t, "Walker", "uri:SW&240&128&30")
	if err != nil {
		t.Fatalf("login to SW: %v", err)
	}
	defer s.Close()
	t.Run("neighbours", func(t *testing.T) {
		if err := s.WaitNeighbours(step(20*time.Second), 3); err != nil {
			t.Fatalf("neighbours of SW: %v (regions %+v)", err, s.Regions())
		}
		want := map[ritual.RegionHandle]string{}
		for _, r := range grid4Square[1:] {
			want[ritual.HandleFromGrid(r.x, r.y)] = r.name
		}
		for _, v := range s.Regions() {
			if v.Role != client.RoleChild {
				continue
			}
			if _, ok := want[v.Handle]; !ok {
				t.Errorf("child region %+v is no neighbour of SW", v)
			}
			delete(want, v.Handle)
		}
		if len(want) != 0 {
			t.Errorf("SW's agent has no child in %v (regions %+v)", want, s.Regions())
		}
	})
	t.Run("crossing", func(t *testing.T) {
		s.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
		if err := s.WaitCrossings(step(30*time.Second), 1); err != nil {
			t.Fatalf("crossing into SE: %v (at %v in %s, regions %+v)", err, s.Position(), s.Region().Name, s.Regions())
		}
		if s.Region().Name != "SE" {
			t.Fatalf("main region %q after the crossing, want SE", s.Region().Name)
		}
		if p := s.Position(); p.X > 60 || abs(p.Y-128) > 2 {
			t.Errorf("position after the crossing %v, want just inside SE's west edge", p)
		}
		s.Stop()
	})
	ctx := step(30 * time.Second)
	since := time.Now()
	res, err := s.Teleport(ctx, "NE", ritual.Vector3{X: 100, Y: 110, Z: 30}, ritual.Vector3{X: 1})
	if err != nil {
		t.Fatalf("teleport from %s to NE: %v", s.Region().Name, err)
	}
	if res.Region.Name != "NE" || abs(res.Position.X-100) > 0.5 || abs(res.Position.Y-110) > 0.5 {
		t.Fatalf("teleport to NE arrived %+v", res)
	}
	if err := s.WaitArrival(ctx, since); err != nil {
		t.Fatalf("arrival in NE: %v", err)
	}
	if s.Region().Name != "NE" {
		t.Fatalf("after the teleport the agent is in %q", s.Region().Name)
	}
	if lr, err := s.Logout(ctx); err != nil || !lr.ReplyReceived {
		t.Errorf("logout in NE: %+v, %v", lr, err)
	}

	// ritual connect --teleport, the binary, between processes.
	cctx, ccancel := context.WithTimeout(t.Context(), 40*time.Second)
	out, err := exec.CommandContext(cctx, g.bin, "connect", "--login-uri", g.uri, "--first", "Grid", "--last", "Caller",
		"--password", "secret", "--start", "uri:SW&128&128&25", "--teleport", "NE/90/100/25", "--timeout", "30s").CombinedOutput()
	ccancel()
	if err != nil {
		t.Fatalf("ritual connect --teleport: %v\n%s", err, out)
	}
	story := string(out)
	// Both rituals, each named by its region's handshake: the login's in
	// SW and the teleport's in NE, whole.
	for _, want := range []string{"TELEPORT REQUEST", "TELEPORT FINISH", "RegionName `SW`", "RegionName `NE`",
		"TELEPORT ARRIVED** `", "REGION COMPLETE** `", "region `NE`, at grid `1001,1001`", "Outcome**: the ritual completed"} {
		if !strings.Contains(story, want) {
			t.Errorf("connect's story lacks %q:\n%s", want, story)
		}
	}

	// The watcher stays in SE while NW is killed.
	w, err := g.login(t, "Watcher", "uri:SE&128&128&30")
	if err != nil {
		t.Fatalf("login to SE: %v", err)
	}
	defer w.Close()
	nw := g.regions["NW"]
	nw.cmd.Process.Signal(syscall.SIGKILL)
	nw.cmd.Wait()

	ctx = step(40 * time.Second)
	st, err := postgres.Open(ctx, g.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := st.Regions().ByName(ctx, "NW")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		hosts, err := st.Hosts().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		on := map[ritual.UUID]bool{}
		for _, h := range hosts {
			on[h.Region] = true
		}
		if !on[reg.ID] && len(hosts) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s after NW was killed the map holds %d regions, NW among them: %v", len(hosts), on[reg.ID])
		}
	}
	_, err = g.login(t, "Walker", "uri:NW&128&128&30")
	if f, ok := errors.AsType[*login.Failure](err); !ok || !strings.Contains(f.Message, `"NW"`) || !strings.Contains(f.Message, "not running") {
		t.Errorf("a login to NW after it was killed gives %v; want a failure saying NW is not running", err)
	}

	// The watcher in SE is unaffected: still connected, still walking,
	// still heard.
	select {
	case <-w.Done():
		t.Fatalf("the watcher's session in SE ended when NW was killed: %v", w.Err())
	default:
	}
	from := w.Position()
	w.WalkTo(ritual.Vector3{X: 150, Y: 128, Z: 30})
	for deadline := time.Now().Add(20 * time.Second); w.Position().X < from.X+10; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher in SE did not walk after NW was killed: from %v to %v", from, w.Position())
		}
	}
	line := "still here after NW went"
	if err := w.Say(line); err != nil {
		t.Fatal(err)
	}
	heard := false
	for !heard {
		select {
		case ev := <-w.WorldEvents():
			heard = ev.Kind == client.ChatHeard && ev.Chat.Text == line && ev.Chat.SourceID == w.AgentID()
		case <-ctx.Done():
			t.Fatalf("the watcher in SE never heard its own line after NW was killed")
		}
	}
	if w.Region().Name != "SE" {
		t.Errorf("the watcher is in %q", w.Region().Name)
	}
	if lr, err := w.Logout(ctx); err != nil || !lr.ReplyReceived {
		t.Errorf("logout in SE after NW was killed: %+v, %v", lr, err)
	}
}

func abs(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}
