package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/grid"
	"ritual/internal/gridtest"
	"ritual/internal/pgtest"
	"ritual/sim"
	"ritual/store"
	"ritual/store/postgres"
	"ritual/trace"
	"ritual/trace/narrative"
)

// teleportResult is the JSON line testdata/nm-teleport.mjs prints.
type teleportResult struct {
	OK             bool     `json:"ok"`
	Step           string   `json:"step"`
	Errors         []string `json:"errors"`
	Rejections     []string `json:"rejections"`
	TeleportEvents []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		SimIP   string `json:"simIP"`
		SimPort int    `json:"simPort"`
		Seed    string `json:"seed"`
	} `json:"teleportEvents"`
	Circuits []struct {
		Label    string `json:"label"`
		Address  string `json:"address"`
		Received []struct {
			Message string `json:"message"`
		} `json:"received"`
		HandshakeName    string `json:"handshakeName"`
		MovementComplete *struct {
			Position     []float64 `json:"position"`
			RegionHandle string    `json:"regionHandle"`
		} `json:"movementComplete"`
	} `json:"circuits"`
	Before, After *struct {
		RegionName string `json:"regionName"`
		X          int    `json:"x"`
		Y          int    `json:"y"`
		Circuit    string `json:"circuit"`
	}
	Teleported *struct {
		TookMs  int    `json:"tookMs"`
		SimIP   string `json:"simIP"`
		SimPort int    `json:"simPort"`
	} `json:"teleported"`
	LoggedOut bool `json:"loggedOut"`
}

// teleportGrid is a grid of two regions, West (1000,1000) and East
// (1001,1000), in one process or several.
type teleportGrid struct {
	loginURI   string
	west, east *sim.Region
	rec        *trace.Memory
	log        *syncBuffer
	first      string
	last       string
	password   string
}

func (g *teleportGrid) story() string {
	var b strings.Builder
	if err := narrative.Render(&b, g.rec.Events(), narrative.Options{ServerName: "Ritual grid (interop test)", ClientName: "node-metaverse 0.8.16"}); err != nil {
		fmt.Fprintf(&b, "\n(the story could not be told: %v)\n", err)
	}
	return b.String()
}

// TestNodeMetaverseTeleport: node-metaverse, logged in to West, teleports
// to East (two regions of one process) with its own teleport command: it
// finds East on the map by name, follows TeleportStart, TeleportProgress
// and TeleportFinish (event queue) into a new circuit to East's port, is
// greeted there with East's handshake and AgentMovementComplete at East's
// handle, and logs out from East. The grid's side agrees: West traced the
// request, start and finish, and East counted the arrival and the logout.
func TestNodeMetaverseTeleport(t *testing.T) {
	node(t)
	g := startGrid(t, gridtest.WithConfig(func(c *grid.Config) {
		c.Regions = []grid.RegionSpec{{Name: "West", GridX: 1000, GridY: 1000}, {Name: "East", GridX: 1001, GridY: 1000}}
	}))
	const pw = "teleportpass"
	acct := g.AddAccount("Tess", "Porter", pw)
	runTeleport(t, &teleportGrid{
		loginURI: g.LoginURI, west: g.Server.Regions[0], east: g.Server.Regions[1], rec: g.rec, log: g.log,
		first: acct.First, last: acct.Last, password: pw,
	})
}

