package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"ritual/circuit"
	"ritual/client"
)

// TestNoGoroutinesLeft: a grid with clients that log out, close without
// logging out, and are still connected when the grid shuts down (and are
// kicked) leaves no goroutine behind once everything is closed: not the
// circuits' run loops and readers, the region's agents, the event-queue
// polls, nor the HTTP server's.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	g := startGrid(t, nil, 0, circuit.Config{}, nil)
	tr := &http.Transport{}
	cfg := clientConfig(g, &http.Client{Transport: tr}, nil)
	cfg.AgentUpdateInterval = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	sessions := make([]*client.Session, 3)
	for i := range sessions {
		// One account: each login ends the one before it (the region
		// kicks the earlier agent), so log in one after another and keep
		// each session's own ending.
		s, err := client.Login(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WaitRitual(ctx); err != nil {
			t.Fatal(err)
		}
		sessions[i] = s
	}
	during := runtime.NumGoroutine()
	// The first two were kicked by the later logins.
	for _, s := range sessions[:2] {
		<-s.Done()
		var kicked *client.KickedError
		if !errors.As(s.Err(), &kicked) {
			t.Errorf("an earlier session ended with %v, want a kick", s.Err())
		}
		s.Close()
	}
	// The last is still connected when the grid shuts down.
	g.Stop()
	select {
	case <-sessions[2].Done():
	case <-ctx.Done():
		t.Fatal("the session outlived the grid")
	}
	sessions[2].Close()
	tr.CloseIdleConnections()

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d during, %d after:\n%s", before, during, n, buf[:runtime.Stack(buf, true)])
	} else {
		t.Logf("%d goroutines before, %d during, %d after", before, during, n)
	}
}

// TestNoGoroutinesLeftAfterLogout: many sessions logging out concurrently
// from one grid, then the grid closing, leave nothing behind either.
func TestNoGoroutinesLeftAfterLogout(t *testing.T) {
	before := runtime.NumGoroutine()
	g := startGrid(t, nil, 0, circuit.Config{}, nil)
	const n = 4
	for i := range n {
		g.AddAccount(botName(i), last, password)
	}
	tr := &http.Transport{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cfg := clientConfig(g, &http.Client{Transport: tr}, nil)
			cfg.First = botName(i)
			s, err := client.Login(ctx, cfg)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			if err := s.WaitRitual(ctx); err != nil {
				t.Error(err)
				return
			}
			if res, err := s.Logout(ctx); err != nil || !res.ReplyReceived {
				t.Errorf("logout: %+v, %v", res, err)
			}
		})
	}
	wg.Wait()
	g.Stop()
	tr.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if k := runtime.NumGoroutine(); k > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after:\n%s", before, k, buf[:runtime.Stack(buf, true)])
	}
}
