package grid_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"ritual/client"
	"ritual/grid"
	"ritual/internal/pgtest"
)

// benchLogin logs an agent in and waits for its ritual.
func benchLogin(b *testing.B, uri, first, last, start string) *client.Session {
	ctx, cancel := context.WithTimeout(b.Context(), 20*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{LoginURI: uri, First: first, Last: last, Password: "secret",
		Start: start, Logger: quietLogger(), WorldEventBuffer: 4096})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.WaitRitual(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkIMRelay measures an instant message from one client's SendIM
// to the other client's IMReceived: in one region (sent on at once), to
// another region of the process (kept in the store, the region woken
// directly) and to a region of another process (PostgreSQL: kept, the
// process woken by NOTIFY). ns/op is that latency; allocs are the whole
// process's (both grids and clients).
func BenchmarkIMRelay(b *testing.B) {
	type setup func(b *testing.B) (from, to *client.Session)
	pair := func(b *testing.B, loginURI string, startFrom, startTo string) (*client.Session, *client.Session) {
		from := benchLogin(b, loginURI, "Ann", "Able", startFrom)
		to := benchLogin(b, loginURI, "Bob", "Baker", startTo)
		return from, to
	}
	oneProcess := func(fromStart, toStart string) setup {
		return func(b *testing.B) (*client.Session, *client.Session) {
			srv, err := grid.Start(b.Context(), grid.Config{DataDir: b.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger(),
				Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2010, GridY: 2000}}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { srv.Close(b.Context()) })
			addAccount(b, srv.Store, "Ann", "Able", "secret")
			addAccount(b, srv.Store, "Bob", "Baker", "secret")
			return pair(b, srv.LoginURI(), fromStart, toStart)
		}
	}
	for _, bc := range []struct {
		name  string
		setup setup
	}{
		{"same_region", oneProcess("uri:West&128&128&30", "uri:West&100&100&30")},
		{"other_region", oneProcess("uri:West&128&128&30", "uri:East&128&128&30")},
		{"other_process", func(b *testing.B) (*client.Session, *client.Session) {
			dsn := pgtest.Database(b, "")
			st := openPG(b, dsn)
			addAccount(b, st, "Ann", "Able", "secret")
			addAccount(b, st, "Bob", "Baker", "secret")
			var uri string
			for i, name := range []string{"West", "East"} {
				srv, err := grid.Start(b.Context(), grid.Config{Store: openPG(b, dsn), Listen: "127.0.0.1:0", Logger: quietLogger(),
					NoLogin: i > 0, Regions: []grid.RegionSpec{{Name: name, GridX: 2000 + 10*uint32(i), GridY: 2000}}})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { srv.Close(b.Context()) })
				if i == 0 {
					uri = srv.LoginURI()
				}
			}
			return pair(b, uri, "uri:West&128&128&30", "uri:East&128&128&30")
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			from, to := bc.setup(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				text := strconv.Itoa(i)
				if err := from.SendIM(to.AgentID(), text); err != nil {
					b.Fatal(err)
				}
				timeout := time.After(10 * time.Second)
			wait:
				for {
					select {
					case ev := <-to.WorldEvents():
						if ev.Kind == client.IMReceived && ev.IM.Text == text {
							break wait
						}
					case <-timeout:
						var got []string
						for len(from.WorldEvents()) > 0 {
							ev := <-from.WorldEvents()
							if ev.Kind == client.IMReceived {
								got = append(got, ev.IM.Text)
							}
						}
						b.Fatalf("IM %s not received (sender got %q)", text, got)
					}
				}
			}
		})
	}
}
