package prim

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// The box of object_update_box.json: the wire fields in the packet (found by
// walking the block) equal NewShape(PrimBox).Params(), and decode to a box.
func TestShapeVectorObjectUpdateBox(t *testing.T) {
	v := loadVector(t, "object_update_box.json")
	var stated struct {
		Block map[string]any `json:"ObjectData[0]"`
	}
	dec := json.NewDecoder(bytes.NewReader(v.Fields))
	dec.UseNumber()
	if err := dec.Decode(&stated); err != nil {
		t.Fatal(err)
	}
	fields, _ := objectUpdate(t, unhex(t, v.DecodedHex)[6:])
	p := ShapeParams{
		PathCurve: fields["PathCurve"][0], ProfileCurve: fields["ProfileCurve"][0],
		PathBegin: le16(fields["PathBegin"]), PathEnd: le16(fields["PathEnd"]),
		PathScaleX: fields["PathScaleX"][0], PathScaleY: fields["PathScaleY"][0],
		PathShearX: fields["PathShearX"][0], PathShearY: fields["PathShearY"][0],
		PathTwist: int8(fields["PathTwist"][0]), PathTwistBegin: int8(fields["PathTwistBegin"][0]),
		PathRadiusOffset: int8(fields["PathRadiusOffset"][0]), PathTaperX: int8(fields["PathTaperX"][0]),
		PathTaperY: int8(fields["PathTaperY"][0]), PathRevolutions: fields["PathRevolutions"][0],
		PathSkew: int8(fields["PathSkew"][0]), ProfileBegin: le16(fields["ProfileBegin"]),
		ProfileEnd: le16(fields["ProfileEnd"]), ProfileHollow: le16(fields["ProfileHollow"]),
	}
	// The packet agrees with the vector's stated field values.
	for name, got := range map[string]int64{
		"PathCurve": int64(p.PathCurve), "ProfileCurve": int64(p.ProfileCurve), "PathBegin": int64(p.PathBegin),
		"PathEnd": int64(p.PathEnd), "PathScaleX": int64(p.PathScaleX), "PathScaleY": int64(p.PathScaleY),
		"PathShearX": int64(p.PathShearX), "PathTwist": int64(p.PathTwist), "PathRevolutions": int64(p.PathRevolutions),
		"ProfileBegin": int64(p.ProfileBegin), "ProfileEnd": int64(p.ProfileEnd), "ProfileHollow": int64(p.ProfileHollow),
	} {
		n, ok := stated.Block[name].(json.Number)
		want, err := n.Int64()
		if !ok || err != nil || got != want {
			t.Errorf("%s = %d, vector states %v", name, got, stated.Block[name])
		}
	}
	if want := NewShape(PrimBox).Params(); p != want {
		t.Fatalf("packet shape %+v, NewShape(PrimBox).Params() %+v", p, want)
	}
	s := p.Shape()
	if s.Type() != PrimBox || s.PathScaleX != 1 || s.PathScaleY != 1 || s.PathEnd != 1 || s.ProfileEnd != 1 || s.PathRevolutions != 1 {
		t.Fatalf("decoded %+v (type %v)", s, s.Type())
	}
}

func TestShapeQuanta(t *testing.T) {
	s := Shape{
		PathCurve: PathCircle, ProfileCurve: ProfileSquare | HoleCircle,
		PathBegin: 0.25, PathEnd: 0.75, PathScaleX: 0.5, PathScaleY: 2,
		PathShearX: -0.5, PathShearY: 0.25, PathTwist: 1, PathTwistBegin: -1,
		PathRadiusOffset: 0.3, PathTaperX: -0.3, PathTaperY: 1, PathRevolutions: 2, PathSkew: -0.1,
		ProfileBegin: 0.1, ProfileEnd: 0.9, ProfileHollow: 0.95,
	}
	want := ShapeParams{
		PathCurve: 0x20, ProfileCurve: 0x11,
		PathBegin: 12500, PathEnd: 12500, PathScaleX: 150, PathScaleY: 0,
		PathShearX: 0xCE, PathShearY: 25, PathTwist: 100, PathTwistBegin: -100,
		PathRadiusOffset: 30, PathTaperX: -30, PathTaperY: 100, PathRevolutions: 67, PathSkew: -10,
		ProfileBegin: 5000, ProfileEnd: 5000, ProfileHollow: 47500,
	}
	got := s.Params()
	if got != want {
		t.Fatalf("Params:\n got %+v\nwant %+v", got, want)
	}
	back := got.Shape()
	if back.PathRevolutions != float32(1+67*0.015) {
		t.Errorf("revolutions %g", back.PathRevolutions)
	}
	if back.Params() != want {
		t.Fatalf("Shape().Params() = %+v", back.Params())
	}
	// Out-of-range values clamp to what the wire holds.
	clamped := Shape{PathBegin: -1, PathEnd: 5, PathScaleX: -3, PathShearX: 9, PathTwist: -9,
		PathRevolutions: 100, ProfileHollow: 2}.Params()
	if clamped.PathBegin != 0 || clamped.PathEnd != 0 || clamped.PathScaleX != 255 || clamped.PathShearX != 127 ||
		clamped.PathTwist != -128 || clamped.PathRevolutions != 255 || clamped.ProfileHollow != 65535 {
		t.Fatalf("clamped %+v", clamped)
	}
	// NaN becomes the value that travels as 0.
	nan := float32(math.NaN())
	if p := (Shape{PathBegin: nan, PathTwist: nan}).Params(); p.PathBegin != 0 || p.PathTwist != 0 {
		t.Fatalf("NaN %+v", p)
	}
}

