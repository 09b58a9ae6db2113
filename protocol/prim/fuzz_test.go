package prim

import (
	"bytes"
	"testing"
)

// Fuzz targets: decoding never panics; whatever decodes re-encodes to bytes
// that decode again and encode to the same bytes (decode, encode, decode is
// stable). Seeds come from the vectors, the captures and the table tests.

func FuzzTextureEntry(f *testing.F) {
	f.Add(unhex(f, loadVector(f, "texture_entry_default.json").Hex))
	f.Add(unhex(f, "11111111111111111111111111111111 05 22222222222222222222222222222222 00 00000000 0a 00ffff00 00"+
		"0000803f 00 0000803f 00 0000 00 0000 00 0000 00 00 00 00 00 00 8100 ff 00 00000000000000000000000000000000 00"))
	f.Add(unhex(f, "11111111111111111111111111111111 88808080808000"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var te TextureEntry
		if te.Decode(b) != nil {
			return
		}
		b2 := te.AppendTo(nil)
		var te2 TextureEntry
		if err := te2.Decode(b2); err != nil {
			t.Fatalf("re-decoding: %v\n% x", err, b2)
		}
		if !sameLook(&te, &te2) {
			t.Fatal("look changed in a round trip")
		}
		if b3 := te2.AppendTo(nil); !bytes.Equal(b3, b2) {
			t.Fatalf("not stable:\n% x\n% x", b2, b3)
		}
	})
}

func FuzzExtraParams(f *testing.F) {
	ap := allParams()
	all, _ := ap.AppendTo(nil)
	f.Add(all)
	f.Add([]byte{0})
	f.Add(unhex(f, "02"+epLight+"2000 10000000 01020304 00000000 00000000 00000000"))
	f.Add(unhex(f, "03"+epRenderMat+epMesh+epExtMesh))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p ExtraParams
		if p.Decode(b) != nil {
			return
		}
		b2, err := p.AppendTo(nil)
		if err != nil {
			t.Fatalf("decoded params do not encode: %v", err)
		}
		var p2 ExtraParams
		if err := p2.Decode(b2); err != nil {
			t.Fatalf("re-decoding: %v\n% x", err, b2)
		}
		b3, err := p2.AppendTo(nil)
		if err != nil || !bytes.Equal(b3, b2) {
			t.Fatalf("not stable: %v\n% x\n% x", err, b2, b3)
		}
	})
}

func FuzzCompressed(f *testing.F) {
	f.Add(unhex(f, boxCompressedHex))
	for _, tree := range []bool{true, false} {
		c := fullCompressed(f, tree)
		b, err := c.AppendTo(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Compressed
		if c.Decode(b) != nil {
			return
		}
		b2, err := c.AppendTo(nil)
		if err != nil {
			t.Fatalf("decoded blob does not encode: %v", err)
		}
		var c2 Compressed
		if err := c2.Decode(b2); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		b3, err := c2.AppendTo(nil)
		if err != nil || !bytes.Equal(b3, b2) {
			t.Fatalf("not stable: %v\n% x\n% x", err, b2, b3)
		}
		// The fixed fields before the rotation survive unchanged.
		if !bytes.Equal(b2[:52], b[:52]) {
			t.Fatalf("round trip changed the fixed fields:\n% x\n% x", b[:52], b2[:52])
		}
	})
}

func FuzzMotion(f *testing.F) {
	for _, m := range []Motion{
		{},
		{HasCollisionPlane: true},
		{Form: MotionU16},
		{Form: MotionU16, HasCollisionPlane: true},
		{Form: MotionU8},
	} {
		f.Add(m.AppendTo(nil))
	}
	f.Add(unhex(f, "0000000000000000000000000000803f63ffff4263ffff42c5acd041"+stringsRepeat("00", 36)+"2aa6ad3c"+stringsRepeat("00", 12)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Motion
		if m.Decode(b) != nil {
			return
		}
		b2 := m.AppendTo(nil)
		if len(b2) != len(b) {
			t.Fatalf("length %d became %d", len(b), len(b2))
		}
		var m2 Motion
		if err := m2.Decode(b2); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if b3 := m2.AppendTo(nil); !bytes.Equal(b3, b2) {
			t.Fatalf("not stable:\n% x\n% x", b2, b3)
		}
	})
}

func FuzzTerse(f *testing.F) {
	f.Add((&Terse{}).AppendTo(nil))
	f.Add(unhex(f, "7b5cdb18000139d023bce9d423bc74f97f3f01beb34163ffff4263ffff42c5acd041"+
		"ff7fff7fff7fff7fff7fff7fff7fff7fb582f7ffff7fff7fff7f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tr Terse
		if tr.Decode(b) != nil {
			return
		}
		b2 := tr.AppendTo(nil)
		var tr2 Terse
		if err := tr2.Decode(b2); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if b3 := tr2.AppendTo(nil); !bytes.Equal(b3, b2) {
			t.Fatalf("not stable:\n% x\n% x", b2, b3)
		}
	})
}
