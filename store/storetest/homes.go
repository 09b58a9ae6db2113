package storetest

import (
	"math"
	"testing"

	"ritual"
	"ritual/store"
)

func testHomes(t *testing.T, h *harness) {
	s := h.s
	a := mustAccount(t, s, "Test", "User")
	r := mustRegion(t, s, "Busy", 1000, 1000)
	r2 := mustRegion(t, s, "Quiet", 1001, 1000)
	wantErr(t, "Get with none set", func() error { _, err := s.Homes().Get(ctx, a.ID); return err }(), store.ErrNotFound)
	home := store.Home{Agent: a.ID, Region: r.ID, Position: ritual.Vector3{X: 12.5, Y: 200, Z: 31.25}, LookAt: ritual.Vector3{Y: 1}}
	if err := s.Homes().Set(ctx, &home); err != nil {
		t.Fatal(err)
	}
	if home.Updated.IsZero() {
		t.Error("Set left Updated zero")
	}
	if got, err := s.Homes().Get(ctx, a.ID); err != nil || got != home {
		t.Errorf("Get = %+v, %v; want %+v", got, err, home)
	}
	moved := store.Home{Agent: a.ID, Region: r2.ID, Position: ritual.Vector3{X: 1, Y: 2, Z: 3}, LookAt: ritual.Vector3{X: -1}}
	if err := s.Homes().Set(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	s = h.s
	if got, err := s.Homes().Get(ctx, a.ID); err != nil || got != moved {
		t.Errorf("Get after a second Set and reopening = %+v, %v; want %+v", got, err, moved)
	}
	wantErr(t, "Set for an unknown account", s.Homes().Set(ctx, &store.Home{Agent: ritual.NewUUID(), Region: r.ID}), store.ErrNotFound)
	wantErr(t, "Set in an unknown region", s.Homes().Set(ctx, &store.Home{Agent: a.ID, Region: ritual.NewUUID()}), store.ErrNotFound)
	nan := float32(math.NaN())
	wantErr(t, "Set at NaN", s.Homes().Set(ctx, &store.Home{Agent: a.ID, Region: r.ID, Position: ritual.Vector3{X: nan}}), store.ErrInvalid)
	wantErr(t, "Set looking at infinity", s.Homes().Set(ctx, &store.Home{Agent: a.ID, Region: r.ID, LookAt: ritual.Vector3{Z: float32(math.Inf(1))}}), store.ErrInvalid)
	wantErr(t, "Set nil", s.Homes().Set(ctx, nil), store.ErrInvalid)
	// The region goes, and the home with it.
	if err := s.Regions().Delete(ctx, r2.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Get after the region was deleted", func() error { _, err := s.Homes().Get(ctx, a.ID); return err }(), store.ErrNotFound)
}
