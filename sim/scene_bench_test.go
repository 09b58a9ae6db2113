package sim

import (
	"testing"

	"ritual"
	"ritual/store"
)

// BenchmarkBuildUpdates encodes 1,000 prims into the ObjectUpdate messages
// every arriving agent is sent (done once when the region starts).
func BenchmarkBuildUpdates(b *testing.B) {
	hm := GenerateTerrain(256, 256)
	base := GenerateScene(hm, ritual.ZeroUUID, firstPrimLocalID)
	objs := make([]store.Object, 0, 1000)
	for len(objs) < 1000 {
		o := base[len(objs)%len(base)]
		o.ID, o.LocalID = ritual.NewUUID(), uint32(firstPrimLocalID+len(objs))
		objs = append(objs, o)
	}
	b.ReportAllocs()
	for b.Loop() {
		sc := &scene{objects: objs, handle: ritual.HandleFromGrid(1000, 1000)}
		if err := sc.buildUpdates(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildLayers compresses the whole 256×256 terrain into the
// LayerData messages every arriving agent is sent.
func BenchmarkBuildLayers(b *testing.B) {
	hm := GenerateTerrain(256, 256)
	b.ReportAllocs()
	for b.Loop() {
		sc := &scene{terrain: hm}
		if err := sc.buildLayers(); err != nil {
			b.Fatal(err)
		}
	}
}
