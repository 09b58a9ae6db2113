package interop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/internal/gridtest"
	"ritual/proxy"
	"ritual/trace"
	"ritual/trace/narrative"
)

// TestNodeMetaverseThroughProxy: node-metaverse logs into our grid through
// ritual proxy and completes the ritual; the proxy's story tells both
// sides in causal order: the login request before its reply,
// UseCircuitCode before RegionHandshake, RegionHandshakeReply before the
// first LayerData, LogoutRequest before LogoutReply, and 256/256 patches.
func TestNodeMetaverseThroughProxy(t *testing.T) {
	node(t)
	g := startGrid(t, gridtest.WithAccount("Test", "User", "secret123"))
	a := g.Accounts[0].Account
	stories := make(chan []trace.Event, 4)
	p, err := proxy.Start(proxy.Config{
		Upstream: g.LoginURI, Listen: "127.0.0.1:0",
		Ended: func(_ *proxy.Session, evs []trace.Event) { stories <- evs },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	g.loginURI = p.LoginURI()
	res, code := g.run(t, "Test", "User", "secret123")
	if code != 0 || !res.OK || len(res.Errors) > 0 {
		t.Errorf("script exit %d, ok %v, errors %q", code, res.OK, res.Errors)
	}
	if len(res.Bots) != 1 {
		t.Fatalf("%d bots reported, want 1", len(res.Bots))
	}
	g.checkRitual(t, res.Bots[0], a)

	var evs []trace.Event
	select {
	case evs = <-stories:
	case <-time.After(15 * time.Second):
		t.Fatal("the proxy did not end the session's story")
	}
	var b strings.Builder
	if err := narrative.Render(&b, evs, narrative.Options{}); err != nil {
		t.Fatal(err)
	}
	story := b.String()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the proxy's story:\n%s", story)
		}
	})

	// first returns the index of the first event matching, or -1.
	first := func(match func(trace.Event) bool) int {
		for i, ev := range evs {
			if match(ev) {
				return i
			}
		}
		return -1
	}
	packet := func(side trace.Side, name string) func(trace.Event) bool {
		return func(ev trace.Event) bool {
			p, ok := ev.(*trace.Packet)
			return ok && p.Side == side && p.Message == name
		}
	}
	order := []struct {
		before, after string
		b, a          func(trace.Event) bool
	}{
		{"the login request", "its reply",
			func(ev trace.Event) bool { _, ok := ev.(*trace.LoginRequest); return ok },
			func(ev trace.Event) bool { r, ok := ev.(*trace.LoginResponse); return ok && r.OK }},
		{"UseCircuitCode", "RegionHandshake", packet(trace.Client, "UseCircuitCode"), packet(trace.Server, "RegionHandshake")},
		{"RegionHandshakeReply", "the first LayerData", packet(trace.Client, "RegionHandshakeReply"), packet(trace.Server, "LayerData")},
		{"LogoutRequest", "LogoutReply", packet(trace.Client, "LogoutRequest"), packet(trace.Server, "LogoutReply")},
	}
	for _, o := range order {
		i, j := first(o.b), first(o.a)
		if i < 0 || j < 0 || !evs[i].Head().Time.Before(evs[j].Head().Time) && i >= j {
			t.Errorf("%s (event %d) is not told before %s (event %d)", o.before, i, o.after, j)
		}
	}
	patches := 0
	for _, ev := range evs {
		if p, ok := ev.(*trace.Packet); ok && p.Message == "LayerData" && p.Side == trace.Server && !p.Resent {
			if l, _ := p.Fields.Get("layer"); l == "land" {
				n, _ := p.Fields.Get("patches")
				k, _ := strconv.Atoi(n)
				patches += k
			}
		}
		if st, ok := ev.(*trace.Stall); ok {
			t.Errorf("the proxy diagnosed a stall: %+v", st)
		}
	}
	if patches != 256 || !strings.Contains(story, "256/256") {
		t.Errorf("the proxy relayed %d land patches; the story says 256/256: %v", patches, strings.Contains(story, "256/256"))
	}
	for _, want := range []string{"[CLIENT] [UDP] SEND UseCircuitCode", "[SERVER] [UDP] SEND RegionHandshake", "[CLIENT] [UDP] SEND RegionHandshakeReply",
		"[CLIENT] [CAPS] SEED REQUEST", "[SERVER] [CAPS] SEED GRANT", "[CLIENT] [UDP] SEND LogoutRequest", "[SERVER] [UDP] SEND LogoutReply",
		fmt.Sprintf("proxy closes the story of this session: logout")} {
		if !strings.Contains(story, want) {
			t.Errorf("the story lacks %q", want)
		}
	}
}
