package e2e_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"ritual/circuit"
	"ritual/client"
	"ritual/proxy"
)

// BenchmarkRitualLoopback measures the whole ritual against an in-process
// grid over loopback (UDP sockets, HTTP on TCP): login (with a cheap
// password hash), UseCircuitCode, handshake, seed capability and event
// queue, every object and terrain patch, and a logout answered by the
// region. ms-to-complete is the mean time from the login request to the
// last terrain patch.
func BenchmarkRitualLoopback(b *testing.B) {
	g := startGrid(b, nil, 0, circuit.Config{}, nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cfg := clientConfig(g, &http.Client{Transport: tr}, nil)
	cfg.AgentUpdateInterval = -1
	var toComplete, toLogin time.Duration
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		s, err := client.Login(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		toLogin += time.Since(start)
		if err := s.WaitRitual(ctx); err != nil {
			b.Fatal(err)
		}
		toComplete += time.Since(start)
		if res, err := s.Logout(ctx); err != nil || !res.ReplyReceived {
			b.Fatalf("Logout = %+v, %v", res, err)
		}
		cancel()
	}
	b.ReportMetric(float64(toLogin.Microseconds())/1000/float64(b.N), "ms-to-connect")
	b.ReportMetric(float64(toComplete.Microseconds())/1000/float64(b.N), "ms-to-complete")
}

// BenchmarkRitualThroughProxy is BenchmarkRitualLoopback with ritual proxy
// between client and grid (every datagram relayed and recorded, the login
// reply and seed answer rewritten), to compare the phases with and without
// it.
func BenchmarkRitualThroughProxy(b *testing.B) {
	g := startGrid(b, nil, 0, circuit.Config{}, nil)
	p, err := proxy.Start(proxy.Config{Upstream: g.LoginURI, Listen: "127.0.0.1:0", Logger: quiet, Linger: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cfg := clientConfig(g, &http.Client{Transport: tr}, nil)
	cfg.LoginURI = p.LoginURI()
	cfg.AgentUpdateInterval = -1
	var toComplete, toLogin time.Duration
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		s, err := client.Login(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		toLogin += time.Since(start)
		if err := s.WaitRitual(ctx); err != nil {
			b.Fatal(err)
		}
		toComplete += time.Since(start)
		if res, err := s.Logout(ctx); err != nil || !res.ReplyReceived {
			b.Fatalf("Logout = %+v, %v", res, err)
		}
		cancel()
	}
	b.ReportMetric(float64(toLogin.Microseconds())/1000/float64(b.N), "ms-to-connect")
	b.ReportMetric(float64(toComplete.Microseconds())/1000/float64(b.N), "ms-to-complete")
}
