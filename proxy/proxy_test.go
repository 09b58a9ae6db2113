package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/account"
	"ritual/client"
	"ritual/grid"
	"ritual/proxy"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/narrative"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const first, last, password = "Test", "User", "password"

// startGrid starts our grid on loopback with the test account.
func startGrid(tb testing.TB, cfg grid.Config) *grid.Server {
	tb.Helper()
	if cfg.DataDir == "" && cfg.Store == nil {
		cfg.DataDir = tb.TempDir()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.Logger = quiet
	g, err := grid.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Close(ctx)
	})
	h, err := account.Hash(password, account.Params{Memory: 1024, Time: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.Store.Accounts().Create(context.Background(), &store.Account{First: first, Last: last, PasswordHash: h}); err != nil {
		tb.Fatal(err)
	}
	return g
}

// stories collects the sessions' ends.
type stories struct {
	mu    sync.Mutex
	ended []story
	ch    chan struct{}
}

type story struct {
	s      *proxy.Session
	events []trace.Event
}

func newStories() *stories { return &stories{ch: make(chan struct{}, 64)} }

func (st *stories) end(s *proxy.Session, evs []trace.Event) {
	st.mu.Lock()
	st.ended = append(st.ended, story{s, evs})
	st.mu.Unlock()
	st.ch <- struct{}{}
}

func (st *stories) wait(tb testing.TB, d time.Duration) story {
	tb.Helper()
	select {
	case <-st.ch:
	case <-time.After(d):
		tb.Fatalf("no session ended within %v", d)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ended[len(st.ended)-1]
}

// startProxy starts a proxy in front of upstream.
func startProxy(tb testing.TB, cfg proxy.Config, st *stories) *proxy.Proxy {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.Logger = quiet
	if st != nil {
		cfg.Ended = st.end
	}
	p, err := proxy.Start(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

func TestClientThroughProxy(t *testing.T) {
	g := startGrid(t, grid.Config{})
	st := newStories()
	p := startProxy(t, proxy.Config{Upstream: g.LoginURI(), StallAfter: 10 * time.Second}, st)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{LoginURI: p.LoginURI(), First: first, Last: last, Password: password,
		HTTPClient: &http.Client{Transport: tr}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	got := st.wait(t, 10*time.Second)
	if r := got.s.Reason(); r != "logout" {
		t.Errorf("session ended with %q, want logout", r)
	}
	counts := map[string]int{}
	for _, ev := range got.events {
		counts[ev.Name()]++
		if stall, ok := ev.(*trace.Stall); ok {
			t.Errorf("unexpected stall: %+v", stall)
		}
	}
	t.Logf("events: %v", counts)
	var b strings.Builder
	_ = narrative.Render(&b, got.events, narrative.Options{})
	t.Log(b.String())
}
