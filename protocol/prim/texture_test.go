package prim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"ritual"
)

var (
	texA = ritual.MustParseUUID("11111111-1111-1111-1111-111111111111")
	texB = ritual.MustParseUUID("22222222-2222-2222-2222-222222222222")
)

// sameLook reports whether every face of a and b (and the defaults) has the
// same wire value in every section.
func sameLook(a, b *TextureEntry) bool {
	for s := range numSections {
		if a.Default.value(s) != b.Default.value(s) {
			return false
		}
		for f := range MaxFaces {
			fa, fb := a.Face(f), b.Face(f)
			if fa.value(s) != fb.value(s) {
				return false
			}
		}
	}
	return true
}

func TestTextureEntryVector(t *testing.T) {
	v := loadVector(t, "texture_entry_default.json")
	var stated struct{ TextureID string }
	if err := json.Unmarshal(v.Fields, &stated); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, v.Hex)
	te := NewTextureEntry(ritual.MustParseUUID(stated.TextureID))
	if got := te.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("AppendTo:\n got % x\nwant % x", got, want)
	}
	var d TextureEntry
	if err := d.Decode(want); err != nil {
		t.Fatal(err)
	}
	wantFace := Face{TextureID: ritual.MustParseUUID(stated.TextureID), Color: White, RepeatU: 1, RepeatV: 1}
	if d.Default != wantFace || d.Overridden != 0 {
		t.Fatalf("decoded default %+v overridden %b", d.Default, d.Overridden)
	}
	if f := d.Face(3); f != wantFace {
		t.Fatalf("face 3 = %+v", f)
	}
	if f := d.Face(1000); f != wantFace {
		t.Fatalf("face 1000 = %+v", f)
	}
}

// The TextureEntry inside object_update_box.json, found by walking the
// ObjectUpdate block, is the texture_entry_default.json blob.
func TestTextureEntryInObjectUpdateVector(t *testing.T) {
	v := loadVector(t, "object_update_box.json")
	body := unhex(t, v.DecodedHex)[6:]
	fields, offsets := objectUpdate(t, body)
	if offsets["TextureEntry"] != 146 {
		t.Errorf("TextureEntry at body offset %d, want 146", offsets["TextureEntry"])
	}
	var stated struct {
		Block struct{ TextureEntry string } `json:"ObjectData[0]"`
	}
	if err := json.Unmarshal(v.Fields, &stated); err != nil {
		t.Fatal(err)
	}
	te := fields["TextureEntry"]
	if !bytes.Equal(te, unhex(t, stated.Block.TextureEntry)) || !bytes.Equal(te, unhex(t, loadVector(t, "texture_entry_default.json").Hex)) {
		t.Fatalf("TextureEntry field % x", te)
	}
	var d TextureEntry
	if err := d.Decode(te); err != nil {
		t.Fatal(err)
	}
	if d.Default.TextureID != ritual.MustParseUUID("22222222-3333-4444-5555-666666666666") || d.Default.Color != White {
		t.Fatalf("decoded %+v", d.Default)
	}
	// The zerocoded wire form of the vector decodes to its decoded_hex.
	zd, err := packetBody(unhex(t, v.Hex))
	if err != nil || !bytes.Equal(zd, body) {
		t.Fatalf("zero-decoding the vector: %v\n got % x\nwant % x", err, zd, body)
	}
}

