package client

import (
	"reflect"
	"slices"
	"testing"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/terrain"
)

// TestWorldExchange: exchange trades two worlds' contents, and every
// field of World is either traded or deliberately kept (a field added to
// World without a word here fails the test).
func TestWorldExchange(t *testing.T) {
	kept := []string{"agent", "mu", "dec", "comp"}
	traded := []string{"objects", "byID", "cached", "requested", "avatar", "height", "got", "patches", "stats"}
	var fields []string
	for f := range reflect.TypeFor[World]().Fields() {
		fields = append(fields, f.Name)
	}
	want := append(slices.Clone(kept), traded...)
	slices.Sort(fields)
	slices.Sort(want)
	if !slices.Equal(fields, want) {
		t.Fatalf("World's fields are %v; exchange knows %v: trade the new ones in World.exchange and name them here", fields, want)
	}

	agent := ritual.NewUUID()
	a, _ := NewWorld(agent, 256, 256)
	b, _ := NewWorld(agent, 512, 256)
	a.Apply(&msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{fullPrim(7, boxID, ritual.Vector3{X: 1, Y: 2, Z: 3})}})
	blobs, err := terrain.EncodeRegion(testHeightmap(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerLand)}, LayerData: msg.LayerDataLayerData{Data: blobs[0]}})
	pa, ofa := a.TerrainProgress()
	a.exchange(b)
	if a.Len() != 0 || b.Len() != 1 {
		t.Errorf("objects after exchange: %d, %d", a.Len(), b.Len())
	}
	if p, of := b.TerrainProgress(); p != pa || of != ofa {
		t.Errorf("terrain after exchange %d/%d, want %d/%d", p, of, pa, ofa)
	}
	if p, of := a.TerrainProgress(); p != 0 || of != 512/16*256/16 {
		t.Errorf("the other's terrain after exchange %d/%d", p, of)
	}
	if _, ok := b.Object(7); !ok {
		t.Error("object 7 not traded")
	}
	a.exchange(a) // a no-op, not a deadlock
}
