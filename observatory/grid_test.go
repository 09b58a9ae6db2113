package observatory_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"ritual/client"
	"ritual/grid"
	"ritual/observatory"
)

// TestLiveGrid: a grid given a Live observatory serves it at
// /observatory/ and files its agents' rituals by session, from login to
// logout, with nothing left unattributed.
func TestLiveGrid(t *testing.T) {
	live := observatory.NewLive(observatory.LiveConfig{})
	defer live.Close()
	quiet := slog.New(slog.DiscardHandler)
	srv, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Observatory: live, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(cctx)
	}()
	names := []string{"Ann Bot", "Ben Bot", "Cat Bot"}
	for _, n := range names {
		first, last, _ := strings.Cut(n, " ")
		addAccount(t, srv, first, last, "secret")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var sessions []*client.Session
	for _, n := range names {
		first, last, _ := strings.Cut(n, " ")
		s, err := client.Login(ctx, client.Config{LoginURI: srv.LoginURI(), First: first, Last: last, Password: "secret", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WaitRitual(ctx); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	for _, s := range sessions {
		if _, err := s.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ss := live.Sessions()
		done := len(ss) == len(names)
		for _, s := range ss {
			done = done && s.State == observatory.StateLoggedOut
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions never all logged out: %+v", ss)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := live.Unattributed(); n != 0 {
		t.Errorf("%d events attributed to no session", n)
	}
	resp, err := http.Get("http://" + srv.Addr() + "/observatory/?name=ben")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.WriteString(string(buf[:n]))
		if err != nil {
			break
		}
	}
	if resp.StatusCode != 200 || !strings.Contains(b.String(), "Ben Bot") || strings.Contains(b.String(), "Ann Bot") {
		t.Errorf("GET /observatory/?name=ben: %s, Ben listed %t, Ann listed %t", resp.Status, strings.Contains(b.String(), "Ben Bot"), strings.Contains(b.String(), "Ann Bot"))
	}
}