// Every wire integer converts to a natural value and back to itself.
func TestShapeParamsFixedPoints(t *testing.T) {
	for u := 0; u <= math.MaxUint16; u++ {
		p := ShapeParams{PathBegin: uint16(u), PathEnd: uint16(u), ProfileBegin: uint16(u), ProfileEnd: uint16(u), ProfileHollow: uint16(u)}
		if u <= math.MaxUint8 {
			p.PathScaleX, p.PathScaleY, p.PathShearX, p.PathShearY, p.PathRevolutions = uint8(u), uint8(u), uint8(u), uint8(u), uint8(u)
			p.PathTwist, p.PathTwistBegin, p.PathRadiusOffset, p.PathTaperX, p.PathTaperY, p.PathSkew = int8(u), int8(u), int8(u), int8(u), int8(u), int8(u)
			p.PathCurve, p.ProfileCurve = uint8(u), uint8(u)
		}
		if got := p.Shape().Params(); got != p {
			t.Fatalf("%+v -> %+v -> %+v", p, p.Shape(), got)
		}
	}
}

func TestShapePresets(t *testing.T) {
	tests := []struct {
		typ  PrimType
		want ShapeParams
	}{
		{PrimBox, ShapeParams{PathCurve: 0x10, ProfileCurve: 0x01, PathScaleX: 100, PathScaleY: 100}},
		{PrimCylinder, ShapeParams{PathCurve: 0x10, ProfileCurve: 0x00, PathScaleX: 100, PathScaleY: 100}},
		{PrimPrism, ShapeParams{PathCurve: 0x10, ProfileCurve: 0x03, PathScaleX: 100, PathScaleY: 100}},
		{PrimSphere, ShapeParams{PathCurve: 0x20, ProfileCurve: 0x05, PathScaleX: 100, PathScaleY: 100}},
		{PrimTorus, ShapeParams{PathCurve: 0x20, ProfileCurve: 0x00, PathScaleX: 100, PathScaleY: 175}},
		{PrimTube, ShapeParams{PathCurve: 0x20, ProfileCurve: 0x01, PathScaleX: 100, PathScaleY: 175}},
		{PrimRing, ShapeParams{PathCurve: 0x20, ProfileCurve: 0x03, PathScaleX: 100, PathScaleY: 175}},
	}
	for _, tt := range tests {
		s := NewShape(tt.typ)
		if got := s.Params(); got != tt.want {
			t.Errorf("%v: %+v, want %+v", tt.typ, got, tt.want)
		}
		if got := tt.want.Shape().Type(); got != tt.typ {
			t.Errorf("%v: Type() = %v", tt.typ, got)
		}
	}
	if NewShape(PrimUnknown) != NewShape(PrimBox) {
		t.Error("unknown type should give the box")
	}
	if (Shape{PathCurve: PathTest}).Type() != PrimUnknown || PrimType(99).String() != "PrimType(99)" {
		t.Error("unknown shapes")
	}
}

// The compressed blob orders the profile curve after the path fields.
func TestShapeCompressedOrder(t *testing.T) {
	p := ShapeParams{PathCurve: 0x20, ProfileCurve: 0x15, PathBegin: 0x0102, PathEnd: 0x0304,
		PathScaleX: 0x05, PathScaleY: 0x06, PathShearX: 0x07, PathShearY: 0x08, PathTwist: 0x09, PathTwistBegin: 0x0a,
		PathRadiusOffset: 0x0b, PathTaperX: 0x0c, PathTaperY: 0x0d, PathRevolutions: 0x0e, PathSkew: -1,
		ProfileBegin: 0x1112, ProfileEnd: 0x1314, ProfileHollow: 0x1516}
	want := unhex(t, "20 0201 0403 05 06 07 08 09 0a 0b 0c 0d 0e ff 15 1211 1413 1615")
	got := p.appendCompressed(nil)
	if !bytes.Equal(got, want) || len(got) != shapeParamsLen {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	r := reader{b: got}
	if back := r.shapeCompressed(); back != p || r.done() != nil {
		t.Fatalf("read back %+v", back)
	}
}
