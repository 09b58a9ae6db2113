package prim

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"ritual"
)

// MaxFaces is the number of faces a TextureEntry can address (faces 0..44),
// as in LibreMetaverse and the viewers.
const MaxFaces = 45

// allFaces is the mask of faces 0..MaxFaces-1.
const allFaces = uint64(1)<<MaxFaces - 1

// maxBitfieldLen is the longest face bitfield accepted: seven base-128
// digits hold 49 bits, enough for MaxFaces.
const maxBitfieldLen = 7

// Color is an 8-bit RGBA colour. TextureEntry stores each byte inverted
// (255 - c) on the wire, so white opaque travels as 00 00 00 00.
type Color struct{ R, G, B, A uint8 }

// White is opaque white, the default face colour.
var White = Color{255, 255, 255, 255}

// Material byte bits of a Face (bump, fullbright, shiny).
const (
	MaterialBumpMask       = 0x1F
	MaterialFullbrightMask = 0x20
	MaterialShinyMask      = 0xC0
)

// Media byte bits of a Face (media flag, texture mapping).
const (
	MediaFlagMask   = 0x01
	MediaTexGenMask = 0x06
)

// Face is the look of one face of a prim: one value from each of the eleven
// sections of a TextureEntry.
type Face struct {
	TextureID ritual.UUID
	Color     Color
	RepeatU   float32 // texture repeats per face (F32 on the wire)
	RepeatV   float32
	OffsetU   float32 // -1..1, S16 on the wire: round(o × 32767)
	OffsetV   float32
	Rotation  float32 // radians, S16 on the wire: round(angle/2π × 32768), wrapping
	Material  uint8   // bump (MaterialBumpMask), fullbright, shiny bits
	Media     uint8   // media flag (MediaFlagMask), texture mapping bits
	Glow      float32 // 0..1, a byte on the wire: round(g × 255)
	// MaterialID names a render material asset (zero: none).
	MaterialID ritual.UUID
}

// DefaultFace returns the face a new prim gets: the given texture, opaque
// white, one repeat each way, no offset, rotation, bump, media or glow.
func DefaultFace(texture ritual.UUID) Face {
	return Face{TextureID: texture, Color: White, RepeatU: 1, RepeatV: 1}
}

// Bump returns the bump-map code (0 none, 1 brightness, 2 darkness, ...).
func (f *Face) Bump() uint8 { return f.Material & MaterialBumpMask }

// Shiny returns the shininess level, 0 (none) to 3 (high).
func (f *Face) Shiny() uint8 { return f.Material >> 6 }

// Fullbright reports whether the face ignores lighting.
func (f *Face) Fullbright() bool { return f.Material&MaterialFullbrightMask != 0 }

// HasMedia reports the face's media flag.
func (f *Face) HasMedia() bool { return f.Media&MediaFlagMask != 0 }

// TexGen returns the texture mapping: 0 default, 2 planar (4 spherical and
// 6 cylindrical are reserved).
func (f *Face) TexGen() uint8 { return f.Media & MediaTexGenMask }

// TextureEntry is the TextureEntry field of ObjectUpdate.ObjectData (and of
// ObjectUpdateCompressed's Data blob and ImprovedTerseObjectUpdate): a
// default face and per-face overrides (PROTOCOL.md 5.4).
//
// Face f looks like Faces[f] when bit f of Overridden is set, else like
// Default; Faces[f] is meaningful only with its bit set. The encoder writes,
// for each of the eleven sections, the default's value and then one
// (bitfield, value) pair for each distinct value that overridden faces hold
// and the default does not, grouping all faces sharing that value in one
// bitfield, then a 00 terminator. Values are compared as they travel
// (quantized), so a face equal to the default in a section costs nothing.
//
// On the wire (sizes in bytes; "bf" is a face bitfield, a big-endian
// base-128 varint of a face mask whose every byte but the last has 0x80
// set):
//
//	TextureID  16         (bf 16)* 00
//	Color      4 inverted (bf 4)* 00
//	RepeatU    4 F32      (bf 4)* 00
//	RepeatV    4 F32      (bf 4)* 00
//	OffsetU    2 S16      (bf 2)* 00
//	OffsetV    2 S16      (bf 2)* 00
//	Rotation   2 S16      (bf 2)* 00
//	Material   1          (bf 1)* 00
//	Media      1          (bf 1)* 00
//	Glow       1          (bf 1)* 00
//	MaterialID 16         (bf 16)* 00
type TextureEntry struct {
	Default    Face
	Faces      [MaxFaces]Face
	Overridden uint64 // bit f: face f has its own values in Faces[f]
}

// NewTextureEntry returns an entry with DefaultFace(texture) on every face.
func NewTextureEntry(texture ritual.UUID) TextureEntry {
	return TextureEntry{Default: DefaultFace(texture)}
}

