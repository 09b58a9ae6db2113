package postgres

import (
	"context"
	"fmt"
	"testing"

	"ritual/internal/pgtest"
	"ritual/store"
)

// benchStore opens a store on a fresh database holding n accounts named
// UserI Bench.
func benchStore(b *testing.B, n int) *Store {
	b.Helper()
	s := open(b, pgtest.Database(b, ""))
	b.Cleanup(func() { s.Close() })
	accts := make([]*store.Account, n)
	for i := range accts {
		accts[i] = &store.Account{First: fmt.Sprintf("User%d", i), Last: "Bench", PasswordHash: "h"}
	}
	if err := s.Accounts().Create(context.Background(), accts...); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkLoginReads is what a login asks of the store: the account by
// name, then its inventory skeleton.
func BenchmarkLoginReads(b *testing.B) {
	s := benchStore(b, 200)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a, err := s.Accounts().ByName(ctx, fmt.Sprintf("user%d", i%200), "BENCH")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Inventory().Skeleton(ctx, a.ID); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkLoginReadsParallel is the same from many goroutines at once.
func BenchmarkLoginReadsParallel(b *testing.B) {
	s := benchStore(b, 200)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a, err := s.Accounts().ByName(ctx, fmt.Sprintf("User%d", i%200), "Bench")
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Inventory().Skeleton(ctx, a.ID); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
