package prim

import (
	"fmt"
	"math"
)

// PathCurve is ObjectUpdate.ObjectData.PathCurve: the path a profile is
// swept along.
type PathCurve uint8

// Path curves.
const (
	PathLine     PathCurve = 0x10 // straight extrusion (box, cylinder, prism)
	PathCircle   PathCurve = 0x20 // one revolution (sphere, torus, tube, ring)
	PathCircle2  PathCurve = 0x30
	PathTest     PathCurve = 0x40
	PathFlexible PathCurve = 0x80 // straight, bent by the Flexible extra parameter
)

// ProfileCurve is ObjectUpdate.ObjectData.ProfileCurve: the cross-section
// shape in the low nibble and the shape of the hollow in the high nibble.
type ProfileCurve uint8

// Profile shapes (low nibble).
const (
	ProfileCircle        ProfileCurve = 0x00
	ProfileSquare        ProfileCurve = 0x01
	ProfileIsoTriangle   ProfileCurve = 0x02
	ProfileEqualTriangle ProfileCurve = 0x03
	ProfileRightTriangle ProfileCurve = 0x04
	ProfileHalfCircle    ProfileCurve = 0x05
)

// Hollow shapes (high nibble).
const (
	HoleSame     ProfileCurve = 0x00
	HoleCircle   ProfileCurve = 0x10
	HoleSquare   ProfileCurve = 0x20
	HoleTriangle ProfileCurve = 0x30
)

// Shape returns the profile shape (low nibble).
func (p ProfileCurve) Shape() ProfileCurve { return p & 0x0F }

// Hole returns the hollow shape (high nibble).
func (p ProfileCurve) Hole() ProfileCurve { return p & 0xF0 }

// Object codes (PCode) and materials carried beside the shape.
const (
	PCodePrim           = 9
	PCodeAvatar         = 47
	PCodeGrass          = 95
	PCodeNewTree        = 111
	PCodeParticleSystem = 143
	PCodeTree           = 255

	MaterialStone   = 0
	MaterialMetal   = 1
	MaterialGlass   = 2
	MaterialWood    = 3
	MaterialFlesh   = 4
	MaterialPlastic = 5
	MaterialRubber  = 6
	MaterialLight   = 7
)

// ShapeParams holds the path and profile fields of ObjectUpdate.ObjectData
// (PathCurve … ProfileHollow) as the wire integers, with the template's
// names and types; the same values travel inside the
// ObjectUpdateCompressed Data blob. Convert with Shape and Params.
type ShapeParams struct {
	PathCurve        uint8
	ProfileCurve     uint8
	PathBegin        uint16
	PathEnd          uint16
	PathScaleX       uint8
	PathScaleY       uint8
	PathShearX       uint8 // a signed byte in meaning
	PathShearY       uint8 // a signed byte in meaning
	PathTwist        int8
	PathTwistBegin   int8
	PathRadiusOffset int8
	PathTaperX       int8
	PathTaperY       int8
	PathRevolutions  uint8
	PathSkew         int8
	ProfileBegin     uint16
	ProfileEnd       uint16
	ProfileHollow    uint16
}

// Shape is a prim's path and profile in natural units. The wire quanta (as
// in LibreMetaverse's Primitive packing):
//
//	PathBegin, ProfileBegin   0..1        u = round(v / 0.00002)
//	PathEnd, ProfileEnd       0..1        u = 50000 - round(v / 0.00002)   (so 1.0 travels as 0)
//	ProfileHollow             0..0.95     u = round(v / 0.00002)
//	PathScaleX, PathScaleY    0..2        u = 200 - round(v / 0.01)         (1.0 travels as 100)
//	PathShearX, PathShearY    -0.5..0.5   u = round(v / 0.01) as a signed byte
//	PathTwist, PathTwistBegin -1..1       round(v / 0.01)                   (1.0 = half a turn)
//	PathRadiusOffset, PathSkew -1..1      round(v / 0.01)
//	PathTaperX, PathTaperY    -1..1       round(v / 0.01)
//	PathRevolutions           1..4.8      u = round((v - 1) / 0.015)
//
// Params clamps values to what the wire integer can hold; Shape followed by
// Params returns the integers it started from.
type Shape struct {
	PathCurve        PathCurve
	ProfileCurve     ProfileCurve
	PathBegin        float32
	PathEnd          float32
	PathScaleX       float32
	PathScaleY       float32
	PathShearX       float32
	PathShearY       float32
	PathTwist        float32
	PathTwistBegin   float32
	PathRadiusOffset float32
	PathTaperX       float32
	PathTaperY       float32
	PathRevolutions  float32
	PathSkew         float32
	ProfileBegin     float32
	ProfileEnd       float32
	ProfileHollow    float32
}

