package terrain

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestNewHeightmapSizes(t *testing.T) {
	for _, sz := range [][2]int{{0, 256}, {256, 0}, {-16, 16}, {250, 256}, {256, 17}, {maxSide + N, 16}} {
		if _, err := NewHeightmap(sz[0], sz[1]); !errors.Is(err, ErrHeightmapSize) {
			t.Errorf("%v: err = %v, want ErrHeightmapSize", sz, err)
		}
	}
	h, err := NewHeightmap(512, 256)
	if err != nil || len(h.Z) != 512*256 || h.PatchesX() != 32 || h.PatchesY() != 16 {
		t.Fatalf("512×256: %v", err)
	}
	if h.Layer() != LayerLandExtended {
		t.Errorf("512×256 layer %v", h.Layer())
	}
	if h, _ := NewHeightmap(256, 256); h.Layer() != LayerLand {
		t.Errorf("256×256 layer %v", h.Layer())
	}
	bad := &Heightmap{W: 16, H: 16, Z: make([]float32, 10)}
	if err := bad.ApplyPatch(&Patch{}); !errors.Is(err, ErrHeightmapSize) {
		t.Errorf("short Z: %v", err)
	}
	if _, err := EncodeRegion(&Heightmap{W: 16, H: 16}, 0); !errors.Is(err, ErrHeightmapSize) {
		t.Errorf("nil Z: %v", err)
	}
}

func TestPatchApplyAndExtract(t *testing.T) {
	h, _ := NewHeightmap(64, 32)
	var p Patch
	p.X, p.Y = 3, 1
	for k := range p.Heights {
		p.Heights[k] = float32(k)
	}
	if err := h.ApplyPatch(&p); err != nil {
		t.Fatal(err)
	}
	// Sample (i, j) of patch (3, 1) sits at x = 48+i, y = 16+j.
	if got := h.Z[(16+2)*64+48+5]; got != float32(2*16+5) {
		t.Errorf("Z at (53,18) = %v, want %v", got, 2*16+5)
	}
	if h.Z[16*64+47] != 0 || h.Z[15*64+48] != 0 {
		t.Error("ApplyPatch wrote outside its patch")
	}
	var q Patch
	if err := h.Patch(3, 1, &q); err != nil || q != p {
		t.Errorf("Patch(3,1) = %v, %v; want what was applied", q.Heights[:4], err)
	}
	for _, xy := range [][2]int{{4, 0}, {0, 2}, {-1, 0}} {
		if err := h.ApplyPatch(&Patch{X: xy[0], Y: xy[1]}); !errors.Is(err, ErrPatchID) {
			t.Errorf("ApplyPatch at %v: %v, want ErrPatchID", xy, err)
		}
		if err := h.Patch(xy[0], xy[1], &q); !errors.Is(err, ErrPatchID) {
			t.Errorf("Patch at %v: %v, want ErrPatchID", xy, err)
		}
	}
}

func TestRegionOrder(t *testing.T) {
	o := RegionOrder(16, 16)
	if len(o) != 256 || o[0] != [2]int{7, 7} {
		t.Fatalf("classic order starts %v (len %d)", o[:1], len(o))
	}
	seen := map[[2]int]bool{}
	last := 0
	for _, c := range o {
		seen[c] = true
		d := (c[0]-7)*(c[0]-7) + (c[1]-7)*(c[1]-7)
		if d < last {
			t.Fatalf("%v is nearer the centre than the cell before it", c)
		}
		last = d
	}
	if len(seen) != 256 {
		t.Errorf("%d distinct cells", len(seen))
	}
	if o := RegionOrder(2, 1); len(o) != 2 || o[0] != [2]int{0, 0} {
		t.Errorf("2×1 order %v", o)
	}
	if RegionOrder(0, 5) != nil {
		t.Error("empty grid has cells")
	}
}