func TestTextureEntryTable(t *testing.T) {
	zeros16 := "00000000000000000000000000000000"
	tail := "0000803f 00" + "0000803f 00" + "0000 00" + "0000 00" + "0000 00" + "00 00" + "00 00"
	tests := []struct {
		name  string
		build func() TextureEntry
		hex   string
	}{
		{
			name: "faces 0 and 2 share texture B (mask 5); faces 1 and 3 red (mask 0a, inverted 00 ff ff 00); face 7 glow 1 (mask 128 = 81 00)",
			build: func() TextureEntry {
				te := NewTextureEntry(texA)
				for _, f := range []int{0, 2} {
					face := te.Default
					face.TextureID = texB
					te.SetFace(f, face)
				}
				for _, f := range []int{1, 3} {
					face := te.Default
					face.Color = Color{255, 0, 0, 255}
					te.SetFace(f, face)
				}
				face := te.Default
				face.Glow = 1
				te.SetFace(7, face)
				return te
			},
			hex: "11111111111111111111111111111111 05 22222222222222222222222222222222 00" +
				"00000000 0a 00ffff00 00" + tail + "00 8100 ff 00" + zeros16 + "00",
		},
		{
			name: "face 44, the last: mask 1<<44 takes seven bitfield bytes; offset 0.5 = 16384 = 0040, rotation π/2 = 8192 = 0020",
			build: func() TextureEntry {
				te := NewTextureEntry(texA)
				face := te.Default
				face.OffsetU, face.Rotation = 0.5, math.Pi/2
				te.SetFace(44, face)
				return te
			},
			hex: "11111111111111111111111111111111 00" + "00000000 00" + "0000803f 00" + "0000803f 00" +
				"0000 84808080808000 0040 00" + "0000 00" + "0000 84808080808000 0020 00" + "00 00" + "00 00" + "00 00" + zeros16 + "00",
		},
		{
			name: "default with repeats 2×0.5, offsets -1 (0180), material shiny+fullbright+bump 1 (e1), planar media (02), glow 0.5 (80), material B",
			build: func() TextureEntry {
				return TextureEntry{Default: Face{TextureID: texA, Color: Color{0x10, 0x20, 0x30, 0x80}, RepeatU: 2, RepeatV: 0.5,
					OffsetU: -1, OffsetV: -1, Rotation: math.Pi, Material: 0xE1, Media: 0x02, Glow: 0.5, MaterialID: texB}}
			},
			hex: "11111111111111111111111111111111 00" + "efdfcf7f 00" + "00000040 00" + "0000003f 00" +
				"0180 00" + "0180 00" + "0040 00" + "e1 00" + "02 00" + "80 00" + "22222222222222222222222222222222 00",
		},
		{
			name: "an overridden face equal to the default costs nothing",
			build: func() TextureEntry {
				te := NewTextureEntry(texA)
				te.SetFace(5, te.Default)
				return te
			},
			hex: "11111111111111111111111111111111 00" + "00000000 00" + tail + "00 00" + zeros16 + "00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := tt.build()
			want := unhex(t, tt.hex)
			got := te.AppendTo(nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendTo:\n got % x\nwant % x", got, want)
			}
			var d TextureEntry
			if err := d.Decode(want); err != nil {
				t.Fatal(err)
			}
			if !sameLook(&te, &d) {
				t.Fatalf("decoded look differs:\n%+v\n%+v", te.Default, d.Default)
			}
			if again := d.AppendTo(nil); !bytes.Equal(again, want) {
				t.Fatalf("re-encoding differs:\n got % x\nwant % x", again, want)
			}
		})
	}
}

func TestTextureEntryFaceAccessors(t *testing.T) {
	f := Face{Material: 0xE1, Media: 0x03}
	if f.Bump() != 1 || f.Shiny() != 3 || !f.Fullbright() || !f.HasMedia() || f.TexGen() != 2 {
		t.Fatalf("accessors: bump %d shiny %d full %v media %v texgen %d", f.Bump(), f.Shiny(), f.Fullbright(), f.HasMedia(), f.TexGen())
	}
	var te TextureEntry
	if err := te.SetFace(MaxFaces, f); !errors.Is(err, ErrRange) {
		t.Fatalf("SetFace(%d) err = %v", MaxFaces, err)
	}
	if err := te.SetFace(-1, f); !errors.Is(err, ErrRange) {
		t.Fatalf("SetFace(-1) err = %v", err)
	}
	if err := te.SetFace(3, f); err != nil || te.Face(3) != f || te.Overridden != 8 {
		t.Fatalf("SetFace(3): %v %b", err, te.Overridden)
	}
	te.ClearFace(3)
	if te.Overridden != 0 || te.Face(3) != te.Default {
		t.Fatal("ClearFace")
	}
}

