package prim

import (
	"fmt"
	"math"

	"ritual"
)

// ExtraParamType is the type code of one entry of ExtraParams.
type ExtraParamType uint16

// Extra parameter types.
const (
	ExtraFlexible        ExtraParamType = 0x10 // Flexible, 16 bytes
	ExtraLight           ExtraParamType = 0x20 // Light, 16 bytes
	ExtraSculpt          ExtraParamType = 0x30 // Sculpt, 17 bytes
	ExtraLightImage      ExtraParamType = 0x40 // LightImage (projector), 28 bytes
	ExtraReserved        ExtraParamType = 0x50
	ExtraMesh            ExtraParamType = 0x60 // Sculpt layout, type SculptMesh
	ExtraExtendedMesh    ExtraParamType = 0x70 // 4-byte flags
	ExtraRenderMaterial  ExtraParamType = 0x80
	ExtraReflectionProbe ExtraParamType = 0x90
)

func (t ExtraParamType) String() string {
	switch t {
	case ExtraFlexible:
		return "Flexible"
	case ExtraLight:
		return "Light"
	case ExtraSculpt:
		return "Sculpt"
	case ExtraLightImage:
		return "LightImage"
	case ExtraReserved:
		return "Reserved"
	case ExtraMesh:
		return "Mesh"
	case ExtraExtendedMesh:
		return "ExtendedMesh"
	case ExtraRenderMaterial:
		return "RenderMaterial"
	case ExtraReflectionProbe:
		return "ReflectionProbe"
	}
	return fmt.Sprintf("0x%02x", uint16(t))
}

// Sizes of the typed extra parameters.
const (
	FlexibleLen   = 16
	LightLen      = 16
	SculptLen     = 17
	LightImageLen = 28
)

// ExtraParams is the ExtraParams field of ObjectUpdate.ObjectData (and the
// same bytes inside the ObjectUpdateCompressed Data blob): a count byte,
// then per entry a type U16, a length U32 and the data (PROTOCOL.md 5.5).
//
// The five types with a layout of their own decode into the typed fields
// (nil: absent); every other type is kept in Other as raw bytes. The
// encoder writes entries in ascending type order, which is how viewers and
// OpenSimulator write them; entries of one type in Other keep their order.
// When a typed parameter occurs twice the last one wins, as in the viewers.
// ObjectUpdate carries the field as Variable 1, so there the encoded
// parameters must fit in 255 bytes; the compressed blob has no such limit.
type ExtraParams struct {
	Flexible   *Flexible
	Light      *Light
	Sculpt     *Sculpt // ExtraSculpt: a sculpted prim
	LightImage *LightImage
	Mesh       *Sculpt // ExtraMesh: a mesh object (Texture names the mesh asset)
	Other      []ExtraParam
}

// ExtraParam is one entry of a type without a typed field.
type ExtraParam struct {
	Type ExtraParamType
	Data []byte
}

// Empty reports whether p holds no parameters.
func (p *ExtraParams) Empty() bool {
	return p.Flexible == nil && p.Light == nil && p.Sculpt == nil && p.LightImage == nil && p.Mesh == nil && len(p.Other) == 0
}

func (p *ExtraParams) count() int {
	n := len(p.Other)
	for _, present := range [...]bool{p.Flexible != nil, p.Light != nil, p.Sculpt != nil, p.LightImage != nil, p.Mesh != nil} {
		if present {
			n++
		}
	}
	return n
}

// typed reports whether t decodes into a typed field.
func typed(t ExtraParamType) bool {
	switch t {
	case ExtraFlexible, ExtraLight, ExtraSculpt, ExtraLightImage, ExtraMesh:
		return true
	}
	return false
}

