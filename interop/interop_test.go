package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/internal/gridtest"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/narrative"
)

// nmTimeout bounds one run of the bots script (it bounds itself at
// scriptTimeout and prints what it saw; this is the backstop).
const (
	scriptTimeout = 60 * time.Second
	nmTimeout     = scriptTimeout + 30*time.Second
)

// result is the JSON line testdata/nm-ritual.mjs prints.
type result struct {
	OK             bool     `json:"ok"`
	ElapsedMs      int      `json:"elapsedMs"`
	Together       *bool    `json:"together"`
	Bots           []bot    `json:"bots"`
	DecodeWarnings []string `json:"decodeWarnings"`
	Errors         []string `json:"errors"`
}

type bot struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	Step       string `json:"step"`
	LoggedIn   bool   `json:"loggedIn"`
	LoginError *struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"loginError"`
	AgentID               string    `json:"agentID"`
	Connected             bool      `json:"connected"`
	RegionHandshake       bool      `json:"regionHandshake"`
	RegionName            string    `json:"regionName"`
	AgentMovementComplete bool      `json:"agentMovementComplete"`
	Position              []float64 `json:"position"`
	PrimUpdates           int       `json:"primUpdates"`
	OwnAvatar             bool      `json:"ownAvatar"`
	Parcel                *struct {
		LocalID     int    `json:"localID"`
		Name        string `json:"name"`
		Area        int    `json:"area"`
		Flags       uint32 `json:"flags"`
		BitmapBytes int    `json:"bitmapBytes"`
		MaxPrims    int    `json:"maxPrims"`
	} `json:"parcel"`
	RegionReady      bool    `json:"regionReady"`
	LayerDataPackets int     `json:"layerDataPackets"`
	Patches          int     `json:"patches"`
	TerrainComplete  bool    `json:"terrainComplete"`
	HeightMin        float64 `json:"heightMin"`
	HeightMax        float64 `json:"heightMax"`
	LogoutReply      bool    `json:"logoutReply"`
	Closed           bool    `json:"closed"`
	Disconnect       *struct {
		Requested bool   `json:"requested"`
		Message   string `json:"message"`
	} `json:"disconnect"`
	Resends []struct {
		Seq     uint32 `json:"seq"`
		Message string `json:"message"`
		AtMs    int    `json:"atMs"`
	} `json:"resends"`
	Timings map[string]int `json:"timings"`
	Errors  []string       `json:"errors"`
}

// node returns the node binary and the script, or skips (fails under CI)
// when either Node.js or the installed packages are missing.
func node(t *testing.T) (nodeBin, script string) {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("%s (CI=%s: the real-client interop tests must run in CI)", why, ci)
		}
		t.Skip(why)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH: the node-metaverse interop tests need Node.js")
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@caspertech", "node-metaverse", "package.json")); err != nil {
		missing("node-metaverse is not installed: run `npm ci` in interop/testdata (scripts/test does)")
	}
	return nodeBin, filepath.Join(dir, "nm-ritual.mjs")
}

// syncBuffer is a bytes.Buffer safe for the grid's goroutines to log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testGrid is a grid on free loopback ports with its probes recorded.
type testGrid struct {
	*gridtest.Grid
	rec *trace.Memory
	log *syncBuffer
	// loginURI, when set, is the URI the bots log in with instead of the
	// grid's own (a relay in front of it).
	loginURI string
}

// startGrid starts a grid with the accounts opts name, logging at debug
// level into a buffer that a failing test prints.
func startGrid(t *testing.T, opts ...gridtest.Option) *testGrid {
	t.Helper()
	g := &testGrid{rec: &trace.Memory{}, log: &syncBuffer{}}
	g.Grid = gridtest.Start(t, append([]gridtest.Option{
		gridtest.WithRecorder(g.rec),
		gridtest.WithLogger(slog.New(slog.NewTextHandler(g.log, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}, opts...)...)
	return g
}

// story is the grid's side of what happened, as an operator reads it.
func (g *testGrid) story() string {
	var b strings.Builder
	err := narrative.Render(&b, g.rec.Events(), narrative.Options{
		ServerName: "Ritual grid (interop test)",
		ClientName: "node-metaverse 0.8.16",
	})
	if err != nil {
		fmt.Fprintf(&b, "\n(the story could not be told: %v)\n", err)
	}
	return b.String()
}

// run has node-metaverse perform the ritual with the given accounts
// (first, last, password triples) and returns what the script printed and
// its exit status. On test failure it prints node-metaverse's log, the
// grid's log and the grid's story.
func (g *testGrid) run(t *testing.T, creds ...string) (result, int) {
	t.Helper()
	nodeBin, script := node(t)
	ctx, cancel := context.WithTimeout(t.Context(), nmTimeout)
	defer cancel()
	uri := g.LoginURI
	if g.loginURI != "" {
		uri = g.loginURI
	}
	cmd := exec.CommandContext(ctx, nodeBin, append([]string{script, uri}, creds...)...)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "RITUAL_NM_TIMEOUT_MS="+strconv.Itoa(int(scriptTimeout/time.Millisecond)))
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node-metaverse's log (stderr):\n%s", stderr.String())
			t.Logf("grid log:\n%s", g.log.String())
			t.Logf("the grid's story of the ritual:\n%s", g.story())
		}
	})
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || ctx.Err() != nil {
			t.Fatalf("node %s: %v after %v (stdout %q)", filepath.Base(script), err, took.Round(time.Millisecond), stdout.String())
		}
		code = exit.ExitCode()
	}
	var res result
	line := lastJSONLine(stdout.String())
	if line == "" {
		t.Fatalf("node %s printed no result line (exit %d after %v); stdout %q", filepath.Base(script), code, took.Round(time.Millisecond), stdout.String())
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("result line %q: %v", line, err)
	}
	t.Logf("node-metaverse ran for %v (script %d ms), exit %d", took.Round(time.Millisecond), res.ElapsedMs, code)
	for _, w := range res.DecodeWarnings {
		t.Logf("node-metaverse decode warning: %s", w)
	}
	for _, b := range res.Bots {
		t.Logf("%s: timings (ms) %s", b.Name, timings(b.Timings))
		for _, r := range b.Resends {
			t.Logf("%s: node-metaverse resent %s (seq %d) at %d ms: an acknowledgement did not reach it", b.Name, r.Message, r.Seq, r.AtMs)
		}
	}
	return res, code
}

func lastJSONLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}

// timings orders the milestones by time.
func timings(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[a] - m[b]
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}

// checkRitual asserts everything a bot must have seen of one full ritual.
func (g *testGrid) checkRitual(t *testing.T, b bot, a store.Account) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (step %q): %s", b.Name, b.Step, fmt.Sprintf(format, args...))
	}
	if !b.LoggedIn {
		fail("login failed: %+v", b.LoginError)
		return
	}
	if b.AgentID != a.ID.String() {
		fail("agent id %s, want the account's %s", b.AgentID, a.ID)
	}
	if !b.Connected {
		fail("connectToSim did not complete")
	}
	info := g.Server.Region.Info()
	if !b.RegionHandshake || b.RegionName != info.Name {
		fail("RegionHandshake seen %v naming %q, want %q", b.RegionHandshake, b.RegionName, info.Name)
	}
	if !b.AgentMovementComplete {
		fail("no AgentMovementComplete")
	} else if len(b.Position) != 3 || b.Position[0] < 0 || b.Position[0] >= float64(max(info.SizeX, 256)) ||
		b.Position[1] < 0 || b.Position[1] >= float64(max(info.SizeY, 256)) {
		fail("AgentMovementComplete position %v is outside the region", b.Position)
	}
	if want := g.Server.Region.Objects(); b.PrimUpdates < 1 || b.PrimUpdates != want {
		fail("%d prims in ObjectUpdate (PCode 9), want the scene's %d", b.PrimUpdates, want)
	}
	if !b.OwnAvatar {
		fail("no ObjectUpdate for its own avatar (PCode 47)")
	}
	if b.Patches != 256 || !b.TerrainComplete {
		fail("node-metaverse's terrain holds %d of 256 patches (complete %v) after %d land LayerData packets", b.Patches, b.TerrainComplete, b.LayerDataPackets)
	} else {
		// node-metaverse decoded our LayerData with its own decoder: its
		// heights must span the region's.
		hm := g.Server.Region.Heightmap()
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, z := range hm.Heights {
			lo, hi = min(lo, float64(z)), max(hi, float64(z))
		}
		if math.Abs(b.HeightMin-lo) > 1 || math.Abs(b.HeightMax-hi) > 1 {
			fail("terrain decoded to %.2f..%.2f m, the region's is %.2f..%.2f m", b.HeightMin, b.HeightMax, lo, hi)
		}
	}
	// The region's ParcelProperties, from the event queue, as
	// node-metaverse parsed it.
	w, h := max(info.SizeX, 256), max(info.SizeY, 256)
	if p := b.Parcel; p == nil {
		fail("no ParcelProperties from the event queue")
	} else if p.LocalID != 1 || p.Name != "Your Parcel" || p.Area != int(w*h) || p.BitmapBytes != int(w*h/128) || p.Flags == 0 || p.MaxPrims != 15000 {
		fail("ParcelProperties as node-metaverse read it: %+v", *p)
	}
	if !b.RegionReady {
		fail("node-metaverse's region setup (RegionInfo, MapBlockReply) did not finish")
	}
	if !b.LogoutReply || !b.Closed {
		fail("logout: LogoutReply seen %v, close() completed %v", b.LogoutReply, b.Closed)
	}
	if b.Disconnect == nil || !b.Disconnect.Requested {
		fail("disconnect event %+v, want a requested one", b.Disconnect)
	}
	if len(b.Errors) > 0 {
		fail("errors: %q", b.Errors)
	}
	if !b.OK {
		fail("the script judged the ritual incomplete")
	}
}

// TestNodeMetaverseRitual: one node-metaverse bot logs in, connects, sees
// the region handshake, its movement complete, the prims and the whole
// terrain, and logs out with a LogoutReply.
func TestNodeMetaverseRitual(t *testing.T) {
	node(t)
	g := startGrid(t, gridtest.WithAccount("Test", "User", "secret123"))
	a := g.Accounts[0]
	res, code := g.run(t, "Test", "User", "secret123")
	if code != 0 || !res.OK || len(res.Errors) > 0 {
		t.Errorf("script exit %d, ok %v, errors %q", code, res.OK, res.Errors)
	}
	if len(res.Bots) != 1 {
		t.Fatalf("%d bots reported, want 1", len(res.Bots))
	}
	g.checkRitual(t, res.Bots[0], a.Account)
	if c := g.Server.Region.Counters(); c.Accepted != 1 || c.Logouts != 1 || c.Rejected != 0 {
		t.Errorf("region counters %+v, want one accepted circuit and one logout", c)
	}
}

// TestNodeMetaverseTwoBots: two bots are in the region at once, each with
// its own circuit, and both complete the ritual.
func TestNodeMetaverseTwoBots(t *testing.T) {
	node(t)
	g := startGrid(t, gridtest.WithAccount("Alpha", "Bot", "alpha-pass"), gridtest.WithAccount("Beta", "Bot", "beta-pass"))
	alpha, beta := g.Accounts[0].Account, g.Accounts[1].Account
	res, code := g.run(t, "Alpha", "Bot", "alpha-pass", "Beta", "Bot", "beta-pass")
	if code != 0 || !res.OK || len(res.Errors) > 0 {
		t.Errorf("script exit %d, ok %v, errors %q", code, res.OK, res.Errors)
	}
	if res.Together == nil || !*res.Together {
		t.Errorf("the bots were not in the region together (together = %v)", res.Together)
	}
	if len(res.Bots) != 2 {
		t.Fatalf("%d bots reported, want 2", len(res.Bots))
	}
	g.checkRitual(t, res.Bots[0], alpha)
	g.checkRitual(t, res.Bots[1], beta)
	if c := g.Server.Region.Counters(); c.Accepted != 2 || c.Logouts != 2 || c.Rejected != 0 {
		t.Errorf("region counters %+v, want two accepted circuits and two logouts", c)
	}
}

// TestNodeMetaverseWrongPassword: a wrong password is refused the way
// node-metaverse understands, a LoginError with reason "key", and no
// circuit is provisioned.
func TestNodeMetaverseWrongPassword(t *testing.T) {
	node(t)
	g := startGrid(t, gridtest.WithAccount("Test", "User", "right-pass"))
	res, code := g.run(t, "Test", "User", "wrong-pass")
	if code != 1 || res.OK {
		t.Errorf("script exit %d, ok %v; want a failed run (exit 1)", code, res.OK)
	}
	if len(res.Bots) != 1 {
		t.Fatalf("%d bots reported, want 1", len(res.Bots))
	}
	b := res.Bots[0]
	if b.LoggedIn || b.Connected {
		t.Errorf("logged in %v, connected %v with a wrong password", b.LoggedIn, b.Connected)
	}
	if b.LoginError == nil {
		t.Fatalf("no LoginError from node-metaverse; errors %q", b.Errors)
	}
	if b.LoginError.Reason != "key" || strings.TrimSpace(b.LoginError.Message) == "" {
		t.Errorf("LoginError reason %q message %q, want reason \"key\" and a message", b.LoginError.Reason, b.LoginError.Message)
	}
	if c := g.Server.Region.Counters(); c.Provisioned != 0 || c.Accepted != 0 {
		t.Errorf("region counters %+v: a refused login provisioned a circuit", c)
	}
}