// TestNodeMetaverseTeleportAcrossProcesses is TestNodeMetaverseTeleport
// with a login service, West and East each a process of their own,
// sharing only the PostgreSQL database: West hands the agent to East
// through the store.
func TestNodeMetaverseTeleportAcrossProcesses(t *testing.T) {
	node(t)
	dsn := pgtest.Database(t, "")
	g := &teleportGrid{rec: &trace.Memory{}, log: &syncBuffer{}, first: "Tess", last: "Across", password: "teleportpass"}
	logger := slog.New(slog.NewTextHandler(g.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	process := func(change func(*grid.Config)) *grid.Server {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cfg := grid.Config{Store: st, Listen: "127.0.0.1:0", Logger: logger, Recorder: g.rec,
			Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: 2 * time.Second}
		change(&cfg)
		srv, err := grid.Start(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Close(ctx)
		})
		return srv
	}
	lg := process(func(c *grid.Config) { c.NoRegion = true })
	h, err := account.Hash(g.password, gridtest.CheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Store.Accounts().Create(t.Context(), &store.Account{First: g.first, Last: g.last, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	west := process(func(c *grid.Config) {
		c.NoLogin = true
		c.Regions = []grid.RegionSpec{{Name: "West", GridX: 1000, GridY: 1000}}
	})
	east := process(func(c *grid.Config) {
		c.NoLogin = true
		c.Regions = []grid.RegionSpec{{Name: "East", GridX: 1001, GridY: 1000}}
	})
	g.loginURI, g.west, g.east = lg.LoginURI(), west.Region, east.Region
	runTeleport(t, g)
}

// runTeleport has node-metaverse teleport from West to East in g and
// checks what both sides saw.
func runTeleport(t *testing.T, g *teleportGrid) {
	t.Helper()
	nodeBin, ritualScript := node(t)
	script := filepath.Join(filepath.Dir(ritualScript), "nm-teleport.mjs")
	west, east := g.west, g.east
	if west.Info().Name != "West" || east.Info().Name != "East" {
		t.Fatalf("regions %q, %q", west.Info().Name, east.Info().Name)
	}

	ctx, cancel := context.WithTimeout(t.Context(), nmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, script, g.loginURI, g.password, g.first, g.last, "West", "East")
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "RITUAL_NM_TIMEOUT_MS="+strconv.Itoa(int(scriptTimeout/time.Millisecond)))
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-metaverse's log (stderr):\n%s", stderr.String())
			t.Logf("grid log:\n%s", g.log.String())
			t.Logf("the grid's story:\n%s", g.story())
		}
	})
	if err != nil {
		if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) || ctx.Err() != nil {
			t.Fatalf("node nm-teleport.mjs: %v (stdout %q)", err, stdout.String())
		}
	}
	line := lastJSONLine(stdout.String())
	var res teleportResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("result line %q: %v", line, err)
	}
	t.Logf("nm-teleport.mjs: %s", line)
	if !res.OK {
		t.Fatalf("stopped at %q: %v", res.Step, res.Errors)
	}

	// The client's side.
	if b := res.Before; b == nil || b.RegionName != "West" || b.X != 1000 || b.Y != 1000 {
		t.Errorf("before the teleport: %+v", b)
	}
	var kinds []string
	for _, e := range res.TeleportEvents {
		kinds = append(kinds, e.Type)
	}
	// TeleportStart and TeleportProgress come by UDP, TeleportFinish by
	// the event queue, and node-metaverse leaves the old circuit as soon
	// as TeleportFinish arrives: the region queues it only once the last
	// TeleportProgress is acknowledged, so every step is heard.
	if want := []string{"TeleportStarted", "TeleportProgress", "TeleportProgress", "TeleportCompleted"}; !slices.Equal(kinds, want) {
		t.Errorf("teleport events %v, want %v", kinds, want)
	}
	eastPort := 0
	if n := len(res.TeleportEvents); n > 0 {
		done := res.TeleportEvents[n-1]
		eastPort = done.SimPort
		if done.SimIP != "127.0.0.1" || done.Seed == "" || done.SimPort == 0 {
			t.Errorf("TeleportCompleted %+v", done)
		}
	}
	if len(res.Circuits) != 2 {
		t.Fatalf("circuits %+v, want the origin's and the destination's", res.Circuits)
	}
	origin, dest := res.Circuits[0], res.Circuits[1]
	if origin.Label != "origin" || origin.HandshakeName != "West" || origin.MovementComplete == nil {
		t.Errorf("origin circuit %+v", origin)
	}
	if dest.Label != "destination" || dest.Address != "127.0.0.1:"+strconv.Itoa(eastPort) || dest.Address == origin.Address {
		t.Errorf("destination circuit at %q (origin %q), TeleportFinish said port %d", dest.Address, origin.Address, eastPort)
	}
	if dest.HandshakeName != "East" {
		t.Errorf("the destination's handshake names %q, want East", dest.HandshakeName)
	}
	eastHandle := strconv.FormatUint(uint64(ritual.HandleFromGrid(1001, 1000)), 10)
	if mc := dest.MovementComplete; mc == nil || mc.RegionHandle != eastHandle || len(mc.Position) != 3 || mc.Position[0] != 100 || mc.Position[1] != 120 {
		t.Errorf("AgentMovementComplete at the destination: %+v, want handle %s at 100,120", mc, eastHandle)
	}
	var destGot []string
	for _, r := range dest.Received {
		destGot = append(destGot, r.Message)
	}
	if !slices.Contains(destGot, "RegionHandshake") || !slices.Contains(destGot, "AgentMovementComplete") || !slices.Contains(destGot, "RegionInfo") {
		t.Errorf("the destination circuit received %v", destGot)
	}
	if a := res.After; a == nil || a.RegionName != "East" || a.X != 1001 || a.Y != 1000 || a.Circuit != dest.Address {
		t.Errorf("after the teleport: %+v", a)
	}
	if !res.LoggedOut {
		t.Error("no clean logout from East")
	}

	// The grid's side: West traced the teleport, East took the arrival and
	// the logout.
	var story []string
	for _, ev := range g.rec.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok && rc.Side == trace.Server {
			story = append(story, rc.Kind+" "+rc.Region)
			if rc.Kind == trace.TeleportFinish && (rc.Handle != uint64(ritual.HandleFromGrid(1001, 1000)) || rc.Reason != "East") {
				t.Errorf("West's TeleportFinish event %+v", rc)
			}
		}
	}
	want := []string{trace.TeleportRequest + " West", trace.TeleportStart + " West", trace.TeleportFinish + " West"}
	if i := slices.Index(story, want[0]); i < 0 || !slices.Equal(story[i:i+3], want) {
		t.Errorf("server teleport events %v, want %v in a row", story, want)
	}
	count := func(r *sim.Region, name string) (in, out uint64) {
		for _, m := range r.Messages() {
			if m.Name == name {
				return m.In, m.Out
			}
		}
		return 0, 0
	}
	if in, _ := count(west, "TeleportLocationRequest"); in != 1 {
		t.Errorf("West received %d TeleportLocationRequests", in)
	}
	for name, want := range map[string]uint64{"TeleportStart": 1, "TeleportProgress": 2} {
		if _, out := count(west, name); out != want {
			t.Errorf("West sent %d %s, want %d", out, name, want)
		}
	}
	if in, _ := count(east, "CompleteAgentMovement"); in != 1 {
		t.Errorf("East received %d CompleteAgentMovements", in)
	}
	if _, out := count(east, "AgentMovementComplete"); out != 1 {
		t.Errorf("East sent %d AgentMovementCompletes", out)
	}
	if in, _ := count(east, "LogoutRequest"); in != 1 {
		t.Errorf("East received %d LogoutRequests", in)
	}
	if in, _ := count(west, "LogoutRequest"); in != 0 {
		t.Errorf("West received %d LogoutRequests", in)
	}
}