// AppendTo appends the ExtraParams blob to b. With no parameters that is a
// single 00 (the form the ObjectUpdateCompressed blob requires). It fails
// when there are more than 255 entries or Other holds a typed type.
func (p *ExtraParams) AppendTo(b []byte) ([]byte, error) {
	n := p.count()
	if n > math.MaxUint8 {
		return b, fmt.Errorf("%w: ExtraParams has %d entries (at most 255)", ErrRange, n)
	}
	for i := range p.Other {
		if typed(p.Other[i].Type) {
			return b, fmt.Errorf("%w: ExtraParams.Other[%d] has type %v, which belongs in its typed field", ErrRange, i, p.Other[i].Type)
		}
		if uint64(len(p.Other[i].Data)) > math.MaxUint32 {
			return b, fmt.Errorf("%w: ExtraParams.Other[%d] is too long", ErrRange, i)
		}
	}
	b = append(b, uint8(n))
	lo := -1
	for _, t := range [...]ExtraParamType{ExtraFlexible, ExtraLight, ExtraSculpt, ExtraLightImage, ExtraMesh} {
		b = p.appendOthers(b, lo, int(t))
		lo = int(t)
		switch t {
		case ExtraFlexible:
			if f := p.Flexible; f != nil {
				b = f.AppendTo(appendParamHead(b, t, FlexibleLen))
			}
		case ExtraLight:
			if l := p.Light; l != nil {
				b = l.AppendTo(appendParamHead(b, t, LightLen))
			}
		case ExtraSculpt:
			if s := p.Sculpt; s != nil {
				b = s.AppendTo(appendParamHead(b, t, SculptLen))
			}
		case ExtraLightImage:
			if l := p.LightImage; l != nil {
				b = l.AppendTo(appendParamHead(b, t, LightImageLen))
			}
		case ExtraMesh:
			if s := p.Mesh; s != nil {
				b = s.AppendTo(appendParamHead(b, t, SculptLen))
			}
		}
	}
	return p.appendOthers(b, lo, math.MaxUint16+1), nil
}

// appendOthers appends the entries of Other whose type lies strictly
// between lo and hi, in ascending type order (slice order within a type).
func (p *ExtraParams) appendOthers(b []byte, lo, hi int) []byte {
	for {
		next := hi
		for _, o := range p.Other {
			if t := int(o.Type); t > lo && t < next {
				next = t
			}
		}
		if next == hi {
			return b
		}
		for _, o := range p.Other {
			if int(o.Type) == next {
				b = appendParamHead(b, o.Type, len(o.Data))
				b = append(b, o.Data...)
			}
		}
		lo = next
	}
}

func appendParamHead(b []byte, t ExtraParamType, n int) []byte {
	return appendU32(appendU16(b, uint16(t)), uint32(n))
}

// Decode fills p from an ExtraParams field. An empty field means no
// parameters (OpenSimulator sends it so). Bytes after the last entry are an
// error.
func (p *ExtraParams) Decode(b []byte) error {
	*p = ExtraParams{}
	if len(b) == 0 {
		return nil
	}
	r := reader{b: b, blob: "ExtraParams"}
	if err := p.read(&r, ""); err != nil {
		return err
	}
	return r.done()
}

// read decodes the entries at r's position (the compressed blob embeds them
// without a length); prefix goes before the field names in errors.
func (p *ExtraParams) read(r *reader, prefix string) error {
	countField := "count"
	if prefix != "" {
		countField = "ExtraParams count"
	}
	count := int(r.u8(countField))
	if r.err != nil {
		return r.err
	}
	for i := range count {
		at := r.off
		if r.left() < 6 {
			return decodeErr(r.blob, fmt.Sprintf("%sparam %d header", prefix, i), at,
				fmt.Errorf("%w: need 6 bytes, have %d", ErrShort, r.left()))
		}
		t := ExtraParamType(r.u16(""))
		n := r.u32("")
		if uint64(n) > uint64(r.left()) {
			return decodeErr(r.blob, fmt.Sprintf("%sparam %d (%v) data", prefix, i, t), r.off,
				fmt.Errorf("%w: length says %d bytes, %d left", ErrShort, n, r.left()))
		}
		data := r.take(int(n), "")
		want := 0
		switch t {
		case ExtraFlexible:
			want = FlexibleLen
		case ExtraLight:
			want = LightLen
		case ExtraSculpt, ExtraMesh:
			want = SculptLen
		case ExtraLightImage:
			want = LightImageLen
		default:
			p.Other = append(p.Other, ExtraParam{Type: t, Data: append([]byte(nil), data...)})
			continue
		}
		if len(data) != want {
			return decodeErr(r.blob, fmt.Sprintf("%sparam %d (%v) data", prefix, i, t), at+6,
				fmt.Errorf("%w: %d bytes (want %d)", ErrLength, len(data), want))
		}
		switch t {
		case ExtraFlexible:
			p.Flexible = new(Flexible)
			p.Flexible.decode(data)
		case ExtraLight:
			p.Light = new(Light)
			p.Light.decode(data)
		case ExtraSculpt:
			p.Sculpt = new(Sculpt)
			p.Sculpt.decode(data)
		case ExtraMesh:
			p.Mesh = new(Sculpt)
			p.Mesh.decode(data)
		case ExtraLightImage:
			p.LightImage = new(LightImage)
			p.LightImage.decode(data)
		}
	}
	return r.err
}

