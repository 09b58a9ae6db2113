package login_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"ritual/account"
	"ritual/login"
)

// BenchmarkLoginParallel is login throughput: many clients logging in at
// once over loopback HTTP (GOMAXPROCS × 4 goroutines), each login a
// password verification, an inventory read from SQLite and a circuit
// provisioned. logins/s is the rate the service sustained. fast-kdf shows
// the protocol's own cost; default-kdf the argon2id costs accounts are
// really stored with, which bound the rate on a small machine.
func BenchmarkLoginParallel(b *testing.B) {
	for _, kdf := range []struct {
		name string
		p    account.Params
	}{{"fast-kdf", fastKDF}, {"default-kdf", account.Params{}}} {
		b.Run(kdf.name, func(b *testing.B) {
			g := newGrid(b, kdf.p, func(c *login.Config) { c.Recorder = nil })
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			defer hc.CloseIdleConnections()
			p := login.Params{URI: g.url, First: testFirst, Last: testLast, Password: testPassword, HTTPClient: hc}
			b.SetParallelism(4)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := login.Login(ctx, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
			if c := g.srv.Counts(); c.ThrottledAccount+c.ThrottledAddress != 0 {
				b.Fatalf("correct logins were throttled: %+v", c)
			}
		})
	}
}
