package terrain

import (
	"bytes"
	"encoding/hex"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current encoder")

// goldenRegion is a deterministic 256×256 test terrain: rolling hills with
// a ripple. Every product is rounded on its own (no fused multiply-add), so
// every platform builds the same heights.
func goldenRegion() *Heightmap {
	h, _ := NewHeightmap(256, 256)
	for y := range 256 {
		for x := range 256 {
			hill := float64(12 * float64(math.Sin(float64(x)/17)*math.Cos(float64(y)/23)))
			ripple := float64(3 * math.Sin(float64(x+y)/5))
			h.Z[y*256+x] = float32(22 + hill + ripple)
		}
	}
	return h
}

// TestRegionGolden pins the encoder's output for a whole region: one hex
// blob per line in testdata/region.golden. Run with -update to rewrite it
// after a deliberate change to the encoder.
func TestRegionGolden(t *testing.T) {
	blobs, err := EncodeRegion(goldenRegion(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for _, b := range blobs {
		got.WriteString(hex.EncodeToString(b))
		got.WriteByte('\n')
	}
	path := filepath.Join("testdata", "region.golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		g, w := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("blob %d differs from %s (of %d blobs, want %d)\ngot  %.120s…\nwant %.120s…", i, path, len(g)-1, len(w)-1, g[i], w[i])
			}
		}
		t.Fatalf("%d blobs, %s has %d", len(g)-1, path, len(w)-1)
	}
}

// TestAllocs: reused Encoders and Decoders do not allocate per patch.
func TestAllocs(t *testing.T) {
	p := []Patch{smoothVectorPatch()}
	var enc Encoder
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf, _ = enc.Encode(buf[:0], LayerLand, p) }); n != 0 {
		t.Errorf("Encoder.Encode: %v allocs", n)
	}
	var dec Decoder
	fn := func(*Patch) error { return nil }
	if n := testing.AllocsPerRun(100, func() { _, _ = dec.Decode(buf, fn) }); n != 0 {
		t.Errorf("Decoder.Decode: %v allocs", n)
	}
	h := goldenRegion()
	if n := testing.AllocsPerRun(10, func() { _, _ = enc.EncodeRegion(h, 0) }); n > 8 {
		t.Errorf("Encoder.EncodeRegion: %v allocs, want at most 8", n)
	}
}
