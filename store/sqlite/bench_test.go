package sqlite

import (
	"context"
	"fmt"
	"testing"

	"ritual"
	"ritual/store"
)

// benchStore opens a store holding n accounts named UserI Bench.
func benchStore(b *testing.B, n int) *Store {
	b.Helper()
	s := open(b, b.TempDir())
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

func BenchmarkAccountByName(b *testing.B) {
	s := benchStore(b, 2000)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Accounts().ByName(ctx, fmt.Sprintf("user%d", i%2000), "BENCH"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkAccountByNameParallel(b *testing.B) {
	s := benchStore(b, 2000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Accounts().ByName(ctx, fmt.Sprintf("User%d", i%2000), "Bench"); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkAccountGet(b *testing.B) {
	s := benchStore(b, 100)
	ctx := context.Background()
	a, err := s.Accounts().ByName(ctx, "User7", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Accounts().Get(ctx, a.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccountCreate is one account with its 19-folder skeleton per
// transaction.
func BenchmarkAccountCreate(b *testing.B) {
	s := benchStore(b, 0)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := &store.Account{First: fmt.Sprintf("New%d", i), Last: "Bench", PasswordHash: "h"}
		if err := s.Accounts().Create(ctx, a); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAccountCreate2000 is `ritual user create-bots 2000` without the
// password hashing: one transaction.
func BenchmarkAccountCreate2000(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := open(b, b.TempDir())
		accts := make([]*store.Account, 2000)
		for i := range accts {
			accts[i] = &store.Account{First: fmt.Sprintf("Load%d", i+1), Last: "Bot", PasswordHash: "h"}
		}
		b.StartTimer()
		if err := s.Accounts().Create(ctx, accts...); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

func BenchmarkSkeleton(b *testing.B) {
	s := benchStore(b, 10)
	ctx := context.Background()
	a, _ := s.Accounts().ByName(ctx, "User3", "Bench")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Inventory().Skeleton(ctx, a.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func benchObjects(n int) []store.Object {
	objs := make([]store.Object, n)
	for i := range objs {
		objs[i] = store.Object{
			ID: ritual.NewUUID(), LocalID: uint32(i + 1), PCode: 9, Material: 3,
			Scale:        ritual.Vector3{X: 0.5, Y: 0.5, Z: 0.5},
			Position:     ritual.Vector3{X: float32(i % 256), Y: float32(i / 256), Z: 25},
			Rotation:     ritual.Quaternion{W: 1},
			Shape:        store.Shape{PathCurve: 0x10, ProfileCurve: 1, PathScaleX: 100, PathScaleY: 100},
			TextureEntry: make([]byte, 46), Name: "Object", Owner: ritual.NewUUID(), Creator: ritual.NewUUID(),
		}
	}
	return objs
}

func BenchmarkObjects(b *testing.B) {
	ctx := context.Background()
	s := open(b, b.TempDir())
	b.Cleanup(func() { s.Close() })
	r := &store.Region{Name: "Bench", GridX: 1000, GridY: 1000}
	if err := s.Regions().Create(ctx, r); err != nil {
		b.Fatal(err)
	}
	objs := benchObjects(1000)
	b.Run("Save1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Objects().Save(ctx, r.ID, objs...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load1000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got, err := s.Objects().Load(ctx, r.ID)
			if err != nil || len(got) != 1000 {
				b.Fatal(len(got), err)
			}
		}
	})
}

func BenchmarkTerrain256(b *testing.B) {
	ctx := context.Background()
	s := open(b, b.TempDir())
	b.Cleanup(func() { s.Close() })
	r := &store.Region{Name: "Bench", GridX: 1000, GridY: 1000}
	if err := s.Regions().Create(ctx, r); err != nil {
		b.Fatal(err)
	}
	hm := store.Heightmap{W: 256, H: 256, Heights: make([]float32, 256*256)}
	b.Run("Save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Terrain().Save(ctx, r.ID, hm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Terrain().Load(ctx, r.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
