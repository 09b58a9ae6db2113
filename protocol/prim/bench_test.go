package prim

import (
	"math/rand/v2"
	"testing"

	"ritual"
)

// benchEntries: the one-texture default entry and an eight-face prim with a
// texture, colour and glow per face.
func benchEntries(b *testing.B) map[string]TextureEntry {
	eight := NewTextureEntry(texA)
	rng := rand.New(rand.NewPCG(13, 14))
	for f := range 8 {
		face := eight.Default
		face.TextureID = ritual.UUID{byte(f % 3)}
		face.Color = Color{uint8(rng.IntN(256)), 255, 255, 255}
		face.Glow = float32(f%2) * 0.5
		face.OffsetU = float32(f) / 8
		eight.SetFace(f, face)
	}
	return map[string]TextureEntry{
		"default": NewTextureEntry(texA),
		"8faces":  eight,
		"random":  randomEntry(rand.New(rand.NewPCG(15, 16))),
	}
}

func BenchmarkTextureEntry(b *testing.B) {
	for _, name := range []string{"default", "8faces", "random"} {
		te := benchEntries(b)[name]
		buf := te.AppendTo(nil)
		b.Run("Encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			out := make([]byte, 0, len(buf))
			for b.Loop() {
				out = te.AppendTo(out[:0])
			}
		})
		b.Run("Decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			var d TextureEntry
			for b.Loop() {
				if err := d.Decode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompressed(b *testing.B) {
	for _, name := range []string{"box", "full"} {
		c := boxCompressed(b)
		if name == "full" {
			c = fullCompressed(b, true)
		}
		buf, err := c.AppendTo(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("Encode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			out := make([]byte, 0, len(buf))
			for b.Loop() {
				out, _ = c.AppendTo(out[:0])
			}
		})
		b.Run("Decode/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			var d Compressed
			for b.Loop() {
				if err := d.Decode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMotion(b *testing.B) {
	m := Motion{HasCollisionPlane: true, Position: ritual.Vector3{X: 128, Y: 128, Z: 25}, Rotation: ritual.IdentityQuaternion}
	buf := m.AppendTo(nil)
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		out := make([]byte, 0, len(buf))
		for b.Loop() {
			out = m.AppendTo(out[:0])
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		var d Motion
		for b.Loop() {
			if err := d.Decode(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkTerse(b *testing.B) {
	tr := Terse{LocalID: 1, IsAvatar: true, Position: ritual.Vector3{X: 128, Y: 128, Z: 25}, Rotation: ritual.IdentityQuaternion}
	buf := tr.AppendTo(nil)
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		out := make([]byte, 0, len(buf))
		for b.Loop() {
			out = tr.AppendTo(out[:0])
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		var d Terse
		for b.Loop() {
			if err := d.Decode(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