// TestEncodeSplit: patches fill blobs up to the limit and not beyond; every
// patch arrives once, in order.
func TestEncodeSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	patches := make([]Patch, 40)
	for i := range patches {
		patches[i] = roughPatch(r, 0) // noise: ~330 bytes a patch
		patches[i].X, patches[i].Y = i%16, i/16
	}
	var enc Encoder
	for _, limit := range []int{700, 1000, 1400, 1 << 20} {
		blobs, err := enc.EncodeSplit(LayerLand, patches, limit)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for bi, b := range blobs {
			if len(b) > limit {
				t.Errorf("limit %d: blob %d has %d bytes", limit, bi, len(b))
			}
			ps, _, err := DecodePatches(b, nil)
			if err != nil || len(ps) == 0 {
				t.Fatalf("limit %d: blob %d: %d patches, %v", limit, bi, len(ps), err)
			}
			for _, p := range ps {
				if p.X != patches[i].X || p.Y != patches[i].Y {
					t.Fatalf("limit %d: patch %d is (%d,%d)", limit, i, p.X, p.Y)
				}
				if e := maxAbsDiff(&p, &patches[i]); e > 0.3*patchRange(&patches[i]) {
					t.Errorf("patch %d error %v", i, e)
				}
				i++
			}
			// Greedy: the next patch would not have fitted. Alone it
			// takes len(single) bytes: 40 bits of group header and end
			// marker, under 8 of padding. So with it this blob would
			// have needed at least 8(len(b)+len(single))-54 bits.
			if bi < len(blobs)-1 {
				single, _ := enc.Encode(nil, LayerLand, patches[i:i+1])
				if 8*(len(b)+len(single))-54 <= 8*limit {
					t.Errorf("limit %d: blob %d closed at %d bytes before a %d-byte patch", limit, bi, len(b), len(single))
				}
			}
		}
		if i != len(patches) {
			t.Errorf("limit %d: %d patches arrived of %d", limit, i, len(patches))
		}
		if limit == 1<<20 && len(blobs) != 1 {
			t.Errorf("no limit: %d blobs", len(blobs))
		}
	}
	for _, limit := range []int{-1, 5, 100} {
		if _, err := enc.EncodeSplit(LayerLand, patches, limit); !errors.Is(err, ErrBlobTooSmall) {
			t.Errorf("%d-byte limit: %v, want ErrBlobTooSmall", limit, err)
		}
	}
	if blobs, err := enc.EncodeSplit(LayerLand, nil, 0); err != nil || len(blobs) != 1 || len(blobs[0]) != 5 {
		t.Errorf("no patches: %x, %v; want one empty blob", blobs, err)
	}
	many := make([]Patch, 256)
	for i := range many {
		many[i] = roughPatch(r, 0)
		many[i].X, many[i].Y = i%16, i/16
	}
	blobs, err := enc.EncodeSplit(LayerLand, many, math.MaxInt)
	if err != nil || len(blobs) < 2 {
		t.Fatalf("limit MaxInt: %d blobs, %v", len(blobs), err)
	}
	for _, b := range blobs {
		if len(b) > MaxBlob {
			t.Errorf("blob of %d bytes exceeds the Variable2 limit", len(b))
		}
	}
	if _, err := enc.EncodeSplit(LayerLand, []Patch{{X: 99}}, 0); !errors.Is(err, ErrPatchID) {
		t.Errorf("bad patch: %v, want ErrPatchID", err)
	}
	if _, err := enc.EncodeSplit(0, patches, 0); !errors.Is(err, ErrLayerType) {
		t.Errorf("layer 0: %v, want ErrLayerType", err)
	}
}

// TestExtendedRegion: a 512×512 var-region goes out as LandExtended with
// 32-bit patch ids and comes back whole.
func TestExtendedRegion(t *testing.T) {
	h, _ := NewHeightmap(512, 512)
	for y := range 512 {
		for x := range 512 {
			h.Z[y*512+x] = float32(30 + 8*math.Sin(float64(x)/40)*math.Cos(float64(y)/31))
		}
	}
	blobs, err := EncodeRegion(h, 1200)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := NewHeightmap(512, 512)
	n := 0
	for _, b := range blobs {
		ps, layer, err := DecodePatches(b, nil)
		if err != nil || layer != LayerLandExtended {
			t.Fatalf("%v %v", layer, err)
		}
		for i := range ps {
			if err := back.ApplyPatch(&ps[i]); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n != 32*32 {
		t.Fatalf("%d patches, want 1024", n)
	}
	var a, b Patch
	for py := range 32 {
		for px := range 32 {
			_ = h.Patch(px, py, &a)
			_ = back.Patch(px, py, &b)
			if e := maxAbsDiff(&a, &b); e > 0.05*patchRange(&a)+0.05 {
				t.Errorf("patch (%d,%d) error %v", px, py, e)
			}
		}
	}
	if o := RegionOrder(32, 32); o[0] != [2]int{15, 15} {
		t.Errorf("32×32 order starts at %v", o[0])
	}
}

func TestLayerTypeNames(t *testing.T) {
	tests := []struct {
		t        LayerType
		name     string
		valid    bool
		extended bool
	}{
		{0x4C, "Land", true, false},
		{0x4D, "LandExtended", true, true},
		{0x57, "Water", true, false},
		{0x58, "WaterExtended", true, true},
		{0x37, "Wind", true, false},
		{0x39, "WindExtended", true, true},
		{0x38, "Cloud", true, false},
		{0x3A, "CloudExtended", true, true},
		{0x00, "LayerType(0x00)", false, false},
		{0x97, "LayerType(0x97)", false, false},
	}
	for _, tt := range tests {
		if tt.t.String() != tt.name || tt.t.Valid() != tt.valid || tt.t.Extended() != tt.extended {
			t.Errorf("0x%02X: %q valid %v extended %v", uint8(tt.t), tt.t.String(), tt.t.Valid(), tt.t.Extended())
		}
	}
}
