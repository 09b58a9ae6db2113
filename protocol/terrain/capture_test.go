package terrain

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// captureLayer is one LayerData message found in a recorded session.
type captureLayer struct {
	line int
	typ  LayerType // LayerID.Type
	data []byte    // LayerData.Data
}

// loadCaptureLayers pulls the LayerData messages out of the recorded
// OpenSimulator session in testdata/. The packet is parsed just enough for
// that: LayerData is High 11 (one message byte 0x0B after the 6-byte header
// and any extra header bytes), not zerocoded; its body is LayerID.Type (U8)
// then LayerData.Data (2-byte little-endian length, data).
func loadCaptureLayers(t testing.TB) []captureLayer {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "opensim-nm-ritual-linger10s.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []captureLayer
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			Dir string `json:"dir"`
			Hex string `json:"hex"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if rec.Dir != "server_to_client" {
			continue
		}
		pkt, err := hex.DecodeString(rec.Hex)
		if err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if len(pkt) < 7 {
			continue
		}
		body := 6 + int(pkt[5]) // header + extra header bytes
		if len(pkt) < body+4 || pkt[body] != 0x0B || pkt[0]&0x80 != 0 {
			continue // not LayerData, or zerocoded (then not LayerData either)
		}
		n := int(pkt[body+2]) | int(pkt[body+3])<<8
		if len(pkt) < body+4+n {
			t.Fatalf("line %d: LayerData says %d data bytes, packet has %d", line, n, len(pkt)-body-4)
		}
		out = append(out, captureLayer{line: line, typ: LayerType(pkt[body+1]), data: pkt[body+4 : body+4+n]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCaptureLayerData decodes the terrain a real OpenSimulator sent: 11
// land blobs covering all 256 patches once each, then one wind blob.
func TestCaptureLayerData(t *testing.T) {
	layers := loadCaptureLayers(t)
	var land, wind int
	region, _ := NewHeightmap(256, 256)
	seen := map[[2]int]int{}
	var lo, hi, sum float64 = math.Inf(1), math.Inf(-1), 0
	for _, l := range layers {
		ps, typ, err := DecodePatches(l.data, nil)
		if err != nil {
			t.Fatalf("line %d: %v", l.line, err)
		}
		if typ != l.typ {
			t.Errorf("line %d: blob says %v, LayerID.Type %v", l.line, typ, l.typ)
		}
		switch typ {
		case LayerLand:
			land++
			if len(l.data) < 600 || len(l.data) > 1000 || len(ps) < 12 || len(ps) > 72 {
				t.Errorf("line %d: %d patches in %d bytes", l.line, len(ps), len(l.data))
			}
			for i := range ps {
				p := &ps[i]
				seen[[2]int{p.X, p.Y}]++
				if err := region.ApplyPatch(p); err != nil {
					t.Fatal(err)
				}
				for _, h := range p.Heights {
					lo, hi = min(lo, float64(h)), max(hi, float64(h))
					sum += float64(h)
				}
			}
		case LayerWind:
			wind++
			if len(ps) != 2 {
				t.Errorf("wind: %d patches, want 2 (X and Y components)", len(ps))
			}
			for _, p := range ps {
				if p.X != 0 || p.Y != 0 {
					t.Errorf("wind patch id (%d,%d), OpenSim sends 0", p.X, p.Y)
				}
				for _, v := range p.Heights {
					if math.Abs(float64(v)) > 50 {
						t.Fatalf("wind speed %v m/s", v)
					}
				}
			}
		default:
			t.Errorf("line %d: unexpected layer %v", l.line, typ)
		}
	}
	if land != 11 || wind != 1 {
		t.Errorf("%d land and %d wind blobs, want 11 and 1", land, wind)
	}
	if len(seen) != 256 {
		t.Errorf("%d distinct patches, want 256", len(seen))
	}
	for c, n := range seen {
		if n != 1 {
			t.Errorf("patch %v sent %d times", c, n)
		}
	}
	// OpenSimulator's default terrain: a hill rising to about 25 m in the
	// middle of the region, the edges at about 0 m.
	mean := sum / (256 * 256)
	if lo < -5 || lo > 0 || hi < 20 || hi > 40 || mean < 0 || mean > 20 {
		t.Errorf("heights %.2f..%.2f m, mean %.2f: not the default island", lo, hi, mean)
	}
	centre, corner := region.Z[128*256+128], region.Z[0]
	if centre < 20 || corner > 1 {
		t.Errorf("centre %.2f m, corner %.2f m", centre, corner)
	}
	t.Logf("land %.2f..%.2f m, mean %.2f m, centre %.2f m", lo, hi, mean, centre)

	// Our encoder sends the same terrain back in as many blobs, in the same
	// centre-first order, within the smooth-terrain bound.
	blobs, err := EncodeRegion(region, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) < 9 || len(blobs) > 13 {
		t.Errorf("re-encoded into %d blobs, OpenSimulator used 11", len(blobs))
	}
	first, _, _ := DecodePatches(layers[0].data, nil)
	again, _, _ := DecodePatches(blobs[0], nil)
	if again[0].X != first[0].X || again[0].Y != first[0].Y {
		t.Errorf("first patch (%d,%d), OpenSimulator sent (%d,%d) first", again[0].X, again[0].Y, first[0].X, first[0].Y)
	}
	back, _ := NewHeightmap(256, 256)
	for _, b := range blobs {
		ps, _, err := DecodePatches(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ps {
			_ = back.ApplyPatch(&ps[i])
		}
	}
	var in, out Patch
	for py := range 16 {
		for px := range 16 {
			_ = region.Patch(px, py, &in)
			_ = back.Patch(px, py, &out)
			if R, e := patchRange(&in), maxAbsDiff(&in, &out); e > 0.05*R+0.05 {
				t.Errorf("patch (%d,%d): re-encoding error %.3f m on range %v", px, py, e, R)
			}
		}
	}
}