// Senders may stop early from the Media section on (LibreMetaverse omits the
// final terminator; older entries end after Media or Glow).
func TestTextureEntryTruncations(t *testing.T) {
	full := unhex(t, loadVector(t, "texture_entry_default.json").Hex)
	var ref TextureEntry
	if err := ref.Decode(full); err != nil {
		t.Fatal(err)
	}
	accepted := map[int]bool{44: true, 45: true, 46: true, 47: true, 63: true, 64: true}
	for n := 0; n <= len(full); n++ {
		var te TextureEntry
		err := te.Decode(full[:n])
		switch {
		case n == 0:
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("empty: err = %v", err)
			}
		case accepted[n]:
			if err != nil {
				t.Errorf("%d bytes: %v", n, err)
			} else if !sameLook(&te, &ref) {
				t.Errorf("%d bytes: decoded differently", n)
			}
		default:
			var de *DecodeError
			if !errors.Is(err, ErrShort) || !errors.As(err, &de) || de.Blob != "TextureEntry" || de.Offset > n {
				t.Errorf("%d bytes: err = %v", n, err)
			}
		}
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	var te TextureEntry
	err := te.Decode(unhex(t, "11111111111111111111111111111111 00 aabb"))
	want := "prim: TextureEntry Color default at offset 17: short buffer: need 4 bytes, have 2"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant   %s", err, want)
	}
}

func TestTextureEntryBadInput(t *testing.T) {
	full := unhex(t, loadVector(t, "texture_entry_default.json").Hex)
	id := "11111111111111111111111111111111"
	tests := []struct {
		name string
		hex  string
		want error
		off  int
	}{
		{"trailing byte", hex.EncodeToString(full) + "00", ErrTrailing, 64},
		{"face 45 named", id + "88808080808000" + id, ErrRange, 16},
		{"eight-byte bitfield", id + "8080808080808001" + id, ErrRange, 16},
		{"bitfield cut off", id + "8180", ErrShort, 18},
		{"override value cut off", id + "01 1111", ErrShort, 17},
		{"shorter than a UUID", "1111", ErrShort, 0},
	}
	for _, tt := range tests {
		var te TextureEntry
		err := te.Decode(unhex(t, tt.hex))
		var de *DecodeError
		if !errors.Is(err, tt.want) || !errors.As(err, &de) || de.Offset != tt.off {
			t.Errorf("%s: err = %v, want %v at offset %d", tt.name, err, tt.want, tt.off)
		}
	}
}

// randomEntry builds an entry whose faces draw from small pools of values,
// so that grouping has work to do.
func randomEntry(rng *rand.Rand) TextureEntry {
	ids := []ritual.UUID{texA, texB, {}, ritual.MustParseUUID("33333333-3333-3333-3333-333333333333")}
	pick := func() Face {
		return Face{
			TextureID: ids[rng.IntN(len(ids))],
			Color:     Color{uint8(rng.IntN(3) * 127), 255, uint8(rng.IntN(256)), 255},
			RepeatU:   float32(rng.IntN(4)) * 0.5, RepeatV: float32(rng.Float64() * 10),
			OffsetU: float32(rng.Float64()*2 - 1), OffsetV: float32(rng.IntN(3)) * 0.25,
			Rotation: float32(rng.Float64()*20 - 10),
			Material: uint8(rng.IntN(4)), Media: uint8(rng.IntN(2)),
			Glow: float32(rng.Float64()), MaterialID: ids[rng.IntN(len(ids))],
		}
	}
	te := TextureEntry{Default: pick()}
	for f := range MaxFaces {
		if rng.IntN(3) == 0 {
			te.SetFace(f, pick())
		}
	}
	return te
}

func TestTextureEntryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 500 {
		te := randomEntry(rng)
		b := te.AppendTo(nil)
		var d TextureEntry
		if err := d.Decode(b); err != nil {
			t.Fatalf("%v\n% x", err, b)
		}
		if !sameLook(&te, &d) {
			t.Fatal("decoded look differs")
		}
		// Natural values come back within half a quantum.
		for f := -1; f < MaxFaces; f++ {
			a, g := te.Default, d.Default
			if f >= 0 {
				a, g = te.Face(f), d.Face(f)
			}
			if a.TextureID != g.TextureID || a.Color != g.Color || a.RepeatU != g.RepeatU || a.RepeatV != g.RepeatV ||
				a.Material != g.Material || a.Media != g.Media || a.MaterialID != g.MaterialID ||
				!near(a.OffsetU, g.OffsetU, 0.5/32767+1e-7) || !near(a.OffsetV, g.OffsetV, 0.5/32767+1e-7) ||
				!near(a.Glow, g.Glow, 0.5/255+1e-7) {
				t.Fatalf("face %d:\n sent %+v\n got  %+v", f, a, g)
			}
			dr := math.Mod(float64(a.Rotation-g.Rotation), 2*math.Pi)
			if dr = math.Min(math.Abs(dr), 2*math.Pi-math.Abs(dr)); dr > math.Pi/32768+1e-5 {
				t.Fatalf("face %d rotation %g became %g", f, a.Rotation, g.Rotation)
			}
		}
		if again := d.AppendTo(nil); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs")
		}
	}
}

// Ten faces sharing one override cost one bitfield and one value.
func TestTextureEntryGroups(t *testing.T) {
	te := NewTextureEntry(texA)
	for f := 0; f < 20; f += 2 {
		face := te.Default
		face.TextureID = texB
		te.SetFace(f, face)
	}
	b := te.AppendTo(nil)
	// 16 + bitfield 0x55555 (3 bytes: 95 aa 55) + 16 + 00, then the 47 bytes of
	// the other sections.
	if len(b) != 64+3+16 || !bytes.Equal(b[16:19], []byte{0x95, 0xaa, 0x55}) {
		t.Fatalf("%d bytes: % x", len(b), b[:40])
	}
}

func TestTextureEntryAllocs(t *testing.T) {
	te := randomEntry(rand.New(rand.NewPCG(9, 10)))
	buf := te.AppendTo(nil)
	out := make([]byte, 0, len(buf))
	var d TextureEntry
	if n := testing.AllocsPerRun(100, func() { out = te.AppendTo(out[:0]) }); n != 0 {
		t.Errorf("AppendTo: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := d.Decode(buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Decode: %v allocs", n)
	}
}

func TestTerseTextureEntryField(t *testing.T) {
	te := unhex(t, loadVector(t, "texture_entry_default.json").Hex)
	field := AppendTerseTextureEntry(nil, te)
	if !bytes.Equal(field[:4], []byte{64, 0, 0, 0}) || !bytes.Equal(field[4:], te) {
		t.Fatalf("field % x", field[:8])
	}
	got, err := TerseTextureEntry(field)
	if err != nil || !bytes.Equal(got, te) {
		t.Fatalf("TerseTextureEntry: %v", err)
	}
	if b := AppendTerseTextureEntry(nil, nil); len(b) != 0 {
		t.Fatal("empty entry should leave the field empty")
	}
	if got, err := TerseTextureEntry(nil); got != nil || err != nil {
		t.Fatal("empty field")
	}
	for _, bad := range [][]byte{{1, 0}, {5, 0, 0, 0, 1}, append([]byte{64, 0, 0, 0}, te[:10]...)} {
		if _, err := TerseTextureEntry(bad); !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) {
			t.Errorf("% x: err = %v", bad, err)
		}
	}
}
