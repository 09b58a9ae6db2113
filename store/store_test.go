package store

import (
	"errors"
	"testing"
	"time"

	"ritual"
)

func TestDefaultSkeleton(t *testing.T) {
	owner := ritual.NewUUID()
	fs := DefaultSkeleton(owner)
	root := fs[0]
	if root.Name != "My Inventory" || root.Type != FolderRoot || !root.Parent.IsZero() || root.Version != 1 || root.Owner != owner {
		t.Fatalf("root %+v", root)
	}
	// The system folders OpenSimulator gives a new account, by type.
	want := map[FolderType]string{
		0: "Textures", 1: "Sounds", 2: "Calling Cards", 3: "Landmarks", 5: "Clothing", 6: "Objects",
		7: "Notecards", 10: "Scripts", 13: "Body Parts", 14: "Trash", 15: "Photo Album",
		16: "Lost And Found", 20: "Animations", 21: "Gestures", 23: "Favorites",
		46: "Current Outfit", 56: "Settings", 57: "Materials",
	}
	seen := map[ritual.UUID]bool{root.ID: true}
	for _, f := range fs[1:] {
		if want[f.Type] != f.Name {
			t.Errorf("folder %q of type %d, want %q", f.Name, f.Type, want[f.Type])
		}
		delete(want, f.Type)
		if f.Parent != root.ID || f.Owner != owner || f.Version != 1 || seen[f.ID] || f.ID.IsZero() {
			t.Errorf("folder %+v", f)
		}
		seen[f.ID] = true
		if err := f.Validate(); err != nil {
			t.Error(err)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
	if again := DefaultSkeleton(owner); again[0].ID == root.ID {
		t.Error("two skeletons share a root ID")
	}
}

func TestTimestamp(t *testing.T) {
	in := time.Date(2026, 11, 25, 12, 0, 0, 999_999_999, time.FixedZone("X", -7200))
	got := Timestamp(in)
	if got.Location() != time.UTC || got.Nanosecond() != 999_999_000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("Timestamp = %v", got)
	}
}

func TestRegionHandle(t *testing.T) {
	r := Region{GridX: 1000, GridY: 1001}
	if x, y := r.Handle().Meters(); x != 256000 || y != 256256 {
		t.Errorf("Handle = %v", r.Handle())
	}
}

func TestValidateWrapsErrInvalid(t *testing.T) {
	a := Account{First: "Two Words", Last: "X", PasswordHash: "h"}
	hm := Heightmap{W: 1, H: 1}
	o := Object{ID: ritual.NewUUID()}
	r := Region{Name: "R", SizeX: 255}
	f := Folder{Name: "x"}
	for name, err := range map[string]error{
		"account": a.Validate(), "heightmap": hm.Validate(), "object": o.Validate(),
		"region": r.Validate(), "folder": f.Validate(),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
