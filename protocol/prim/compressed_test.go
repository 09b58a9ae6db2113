package prim

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"ritual"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// boxCompressed is the box of object_update_box.json as an
// ObjectUpdateCompressed blob.
func boxCompressed(t testing.TB) Compressed {
	return Compressed{
		FullID: ritual.MustParseUUID("33333333-4444-5555-6666-777777777777"), LocalID: 1001,
		PCode: PCodePrim, Material: MaterialWood,
		Scale: ritual.Vector3{X: 0.5, Y: 0.5, Z: 0.5}, Position: ritual.Vector3{X: 128, Y: 128, Z: 25},
		Rotation: ritual.IdentityQuaternion, Shape: NewShape(PrimBox).Params(),
		TextureEntry: unhex(t, loadVector(t, "texture_entry_default.json").Hex),
	}
}

const boxCompressedHex = "33333333444455556666777777777777" + "e9030000" + "09 00" + "00000000" + "03 00" +
	"0000003f 0000003f 0000003f" + "00000043 00000043 0000c841" + "00000000 00000000 00000000" +
	"00000000" + "00000000000000000000000000000000" +
	"00" + // ExtraParams: none
	"10 0000 0000 64 64 00 00 00 00 00 00 00 00 00" + "01 0000 0000 0000" +
	"40000000" + "222222223333444455556666666666660000000000000000803f000000803f000000000000000000000000000000000000000000000000000000000000000000"

// fullCompressed sets every section.
func fullCompressed(t testing.TB, tree bool) Compressed {
	c := boxCompressed(t)
	c.OwnerID = texA
	c.AngularVelocity = ritual.Vector3{Z: 1}
	c.ParentID = 0x01020304
	if tree {
		c.Flags, c.TreeSpecies = CompressedTree, 7
	} else {
		c.ScratchPad = []byte{9, 8, 7}
	}
	c.Text, c.TextColor = "hi", Color{1, 2, 3, 255}
	c.MediaURL = "http://x/"
	c.ParticleSystem = bytes.Repeat([]byte{0x5a}, LegacyParticleSystemLen)
	c.ExtraParams = ExtraParams{Light: &Light{Color: White, Radius: 10}}
	c.Sound, c.SoundGain, c.SoundFlags, c.SoundRadius = texB, 0.5, 1, 20
	c.NameValue = "AttachItemID STRING RW SV 11111111-1111-1111-1111-111111111111"
	c.TextureAnim = (&TextureAnim{Mode: AnimOn | AnimLoop, Face: 255, SizeX: 4, SizeY: 4, Rate: 10}).AppendTo(nil)
	ps := appendU32(nil, 68)
	ps = append(ps, bytes.Repeat([]byte{1}, 68)...)
	ps = appendU32(ps, 22)
	c.ParticleSystemNew = append(ps, bytes.Repeat([]byte{2}, 22)...)
	return c
}

func TestCompressedBox(t *testing.T) {
	c := boxCompressed(t)
	want := unhex(t, boxCompressedHex)
	got, err := c.AppendTo(nil)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("AppendTo: %v\n got % x\nwant % x", err, got, want)
	}
	var d Compressed
	if err := d.Decode(want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, c) {
		t.Fatalf("decoded %+v\nwant    %+v", d, c)
	}
	var te TextureEntry
	if err := te.Decode(d.TextureEntry); err != nil || te.Default.Color != White {
		t.Fatalf("texture entry: %v", err)
	}
	if s := d.Shape.Shape(); s.Type() != PrimBox {
		t.Fatalf("shape %v", s.Type())
	}
}

func TestCompressedAllSections(t *testing.T) {
	for _, tree := range []bool{true, false} {
		t.Run(fmt.Sprintf("tree=%v", tree), func(t *testing.T) {
			c := fullCompressed(t, tree)
			b, err := c.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			// Hand-checked landmarks: flags at 64, then the optional sections
			// from 84 on.
			flags := uint32(0x7FE)
			if !tree {
				flags = 0x7FD
			}
			if got := le32(b[64:]); got != flags {
				t.Fatalf("flags %#x, want %#x", got, flags)
			}
			opt := "0000000000000000 0000803f" + "04030201"
			if tree {
				opt += "07"
			} else {
				opt += "03 090807"
			}
			opt += hex.EncodeToString([]byte("hi\x00")) + "010203 00" + hex.EncodeToString([]byte("http://x/\x00"))
			if !strings.HasPrefix(hex.EncodeToString(b[84:]), strings.Join(strings.Fields(opt), "")) {
				t.Fatalf("optional sections:\n% x\nwant %s", b[84:130], opt)
			}
			var d Compressed
			if err := d.Decode(b); err != nil {
				t.Fatal(err)
			}
			c.Flags |= CompressedFlags(flags) // decoding records the wire flags
			if !reflect.DeepEqual(d, c) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", d, c)
			}
			again, err := d.AppendTo(nil)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs: %v", err)
			}
			// Every truncation fails cleanly, and so does a trailing byte.
			for n := range len(b) {
				if err := d.Decode(b[:n]); !errors.Is(err, ErrShort) {
					t.Fatalf("%d of %d bytes: err = %v", n, len(b), err)
				}
			}
			if err := d.Decode(append(b, 0)); !errors.Is(err, ErrTrailing) {
				t.Fatalf("trailing: %v", err)
			}
		})
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func TestCompressedFlagOnlySections(t *testing.T) {
	// Flags without content still write the section (empty), and decode
	// back to the same flags.
	c := boxCompressed(t)
	c.Flags = CompressedHasText | CompressedMediaURL | CompressedHasNameValues | CompressedHasAngularVelocity | CompressedTextureAnim
	b, err := c.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	var d Compressed
	if err := d.Decode(b); err != nil {
		t.Fatal(err)
	}
	if d.Flags != c.Flags || d.Text != "" || d.TextColor != (Color{A: 0}) {
		t.Fatalf("%+v", d)
	}
	// 12 angular velocity, "\0" + colour, "\0", "\0", TextureAnim length 0.
	if len(b) != 176+12+5+1+1+4 {
		t.Fatalf("%d bytes", len(b))
	}
}

