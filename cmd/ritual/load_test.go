package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/account"
	"ritual/grid"
	"ritual/store"
)

// loadGrid starts a grid on loopback with bots PREFIX1..PREFIXn whose
// passwords are hashed cheaply.
func loadGrid(t *testing.T, prefix string, n int, pw string) *grid.Server {
	t.Helper()
	srv, err := grid.Start(t.Context(), grid.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	h, err := account.Hash(pw, account.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var accts []*store.Account
	for i := 1; i <= n; i++ {
		accts = append(accts, &store.Account{First: prefix + strconv.Itoa(i), Last: "Bot", PasswordHash: h})
	}
	if err := srv.Store.Accounts().Create(t.Context(), accts...); err != nil {
		t.Fatal(err)
	}
	return srv
}

func runLoadCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"load"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLoadJSON(t *testing.T) {
	const bots = 12
	srv := loadGrid(t, "Tl", bots, "botpass")
	code, out, errout := runLoadCmd("--login-uri", srv.LoginURI(), "--bots", strconv.Itoa(bots),
		"--prefix", "Tl", "--password", "botpass", "--ramp", "0", "--max-pending", "6",
		"--duration", "400ms", "--timeout", "30s", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errout)
	}
	var rep struct {
		Bots, Completed, Failed int
		Failures                []struct {
			Reason string
			Count  int
		}
		Phases             map[string]map[string]float64
		FromUseCircuitCode map[string]map[string]float64 `json:"from_use_circuit_code"`
		PacketsSent        int                           `json:"packets_sent"`
		PacketsReceived    int                           `json:"packets_received"`
		LogoutReplies      int                           `json:"logout_replies"`
		PeakConnected      int                           `json:"peak_connected"`
		AllConnectedMS     float64                       `json:"all_connected_ms"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Bots != bots || rep.Completed != bots || rep.Failed != 0 || len(rep.Failures) != 0 {
		t.Fatalf("report %+v", rep)
	}
	// Every phase was reached by every bot, and the percentiles are in
	// order and after the login.
	for _, name := range []string{"login", "handshake", "movement_complete", "first_object", "first_layer_data", "full_terrain", "ritual_complete"} {
		p := rep.Phases[name]
		if p["n"] != bots || p["p50_ms"] <= 0 || p["p50_ms"] > p["p95_ms"] || p["p95_ms"] > p["p99_ms"] || p["p99_ms"] > p["max_ms"] {
			t.Errorf("phase %s: %v", name, p)
		}
		if name != "login" && p["p50_ms"] < rep.Phases["login"]["p50_ms"] {
			t.Errorf("phase %s p50 %v before the login's %v", name, p["p50_ms"], rep.Phases["login"]["p50_ms"])
		}
	}
	for _, name := range []string{"first_layer_data", "full_terrain"} {
		u, s := rep.FromUseCircuitCode[name], rep.Phases[name]
		if u["n"] != bots || u["p50_ms"] <= 0 || u["max_ms"] > s["max_ms"] {
			t.Errorf("%s from UseCircuitCode %v, from start %v", name, u, s)
		}
	}
	// 10 Hz AgentUpdate for 400 ms is several packets a bot beyond the
	// ritual's.
	if rep.PacketsSent < bots*8 || rep.PacketsReceived < bots*20 {
		t.Errorf("packets sent %d, received %d", rep.PacketsSent, rep.PacketsReceived)
	}
	if rep.LogoutReplies != bots || rep.PeakConnected < 1 || rep.PeakConnected > bots {
		t.Errorf("logout replies %d, peak %d", rep.LogoutReplies, rep.PeakConnected)
	}
	// The region saw the AgentUpdates.
	for _, m := range srv.Region.Messages() {
		if m.Name == "AgentUpdate" && m.In < bots*3 {
			t.Errorf("region received %d AgentUpdates from %d bots", m.In, bots)
		}
	}
}

// TestLoadWalkChat: bots that wander and talk hear each other's lines
// (none missed) and receive each other's movement.
func TestLoadWalkChat(t *testing.T) {
	const bots = 6
	srv := loadGrid(t, "Tw", bots, "botpass")
	code, out, errout := runLoadCmd("--login-uri", srv.LoginURI(), "--bots", strconv.Itoa(bots),
		"--prefix", "Tw", "--password", "botpass", "--ramp", "0",
		"--duration", "12s", "--timeout", "30s", "--walk", "--chat-every", "1s", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errout)
	}
	var rep struct {
		Completed int
		Walk      bool
		Chat      map[string]float64
		Rates     map[string]float64 `json:"avatar_updates_hz"`
		Recv      float64            `json:"recv_bytes_per_bot_per_s_p50"`
		RSS       float64            `json:"server_rss_max_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c := rep.Chat
	// Six bots saying a line a second for about 7 s (none closer than 5 s
	// to leaving).
	if rep.Completed != bots || !rep.Walk || c["n"] < bots*4 || c["expected"] == 0 || c["missed"] != 0 || c["heard"] != c["expected"] {
		t.Errorf("report: completed %d, chat %v", rep.Completed, c)
	}
	for _, k := range []string{"p50_ms", "p95_ms", "p99_ms", "max_ms"} {
		if _, ok := c[k]; !ok {
			t.Errorf("chat lacks %s: %v", k, c)
		}
	}
	if c["p50_ms"] <= 0 || c["p50_ms"] > c["max_ms"] {
		t.Errorf("chat latency %v", c)
	}
	if r := rep.Rates; r["nearest10_p50"] <= 0 || r["all_p50"] <= 0 {
		t.Errorf("avatar update rates %v", r)
	}
	if rep.Recv <= 0 || rep.RSS <= 0 {
		t.Errorf("received per bot %v B/s, server RSS %v", rep.Recv, rep.RSS)
	}
	if st := srv.Region.World(); st.ChatHeard == 0 || st.TerseUpdates == 0 {
		t.Errorf("region world %+v", st)
	}
}

func TestLoadFailuresAndTable(t *testing.T) {
	// Five accounts exist; bots 6 and 7 do not.
	srv := loadGrid(t, "Tf", 5, "botpass")
	code, out, errout := runLoadCmd("--login-uri", srv.LoginURI(), "--bots", "7",
		"--prefix", "Tf", "--password", "botpass", "--ramp", "200",
		"--duration", "100ms", "--timeout", "30s")
	if code != 1 {
		t.Fatalf("exit %d with failed bots, want 1\nstdout: %s\nstderr: %s", code, out, errout)
	}
	for _, want := range []string{
		"completed  5", "failed  2",
		"2  login: refused (key): The name or password is not correct",
		"login", "handshake", "movement complete", "first object", "first layer data", "full terrain", "ritual complete",
		"from UseCircuitCode", "packets sent", "LogoutReply received by 5 of 5",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		t.Logf("table:\n%s", out)
	}
}

func TestLoadProgressPlain(t *testing.T) {
	// Not a terminal: a plain line every few seconds, and none drawn in
	// place.
	var b bytes.Buffer
	s := &loadState{allTarget: 2}
	s.started.Store(2)
	s.connect(1)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { showProgress(&b, false, 2, s, time.Now(), stop); close(done) }()
	close(stop)
	<-done
	if strings.Contains(b.String(), "\r") {
		t.Errorf("carriage return written to a non-terminal: %q", b.String())
	}
	if got := bar(s, 2); got != "["+strings.Repeat("=", 15)+strings.Repeat(".", 15)+"]" {
		t.Errorf("bar %q", got)
	}
}

func TestLoadState(t *testing.T) {
	s := &loadState{allTarget: 2}
	s.connect(1)
	s.connect(1)
	time.Sleep(time.Millisecond)
	s.connect(-1)
	s.connect(-1)
	if s.peak != 2 || s.allFor <= 0 || !s.allSince.IsZero() {
		t.Errorf("peak %d, all for %v", s.peak, s.allFor)
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := summarize(ds)
	if p.N != 100 || p.P50 != 50 || p.P95 != 95 || p.P99 != 99 || p.Max != 100 {
		t.Errorf("summarize 1..100 ms = %+v", p)
	}
	if p := summarize([]time.Duration{7 * time.Millisecond}); p.P50 != 7 || p.P99 != 7 {
		t.Errorf("one value: %+v", p)
	}
	if p := summarize(nil); p != (percentiles{}) {
		t.Errorf("none: %+v", p)
	}
}

func TestLoadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--login-uri is required"},
		{[]string{"--login-uri", "http://127.0.0.1:1/", "--bots", "0"}, "--bots 0"},
		{[]string{"--login-uri", "http://127.0.0.1:1/", "--bots", "2", "--ramp", "-1"}, "--ramp"},
		{[]string{"--login-uri", "http://127.0.0.1:1/", "--bots", "2", "--login-form", "soap"}, "--login-form"},
		{[]string{"--login-uri", "http://127.0.0.1:1/", "--bots", "2", "--max-pending", "0"}, "--max-pending"},
		{[]string{"--login-uri", "http://127.0.0.1:1/", "--bots", "2", "extra"}, "unexpected argument"},
	} {
		code, _, errout := runLoadCmd(tc.args...)
		if code != 2 || !strings.Contains(errout, tc.want) {
			t.Errorf("ritual load %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errout, tc.want)
		}
	}
}

func TestFailureReason(t *testing.T) {
	// Numbers are folded so failures of one kind group together.
	a := failureReason(errString("login: dial tcp 127.0.0.1:9000: connection refused"))
	b := failureReason(errString("login: dial tcp 127.0.0.1:9001: connection refused"))
	if a != b || strings.ContainsAny(a, "0123456789") {
		t.Errorf("%q and %q", a, b)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestLoadRegionsTeleport: --regions spreads the bots over a grid's two
// regions by start location, and --teleport-every makes each bot
// teleport between them, every teleport reported with its latencies.
func TestLoadRegionsTeleport(t *testing.T) {
	const bots = 4
	srv, err := grid.Start(t.Context(), grid.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger(),
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	h, err := account.Hash("botpass", account.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var accts []*store.Account
	for i := 1; i <= bots; i++ {
		accts = append(accts, &store.Account{First: "Tr" + strconv.Itoa(i), Last: "Bot", PasswordHash: h})
	}
	if err := srv.Store.Accounts().Create(t.Context(), accts...); err != nil {
		t.Fatal(err)
	}
	code, out, errout := runLoadCmd("--login-uri", srv.LoginURI(), "--bots", strconv.Itoa(bots),
		"--prefix", "Tr", "--password", "botpass", "--ramp", "0", "--regions", "West,East",
		"--teleport-every", "600ms", "--duration", "2s", "--timeout", "30s", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errout)
	}
	type lat struct {
		N      int     `json:"n"`
		Failed int     `json:"failed"`
		P50    float64 `json:"p50_ms"`
		P95    float64 `json:"p95_ms"`
		P99    float64 `json:"p99_ms"`
		Max    float64 `json:"max_ms"`
	}
	var rep struct {
		Completed, Failed int
		Regions           map[string]int
		Teleport          struct {
			lat
			ToFinish lat `json:"to_finish"`
			Arrival  lat `json:"arrival"`
			Failures []struct {
				Reason string
				Count  int
			}
		}
		Crossing lat
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Completed != bots || rep.Failed != 0 {
		t.Fatalf("completed %d failed %d\n%s", rep.Completed, rep.Failed, out)
	}
	if rep.Regions["West"] != bots/2 || rep.Regions["East"] != bots/2 {
		t.Errorf("bots by region %v, want %d in each", rep.Regions, bots/2)
	}
	tp := rep.Teleport
	// 2 s at one teleport every 600 ms, the first within 300-600 ms: at
	// least two teleports a bot.
	if tp.N < bots*2 || tp.Failed != 0 || len(tp.Failures) != 0 {
		t.Errorf("teleports %d failed %d, want at least %d and none failed\n%s", tp.N, tp.Failed, bots*2, out)
	}
	for name, l := range map[string]lat{"teleport": tp.lat, "to_finish": tp.ToFinish, "arrival": tp.Arrival} {
		if l.N != tp.N || l.P50 <= 0 || l.P50 > l.P95 || l.P95 > l.P99 || l.P99 > l.Max {
			t.Errorf("%s: %+v", name, l)
		}
	}
	if tp.Arrival.Max < tp.ToFinish.P50 {
		t.Errorf("arrival %+v before TeleportFinish %+v", tp.Arrival, tp.ToFinish)
	}
	if rep.Crossing.N != 0 || rep.Crossing.Failed != 0 {
		t.Errorf("crossings without walking: %+v", rep.Crossing)
	}
}

// TestLoadRegionFlags: --regions and --teleport-every refuse what they
// cannot do, before any bot starts.
func TestLoadRegionFlags(t *testing.T) {
	base := []string{"--login-uri", "http://127.0.0.1:1/", "--bots", "1", "--password", "x"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--regions", " , "}, "names no region"},
		{[]string{"--regions", "A&1,B"}, "holds & or /"},
		{[]string{"--teleport-every", "1s"}, "needs --regions naming two regions"},
		{[]string{"--regions", "A", "--teleport-every", "1s"}, "needs --regions naming two regions"},
		{[]string{"--regions", "A,B", "--teleport-every", "-1s"}, "is negative"},
	} {
		code, _, errout := runLoadCmd(append(slices.Clone(base), tc.args...)...)
		if code != 2 || !strings.Contains(errout, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errout, tc.want)
		}
	}
}

func TestNextRegion(t *testing.T) {
	regions := []string{"West", "East", "North"}
	for cur, want := range map[string]string{"West": "East", "east": "North", "North": "West", "Elsewhere": "West", "": "West"} {
		if got := nextRegion(regions, cur); got != want {
			t.Errorf("after %q: %q, want %q", cur, got, want)
		}
	}
}
