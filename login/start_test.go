package login

import (
	"math"
	"testing"

	"ritual"
)

func TestParseStart(t *testing.T) {
	tests := []struct {
		start  string
		region string
		pos    ritual.Vector3
		hasPos bool
		ok     bool
	}{
		{"last", "", ritual.Vector3{}, false, false},
		{"home", "", ritual.Vector3{}, false, false},
		{"uri:Ritual&128&64&25", "Ritual", ritual.Vector3{X: 128, Y: 64, Z: 25}, true, true},
		{"uri:Second%20Region&1.5&2&3", "Second Region", ritual.Vector3{X: 1.5, Y: 2, Z: 3}, true, true},
		{"uri:North", "North", ritual.Vector3{}, false, true},
		{"uri:North&1&2", "North", ritual.Vector3{}, false, true},
		{"uri:North&x&2&3", "North", ritual.Vector3{}, false, true},
		{"uri:North&NaN&2&3", "North", ritual.Vector3{}, false, true},
		{"uri:North&1e40&2&3", "North", ritual.Vector3{}, false, true},
		{"uri:&1&2&3", "", ritual.Vector3{}, false, false},
		{"uri:%zz&1&2&3", "%zz", ritual.Vector3{X: 1, Y: 2, Z: 3}, true, true},
	}
	for _, tt := range tests {
		region, pos, hasPos, ok := ParseStart(tt.start)
		if region != tt.region || pos != tt.pos || hasPos != tt.hasPos || ok != tt.ok {
			t.Errorf("ParseStart(%q) = %q, %v, %v, %v; want %q, %v, %v, %v", tt.start, region, pos, hasPos, ok, tt.region, tt.pos, tt.hasPos, tt.ok)
		}
	}
}

func FuzzParseStart(f *testing.F) {
	f.Add("uri:Ritual&128&128&25")
	f.Add("uri:A%20B&1&2&3")
	f.Add("home")
	f.Fuzz(func(t *testing.T, s string) {
		region, pos, hasPos, ok := ParseStart(s)
		if !ok && (region != "" || hasPos) {
			t.Fatalf("not ok but region %q, hasPos %v", region, hasPos)
		}
		if hasPos {
			for _, v := range []float32{pos.X, pos.Y, pos.Z} {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite position %v", pos)
				}
			}
		}
	})
}
