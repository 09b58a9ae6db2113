package ritual

import (
	"math"
	"testing"
)

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", true},
		{"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", true},
		{"11111111222233334444555555555555", "11111111-2222-3333-4444-555555555555", true},
		{"", "00000000-0000-0000-0000-000000000000", true},
		{"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee", "", false},
		{"aaaaaaaaXbbbb-cccc-dddd-eeeeeeeeeeee", "", false},
		{"gaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "", false},
	}
	for _, tt := range tests {
		u, err := ParseUUID(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseUUID(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && u.String() != tt.want {
			t.Errorf("ParseUUID(%q) = %s, want %s", tt.in, u, tt.want)
		}
	}
}

func TestUUIDWireOrder(t *testing.T) {
	u := MustParseUUID("11111111-2222-3333-4444-555555555555")
	want := [16]byte{0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}
	if u != want {
		t.Fatalf("bytes = % x, want % x", u[:], want[:])
	}
}

func TestNewUUIDIsRandomV4(t *testing.T) {
	a, b := NewUUID(), NewUUID()
	if a == b || a.IsZero() {
		t.Fatalf("NewUUID gave %s and %s", a, b)
	}
	if a[6]>>4 != 4 || a[8]>>6 != 2 {
		t.Fatalf("NewUUID %s is not version 4", a)
	}
}

func TestRegionHandle(t *testing.T) {
	// Vector region_handle.json: grid (1000,1000) => 1099511628032000.
	h := HandleFromGrid(1000, 1000)
	if uint64(h) != 1099511628032000 {
		t.Fatalf("handle = %d", uint64(h))
	}
	if x, y := h.Meters(); x != 256000 || y != 256000 {
		t.Fatalf("meters = %d,%d", x, y)
	}
	if gx, gy := h.Grid(); gx != 1000 || gy != 1000 {
		t.Fatalf("grid = %d,%d", gx, gy)
	}
}

func TestQuaternionPacked(t *testing.T) {
	q := Quaternion{0, 0, 0.7071068, -0.7071068}.Packed()
	if q.W < 0 || math.Abs(float64(q.Z)+0.7071068) > 1e-6 {
		t.Fatalf("Packed = %v", q)
	}
	r := QuaternionFromXYZ(q.X, q.Y, q.Z)
	if math.Abs(float64(r.W-q.W)) > 1e-6 {
		t.Fatalf("FromXYZ = %v, want %v", r, q)
	}
	if (Quaternion{}).Packed() != IdentityQuaternion {
		t.Fatal("zero quaternion should pack to identity")
	}
}