// Quanta of the path and profile parameters.
const (
	CutQuanta    = 0.00002
	HollowQuanta = 0.00002
	ScaleQuanta  = 0.01
	ShearQuanta  = 0.01
	TwistQuanta  = 0.01
	TaperQuanta  = 0.01
	RevQuanta    = 0.015
)

// Params converts s to the wire integers.
func (s Shape) Params() ShapeParams {
	return ShapeParams{
		PathCurve:        uint8(s.PathCurve),
		ProfileCurve:     uint8(s.ProfileCurve),
		PathBegin:        uint16(roundClamp(float64(s.PathBegin)/CutQuanta, 0, math.MaxUint16)),
		PathEnd:          uint16(roundClamp(50000-math.Round(float64(s.PathEnd)/CutQuanta), 0, math.MaxUint16)),
		PathScaleX:       uint8(roundClamp(200-math.Round(float64(s.PathScaleX)/ScaleQuanta), 0, math.MaxUint8)),
		PathScaleY:       uint8(roundClamp(200-math.Round(float64(s.PathScaleY)/ScaleQuanta), 0, math.MaxUint8)),
		PathShearX:       uint8(int8(roundClamp(float64(s.PathShearX)/ShearQuanta, math.MinInt8, math.MaxInt8))),
		PathShearY:       uint8(int8(roundClamp(float64(s.PathShearY)/ShearQuanta, math.MinInt8, math.MaxInt8))),
		PathTwist:        s8(s.PathTwist, TwistQuanta),
		PathTwistBegin:   s8(s.PathTwistBegin, TwistQuanta),
		PathRadiusOffset: s8(s.PathRadiusOffset, TwistQuanta),
		PathTaperX:       s8(s.PathTaperX, TaperQuanta),
		PathTaperY:       s8(s.PathTaperY, TaperQuanta),
		PathRevolutions:  uint8(roundClamp((float64(s.PathRevolutions)-1)/RevQuanta, 0, math.MaxUint8)),
		PathSkew:         s8(s.PathSkew, TwistQuanta),
		ProfileBegin:     uint16(roundClamp(float64(s.ProfileBegin)/CutQuanta, 0, math.MaxUint16)),
		ProfileEnd:       uint16(roundClamp(50000-math.Round(float64(s.ProfileEnd)/CutQuanta), 0, math.MaxUint16)),
		ProfileHollow:    uint16(roundClamp(float64(s.ProfileHollow)/HollowQuanta, 0, math.MaxUint16)),
	}
}

func s8(v float32, q float64) int8 {
	return int8(roundClamp(float64(v)/q, math.MinInt8, math.MaxInt8))
}

// Shape converts the wire integers to natural values.
func (p ShapeParams) Shape() Shape {
	return Shape{
		PathCurve:        PathCurve(p.PathCurve),
		ProfileCurve:     ProfileCurve(p.ProfileCurve),
		PathBegin:        float32(float64(p.PathBegin) * CutQuanta),
		PathEnd:          float32(float64(50000-int(p.PathEnd)) * CutQuanta),
		PathScaleX:       float32(float64(200-int(p.PathScaleX)) * ScaleQuanta),
		PathScaleY:       float32(float64(200-int(p.PathScaleY)) * ScaleQuanta),
		PathShearX:       float32(float64(int8(p.PathShearX)) * ShearQuanta),
		PathShearY:       float32(float64(int8(p.PathShearY)) * ShearQuanta),
		PathTwist:        float32(float64(p.PathTwist) * TwistQuanta),
		PathTwistBegin:   float32(float64(p.PathTwistBegin) * TwistQuanta),
		PathRadiusOffset: float32(float64(p.PathRadiusOffset) * TwistQuanta),
		PathTaperX:       float32(float64(p.PathTaperX) * TaperQuanta),
		PathTaperY:       float32(float64(p.PathTaperY) * TaperQuanta),
		PathRevolutions:  float32(1 + float64(p.PathRevolutions)*RevQuanta),
		PathSkew:         float32(float64(p.PathSkew) * TwistQuanta),
		ProfileBegin:     float32(float64(p.ProfileBegin) * CutQuanta),
		ProfileEnd:       float32(float64(50000-int(p.ProfileEnd)) * CutQuanta),
		ProfileHollow:    float32(float64(p.ProfileHollow) * HollowQuanta),
	}
}

// shapeParamsLen is the size of the shape fields inside the
// ObjectUpdateCompressed Data blob.
const shapeParamsLen = 23

// appendCompressed appends p in the order of the ObjectUpdateCompressed Data
// blob: the path fields (PathCurve first), then the profile fields
// (ProfileCurve first). ObjectUpdate orders them differently (both curves
// first), which is the packet codec's business.
func (p *ShapeParams) appendCompressed(b []byte) []byte {
	b = append(b, p.PathCurve)
	b = appendU16(b, p.PathBegin)
	b = appendU16(b, p.PathEnd)
	b = append(b, p.PathScaleX, p.PathScaleY, p.PathShearX, p.PathShearY,
		uint8(p.PathTwist), uint8(p.PathTwistBegin), uint8(p.PathRadiusOffset),
		uint8(p.PathTaperX), uint8(p.PathTaperY), p.PathRevolutions, uint8(p.PathSkew), p.ProfileCurve)
	b = appendU16(b, p.ProfileBegin)
	b = appendU16(b, p.ProfileEnd)
	return appendU16(b, p.ProfileHollow)
}