// Face returns the look of face f: its override, or the default. Faces
// beyond MaxFaces have the default look.
func (te *TextureEntry) Face(f int) Face {
	if f >= 0 && f < MaxFaces && te.Overridden&(1<<f) != 0 {
		return te.Faces[f]
	}
	return te.Default
}

// SetFace gives face f its own look. f must be in 0..MaxFaces-1.
func (te *TextureEntry) SetFace(f int, face Face) error {
	if f < 0 || f >= MaxFaces {
		return fmt.Errorf("%w: face %d (TextureEntry has faces 0..%d)", ErrRange, f, MaxFaces-1)
	}
	te.Faces[f] = face
	te.Overridden |= 1 << f
	return nil
}

// ClearFace returns face f to the default look.
func (te *TextureEntry) ClearFace(f int) {
	if f >= 0 && f < MaxFaces {
		te.Overridden &^= 1 << f
		te.Faces[f] = Face{}
	}
}

// The eleven sections, in wire order.
const (
	secTextureID = iota
	secColor
	secRepeatU
	secRepeatV
	secOffsetU
	secOffsetV
	secRotation
	secMaterial
	secMedia
	secGlow
	secMaterialID
	numSections
)

var sectionNames = [numSections]string{"TextureID", "Color", "RepeatU", "RepeatV", "OffsetU", "OffsetV",
	"Rotation", "Material", "Media", "Glow", "MaterialID"}

var sectionSizes = [numSections]int{16, 4, 4, 4, 2, 2, 2, 1, 1, 1, 16}

// Field names for errors, built once so that decoding does not allocate.
var sectionDefault, sectionOverride, sectionBitfield [numSections]string

func init() {
	for s, name := range sectionNames {
		sectionDefault[s] = name + " default"
		sectionOverride[s] = name + " override"
		sectionBitfield[s] = name + " face bitfield"
	}
}

// value writes the wire form of section s of f into v (zeroing the rest of
// v, so that whole arrays compare equal exactly when wire values do).
func (f *Face) value(s int) (v [16]byte) {
	switch s {
	case secTextureID:
		v = f.TextureID
	case secColor:
		v[0], v[1], v[2], v[3] = 255-f.Color.R, 255-f.Color.G, 255-f.Color.B, 255-f.Color.A
	case secRepeatU:
		binary.LittleEndian.PutUint32(v[:], math.Float32bits(f.RepeatU))
	case secRepeatV:
		binary.LittleEndian.PutUint32(v[:], math.Float32bits(f.RepeatV))
	case secOffsetU:
		binary.LittleEndian.PutUint16(v[:], uint16(teOffset(f.OffsetU)))
	case secOffsetV:
		binary.LittleEndian.PutUint16(v[:], uint16(teOffset(f.OffsetV)))
	case secRotation:
		binary.LittleEndian.PutUint16(v[:], uint16(teRotation(f.Rotation)))
	case secMaterial:
		v[0] = f.Material
	case secMedia:
		v[0] = f.Media
	case secGlow:
		v[0] = teGlow(f.Glow)
	case secMaterialID:
		v = f.MaterialID
	}
	return v
}

// set stores the wire value p of section s into f.
func (f *Face) set(s int, p []byte) {
	switch s {
	case secTextureID:
		copy(f.TextureID[:], p)
	case secColor:
		f.Color = Color{255 - p[0], 255 - p[1], 255 - p[2], 255 - p[3]}
	case secRepeatU:
		f.RepeatU = getF32(p)
	case secRepeatV:
		f.RepeatV = getF32(p)
	case secOffsetU:
		f.OffsetU = teOffsetFloat(int16(binary.LittleEndian.Uint16(p)))
	case secOffsetV:
		f.OffsetV = teOffsetFloat(int16(binary.LittleEndian.Uint16(p)))
	case secRotation:
		f.Rotation = teRotationFloat(int16(binary.LittleEndian.Uint16(p)))
	case secMaterial:
		f.Material = p[0]
	case secMedia:
		f.Media = p[0]
	case secGlow:
		f.Glow = teGlowFloat(p[0])
	case secMaterialID:
		copy(f.MaterialID[:], p)
	}
}

// AppendTo appends the TextureEntry blob to b: every section, each with its
// terminator (the last one included, as LibreMetaverse-built entries in
// test vectors show; decoders accept it either way).
func (te *TextureEntry) AppendTo(b []byte) []byte {
	over := te.Overridden & allFaces
	var vals [MaxFaces][16]byte
	for s := range numSections {
		n := sectionSizes[s]
		dv := te.Default.value(s)
		b = append(b, dv[:n]...)
		// Faces still to place in this section: overridden and differing
		// from the default.
		var todo uint64
		for m := over; m != 0; m &= m - 1 {
			f := bits.TrailingZeros64(m)
			vals[f] = te.Faces[f].value(s)
			if vals[f] != dv {
				todo |= 1 << f
			}
		}
		for todo != 0 {
			f := bits.TrailingZeros64(todo)
			mask := uint64(0)
			for m := todo; m != 0; m &= m - 1 {
				g := bits.TrailingZeros64(m)
				if vals[g] == vals[f] {
					mask |= 1 << g
				}
			}
			todo &^= mask
			b = appendBitfield(b, mask)
			b = append(b, vals[f][:n]...)
		}
		b = append(b, 0)
	}
	return b
}

