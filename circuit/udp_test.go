package circuit_test

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"ritual/circuit"
	"ritual/trace"
)

// udpPair is a server transport and a client circuit to it over loopback
// UDP; the server opens a circuit for the first sender.
type udpPair struct {
	srvT, cliT *circuit.Transport
	srv, cli   *circuit.Conn
	served     sync.WaitGroup
}

func newUDPPair(tb testing.TB, cfg circuit.Config) *udpPair {
	tb.Helper()
	spc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	cpc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		spc.Close()
		tb.Fatal(err)
	}
	p := &udpPair{}
	opened := make(chan *circuit.Conn, 1)
	var once sync.Once
	scfg := cfg
	scfg.Side = trace.Server
	p.srvT = circuit.NewTransport(spc, circuit.TransportConfig{
		Accept: func(from netip.AddrPort, d []byte) {
			once.Do(func() {
				c, err := p.srvT.Open(from, scfg)
				if err != nil {
					tb.Errorf("open: %v", err)
					return
				}
				c.Inject(d)
				opened <- c
			})
		},
	})
	p.cliT = circuit.NewTransport(cpc, circuit.TransportConfig{})
	p.served.Add(2)
	go func() { defer p.served.Done(); p.srvT.Serve() }()
	go func() { defer p.served.Done(); p.cliT.Serve() }()
	ccfg := cfg
	ccfg.Side = trace.Client
	p.cli, err = p.cliT.Open(spc.LocalAddr().(*net.UDPAddr).AddrPort(), ccfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.cli.SendAcked(ctx, useCircuitCode(1)); err != nil {
		tb.Fatalf("UseCircuitCode: %v", err)
	}
	p.srv = <-opened
	<-p.srv.Inbox()
	return p
}

func (p *udpPair) close() {
	p.cliT.Close()
	p.srvT.Close()
	p.served.Wait()
}

// TestNoGoroutinesLeftUDP: circuits over real sockets, closed every way a
// circuit closes (Close, CloseGracefully, the peer's silence, the
// transport's Close), leave no goroutine and no pooled buffer behind.
func TestNoGoroutinesLeftUDP(t *testing.T) {
	before := runtime.NumGoroutine()
	bufs := circuit.BuffersOut()
	for _, how := range []string{"close", "graceful", "timeout", "transport"} {
		p := newUDPPair(t, circuit.Config{Timeout: 300 * time.Millisecond, PingInterval: 50 * time.Millisecond})
		for i := range uint32(50) {
			if err := p.cli.Send(numbered(i), true); err != nil {
				t.Fatal(err)
			}
			if err := p.srv.Send(numbered(i), true); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		switch how {
		case "close":
			p.cli.Close(how)
			p.srv.Close(how)
		case "graceful":
			p.cli.CloseGracefully(ctx, how)
			p.srv.CloseGracefully(ctx, how)
		case "timeout":
			// The server stops hearing from the client.
			p.cliT.Close()
			<-p.srv.Done()
		}
		cancel()
		p.close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	if n := circuit.BuffersOut() - bufs; n != 0 {
		t.Errorf("%d pooled buffers not returned", n)
	}
}

// BenchmarkThroughput measures reliable messages through a circuit over
// loopback UDP: the client sends, the server delivers, acknowledgements
// flow back. msgs/s is the rate; each message is an 84-byte datagram
// (CompleteAgentMovement).
func BenchmarkThroughput(b *testing.B) {
	p := newUDPPair(b, circuit.Config{PingInterval: -1})
	defer p.close()
	m := numbered(1)
	received := make(chan int, 1)
	want := make(chan int, 1)
	go func() {
		n, target := 0, -1
		for {
			select {
			case target = <-want:
			case _, ok := <-p.srv.Inbox():
				if !ok {
					return
				}
				n++
			}
			if n == target {
				received <- n
				return
			}
		}
	}()
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	start := time.Now()
	for b.Loop() {
		if err := p.cli.SendWait(ctx, m, true); err != nil {
			b.Fatal(err)
		}
		n++
	}
	want <- n
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		b.Fatalf("not every message arrived: client %+v, server %+v", p.cli.Stats(), p.srv.Stats())
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.Logf("n=%d client %+v; server %+v; transport drops %+v", n, p.cli.Stats(), p.srv.Stats(), p.srvT.Dropped())
	if s := p.cli.Stats(); s.ReliableLost > 0 {
		b.Errorf("%d reliable packets given up", s.ReliableLost)
	}
}
