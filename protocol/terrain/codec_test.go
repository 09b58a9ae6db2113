package terrain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func flatPatch(x, y int, h float32) Patch {
	p := Patch{X: x, Y: y}
	for k := range p.Heights {
		p.Heights[k] = h
	}
	return p
}

// smoothVectorPatch is the input of layerdata_smooth_patch.json.
func smoothVectorPatch() Patch {
	p := Patch{X: 1, Y: 2}
	for j := range N {
		for i := range N {
			x, y := float64(16+i), float64(32+j)
			p.Heights[j*N+i] = float32(20 + 0.05*x + 0.03*y + 3*math.Sin(x/9)*math.Cos(y/7))
		}
	}
	return p
}

func decodeOne(t testing.TB, blob []byte) (Patch, LayerType) {
	t.Helper()
	ps, layer, err := DecodePatches(blob, nil)
	if err != nil {
		t.Fatalf("decode %x: %v", blob, err)
	}
	if len(ps) != 1 {
		t.Fatalf("decoded %d patches, want 1", len(ps))
	}
	return ps[0], layer
}

func TestFlatPatchVector(t *testing.T) {
	vec, want := loadVector(t, "layerdata_flat_patch.json")
	got, err := EncodePatches(nil, LayerLand, []Patch{flatPatch(3, 5, 21)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || len(got) != vec.Length {
		t.Fatalf("encoded %x, want %s", got, vec.Hex)
	}
	p, layer := decodeOne(t, want)
	if layer != LayerLand || p.X != 3 || p.Y != 5 {
		t.Errorf("decoded %v patch (%d,%d), want Land (3,5)", layer, p.X, p.Y)
	}
	for k, h := range p.Heights {
		if h != 21 {
			t.Fatalf("sample %d = %v, want exactly 21", k, h)
		}
	}
}

func TestSmoothPatchVector(t *testing.T) {
	vec, blob := loadVector(t, "layerdata_smooth_patch.json")
	p, layer := decodeOne(t, blob)
	if layer != LayerLand || p.X != 1 || p.Y != 2 {
		t.Errorf("decoded %v patch (%d,%d), want Land (1,2)", layer, p.X, p.Y)
	}
	if len(vec.DecodedFirstRow) != N {
		t.Fatalf("vector has %d decoded samples", len(vec.DecodedFirstRow))
	}
	for i, want := range vec.DecodedFirstRow {
		if d := math.Abs(float64(p.Heights[i]) - want); d > 1e-3 {
			t.Errorf("row 0 sample %d = %.5f, want %.4f (±1e-3)", i, p.Heights[i], want)
		}
	}
	// The input the vector was made from reproduces its bytes and its
	// stated round-trip error.
	in := smoothVectorPatch()
	for i, want := range vec.InputFirstRow {
		if math.Abs(float64(in.Heights[i])-want) > 1e-4 {
			t.Fatalf("input sample %d = %v, vector says %v", i, in.Heights[i], want)
		}
	}
	got, err := EncodePatches(nil, LayerLand, []Patch{in})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, blob) {
		t.Errorf("encoded\n%x\nwant\n%x", got, blob)
	}
	if e := maxAbsDiff(&in, &p); e > 0.0895 || e < 0.089 {
		t.Errorf("round-trip error %.4f m, vector says 0.0894", e)
	}
}

func maxAbsDiff(a, b *Patch) float64 {
	var m float64
	for k := range a.Heights {
		m = max(m, math.Abs(float64(a.Heights[k])-float64(b.Heights[k])))
	}
	return m
}

// patchRange is the range field an encoder writes for p.
func patchRange(p *Patch) float64 {
	lo, hi := p.Heights[0], p.Heights[0]
	for _, h := range p.Heights {
		lo, hi = min(lo, h), max(hi, h)
	}
	return math.Floor(float64(hi) - float64(lo) + 1)
}

// TestEncodeTable documents small blobs byte for byte.
func TestEncodeTable(t *testing.T) {
	slope := Patch{X: 15, Y: 0}
	for k := range slope.Heights {
		slope.Heights[k] = float32(k % N) // 0..15 m eastward ramp
	}
	tests := []struct {
		name    string
		layer   LayerType
		patches []Patch
		hex     string
	}{
		{"no patches", LayerLand, nil, "0801104c61"},
		{"flat 0 m at (0,0)", LayerLand, []Patch{flatPatch(0, 0, 0)}, "0801104c00000000bf0100002610"},
		{"flat extended at (300,7)", LayerLandExtended, []Patch{flatPatch(300, 7, 21)},
			"0801104d000000a441010007002c019840"},
		{"wind, two flat patches both id 0", LayerWind, []Patch{flatPatch(0, 0, 1), flatPatch(0, 0, -1)},
			"08011037000000003f0100002000000c0bf010000261"},
		{"eastward ramp at (15,0)", LayerLand, []Patch{slope},
			"0801104c89000000001000e07802e3583a4800e2000038280000e040000038089840"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodePatches([]byte{0xAA}, tt.layer, tt.patches)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != 0xAA || hex.EncodeToString(got[1:]) != tt.hex {
				t.Fatalf("encoded %x, want aa%s", got, tt.hex)
			}
			ps, layer, err := DecodePatches(got[1:], nil)
			if err != nil || layer != tt.layer || len(ps) != len(tt.patches) {
				t.Fatalf("decoded %d %v patches, %v", len(ps), layer, err)
			}
			for i := range ps {
				in := &tt.patches[i]
				if ps[i].X != in.X || ps[i].Y != in.Y {
					t.Errorf("patch %d at (%d,%d), want (%d,%d)", i, ps[i].X, ps[i].Y, in.X, in.Y)
				}
				if e := maxAbsDiff(in, &ps[i]); e > 0.05*patchRange(in)+0.05 {
					t.Errorf("patch %d error %.3f m", i, e)
				}
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	nan := flatPatch(0, 0, 1)
	nan.Heights[17] = float32(math.NaN())
	inf := flatPatch(0, 0, 1)
	inf.Heights[0] = float32(math.Inf(-1))
	tall := flatPatch(0, 0, 0)
	tall.Heights[255] = 70000
	tests := []struct {
		name  string
		layer LayerType
		p     Patch
		want  error
	}{
		{"unknown layer", LayerType(0x41), flatPatch(0, 0, 1), ErrLayerType},
		{"x 16 in a Land layer", LayerLand, flatPatch(16, 0, 1), ErrPatchID},
		{"negative y", LayerLand, flatPatch(0, -1, 1), ErrPatchID},
		{"x 65536 in an extended layer", LayerLandExtended, flatPatch(65536, 0, 1), ErrPatchID},
		{"NaN height", LayerLand, nan, ErrHeight},
		{"infinite height", LayerLand, inf, ErrHeight},
		{"range over 65535 m", LayerLand, tall, ErrHeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{1, 2, 3}
			out, err := EncodePatches(dst, tt.layer, []Patch{flatPatch(1, 1, 5), tt.p})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !bytes.Equal(out, []byte{1, 2, 3}) {
				t.Errorf("dst changed to %x on error", out)
			}
		})
	}
}

// craft builds a blob from a group header and raw bit writes.
func craft(layer LayerType, patchSize uint32, writes ...[2]uint32) []byte {
	var w BitWriter
	w.WriteBits(GroupStride, 16)
	w.WriteBits(patchSize, 8)
	w.WriteBits(uint32(layer), 8)
	for _, wr := range writes {
		w.WriteBits(wr[0], int(wr[1]))
	}
	return w.Bytes()
}

func TestDecodeErrors(t *testing.T) {
	f21 := [2]uint32{math.Float32bits(20.5), 32}
	tests := []struct {
		name      string
		hex       string
		want      error
		delivered int // patches completed before the fault
	}{
		{"empty", "", ErrTruncated, 0},
		{"half a group header", "0801", ErrTruncated, 0},
		{"patch size 32", "0801204c61", ErrPatchSize, 0},
		{"patch size 0", "0801004c61", ErrPatchSize, 0},
		{"unknown layer 0x4E", "0801104e61", ErrLayerType, 0},
		{"no end marker", "0801104c", ErrTruncated, 0},
		{"flat vector cut in the DC offset", "0801104c000000a4", ErrTruncated, 0},
		{"flat vector cut before the EOB", "0801104c000000a441010065", ErrTruncated, 0},
		{"flat vector without end marker", "0801104c000000a44101006526", ErrTruncated, 1},
		{"land patch x 16", hex.EncodeToString(craft(LayerLand, 16, [2]uint32{0, 8}, f21, [2]uint32{1, 16}, [2]uint32{16<<5 | 5, 10}, [2]uint32{2, 2}, [2]uint32{97, 8})), ErrPatchID, 0},
		{"land patch y 31", hex.EncodeToString(craft(LayerLand, 16, [2]uint32{0, 8}, f21, [2]uint32{1, 16}, [2]uint32{31, 10}, [2]uint32{2, 2}, [2]uint32{97, 8})), ErrPatchID, 0},
		{"wind patch x 20", hex.EncodeToString(craft(LayerWind, 16, [2]uint32{0, 8}, f21, [2]uint32{1, 16}, [2]uint32{20 << 5, 10}, [2]uint32{2, 2}, [2]uint32{97, 8})), ErrPatchID, 0},
		{"NaN DC offset", hex.EncodeToString(craft(LayerLand, 16, [2]uint32{0, 8}, [2]uint32{0x7FC00000, 32}, [2]uint32{1, 16}, [2]uint32{0, 10}, [2]uint32{2, 2}, [2]uint32{97, 8})), ErrDCOffset, 0},
		{"17-bit word cut short", hex.EncodeToString(craft(LayerLand, 16, [2]uint32{0x8F, 8}, f21, [2]uint32{1, 16}, [2]uint32{0, 10}, [2]uint32{6, 3}, [2]uint32{0xFFFF, 16})), ErrTruncated, 0},
		{"coefficients run off the end", hex.EncodeToString(craft(LayerLand, 16, [2]uint32{0x80, 8}, f21, [2]uint32{1, 16}, [2]uint32{0, 10}, [2]uint32{0, 20})), ErrTruncated, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			ps, _, err := DecodePatches(b, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("%s: err = %v, want %v", tt.hex, err, tt.want)
			}
			if len(ps) != tt.delivered {
				t.Errorf("delivered %d patches, want %d", len(ps), tt.delivered)
			}
		})
	}
}

// TestDecodeEveryTruncation cuts valid blobs at every length: each prefix
// is an error, never a panic.
func TestDecodeEveryTruncation(t *testing.T) {
	_, smooth := loadVector(t, "layerdata_smooth_patch.json")
	_, flat := loadVector(t, "layerdata_flat_patch.json")
	for _, blob := range [][]byte{smooth, flat} {
		for n := range len(blob) {
			if _, _, err := DecodePatches(blob[:n], nil); !errors.Is(err, ErrTruncated) {
				t.Errorf("%d of %d bytes: err = %v, want ErrTruncated", n, len(blob), err)
			}
		}
	}
}

// TestDecodeExtremes: the widest words and largest ranges and offsets the
// format allows decode to finite heights.
func TestDecodeExtremes(t *testing.T) {
	writes := [][2]uint32{{0xFF, 8}, {math.Float32bits(-math.MaxFloat32 / 2), 32}, {0xFFFF, 16}, {0x3FF, 10}}
	for range N * N {
		writes = append(writes, [2]uint32{7, 3}, [2]uint32{1<<17 - 1, 17})
	}
	blob := craft(LayerLand, 16, append(writes, [2]uint32{97, 8})...)
	if _, _, err := DecodePatches(blob, nil); !errors.Is(err, ErrPatchID) {
		t.Fatalf("patch id 0x3FF: %v, want ErrPatchID", err)
	}
	writes[3] = [2]uint32{15<<5 | 15, 10}
	blob = craft(LayerLand, 16, append(writes, [2]uint32{97, 8})...)
	ps, _, err := DecodePatches(blob, nil)
	if err != nil || len(ps) != 1 {
		t.Fatalf("%d patches, %v", len(ps), err)
	}
	for k, h := range ps[0].Heights {
		if math.IsNaN(float64(h)) || math.IsInf(float64(h), 0) {
			t.Fatalf("sample %d = %v", k, h)
		}
	}
	// Extended ids carry 16 bits each.
	ext := craft(LayerCloudExtended, 16, [2]uint32{0, 8}, [2]uint32{math.Float32bits(1), 32}, [2]uint32{1, 16},
		[2]uint32{0xFFFF<<16 | 0x1234, 32}, [2]uint32{2, 2}, [2]uint32{97, 8})
	p, layer := decodeOne(t, ext)
	if layer != LayerCloudExtended || p.X != 0xFFFF || p.Y != 0x1234 {
		t.Errorf("decoded %v (%d,%d)", layer, p.X, p.Y)
	}
}

// TestDecodeAllocationBound: a blob of nothing but minimal patches yields
// at most one patch per 67 bits.
func TestDecodeAllocationBound(t *testing.T) {
	patches := make([]Patch, 500)
	for i := range patches {
		patches[i] = flatPatch(i%16, i/16%16, 3)
	}
	blob, err := EncodePatches(nil, LayerLand, patches)
	if err != nil {
		t.Fatal(err)
	}
	ps, _, err := DecodePatches(blob, nil)
	if err != nil || len(ps) != 500 {
		t.Fatalf("%d patches, %v", len(ps), err)
	}
	if limit := len(blob) * 8 / 67; len(ps) > limit {
		t.Errorf("%d patches from %d bytes, above the documented %d", len(ps), len(blob), limit)
	}
}

func TestDecodeCallbackError(t *testing.T) {
	blob, err := EncodePatches(nil, LayerLand, []Patch{flatPatch(0, 0, 1), flatPatch(1, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var d Decoder
	n := 0
	_, err = d.Decode(blob, func(p *Patch) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("err %v after %d patches, want stop after 1", err, n)
	}
}

// Terrain generators for the accuracy tests. Each returns a patch.
func smoothPatch(r *rand.Rand, minWave float64) Patch {
	var p Patch
	amp := 0.5 + r.Float64()*39.5
	wx, wy := minWave+r.Float64()*60, minWave+r.Float64()*60
	sx, sy := r.Float64()*2-1, r.Float64()*2-1
	phase := r.Float64() * 2 * math.Pi
	base := r.Float64() * 100
	for j := range N {
		for i := range N {
			x, y := float64(i), float64(j)
			p.Heights[j*N+i] = float32(base + sx*x + sy*y +
				amp*math.Sin(2*math.Pi*x/wx+phase)*math.Cos(2*math.Pi*y/wy))
		}
	}
	return p
}

func roughPatch(r *rand.Rand, kind int) Patch {
	var p Patch
	amp := 1 + r.Float64()*100
	edge, spike := r.IntN(N), r.IntN(N*N)
	for k := range p.Heights {
		i, j := k%N, k/N
		var h float64
		switch kind {
		case 0: // uniform white noise
			h = r.Float64() * amp
		case 1: // shoreline step: a cliff down to the sea
			if i >= edge {
				h = amp
			}
		case 2: // diagonal cliff
			if i+j >= 2*edge {
				h = amp
			}
		case 3: // checkerboard: the highest frequency there is
			if (i+j)%2 == 0 {
				h = amp
			}
		case 4: // one spike on flat ground
			if k == spike {
				h = amp
			}
		}
		p.Heights[k] = float32(20 + h)
	}
	return p
}

// TestAccuracy asserts the error bounds documented on Encoder, for both
// quantisation modes, and logs the measured worst cases.
func TestAccuracy(t *testing.T) {
	for _, mode := range []struct {
		round                  bool
		smoothRel, roughRel    float64 // documented: smooth ≤ smoothRel·R + 0.05, rough ≤ roughRel·R
		smoothSeen, roughSeen  float64
		smoothBytes, roughSize int
	}{
		{round: false, smoothRel: 0.05, roughRel: 0.3},
		{round: true, smoothRel: 0.025, roughRel: 0.08},
	} {
		enc := &Encoder{RoundNearest: mode.round}
		var dec Decoder
		check := func(p *Patch, rel, abs float64) (float64, int) {
			t.Helper()
			blob, err := enc.Encode(nil, LayerLand, []Patch{*p})
			if err != nil {
				t.Fatal(err)
			}
			var got Patch
			if _, err := dec.Decode(blob, func(q *Patch) error { got = *q; return nil }); err != nil {
				t.Fatal(err)
			}
			R := patchRange(p)
			e := maxAbsDiff(p, &got)
			if e > rel*R+abs || e > enc.MaxError(R)+1e-4 {
				t.Errorf("round=%v: error %.3f m on range %v m exceeds %.2f·R+%.2f (MaxError %.3f)", mode.round, e, R, rel, abs, enc.MaxError(R))
			}
			return e / R, len(blob)
		}
		r := rand.New(rand.NewPCG(7, 11))
		for range 2000 {
			p := smoothPatch(r, 8)
			rel, n := check(&p, mode.smoothRel, 0.05)
			mode.smoothSeen = max(mode.smoothSeen, rel)
			mode.smoothBytes += n
		}
		for i := range 2000 {
			p := roughPatch(r, i%5)
			rel, n := check(&p, mode.roughRel, 0)
			mode.roughSeen = max(mode.roughSeen, rel)
			mode.roughSize += n
		}
		// Lone spikes everywhere, both signs, many heights.
		for k := range N * N {
			for _, a := range []float32{1, 2.9, 33, -7, -1000} {
				p := flatPatch(0, 0, 50)
				p.Heights[k] += a
				rel, _ := check(&p, mode.roughRel, 0)
				mode.roughSeen = max(mode.roughSeen, rel)
			}
		}
		// Flat patches are exact.
		for _, h := range []float32{0, 21, -3.25, 4000.125, 1e6} {
			p := flatPatch(2, 9, h)
			if e, _ := check(&p, 0, 0); e != 0 {
				t.Errorf("flat %v: error %v", h, e)
			}
		}
		t.Logf("round=%v: smooth worst %.4f·R (%d bytes/2000 patches), rough worst %.4f·R (%d bytes), MaxError %.3f·R",
			mode.round, mode.smoothSeen, mode.smoothBytes, mode.roughSeen, mode.roughSize, enc.MaxError(1))
	}
}

// TestRegionRoundTrip encodes whole regions of several kinds and checks the
// decoded heightmap sample by sample.
func TestRegionRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	kinds := []struct {
		name string
		z    func(x, y int) float64
		rel  float64 // error bound: rel·R + 0.05 per patch
	}{
		{"sinusoid hills", func(x, y int) float64 {
			return 25 + 10*math.Sin(float64(x)/20)*math.Cos(float64(y)/15) + 0.02*float64(x)
		}, 0.05},
		{"island", func(x, y int) float64 {
			d := math.Hypot(float64(x-128), float64(y-128))
			return 25*math.Exp(-d*d/(2*60*60)) - 2
		}, 0.05},
		{"shoreline step", func(x, y int) float64 {
			if x+y/3 < 150 {
				return 21
			}
			return 0
		}, 0.3},
		{"random noise", func(x, y int) float64 { return 20 + 40*r.Float64() }, 0.3},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			h, _ := NewHeightmap(256, 256)
			for y := range 256 {
				for x := range 256 {
					h.Z[y*256+x] = float32(k.z(x, y))
				}
			}
			blobs, err := EncodeRegion(h, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := NewHeightmap(256, 256)
			for i := range got.Z {
				got.Z[i] = float32(math.NaN())
			}
			seen := map[[2]int]bool{}
			total := 0
			for i, blob := range blobs {
				if len(blob) > DefaultMaxBlob {
					t.Errorf("blob %d is %d bytes", i, len(blob))
				}
				total += len(blob)
				ps, layer, err := DecodePatches(blob, nil)
				if err != nil || layer != LayerLand {
					t.Fatalf("blob %d: %v %v", i, layer, err)
				}
				for j := range ps {
					if seen[[2]int{ps[j].X, ps[j].Y}] {
						t.Errorf("patch (%d,%d) sent twice", ps[j].X, ps[j].Y)
					}
					seen[[2]int{ps[j].X, ps[j].Y}] = true
					if err := got.ApplyPatch(&ps[j]); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(seen) != 256 {
				t.Fatalf("%d patches arrived, want 256", len(seen))
			}
			var worst float64
			var in Patch
			for py := range 16 {
				for px := range 16 {
					if err := h.Patch(px, py, &in); err != nil {
						t.Fatal(err)
					}
					R := patchRange(&in)
					var out Patch
					_ = got.Patch(px, py, &out)
					e := maxAbsDiff(&in, &out)
					if !(e <= k.rel*R+0.05) {
						t.Errorf("patch (%d,%d): error %.3f m on range %v", px, py, e, R)
					}
					worst = max(worst, e)
				}
			}
			t.Logf("%d blobs, %d bytes, worst error %.3f m", len(blobs), total, worst)
		})
	}
}

// FuzzDecodePatches: decoding never panics; whatever decodes re-encodes,
// and decoding that gives the same patches within the encoder's bound.
func FuzzDecodePatches(f *testing.F) {
	for _, name := range []string{"layerdata_flat_patch.json", "layerdata_smooth_patch.json"} {
		_, b := loadVector(f, name)
		f.Add(b)
	}
	for _, c := range loadCaptureLayers(f) {
		f.Add(c.data)
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x20, 0x4c, 0x61})
	f.Add(craft(LayerLandExtended, 16, [2]uint32{0x8F, 8}, [2]uint32{0, 32}, [2]uint32{9, 16}, [2]uint32{0x00070003, 32},
		[2]uint32{6, 3}, [2]uint32{1000, 17}, [2]uint32{0, 1}, [2]uint32{7, 3}, [2]uint32{99999, 17}, [2]uint32{2, 2}, [2]uint32{97, 8}))
	f.Fuzz(func(t *testing.T, blob []byte) {
		ps, layer, err := DecodePatches(blob, nil)
		if err != nil {
			return
		}
		if limit := len(blob)*8/67 + 1; len(ps) > limit {
			t.Fatalf("%d patches from %d bytes", len(ps), len(blob))
		}
		var enc Encoder
		again, err := enc.Encode(nil, layer, ps)
		if errors.Is(err, ErrHeight) {
			return // heights spanning ≥ 65535 m have no encoding
		}
		if err != nil {
			t.Fatalf("re-encoding decoded patches: %v", err)
		}
		ps2, layer2, err := DecodePatches(again, nil)
		if err != nil || layer2 != layer || len(ps2) != len(ps) {
			t.Fatalf("re-decoded %d %v patches (%v), had %d %v", len(ps2), layer2, err, len(ps), layer)
		}
		for i := range ps {
			a, b := &ps[i], &ps2[i]
			if a.X != b.X || a.Y != b.Y {
				t.Fatalf("patch %d moved from (%d,%d) to (%d,%d)", i, a.X, a.Y, b.X, b.Y)
			}
			R := patchRange(a)
			var mag float64
			for _, h := range a.Heights {
				mag = max(mag, math.Abs(float64(h)))
			}
			tol := enc.MaxError(R) + 1e-6*(mag+R) + 1e-4
			if e := maxAbsDiff(a, b); !(e <= tol) {
				t.Fatalf("patch %d: error %g on range %g exceeds %g", i, e, R, tol)
			}
		}
	})
}

func BenchmarkEncodePatch(b *testing.B) {
	p := smoothVectorPatch()
	var enc Encoder
	buf := make([]byte, 0, 1024)
	ps := []Patch{p}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = enc.Encode(buf[:0], LayerLand, ps)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePatch(b *testing.B) {
	_, blob := loadVector(b, "layerdata_smooth_patch.json")
	var dec Decoder
	var sink float32
	fn := func(p *Patch) error { sink += p.Heights[0]; return nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.Decode(blob, fn); err != nil {
			b.Fatal(err)
		}
	}
	_ = sink
}

func benchRegion() *Heightmap { return goldenRegion() }

func BenchmarkEncodeRegion(b *testing.B) {
	h := benchRegion()
	var enc Encoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := enc.EncodeRegion(h, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRegion(b *testing.B) {
	h := benchRegion()
	blobs, err := EncodeRegion(h, 0)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := NewHeightmap(256, 256)
	var dec Decoder
	apply := out.ApplyPatch
	b.ReportAllocs()
	for b.Loop() {
		for _, blob := range blobs {
			if _, err := dec.Decode(blob, apply); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(blobs)), "blobs")
}

func ExampleDecodePatches() {
	blob, _ := hex.DecodeString("0801104c000000a4410100652610") // one flat patch
	patches, layer, err := DecodePatches(blob, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(layer, len(patches), patches[0].X, patches[0].Y, patches[0].Heights[0])
	// Output: Land 1 3 5 21
}
