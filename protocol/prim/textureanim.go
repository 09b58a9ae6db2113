package prim

import "fmt"

// Texture animation mode bits (TextureAnim.Mode).
const (
	AnimOn       = 0x01
	AnimLoop     = 0x02
	AnimReverse  = 0x04
	AnimPingPong = 0x08
	AnimSmooth   = 0x10
	AnimRotate   = 0x20
	AnimScale    = 0x40
)

// TextureAnimLen is the size of a TextureAnim blob.
const TextureAnimLen = 16

// TextureAnim is the TextureAnim field of ObjectUpdate.ObjectData (and the
// texture animation of the ObjectUpdateCompressed Data blob): 16 bytes,
// mode U8, face U8 (255: all faces), sizeX U8, sizeY U8, then start,
// length and rate as F32.
type TextureAnim struct {
	Mode   uint8
	Face   uint8
	SizeX  uint8
	SizeY  uint8
	Start  float32
	Length float32
	Rate   float32
}

// AppendTo appends the 16-byte blob.
func (a *TextureAnim) AppendTo(b []byte) []byte {
	b = append(b, a.Mode, a.Face, a.SizeX, a.SizeY)
	return appendF32(appendF32(appendF32(b, a.Start), a.Length), a.Rate)
}

// Decode fills a from a 16-byte blob. (An empty TextureAnim field means no
// animation; callers check for it before decoding.)
func (a *TextureAnim) Decode(b []byte) error {
	*a = TextureAnim{}
	r := reader{b: b, blob: "TextureAnim"}
	if len(b) != TextureAnimLen {
		return decodeErr(r.blob, "length", 0, fmt.Errorf("%w: %d bytes (want %d)", ErrLength, len(b), TextureAnimLen))
	}
	a.Mode, a.Face, a.SizeX, a.SizeY = r.u8("Mode"), r.u8("Face"), r.u8("SizeX"), r.u8("SizeY")
	a.Start, a.Length, a.Rate = r.f32("Start"), r.f32("Length"), r.f32("Rate")
	return r.done()
}
