package prim

import (
	"fmt"
	"math"

	"ritual"
)

// CompressedFlags say which optional sections an ObjectUpdateCompressed
// Data blob carries.
type CompressedFlags uint32

// Compressed section flags.
const (
	CompressedScratchPad         CompressedFlags = 0x01  // U8 length + bytes (ignored with CompressedTree)
	CompressedTree               CompressedFlags = 0x02  // tree species byte
	CompressedHasText            CompressedFlags = 0x04  // hover text + colour
	CompressedHasParticlesLegacy CompressedFlags = 0x08  // 86-byte particle system
	CompressedHasSound           CompressedFlags = 0x10  // looped sound
	CompressedHasParent          CompressedFlags = 0x20  // parent local ID
	CompressedTextureAnim        CompressedFlags = 0x40  // texture animation
	CompressedHasAngularVelocity CompressedFlags = 0x80  // angular velocity
	CompressedHasNameValues      CompressedFlags = 0x100 // NameValue text
	CompressedMediaURL           CompressedFlags = 0x200 // media URL
	CompressedHasParticlesNew    CompressedFlags = 0x400 // size-prefixed particle system
)

// LegacyParticleSystemLen is the size of the particle system block behind
// CompressedHasParticlesLegacy (and of a PSBlock in ObjectUpdate).
const LegacyParticleSystemLen = 86

// compressedHeadLen is the size of the fields every compressed blob has
// before the optional sections.
const compressedHeadLen = 84

// Compressed is the Data field of ObjectUpdateCompressed.ObjectData
// (PROTOCOL.md 5.6): one object, fixed fields first, then sections chosen by
// Flags, all little-endian:
//
//	FullID 16, LocalID U32, PCode U8, State U8, CRC U32, Material U8,
//	ClickAction U8, Scale V3, Position V3, Rotation x,y,z F32 (w implied),
//	Flags U32, OwnerID 16
//	[0x80  AngularVelocity V3]
//	[0x20  ParentID U32]
//	[0x02  TreeSpecies U8 | 0x01 ScratchPad: U8 length + bytes]
//	[0x04  Text NUL-terminated, TextColor R G B (255-A)]
//	[0x200 MediaURL NUL-terminated]
//	[0x08  particle system, 86 bytes]
//	ExtraParams (count byte first)
//	[0x10  Sound 16, Gain F32, Flags U8, Radius F32]
//	[0x100 NameValue NUL-terminated]
//	PathCurve … ProfileHollow (23 bytes; see ShapeParams)
//	TextureEntry: U32 length + bytes
//	[0x40  TextureAnim: U32 length + bytes]
//	[0x400 particle system: U32 size + system block, U32 size + particle block]
//
// The encoder writes a section when its flag is set in Flags or it has
// content (non-zero angular velocity, ParentID, text, URL, sound, name
// values, non-empty byte fields), and sets the flag on the wire
// accordingly; CompressedTree is written only when set in Flags. Decoding
// records the wire flags in Flags, so a decoded blob encodes to the same
// bytes, unless its rotation was far from unit length (it is normalised,
// see Motion.AppendTo) or its ExtraParams were out of type order or repeated
// a type.
//
// Decode reuses the capacity of c's byte slices (ScratchPad,
// ParticleSystem, TextureEntry, TextureAnim, ParticleSystemNew); copy them to
// keep them past the next Decode into c. It never retains the input.
type Compressed struct {
	FullID      ritual.UUID
	LocalID     uint32
	PCode       uint8
	State       uint8
	CRC         uint32
	Material    uint8
	ClickAction uint8
	Scale       ritual.Vector3
	Position    ritual.Vector3
	Rotation    ritual.Quaternion
	Flags       CompressedFlags
	OwnerID     ritual.UUID // set when the object plays a sound or has particles

	AngularVelocity ritual.Vector3
	ParentID        uint32
	TreeSpecies     uint8
	ScratchPad      []byte
	Text            string
	TextColor       Color
	MediaURL        string
	ParticleSystem  []byte // legacy block, LegacyParticleSystemLen bytes
	ExtraParams     ExtraParams
	Sound           ritual.UUID
	SoundGain       float32
	SoundFlags      uint8
	SoundRadius     float32
	NameValue       string
	Shape           ShapeParams
	// TextureEntry is the raw TextureEntry blob (decode it with
	// TextureEntry.Decode); empty when the object sent none.
	TextureEntry []byte
	// TextureAnim is the raw texture animation (TextureAnimLen bytes
	// normally; decode it with TextureAnim.Decode).
	TextureAnim []byte
	// ParticleSystemNew is the new-style particle system including both
	// size prefixes.
	ParticleSystemNew []byte
}

