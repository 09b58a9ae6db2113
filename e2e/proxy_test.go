package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/circuit/simnet"
	"ritual/client"
	"ritual/proxy"
	"ritual/trace"
)

const (
	proxyHost = "10.0.0.3"
	clientIP  = "10.0.0.2"
)

// startProxyOn starts ritual proxy in front of the grid at loginURI, its
// relay sockets on the in-memory network n; the first ended story is sent
// on the returned channel.
func startProxyOn(tb testing.TB, n *simnet.Network, loginURI string, transport http.RoundTripper) (*proxy.Proxy, <-chan []trace.Event) {
	tb.Helper()
	stories := make(chan []trace.Event, 4)
	p, err := proxy.Start(proxy.Config{
		Upstream: loginURI, Listen: "127.0.0.1:0", PublicHost: proxyHost, HTTPHost: "127.0.0.1",
		ListenPacket: func() (net.PacketConn, error) { return n.Listen(proxyHost + ":0") },
		Transport:    transport,
		Ended:        func(_ *proxy.Session, evs []trace.Event) { stories <- evs },
		Logger:       quiet,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p, stories
}

type sentKey struct {
	msg string
	seq uint32
}

// reliableSends returns the reliable messages side sent (by message and
// sequence number) as recorded in events, resends folded into their
// originals.
func reliableSends(events []trace.Event, side trace.Side) map[sentKey]bool {
	out := map[sentKey]bool{}
	for _, ev := range events {
		if p, ok := ev.(*trace.Packet); ok && p.Side == side && p.Dir == trace.Send && p.Reliable {
			out[sentKey{p.Message, p.Seq}] = true
		}
	}
	return out
}

// TestProxyUnderLoss: our client logs into our grid through the proxy
// with 20 % loss, 10 % duplication and 20 % reordering on every link. The
// ritual completes, every reliable message reaches each end exactly once,
// the proxy's story tells resends and duplicates as such, the proxy lost
// nothing it received, and its story of each side's reliable messages is
// exactly what that side recorded sending.
func TestProxyUnderLoss(t *testing.T) {
	const bound = 25 * time.Second
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			n := simnet.New(seed)
			n.SetDefault(lossy)
			pc, err := n.Listen(regionAddr)
			if err != nil {
				t.Fatal(err)
			}
			// What the relay received and passed on, per direction.
			var tapMu sync.Mutex
			relayOut := map[string][]time.Time{}
			n.SetTap(func(from, to netip.AddrPort, b []byte) {
				if from.Addr().String() == proxyHost {
					tapMu.Lock()
					relayOut[to.Addr().String()] = append(relayOut[to.Addr().String()], time.Now())
					tapMu.Unlock()
				}
			})
			var serverEvents, clientEvents trace.Memory
			g := startGrid(t, pc, 10, fastResend, &serverEvents)
			p, stories := startProxyOn(t, n, g.LoginURI, nil)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			cfg := clientConfig(g, &http.Client{Transport: tr}, func() (net.PacketConn, error) { return n.Listen(clientIP + ":0") })
			cfg.LoginURI = p.LoginURI()
			cfg.Circuit = fastResend
			cfg.Recorder = &clientEvents
			cfg.AgentUpdateInterval = 100 * time.Millisecond

			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			s, err := client.Login(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.WaitRitual(ctx); err != nil {
				t.Fatalf("no ritual within %v: %v (client %+v, network %+v)", bound, err, s.Stats(), n.Stats())
			}
			prims := g.Server.Region.Objects()
			if err := s.WaitObjects(ctx, prims+1); err != nil {
				t.Fatalf("the scene did not arrive: %v", err)
			}
			time.Sleep(2 * time.Second) // resends and duplicates still on their way
			st := s.Stats()
			sc := countServer(serverEvents.Events())
			for _, m := range []string{"RegionHandshake", "AgentMovementComplete"} {
				if st.Messages[m] != 1 {
					t.Errorf("the client got %s %d times, want once", m, st.Messages[m])
				}
			}
			for _, m := range []string{"ObjectUpdate", "LayerData"} {
				if st.Messages[m] != sc.sent[m] || sc.sent[m] == 0 {
					t.Errorf("the client got %s %d times; the region sent %d", m, st.Messages[m], sc.sent[m])
				}
			}
			for _, m := range []string{"UseCircuitCode", "CompleteAgentMovement", "RegionHandshakeReply"} {
				if sc.recv[m] != 1 {
					t.Errorf("the region got %s %d times, want once", m, sc.recv[m])
				}
			}
			if tr := s.Terrain(); !tr.Complete() {
				t.Errorf("terrain %d/%d", tr.Patches, tr.Of)
			}
			if _, err := s.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			var evs []trace.Event
			select {
			case evs = <-stories:
			case <-ctx.Done():
				t.Fatal("the proxy did not end the story")
			}

			// Resends and duplicates are told as such, and nothing the
			// relay received was lost by it.
			resent, dups := 0, 0
			told := map[trace.Side]int{}
			var end time.Time // when the relay took the first LogoutReply
			for _, ev := range evs {
				switch e := ev.(type) {
				case *trace.Packet:
					told[e.Side]++
					if e.Message == "LogoutReply" && end.IsZero() {
						end = e.Time
					}
					if e.Resent {
						resent++
					}
				case *trace.Undecoded:
					told[e.Side]++
				case *trace.Anomaly:
					if e.Kind == trace.AnomalyDuplicate {
						dups++
					}
					if e.Kind == trace.AnomalyReject {
						t.Errorf("the relay refused a datagram: %+v", e)
					}
				case *trace.Stall:
					t.Errorf("the proxy diagnosed a stall: %v", e.Causes)
				}
			}
			if resent == 0 || dups == 0 {
				t.Errorf("the story tells %d resent packets and %d duplicates; the lossy network made both", resent, dups)
			}
			// The story ends at LogoutReply: what the relay passed on
			// until the first LogoutReply reached it is told (give or take
			// the few datagrams in flight through the relay at that
			// moment); what it passed on after (the client's updates and
			// resends until a copy of the reply gets through the loss,
			// acks of the logout) is relayed but not told.
			if end.IsZero() {
				t.Fatal("the story has no LogoutReply")
			}
			tapMu.Lock()
			before := func(to string) (n int) {
				for _, at := range relayOut[to] {
					if at.Before(end) {
						n++
					}
				}
				return n
			}
			toRegion, toClient := len(relayOut["10.0.0.1"]), len(relayOut[clientIP])
			toRegionBefore, toClientBefore := before("10.0.0.1"), before(clientIP)
			tapMu.Unlock()
			if toRegion < told[trace.Client] || toClient < told[trace.Server] || toRegionBefore > told[trace.Client]+4 || toClientBefore > told[trace.Server]+4 {
				t.Errorf("the relay sent %d datagrams to the region and %d to the client (%d and %d before the LogoutReply); its story tells %d and %d received",
					toRegion, toClient, toRegionBefore, toClientBefore, told[trace.Client], told[trace.Server])
			}

			// The story of each side's reliable messages is what that
			// side recorded sending: all of them passed the relay, since
			// each was acknowledged through it.
			for _, c := range []struct {
				side trace.Side
				own  []trace.Event
			}{{trace.Client, clientEvents.Events()}, {trace.Server, serverEvents.Events()}} {
				want, got := reliableSends(c.own, c.side), reliableSends(evs, c.side)
				for k := range got {
					if !want[k] {
						t.Errorf("the proxy tells %v sending %s seq %d, which it never recorded", c.side, k.msg, k.seq)
					}
				}
				missing := 0
				for k := range want {
					if !got[k] && k.msg != "LogoutReply" && k.msg != "LogoutRequest" {
						missing++
						if missing < 5 {
							t.Errorf("%v sent %s seq %d (reliable, acknowledged) but the proxy's story lacks it", c.side, k.msg, k.seq)
						}
					}
				}
			}
			t.Logf("story: %d events; resent %d, duplicates %d; relayed %d to the region, %d to the client; network %+v", len(evs), resent, dups, toRegion, toClient, n.Stats())
		})
	}
}