// appendBitfield appends mask as a big-endian base-128 varint with the
// continuation bit (0x80) on every byte but the last.
func appendBitfield(b []byte, mask uint64) []byte {
	n := 1
	for m := mask >> 7; m != 0; m >>= 7 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		c := byte(mask>>(7*uint(i))) & 0x7F
		if i > 0 {
			c |= 0x80
		}
		b = append(b, c)
	}
	return b
}

// Decode fills te from a TextureEntry blob.
//
// An empty blob means the object sent no TextureEntry (OpenSimulator does so
// for avatars) and yields ErrEmpty. The blob may end early once the Media
// section's default value is in: the Glow and MaterialID sections and the
// terminators of Media, Glow and MaterialID may be missing at the end, as
// older senders and LibreMetaverse (which omits the final terminator) write
// them; missing sections take zero values. Anything else short, a bitfield
// naming a face beyond MaxFaces-1 or longer than seven bytes, or bytes after
// the last section is an error.
func (te *TextureEntry) Decode(b []byte) error {
	*te = TextureEntry{}
	r := reader{b: b, blob: "TextureEntry"}
	if len(b) == 0 {
		return decodeErr(r.blob, "TextureID default", 0, ErrEmpty)
	}
	for s := range numSections {
		if s > secMedia && r.left() == 0 {
			break // later sections absent: zero values
		}
		n := sectionSizes[s]
		p := r.take(n, sectionDefault[s])
		if p == nil {
			return r.err
		}
		te.Default.set(s, p)
		for m := te.Overridden; m != 0; m &= m - 1 {
			te.Faces[bits.TrailingZeros64(m)].set(s, p)
		}
		for {
			if s >= secMedia && r.left() == 0 {
				break // terminator omitted at the end
			}
			at := r.off
			mask, err := r.bitfield(sectionBitfield[s])
			if err != nil {
				return err
			}
			if mask == 0 {
				break
			}
			if mask&^allFaces != 0 {
				f := bits.Len64(mask) - 1
				return decodeErr(r.blob, sectionBitfield[s], at,
					fmt.Errorf("%w: names face %d (faces are 0..%d)", ErrRange, f, MaxFaces-1))
			}
			p := r.take(n, sectionOverride[s])
			if p == nil {
				return r.err
			}
			for m := mask; m != 0; m &= m - 1 {
				f := bits.TrailingZeros64(m)
				if te.Overridden&(1<<f) == 0 {
					te.Overridden |= 1 << f
					te.Faces[f] = te.Default
				}
				te.Faces[f].set(s, p)
			}
		}
	}
	return r.done()
}

// bitfield reads a face bitfield (see appendBitfield); field names it in
// errors.
func (r *reader) bitfield(field string) (uint64, error) {
	start := r.off
	var mask uint64
	for i := 0; ; i++ {
		if i == maxBitfieldLen {
			return 0, decodeErr(r.blob, field, start,
				fmt.Errorf("%w: longer than %d bytes", ErrRange, maxBitfieldLen))
		}
		c := r.u8(field)
		if r.err != nil {
			return 0, r.err
		}
		mask = mask<<7 | uint64(c&0x7F)
		if c&0x80 == 0 {
			return mask, nil
		}
	}
}

// AppendTerseTextureEntry appends the TextureEntry field of
// ImprovedTerseObjectUpdate.ObjectData for the blob te: a U32 length, then
// te. An empty te appends nothing (the field is then empty: no texture
// change).
func AppendTerseTextureEntry(b, te []byte) []byte {
	if len(te) == 0 {
		return b
	}
	b = appendU32(b, uint32(len(te)))
	return append(b, te...)
}

// TerseTextureEntry returns the TextureEntry blob inside the TextureEntry
// field of ImprovedTerseObjectUpdate.ObjectData (a U32 length, then the
// blob), or nil for an empty field. The result aliases field.
func TerseTextureEntry(field []byte) ([]byte, error) {
	if len(field) == 0 {
		return nil, nil
	}
	r := reader{b: field, blob: "ImprovedTerseObjectUpdate.TextureEntry"}
	n := r.u32("length")
	if r.err != nil {
		return nil, r.err
	}
	if uint64(n) != uint64(r.left()) {
		return nil, decodeErr(r.blob, "length", 0, fmt.Errorf("%w: says %d bytes, %d follow", ErrLength, n, r.left()))
	}
	return field[4:], nil
}
