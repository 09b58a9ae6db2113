package observatory_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"ritual/client"
	"ritual/grid"
	"ritual/login"
	"ritual/observatory"
	"ritual/proxy"
	"ritual/trace"
)

// TestBrowserProxyLive opens the live observatory a proxy serves while our
// client connects through it to an in-process grid: the relayed session
// appears and reaches "complete", its diagram has the handshake arrows of
// both sides in order, and a login whose client never opens its circuit
// shows the proxy's own diagnosis on its page when the proxy ends it.
func TestBrowserProxyLive(t *testing.T) {
	ctx := browser(t)
	quiet := slog.New(slog.DiscardHandler)
	srv, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(cctx)
	}()
	addAccount(t, srv, "Live", "Watcher", "secret")
	addAccount(t, srv, "Stall", "Bot", "secret")

	live := observatory.NewLive(observatory.LiveConfig{})
	defer live.Close()
	p, err := proxy.Start(proxy.Config{
		Upstream: srv.LoginURI(), Listen: "127.0.0.1:0", StallAfter: 2 * time.Second,
		Observatory: live,
		Recorder:    func(s *proxy.Session) trace.Recorder { return live.Relay(s.First + " " + s.Last) },
		Logger:      quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Close(cctx)
	}()
	base := "http://" + p.Addr().String() + proxy.ObservatoryPath

	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("table.sessions"))); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sess, err := client.Login(lctx, client.Config{LoginURI: p.LoginURI(), First: "Live", Last: "Watcher", Password: "secret", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.WaitRitual(lctx); err != nil {
		t.Fatalf("the client's ritual through the proxy: %v", err)
	}
	poll(t, ctx, "the relayed session appears on the list", `!!document.querySelector('tr[data-session] th a') && document.querySelector('tr[data-session] th a').textContent === 'Live Watcher'`, 30*time.Second)
	poll(t, ctx, "the relayed session reaches complete", `document.querySelector('tr[data-session]').dataset.state === 'complete'`, 30*time.Second)
	screenshot(t, ctx, "proxy-list.png")

	if err := chromedp.Do(ctx, chromedp.Navigate(eval[string](t, ctx, `document.querySelector('tr[data-session] th a').href`)), chromedp.WaitVisible(chromedp.CSS("svg.seq"))); err != nil {
		t.Fatal(err)
	}
	labels := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('svg.seq g.row[data-kind="pkt"] text.label')).map(e => e.textContent)`)
	at := -1
	for _, m := range []string{"UseCircuitCode", "RegionHandshake (", "RegionHandshakeReply"} {
		found := -1
		for i := at + 1; i < len(labels); i++ {
			if strings.HasPrefix(labels[i], m) {
				found = i
				break
			}
		}
		if found < 0 {
			t.Fatalf("no %s arrow after arrow %d in the diagram: %q", m, at, labels)
		}
		at = found
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#diagnosis').length`); n != 0 {
		t.Error("a completed relayed session shows a stall banner")
	}
	screenshot(t, ctx, "proxy-session.png")

	// A login through the proxy whose client never opens its circuit: the
	// proxy ends it after its --stall-after with its diagnosis.
	if _, err := login.Login(t.Context(), login.Params{URI: p.LoginURI(), First: "Stall", Last: "Bot", Password: "secret"}); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, s := range live.Sessions() {
		if s.Agent == "Stall Bot" {
			id = s.ID
		}
	}
	if id == "" {
		t.Fatalf("the stalling login is not among the sessions: %+v", live.Sessions())
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"s/"+id), chromedp.WaitVisible(chromedp.CSS("#live"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the proxy's stall banner appears", `!!document.querySelector('#diagnosis') && document.querySelector('#diagnosis').textContent.includes('the client never sent UseCircuitCode')`, 20*time.Second)
	screenshot(t, ctx, "proxy-stalled.png")
	for _, s := range live.Sessions() {
		if s.Agent == "Stall Bot" && s.State != observatory.StateStalled {
			t.Errorf("the stalled relayed session is listed as %q", s.State)
		}
	}
}
