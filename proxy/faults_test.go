package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/account"
	"ritual/circuit"
	"ritual/client"
	"ritual/grid"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/cause"
	"ritual/trace/narrative"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

const tFirst, tLast, tPassword = "Test", "User", "password"

// testGrid starts our grid on loopback with the test account.
func testGrid(tb testing.TB) *grid.Server {
	tb.Helper()
	g, err := grid.Start(context.Background(), grid.Config{DataDir: tb.TempDir(), Listen: "127.0.0.1:0", Logger: quietLog})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = g.Close(ctx)
	})
	h, err := account.Hash(tPassword, account.Params{Memory: 1024, Time: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.Store.Accounts().Create(context.Background(), &store.Account{First: tFirst, Last: tLast, PasswordHash: h}); err != nil {
		tb.Fatal(err)
	}
	return g
}

// faultyUpstream is a grid with a fault put in front of it: an HTTP
// front that relays to the grid (its capability URLs pointed at itself)
// and, when udp is set, a UDP middlebox between the relay and the region.
type faultyUpstream struct {
	g         *grid.Server
	srv       *httptest.Server
	blankSeed bool
	seed500   bool
	eqHang    bool
	loginHang bool
	udp       *middlebox
}

func (f *faultyUpstream) start(tb testing.TB) {
	tb.Helper()
	gu, _ := url.Parse(f.g.LoginURI())
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(gu); r.Out.URL.Path = r.In.URL.Path },
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			body = bytes.ReplaceAll(body, []byte(gu.Host), []byte(f.srv.Listener.Addr().String()))
			if r, err := login.ParseResponse(resp.Header.Get("Content-Type"), body); err == nil {
				if f.blankSeed {
					body = bytes.Replace(body, []byte(r.SeedCapability), nil, 1)
				}
				if f.udp != nil {
					sim, _ := r.SimAddr()
					f.udp.region = sim
					if out, err := rewriteLoginReply(resp.Header.Get("Content-Type"), body, loginEdits{Sim: f.udp.addr()}); err == nil {
						body = out
					}
				}
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch {
		case f.loginHang && bytes.Contains(body, []byte("login_to_simulator")):
			<-r.Context().Done()
			return
		case f.seed500 && bytes.Contains(body, []byte("EventQueueGet")):
			http.Error(w, "seed capability failing", http.StatusInternalServerError)
			return
		case f.eqHang && bytes.Contains(body, []byte("<key>ack</key>")):
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	tb.Cleanup(f.srv.Close)
}

func (f *faultyUpstream) loginURI() string { return f.srv.URL + "/" }

// middlebox relays UDP between the proxy and the region, dropping what
// drop says to drop; with blackhole it answers nothing and relays nothing.
type middlebox struct {
	pc        net.PacketConn
	region    netip.AddrPort
	blackhole bool
	// landPatches: the region's land patches relayed before everything
	// further of LayerData is dropped (0: no limit).
	landPatches int
}

func newMiddlebox(tb testing.TB) *middlebox {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pc.Close() })
	return &middlebox{pc: pc}
}

func (m *middlebox) addr() netip.AddrPort { return addrPort(m.pc.LocalAddr()) }

func (m *middlebox) run() {
	buf := make([]byte, 65536)
	scratch := make([]byte, msg.MaxBody)
	var pkt msg.Packet
	var peer net.Addr
	sent := 0
	for {
		n, from, err := m.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if m.blackhole {
			continue
		}
		d := buf[:n]
		if addrPort(from) != m.region {
			peer = from
			_, _ = m.pc.WriteTo(d, net.UDPAddrFromAddrPort(m.region))
			continue
		}
		if peer == nil {
			continue
		}
		if m.landPatches > 0 && pkt.Parse(d, scratch) == nil && pkt.ID == msg.IDLayerData {
			mm, err := pkt.Decode()
			if err == nil {
				fs := circuit.DefaultSummary(mm)
				if l, _ := fs.Get("layer"); l == "land" {
					if sent >= m.landPatches {
						continue
					}
					k, _ := strconv.Atoi(func() string { v, _ := fs.Get("patches"); return v }())
					sent += k
				}
			}
		}
		_, _ = m.pc.WriteTo(d, peer)
	}
}

// storyOf runs the proxy in front of up and returns the first ended
// session's events.
type ended struct {
	mu  sync.Mutex
	evs [][]trace.Event
	ch  chan struct{}
}

func (e *ended) add(_ *Session, evs []trace.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, evs)
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