func (r *reader) shapeCompressed() ShapeParams {
	p := r.take(shapeParamsLen, "path and profile")
	if p == nil {
		return ShapeParams{}
	}
	le16 := func(i int) uint16 { return uint16(p[i]) | uint16(p[i+1])<<8 }
	return ShapeParams{
		PathCurve: p[0], PathBegin: le16(1), PathEnd: le16(3),
		PathScaleX: p[5], PathScaleY: p[6], PathShearX: p[7], PathShearY: p[8],
		PathTwist: int8(p[9]), PathTwistBegin: int8(p[10]), PathRadiusOffset: int8(p[11]),
		PathTaperX: int8(p[12]), PathTaperY: int8(p[13]), PathRevolutions: p[14], PathSkew: int8(p[15]),
		ProfileCurve: p[16], ProfileBegin: le16(17), ProfileEnd: le16(19), ProfileHollow: le16(21),
	}
}

// PrimType names the basic prim shapes a builder offers.
type PrimType uint8

// Basic prim shapes.
const (
	PrimUnknown PrimType = iota
	PrimBox
	PrimCylinder
	PrimPrism
	PrimSphere
	PrimTorus
	PrimTube
	PrimRing
)

var primTypeNames = [...]string{"unknown", "box", "cylinder", "prism", "sphere", "torus", "tube", "ring"}

func (t PrimType) String() string {
	if int(t) < len(primTypeNames) {
		return primTypeNames[t]
	}
	return fmt.Sprintf("PrimType(%d)", uint8(t))
}

// NewShape returns the shape of the basic type t as a viewer's object panel
// sets it (uncut, solid, one revolution, no shear, twist or taper):
//
//	box       PathLine,   ProfileSquare,        scale (1, 1)
//	cylinder  PathLine,   ProfileCircle,        scale (1, 1)
//	prism     PathLine,   ProfileEqualTriangle, scale (1, 1)
//	sphere    PathCircle, ProfileHalfCircle,    scale (1, 1)
//	torus     PathCircle, ProfileCircle,        scale (1, 0.25)
//	tube      PathCircle, ProfileSquare,        scale (1, 0.25)
//	ring      PathCircle, ProfileEqualTriangle, scale (1, 0.25)
//
// Sphere, torus, tube and ring are conventionally rezzed turned 90° about Y.
// PrimUnknown and other values give the box.
func NewShape(t PrimType) Shape {
	s := Shape{PathCurve: PathLine, ProfileCurve: ProfileSquare, PathEnd: 1, ProfileEnd: 1,
		PathScaleX: 1, PathScaleY: 1, PathRevolutions: 1}
	switch t {
	case PrimCylinder:
		s.ProfileCurve = ProfileCircle
	case PrimPrism:
		s.ProfileCurve = ProfileEqualTriangle
	case PrimSphere:
		s.PathCurve, s.ProfileCurve = PathCircle, ProfileHalfCircle
	case PrimTorus:
		s.PathCurve, s.ProfileCurve, s.PathScaleY = PathCircle, ProfileCircle, 0.25
	case PrimTube:
		s.PathCurve, s.ProfileCurve, s.PathScaleY = PathCircle, ProfileSquare, 0.25
	case PrimRing:
		s.PathCurve, s.ProfileCurve, s.PathScaleY = PathCircle, ProfileEqualTriangle, 0.25
	}
	return s
}

// Type guesses which basic shape s is, by the rules viewers and
// LibreMetaverse use: the path and the profile shape, and for circular
// paths with a circle profile the Y scale (above 0.75 a sphere, else a
// torus).
func (s Shape) Type() PrimType {
	prof := s.ProfileCurve.Shape()
	switch s.PathCurve {
	case PathLine, PathFlexible:
		switch prof {
		case ProfileCircle:
			return PrimCylinder
		case ProfileSquare:
			return PrimBox
		case ProfileIsoTriangle, ProfileEqualTriangle, ProfileRightTriangle:
			return PrimPrism
		}
	case PathCircle:
		switch prof {
		case ProfileCircle:
			if s.PathScaleY > 0.75 {
				return PrimSphere
			}
			return PrimTorus
		case ProfileHalfCircle:
			return PrimSphere
		case ProfileEqualTriangle:
			return PrimRing
		case ProfileSquare:
			if s.PathScaleY <= 0.75 {
				return PrimTube
			}
		}
	case PathCircle2:
		if prof == ProfileCircle {
			return PrimSphere
		}
	}
	return PrimUnknown
}
