package grid_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"ritual/client"
	"ritual/grid"
	"ritual/internal/pgtest"
	"ritual/store"
	"ritual/store/postgres"
	"ritual/store/sqlite"
	"ritual/trace"
)

// backend opens a fresh store of one kind: what a region process does
// first (for PostgreSQL: connect and check the schema).
type backend struct {
	name string
	open func(b *testing.B) func(ctx context.Context) (store.Store, error)
}

var backends = []backend{
	{"sqlite", func(b *testing.B) func(ctx context.Context) (store.Store, error) {
		dir := b.TempDir()
		return func(ctx context.Context) (store.Store, error) { return sqlite.OpenContext(ctx, dir) }
	}},
	{"postgres", func(b *testing.B) func(ctx context.Context) (store.Store, error) {
		dsn := pgtest.Database(b, "")
		return func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }
	}},
}

// BenchmarkRegionStart measures a region process's start to accepting
// agents, with the region existing already: opening the store, loading the
// region's terrain and scene, binding its sockets and putting it on the
// grid's map. ms/op is that time.
func BenchmarkRegionStart(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			open := be.open(b)
			cfg := grid.Config{Listen: "127.0.0.1:0", NoLogin: true, Logger: quietLogger(),
				Regions: []grid.RegionSpec{{Name: "Bench", GridX: 1000, GridY: 1000}}}
			startOnce := func() (store.Store, *grid.Server) {
				st, err := open(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				c := cfg
				c.Store = st
				srv, err := grid.Start(b.Context(), c)
				if err != nil {
					b.Fatal(err)
				}
				return st, srv
			}
			st, srv := startOnce() // creates the region
			srv.Close(b.Context())
			st.Close()
			b.ReportAllocs()
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				st, srv := startOnce()
				total += time.Since(t0)
				b.StopTimer()
				srv.Close(b.Context())
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-accepting")
		})
	}
}

// layerClock notes when the first LayerData arrives.
type layerClock struct {
	mu    sync.Mutex
	first time.Time
}

func (c *layerClock) Record(ev trace.Event) {
	if p, ok := ev.(*trace.Packet); ok && p.Dir == trace.Recv && p.Message == "LayerData" {
		c.mu.Lock()
		if c.first.IsZero() {
			c.first = time.Now()
		}
		c.mu.Unlock()
	}
}

// BenchmarkLoginToFirstLayerData measures, per login, the time from the
// login request to the first LayerData (a cheap password hash, so that the
// store's share shows): the login service and the region in one process
// on SQLite and on PostgreSQL, and on PostgreSQL with the region in
// another "process" (its own grid and connection pool), reached through
// the pending-circuit hand-off. ms-p50 is the median to the first
// LayerData, ms-p50-terrain and ms-max-terrain to the last patch.
func BenchmarkLoginToFirstLayerData(b *testing.B) {
	type variant struct {
		name    string
		be      backend
		handOff bool
	}
	for _, v := range []variant{{"sqlite", backends[0], false}, {"postgres", backends[1], false}, {"postgres-handoff", backends[1], true}} {
		b.Run(v.name, func(b *testing.B) {
			open := v.be.open(b)
			st, err := open(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			addAccount(b, st, "Grid", "Walker", "secret")
			cfg := grid.Config{Store: st, Listen: "127.0.0.1:0", Logger: quietLogger(), RegionName: "Bench"}
			if v.handOff {
				cfg.NoRegion = true
				rst, err := open(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				defer rst.Close()
				reg, err := grid.Start(b.Context(), grid.Config{Store: rst, Listen: "127.0.0.1:0", NoLogin: true,
					Logger: quietLogger(), Regions: []grid.RegionSpec{{Name: "Bench", GridX: 1000, GridY: 1000}}})
				if err != nil {
					b.Fatal(err)
				}
				defer reg.Close(context.Background())
			}
			srv, err := grid.Start(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close(context.Background())
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			var took, whole []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				clock := &layerClock{}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				t0 := time.Now()
				s, err := client.Login(ctx, client.Config{
					LoginURI: srv.LoginURI(), First: "Grid", Last: "Walker", Password: "secret",
					Start: "uri:Bench&128&128&30", HTTPClient: &http.Client{Transport: tr},
					Logger: quietLogger(), Recorder: clock, AgentUpdateInterval: -1,
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.WaitTerrain(ctx); err != nil {
					b.Fatal(err)
				}
				whole = append(whole, time.Since(t0))
				clock.mu.Lock()
				took = append(took, clock.first.Sub(t0))
				clock.mu.Unlock()
				b.StopTimer()
				s.Logout(ctx)
				s.Close()
				cancel()
				b.StartTimer()
			}
			slices.Sort(took)
			slices.Sort(whole)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(whole[len(whole)/2].Microseconds())/1000, "ms-p50-terrain")
			b.ReportMetric(float64(whole[len(whole)-1].Microseconds())/1000, "ms-max-terrain")
		})
	}
}