// wireFlags returns the flags the encoder writes.
func (c *Compressed) wireFlags() CompressedFlags {
	f := c.Flags
	set := func(flag CompressedFlags, has bool) {
		if has {
			f |= flag
		}
	}
	set(CompressedHasAngularVelocity, c.AngularVelocity != ritual.Vector3{})
	set(CompressedHasParent, c.ParentID != 0)
	set(CompressedScratchPad, len(c.ScratchPad) > 0 && f&CompressedTree == 0)
	set(CompressedHasText, c.Text != "")
	set(CompressedMediaURL, c.MediaURL != "")
	set(CompressedHasParticlesLegacy, len(c.ParticleSystem) > 0)
	set(CompressedHasSound, !c.Sound.IsZero())
	set(CompressedHasNameValues, c.NameValue != "")
	set(CompressedTextureAnim, len(c.TextureAnim) > 0)
	set(CompressedHasParticlesNew, len(c.ParticleSystemNew) > 0)
	return f
}

// AppendTo appends the Data blob to b. It fails on content the layout cannot
// carry: a NUL inside Text, MediaURL or NameValue, a ScratchPad over 255
// bytes, a legacy ParticleSystem not exactly 86 bytes, a ParticleSystemNew
// that is not two size-prefixed blocks, or ExtraParams that do not encode.
func (c *Compressed) AppendTo(b []byte) ([]byte, error) {
	f := c.wireFlags()
	for _, s := range [...]struct {
		name string
		v    string
	}{{"Text", c.Text}, {"MediaURL", c.MediaURL}, {"NameValue", c.NameValue}} {
		if i := indexNUL(s.v); i >= 0 {
			return b, fmt.Errorf("%w: compressed %s has a NUL at byte %d", ErrRange, s.name, i)
		}
	}
	if f&CompressedScratchPad != 0 && f&CompressedTree == 0 && len(c.ScratchPad) > math.MaxUint8 {
		return b, fmt.Errorf("%w: compressed ScratchPad has %d bytes (at most 255)", ErrRange, len(c.ScratchPad))
	}
	if f&CompressedHasParticlesLegacy != 0 && len(c.ParticleSystem) != LegacyParticleSystemLen {
		return b, fmt.Errorf("%w: compressed ParticleSystem has %d bytes (want %d)", ErrLength, len(c.ParticleSystem), LegacyParticleSystemLen)
	}
	if f&CompressedHasParticlesNew != 0 {
		r := reader{b: c.ParticleSystemNew, blob: "ParticleSystemNew"}
		r.particlesNew()
		if err := r.done(); err != nil {
			return b, err
		}
	}

	b = append(b, c.FullID[:]...)
	b = appendU32(b, c.LocalID)
	b = append(b, c.PCode, c.State)
	b = appendU32(b, c.CRC)
	b = append(b, c.Material, c.ClickAction)
	b = appendVec3(b, c.Scale)
	b = appendVec3(b, c.Position)
	q := wireRotation(c.Rotation)
	b = appendF32(appendF32(appendF32(b, q.X), q.Y), q.Z)
	b = appendU32(b, uint32(f))
	b = append(b, c.OwnerID[:]...)
	if f&CompressedHasAngularVelocity != 0 {
		b = appendVec3(b, c.AngularVelocity)
	}
	if f&CompressedHasParent != 0 {
		b = appendU32(b, c.ParentID)
	}
	if f&CompressedTree != 0 {
		b = append(b, c.TreeSpecies)
	} else if f&CompressedScratchPad != 0 {
		b = append(append(b, uint8(len(c.ScratchPad))), c.ScratchPad...)
	}
	if f&CompressedHasText != 0 {
		b = append(append(b, c.Text...), 0)
		b = append(b, c.TextColor.R, c.TextColor.G, c.TextColor.B, 255-c.TextColor.A)
	}
	if f&CompressedMediaURL != 0 {
		b = append(append(b, c.MediaURL...), 0)
	}
	if f&CompressedHasParticlesLegacy != 0 {
		b = append(b, c.ParticleSystem...)
	}
	var err error
	if b, err = c.ExtraParams.AppendTo(b); err != nil {
		return b, err
	}
	if f&CompressedHasSound != 0 {
		b = append(b, c.Sound[:]...)
		b = appendF32(b, c.SoundGain)
		b = append(b, c.SoundFlags)
		b = appendF32(b, c.SoundRadius)
	}
	if f&CompressedHasNameValues != 0 {
		b = append(append(b, c.NameValue...), 0)
	}
	b = c.Shape.appendCompressed(b)
	b = appendU32(b, uint32(len(c.TextureEntry)))
	b = append(b, c.TextureEntry...)
	if f&CompressedTextureAnim != 0 {
		b = appendU32(b, uint32(len(c.TextureAnim)))
		b = append(b, c.TextureAnim...)
	}
	if f&CompressedHasParticlesNew != 0 {
		b = append(b, c.ParticleSystemNew...)
	}
	return b, nil
}