func TestCompressedBadInput(t *testing.T) {
	box := unhex(t, boxCompressedHex)
	withFlags := func(f CompressedFlags, tail []byte) []byte {
		b := append([]byte{}, box[:84]...)
		copy(b[64:], appendU32(nil, uint32(f)))
		return append(b, tail...)
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"head only", box[:84], ErrShort},
		{"text without NUL", withFlags(CompressedHasText, []byte("abc")), ErrShort},
		{"scratch pad longer than the blob", withFlags(CompressedScratchPad, []byte{200, 1}), ErrShort},
		{"texture entry length past the end", append(append([]byte{}, box[:108]...), 0xff, 0xff, 0xff, 0x7f), ErrShort},
		{"extra params length past the end", withFlags(0, unhex(t, "01 2000 ffffffff")), ErrShort},
		{"new particles with a huge block size", withFlags(CompressedHasParticlesNew, append(box[84:], 0xff, 0xff, 0xff, 0xff, 0)), ErrShort},
	}
	for _, tt := range tests {
		var d Compressed
		err := d.Decode(tt.b)
		var de *DecodeError
		if !errors.Is(err, tt.want) || !errors.As(err, &de) || de.Blob != "ObjectUpdateCompressed.Data" {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func TestCompressedEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Compressed)
		want   error
	}{
		{"NUL in text", func(c *Compressed) { c.Text = "a\x00b" }, ErrRange},
		{"NUL in name values", func(c *Compressed) { c.NameValue = "\x00" }, ErrRange},
		{"scratch pad of 256", func(c *Compressed) { c.ScratchPad = make([]byte, 256) }, ErrRange},
		{"legacy particles of 85", func(c *Compressed) { c.ParticleSystem = make([]byte, 85) }, ErrLength},
		{"legacy particles flag, no data", func(c *Compressed) { c.Flags = CompressedHasParticlesLegacy }, ErrLength},
		{"new particles not size-prefixed", func(c *Compressed) { c.ParticleSystemNew = []byte{1, 2, 3} }, ErrShort},
		{"new particles with trailing bytes", func(c *Compressed) { c.ParticleSystemNew = make([]byte, 9) }, ErrTrailing},
		{"extra params with a typed type in Other", func(c *Compressed) {
			c.ExtraParams.Other = []ExtraParam{{Type: ExtraSculpt}}
		}, ErrRange},
	}
	for _, tt := range tests {
		c := boxCompressed(t)
		tt.change(&c)
		if _, err := c.AppendTo(nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	// With CompressedTree the scratch pad is not sent, whatever its size.
	c := boxCompressed(t)
	c.Flags, c.ScratchPad = CompressedTree, make([]byte, 300)
	if _, err := c.AppendTo(nil); err != nil {
		t.Errorf("tree with scratch pad: %v", err)
	}
}

func TestCompressedAllocs(t *testing.T) {
	c := boxCompressed(t)
	b, _ := c.AppendTo(nil)
	out := make([]byte, 0, 512)
	var d Compressed
	if err := d.Decode(b); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { out, _ = c.AppendTo(out[:0]) }); n != 0 {
		t.Errorf("AppendTo: %v allocs", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.Decode(b) }); n != 0 {
		t.Errorf("Decode: %v allocs", n)
	}
}

// The preset shapes as compressed blobs: a golden file that documents what
// the server sends for each (go test -update rewrites it).
func TestCompressedPresetsGolden(t *testing.T) {
	var out strings.Builder
	for typ := PrimBox; typ <= PrimRing; typ++ {
		c := boxCompressed(t)
		c.LocalID = 1000 + uint32(typ)
		c.Shape = NewShape(typ).Params()
		b, err := c.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%s\t%x\n", typ, b)
	}
	path := filepath.Join("testdata", "compressed_presets.golden")
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Fatalf("presets differ from %s:\n%s", path, out.String())
	}
}
