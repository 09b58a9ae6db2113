package sim

import (
	"testing"

	"ritual"
	"ritual/store"
)

func TestArrival(t *testing.T) {
	hm := store.Heightmap{W: 256, H: 256, Heights: make([]float32, 256*256)}
	for i := range hm.Heights {
		hm.Heights[i] = 20
	}
	sc := &scene{terrain: hm}
	spawn := sc.spawn()
	tests := []struct {
		start string
		want  ritual.Vector3
	}{
		{"last", spawn},
		{"home", spawn},
		{"uri:Ritual&10&200&30", ritual.Vector3{X: 10, Y: 200, Z: 30}},
		{"uri:ritual&10&200&30", ritual.Vector3{X: 10, Y: 200, Z: 30}},
		{"uri:Ritual&10&200&5", ritual.Vector3{X: 10, Y: 200, Z: 20.9}}, // below ground: on it
		{"uri:Ritual", spawn},
		{"uri:Elsewhere&10&200&30", spawn},
		{"uri:Ritual&256&10&30", spawn}, // outside the region
		{"uri:Ritual&-1&10&30", spawn},
	}
	for _, tt := range tests {
		if got := sc.arrival(tt.start, "Ritual"); got != tt.want {
			t.Errorf("arrival(%q) = %v, want %v", tt.start, got, tt.want)
		}
	}
}
