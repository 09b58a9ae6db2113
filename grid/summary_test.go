package grid_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/grid"
)

// captured is a slog.Handler that keeps every record.
type captured struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *captured) Enabled(context.Context, slog.Level) bool { return true }
func (h *captured) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captured) WithGroup(string) slog.Handler            { return h }
func (h *captured) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r.Clone())
	h.mu.Unlock()
	return nil
}

// summaries returns the summary records so far.
func (h *captured) summaries() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.records {
		if strings.HasPrefix(r.Message, "grid: in the last ") {
			out = append(out, r)
		}
	}
	return out
}

// totals sums the summaries' counts by attribute.
func totals(rs []slog.Record) map[string]int64 {
	out := map[string]int64{}
	for _, r := range rs {
		r.Attrs(func(a slog.Attr) bool {
			switch a.Value.Kind() {
			case slog.KindUint64:
				out[a.Key] += int64(a.Value.Uint64())
			case slog.KindInt64:
				out[a.Key] += a.Value.Int64()
			}
			return true
		})
	}
	return out
}

// TestAttackSummary: bad logins from several addresses, garbage datagrams
// and probes for capabilities are told in a summary at warning level, a
// line per interval at most, and nothing is told while all is quiet.
func TestAttackSummary(t *testing.T) {
	const interval = 150 * time.Millisecond
	logs := &captured{}
	began := time.Now()
	srv, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		SummaryInterval: interval, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, srv)
	addAccounts(t, srv, "secret", "Own Er")
	ctx := t.Context()

	// A quiet start with a good login: nothing to tell.
	if _, err := loginFrom(ctx, srv, "127.0.0.1", "Own Er", "secret"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * interval)
	if rs := logs.summaries(); len(rs) != 0 {
		t.Fatalf("a summary while nothing was refused: %q", rs[0].Message)
	}

	// The attack: 12 guesses at one account from one address (5 heard,
	// 7 throttled), 3 unknown names from another, a request that is no
	// login, 200 garbage datagrams and 4 guessed capability paths.
	for range 12 {
		if _, err := loginFrom(ctx, srv, "127.0.0.2", "Own Er", "guess"); !isFailure(err) {
			t.Fatalf("a guess: %v", err)
		}
	}
	for _, name := range []string{"No Body", "Any One", "Some Body"} {
		if _, err := loginFrom(ctx, srv, "127.0.0.3", name, "guess"); !isFailure(err) {
			t.Fatalf("an unknown name: %v", err)
		}
	}
	resp, err := http.Post(srv.LoginURI(), "text/xml", strings.NewReader("<methodCall><methodName>other</methodName></methodCall>"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	udp, err := net.Dial("udp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for i := range 200 {
		udp.Write(bytes.Repeat([]byte{byte(i)}, 24))
		if i%50 == 49 {
			time.Sleep(10 * time.Millisecond) // let the region's reader keep up
		}
	}
	for range 4 {
		resp, err := http.Get("http://" + srv.Addr() + "/CAPS/" + strings.Repeat("ab", 16) + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	want := map[string]int64{
		"logins_bad_credentials": 8, "logins_throttled": 7, "logins_malformed": 1,
		"datagrams_no_circuit": 200, "caps_unknown": 4,
	}
	var got map[string]int64
	var rs []slog.Record
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs = logs.summaries()
		got = totals(rs)
		done := true
		for k, v := range want {
			if got[k] < v {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(interval / 3)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d told, want %d", k, got[k], v)
		}
	}
	if got["login_addresses"] < 3 {
		t.Errorf("login refusals told from %d addresses, want at least 3", got["login_addresses"])
	}
	// One line per interval at most, at warning level, in words.
	if max := int(time.Since(began)/interval) + 1; len(rs) > max {
		t.Errorf("%d summaries in %v, want at most one per %v", len(rs), time.Since(began), interval)
	}
	for _, r := range rs {
		if r.Level != slog.LevelWarn {
			t.Errorf("summary at level %v: %s", r.Level, r.Message)
		}
		t.Logf("%s", r.Message)
	}
	joined := ""
	for _, r := range rs {
		joined += r.Message + "\n"
	}
	for _, frag := range []string{"logins for bad credentials", "for too many failures", "datagrams with no circuit", "requests for unknown capabilities", " address"} {
		if !strings.Contains(joined, frag) {
			t.Errorf("no summary says %q", frag)
		}
	}

	// Quiet again: nothing more is told.
	n := len(rs)
	time.Sleep(4 * interval)
	if rs := logs.summaries(); len(rs) != n {
		t.Errorf("a summary after the attack ended: %q", rs[len(rs)-1].Message)
	}
}

func TestNoSummary(t *testing.T) {
	logs := &captured{}
	srv, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		SummaryInterval: -1, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, srv)
	for range 3 {
		loginFrom(t.Context(), srv, "127.0.0.2", "No Body", "guess") //nolint:errcheck // refused
	}
	time.Sleep(200 * time.Millisecond)
	if rs := logs.summaries(); len(rs) != 0 {
		t.Errorf("a summary with SummaryInterval < 0: %q", rs[0].Message)
	}
}