func indexNUL(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return -1
}

// Decode fills c from a Data blob.
func (c *Compressed) Decode(b []byte) error {
	*c = Compressed{
		ScratchPad:        c.ScratchPad[:0],
		ParticleSystem:    c.ParticleSystem[:0],
		TextureEntry:      c.TextureEntry[:0],
		TextureAnim:       c.TextureAnim[:0],
		ParticleSystemNew: c.ParticleSystemNew[:0],
	}
	r := reader{b: b, blob: "ObjectUpdateCompressed.Data"}
	if len(b) < compressedHeadLen {
		return decodeErr(r.blob, "fixed fields", 0, fmt.Errorf("%w: need %d bytes, have %d", ErrShort, compressedHeadLen, len(b)))
	}
	c.FullID = r.uuid("FullID")
	c.LocalID = r.u32("LocalID")
	c.PCode = r.u8("PCode")
	c.State = r.u8("State")
	c.CRC = r.u32("CRC")
	c.Material = r.u8("Material")
	c.ClickAction = r.u8("ClickAction")
	c.Scale = r.vec3("Scale")
	c.Position = r.vec3("Position")
	x, y, z := r.f32("Rotation"), r.f32("Rotation"), r.f32("Rotation")
	c.Rotation = ritual.QuaternionFromXYZ(x, y, z)
	f := CompressedFlags(r.u32("Flags"))
	c.Flags = f
	c.OwnerID = r.uuid("OwnerID")
	if f&CompressedHasAngularVelocity != 0 {
		c.AngularVelocity = r.vec3("AngularVelocity")
	}
	if f&CompressedHasParent != 0 {
		c.ParentID = r.u32("ParentID")
	}
	if f&CompressedTree != 0 {
		c.TreeSpecies = r.u8("TreeSpecies")
	} else if f&CompressedScratchPad != 0 {
		n := int(r.u8("ScratchPad length"))
		c.ScratchPad = append(c.ScratchPad, r.take(n, "ScratchPad")...)
	}
	if f&CompressedHasText != 0 {
		c.Text = string(r.cstring("Text"))
		if p := r.take(4, "TextColor"); p != nil {
			c.TextColor = Color{p[0], p[1], p[2], 255 - p[3]}
		}
	}
	if f&CompressedMediaURL != 0 {
		c.MediaURL = string(r.cstring("MediaURL"))
	}
	if f&CompressedHasParticlesLegacy != 0 {
		c.ParticleSystem = append(c.ParticleSystem, r.take(LegacyParticleSystemLen, "ParticleSystem")...)
	}
	if r.err != nil {
		return r.err
	}
	if err := c.ExtraParams.read(&r, "ExtraParams "); err != nil {
		return err
	}
	if f&CompressedHasSound != 0 {
		c.Sound = r.uuid("Sound")
		c.SoundGain = r.f32("SoundGain")
		c.SoundFlags = r.u8("SoundFlags")
		c.SoundRadius = r.f32("SoundRadius")
	}
	if f&CompressedHasNameValues != 0 {
		c.NameValue = string(r.cstring("NameValue"))
	}
	c.Shape = r.shapeCompressed()
	c.TextureEntry = append(c.TextureEntry, r.lenPrefixed("TextureEntry")...)
	if f&CompressedTextureAnim != 0 {
		c.TextureAnim = append(c.TextureAnim, r.lenPrefixed("TextureAnim")...)
	}
	if f&CompressedHasParticlesNew != 0 {
		c.ParticleSystemNew = append(c.ParticleSystemNew, r.particlesNew()...)
	}
	return r.done()
}

// lenPrefixed reads a U32 length and that many bytes.
func (r *reader) lenPrefixed(field string) []byte {
	at := r.off
	n := r.u32(field)
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(r.left()) {
		r.err = decodeErr(r.blob, field, at, fmt.Errorf("%w: length says %d bytes, %d left", ErrShort, n, r.left()))
		return nil
	}
	return r.take(int(n), field)
}

// particlesNew reads a new-style particle system (two size-prefixed blocks)
// and returns all of it, prefixes included.
func (r *reader) particlesNew() []byte {
	start := r.off
	r.lenPrefixed("ParticleSystemNew system block")
	r.lenPrefixed("ParticleSystemNew particle block")
	if r.err != nil {
		return nil
	}
	return r.b[start:r.off]
}