func startTestProxy(tb testing.TB, upstream string, stall time.Duration) (*Proxy, *ended) {
	tb.Helper()
	e := &ended{ch: make(chan struct{}, 16)}
	p, err := Start(Config{Upstream: upstream, Listen: "127.0.0.1:0", StallAfter: stall, EQHold: stall, CircuitTimeout: 2 * stall, Ended: e.add, Logger: quietLog})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p, e
}

func stallOf(evs []trace.Event) *trace.Stall {
	for _, ev := range evs {
		if s, ok := ev.(*trace.Stall); ok {
			return s
		}
	}
	return nil
}

// TestFaultsDiagnosed: a grid with one fault put in front of it; our
// client logs in through the proxy and behaves as it would; the proxy's
// story names the step, the cause and the side at fault.
func TestFaultsDiagnosed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *faultyUpstream, tb testing.TB)
		step  cause.Step
		cause string
		fault cause.Side
	}{
		{"blank seed capability", func(f *faultyUpstream, _ testing.TB) { f.blankSeed = true },
			cause.StepSeed, `^the login reply's seed capability is blank`, cause.LoginService},
		{"seed capability 500", func(f *faultyUpstream, _ testing.TB) { f.seed500 = true },
			cause.StepSeed, `^the seed capability answered HTTP 500`, cause.Capabilities},
		{"event queue never answers", func(f *faultyUpstream, _ testing.TB) { f.eqHang = true },
			cause.StepEventQueue, `^the event queue held \d+ polls? for [0-9.]+ m?s and delivered nothing`, cause.Capabilities},
		{"region never answers UseCircuitCode", func(f *faultyUpstream, tb testing.TB) {
			f.udp = newMiddlebox(tb)
			f.udp.blackhole = true
		}, cause.StepCircuitAcked, `^the region never answered UseCircuitCode \(sent (once|\d+ times)\); the login service gave sim 127\.0\.0\.1:\d+`, cause.Region},
		{"terrain cut short", func(f *faultyUpstream, tb testing.TB) {
			f.udp = newMiddlebox(tb)
			f.udp.landPatches = 17
		}, cause.StepTerrain, `^the region sent \d+ of 256 terrain patches and nothing since`, cause.Region},
		{"login never answers", func(f *faultyUpstream, _ testing.TB) { f.loginHang = true },
			cause.StepLoginAnswered, `^the login service has not answered in [0-9.]+ m?s`, cause.LoginService},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &faultyUpstream{g: testGrid(t)}
			tc.setup(f, t)
			f.start(t)
			if f.udp != nil {
				go f.udp.run()
			}
			p, e := startTestProxy(t, f.loginURI(), time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			go func() {
				s, err := client.Login(ctx, client.Config{LoginURI: p.LoginURI(), First: tFirst, Last: tLast, Password: tPassword,
					HTTPClient: &http.Client{Transport: tr}, Logger: quietLog,
					Timeouts: client.Timeouts{UseCircuitCode: 10 * time.Second, Handshake: 10 * time.Second, Seed: 10 * time.Second}})
				if err != nil {
					return
				}
				defer s.Close()
				wctx, wcancel := context.WithTimeout(ctx, 1500*time.Millisecond)
				_ = s.WaitRitual(wctx)
				wcancel()
				time.Sleep(1500 * time.Millisecond) // the event queue keeps its poll
				_, _ = s.Logout(ctx)
			}()
			select {
			case <-e.ch:
			case <-ctx.Done():
				p.mu.Lock()
				for s := range p.sessions {
					t.Logf("open session: %s", names(s.Events()))
				}
				p.mu.Unlock()
				t.Fatal("the session did not end")
			}
			e.mu.Lock()
			evs := e.evs[0]
			e.mu.Unlock()
			t.Cleanup(func() {
				if t.Failed() {
					var b strings.Builder
					_ = narrative.Render(&b, evs, narrative.Options{})
					t.Logf("the proxy's story:\n%s", b.String())
				}
			})
			st := stallOf(evs)
			if st == nil {
				t.Fatalf("no diagnosis; events: %v", names(evs))
			}
			if st.Step != int(tc.step) || st.Fault != string(tc.fault) || st.Cause == "" || len(st.Causes) == 0 || !regexp.MustCompile(tc.cause).MatchString(st.Causes[0]) {
				t.Errorf("diagnosis: step %d (%s), fault %v, causes %q; want step %d, fault %v, cause matching %s",
					st.Step, st.Expected, st.Fault, st.Causes, tc.step, tc.fault, tc.cause)
			}
		})
	}
}

func names(evs []trace.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(trace.Tag(ev) + "; ")
	}
	return b.String()
}