// recordingTransport keeps every request and answer body that passes.
type recordingTransport struct {
	rt http.RoundTripper
	mu sync.Mutex
	// exchanges in order: request body, answer body.
	req, resp []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	r.mu.Lock()
	r.req = append(r.req, req.Method+" "+string(body))
	r.resp = append(r.resp, fmt.Sprintf("%d %s", resp.StatusCode, data))
	r.mu.Unlock()
	return resp, nil
}

func (r *recordingTransport) exchanges() (req, resp []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.req...), append([]string(nil), r.resp...)
}

// TestProxyTransparent: on a network that loses nothing, every datagram
// the relay passes on is byte for byte the one it received, in order, both
// ways; every HTTP request body reaches the grid as the client sent it, and
// every answer reaches the client as the grid sent it apart from the
// values the proxy rewrote (undoing them gives the grid's bytes back).
func TestProxyTransparent(t *testing.T) {
	n := simnet.New(7)
	pc, err := n.Listen(regionAddr)
	if err != nil {
		t.Fatal(err)
	}
	var tapMu sync.Mutex
	flows := map[[2]string][][]byte{} // (from host, to host) -> datagrams
	n.SetTap(func(from, to netip.AddrPort, b []byte) {
		tapMu.Lock()
		k := [2]string{from.Addr().String(), to.Addr().String()}
		flows[k] = append(flows[k], bytes.Clone(b))
		tapMu.Unlock()
	})
	g := startGrid(t, pc, 0, fastResend, nil)
	upstream := &recordingTransport{rt: &http.Transport{}}
	p, stories := startProxyOn(t, n, g.LoginURI, upstream)
	clientSide := &recordingTransport{rt: &http.Transport{}}
	cfg := clientConfig(g, &http.Client{Transport: clientSide}, func() (net.PacketConn, error) { return n.Listen(clientIP + ":0") })
	cfg.LoginURI = p.LoginURI()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Login(ctx, cfg)
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
	var evs []trace.Event
	select {
	case evs = <-stories:
	case <-ctx.Done():
		t.Fatal("the proxy did not end the story")
	}
	time.Sleep(200 * time.Millisecond)

	tapMu.Lock()
	in, out := flows[[2]string{clientIP, proxyHost}], flows[[2]string{proxyHost, "10.0.0.1"}]
	back, down := flows[[2]string{"10.0.0.1", proxyHost}], flows[[2]string{proxyHost, clientIP}]
	tapMu.Unlock()
	same := func(what string, a, b [][]byte) {
		if len(a) == 0 || len(a) != len(b) {
			t.Errorf("%s: %d datagrams received, %d passed on", what, len(a), len(b))
		}
		for i := range min(len(a), len(b)) {
			if !bytes.Equal(a[i], b[i]) {
				t.Errorf("%s: datagram %d changed:\n%x\n%x", what, i, a[i], b[i])
				return
			}
		}
	}
	same("client to region", in, out)
	same("region to client", back, down)

	// HTTP: undo the proxy's rewrites in what the client got.
	var pairs []string
	for _, ev := range evs {
		if rw, ok := ev.(*trace.Rewrite); ok {
			if rw.Field == "sim_ip:sim_port" {
				o, r := netip.MustParseAddrPort(rw.Original), netip.MustParseAddrPort(rw.Relayed)
				pairs = append(pairs, ">"+r.Addr().String()+"<", ">"+o.Addr().String()+"<",
					fmt.Sprintf(">%d<", r.Port()), fmt.Sprintf(">%d<", o.Port()))
				continue
			}
			pairs = append(pairs, rw.Relayed, rw.Original)
		}
	}
	undo := strings.NewReplacer(pairs...)
	creq, cresp := clientSide.exchanges()
	ureq, uresp := upstream.exchanges()
	if len(creq) < 3 {
		t.Fatalf("the client made %d requests", len(creq))
	}
	// Polls overlap other requests, so exchanges are compared as sets;
	// the grid may have answered a poll the client no longer waited for
	// (it left), which the client never saw.
	left := map[string]int{}
	for i := range ureq {
		left[ureq[i]+"\n=> "+uresp[i]]++
	}
	for i := range creq {
		k := creq[i] + "\n=> " + undo.Replace(cresp[i])
		if left[k] == 0 {
			t.Errorf("exchange changed on its way beyond the rewrites:\n%.600s", k)
			continue
		}
		left[k]--
	}
	for k, n := range left {
		if n > 0 && !strings.Contains(k, "<key>ack</key>") {
			t.Errorf("the grid answered an exchange the client never saw:\n%.400s", k)
		}
	}
}