// Flexible is the Flexible extra parameter (type 0x10, 16 bytes) of a
// flexible prim. On the wire: tension×10 in the low 7 bits of byte 0 and
// drag×10 in those of byte 1, the two softness bits in their top bits
// (bit 1 in byte 0, bit 0 in byte 1), (gravity+10)×10 in byte 2, wind×10 in
// byte 3, then the user force as three F32.
type Flexible struct {
	Softness uint8   // 0..3
	Tension  float32 // 0..10 in steps of 0.1
	Drag     float32 // 0..10 in steps of 0.1
	Gravity  float32 // -10..15.5 in steps of 0.1
	Wind     float32 // 0..25.5 in steps of 0.1
	Force    ritual.Vector3
}

// AppendTo appends the 16-byte parameter data.
func (f *Flexible) AppendTo(b []byte) []byte {
	t := uint8(roundClamp(float64(f.Tension)*10, 0, 127)) | (f.Softness&2)<<6
	d := uint8(roundClamp(float64(f.Drag)*10, 0, 127)) | (f.Softness&1)<<7
	g := uint8(roundClamp((float64(f.Gravity)+10)*10, 0, 255))
	w := uint8(roundClamp(float64(f.Wind)*10, 0, 255))
	return appendVec3(append(b, t, d, g, w), f.Force)
}

func (f *Flexible) decode(p []byte) {
	f.Softness = (p[0]&0x80)>>6 | (p[1]&0x80)>>7
	f.Tension = float32(float64(p[0]&0x7F) / 10)
	f.Drag = float32(float64(p[1]&0x7F) / 10)
	f.Gravity = float32(float64(p[2])/10 - 10)
	f.Wind = float32(float64(p[3]) / 10)
	f.Force = getVec3(p[4:])
}

// Light is the Light extra parameter (type 0x20, 16 bytes): colour bytes
// R, G, B with the intensity in A, then radius, cutoff and falloff as F32.
type Light struct {
	Color   Color // A is the intensity, 0..255 for 0..1
	Radius  float32
	Cutoff  float32
	Falloff float32
}

// AppendTo appends the 16-byte parameter data.
func (l *Light) AppendTo(b []byte) []byte {
	b = append(b, l.Color.R, l.Color.G, l.Color.B, l.Color.A)
	return appendF32(appendF32(appendF32(b, l.Radius), l.Cutoff), l.Falloff)
}

func (l *Light) decode(p []byte) {
	l.Color = Color{p[0], p[1], p[2], p[3]}
	l.Radius, l.Cutoff, l.Falloff = getF32(p[4:]), getF32(p[8:]), getF32(p[12:])
}

// Sculpt types (the low three bits of Sculpt.Type) and flags.
const (
	SculptNone     = 0
	SculptSphere   = 1
	SculptTorus    = 2
	SculptPlane    = 3
	SculptCylinder = 4
	SculptMesh     = 5
	SculptTypeMask = 0x07
	SculptInvert   = 0x40
	SculptMirror   = 0x80
)

// Sculpt is the Sculpt (0x30) and Mesh (0x60) extra parameter, 17 bytes:
// the sculpt map texture (or mesh asset) and the type byte.
type Sculpt struct {
	Texture ritual.UUID
	Type    uint8 // SculptSphere … SculptMesh, with SculptInvert and SculptMirror
}

// AppendTo appends the 17-byte parameter data.
func (s *Sculpt) AppendTo(b []byte) []byte { return append(append(b, s.Texture[:]...), s.Type) }

func (s *Sculpt) decode(p []byte) {
	copy(s.Texture[:], p)
	s.Type = p[16]
}

// LightImage is the LightImage (projector) extra parameter (type 0x40, 28
// bytes): the projected texture, then field of view, focus and ambiance as
// F32.
type LightImage struct {
	Texture  ritual.UUID
	FOV      float32
	Focus    float32
	Ambiance float32
}

// AppendTo appends the 28-byte parameter data.
func (l *LightImage) AppendTo(b []byte) []byte {
	b = append(b, l.Texture[:]...)
	return appendF32(appendF32(appendF32(b, l.FOV), l.Focus), l.Ambiance)
}

func (l *LightImage) decode(p []byte) {
	copy(l.Texture[:], p)
	l.FOV, l.Focus, l.Ambiance = getF32(p[16:]), getF32(p[20:]), getF32(p[24:])
}
