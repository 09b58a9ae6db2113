package prim

import (
	"fmt"

	"ritual"
)

// MotionForm selects one of the layouts of ObjectUpdate.ObjectData.ObjectData.
type MotionForm uint8

const (
	// MotionFloat is the 60-byte layout of F32 values (76 with a collision
	// plane). OpenSimulator sends it for every prim (60) and avatar (76).
	MotionFloat MotionForm = iota
	// MotionU16 is the 32-byte layout of U16-quantized values (48 with a
	// collision plane), packed with FloatToU16 over the ranges below.
	MotionU16
	// MotionU8 is the 16-byte layout of U8-quantized values. It has no
	// collision-plane variant: a plane is not sent in this form.
	MotionU8
)

func (f MotionForm) String() string {
	switch f {
	case MotionFloat:
		return "float"
	case MotionU16:
		return "u16"
	case MotionU8:
		return "u8"
	}
	return fmt.Sprintf("MotionForm(%d)", uint8(f))
}

// Ranges of the quantized motion layouts (MotionU16, MotionU8).
const (
	// MotionU16 position: x and y in [-128, 384], z in [-256, 768].
	MotionU16PosXYMin, MotionU16PosXYMax = -0.5 * 256, 1.5 * 256
	MotionU16PosZMin, MotionU16PosZMax   = -256, 3 * 256
	// MotionU16 and MotionU8 velocity, acceleration and angular velocity, and
	// MotionU8 position: [-256, 256].
	MotionVecMin, MotionVecMax = -256, 256
	// Rotation components in both quantized layouts: [-1, 1].
	MotionRotMin, MotionRotMax = -1, 1
)

// Motion is the movement state carried by the ObjectData field of
// ObjectUpdate.ObjectData (PROTOCOL.md 5.2), whose layout is told by its
// length: 76 (MotionFloat with CollisionPlane), 60 (MotionFloat), 48
// (MotionU16 with CollisionPlane), 32 (MotionU16) or 16 (MotionU8).
//
// The zero Motion encodes as the 60-byte form of an object at rest at the
// origin with rotation (0,0,0,1).
type Motion struct {
	Form MotionForm
	// HasCollisionPlane adds CollisionPlane (avatars: the plane under the
	// feet, (0,0,0,1) when standing on nothing in particular).
	HasCollisionPlane bool
	CollisionPlane    ritual.Vector4

	Position     ritual.Vector3
	Velocity     ritual.Vector3
	Acceleration ritual.Vector3
	// Rotation: the F32 form carries X, Y, Z with W implied (see
	// AppendTo); the quantized forms carry all four components.
	Rotation        ritual.Quaternion
	AngularVelocity ritual.Vector3
}

// Motion blob lengths by layout.
const (
	MotionLenFloatPlane = 76
	MotionLenFloat      = 60
	MotionLenU16Plane   = 48
	MotionLenU16        = 32
	MotionLenU8         = 16
)

// Len returns the encoded length of m.
func (m *Motion) Len() int {
	n := MotionLenFloat
	switch m.Form {
	case MotionU16:
		n = MotionLenU16
	case MotionU8:
		return MotionLenU8
	}
	if m.HasCollisionPlane {
		n += 16
	}
	return n
}

// AppendTo appends the ObjectData blob for m to b in m.Form.
//
// In the F32 form the rotation is written as X, Y, Z of the quaternion with
// W ≥ 0 (the sign of all four is flipped when W < 0, which is the same
// rotation); a quaternion more than 1e-3 from unit length is normalised
// first, and a zero or non-finite one is sent as identity. Values already of
// unit length are written unchanged, so a decoded blob re-encodes to the same
// bytes. An unknown Form encodes as MotionFloat.
func (m *Motion) AppendTo(b []byte) []byte {
	switch m.Form {
	case MotionU16:
		if m.HasCollisionPlane {
			b = appendVec4(b, m.CollisionPlane)
		}
		b = appendU16(b, FloatToU16(m.Position.X, MotionU16PosXYMin, MotionU16PosXYMax))
		b = appendU16(b, FloatToU16(m.Position.Y, MotionU16PosXYMin, MotionU16PosXYMax))
		b = appendU16(b, FloatToU16(m.Position.Z, MotionU16PosZMin, MotionU16PosZMax))
		b = appendVecU16(b, m.Velocity, MotionVecMin, MotionVecMax)
		b = appendVecU16(b, m.Acceleration, MotionVecMin, MotionVecMax)
		b = appendQuatU16(b, m.Rotation)
		return appendVecU16(b, m.AngularVelocity, MotionVecMin, MotionVecMax)
	case MotionU8:
		b = appendVecU8(b, m.Position)
		b = appendVecU8(b, m.Velocity)
		b = appendVecU8(b, m.Acceleration)
		q := m.Rotation
		b = append(b, FloatToU8(q.X, MotionRotMin, MotionRotMax), FloatToU8(q.Y, MotionRotMin, MotionRotMax),
			FloatToU8(q.Z, MotionRotMin, MotionRotMax), FloatToU8(q.W, MotionRotMin, MotionRotMax))
		return appendVecU8(b, m.AngularVelocity)
	}
	if m.HasCollisionPlane {
		b = appendVec4(b, m.CollisionPlane)
	}
	b = appendVec3(b, m.Position)
	b = appendVec3(b, m.Velocity)
	b = appendVec3(b, m.Acceleration)
	q := wireRotation(m.Rotation)
	b = appendF32(appendF32(appendF32(b, q.X), q.Y), q.Z)
	return appendVec3(b, m.AngularVelocity)
}

// Decode fills m from an ObjectData blob, choosing the layout by its length.
func (m *Motion) Decode(b []byte) error {
	*m = Motion{}
	r := reader{b: b, blob: "ObjectUpdate.ObjectData"}
	switch len(b) {
	case MotionLenFloatPlane, MotionLenU16Plane:
		m.HasCollisionPlane = true
		m.CollisionPlane = r.vec4("CollisionPlane")
	case MotionLenFloat, MotionLenU16, MotionLenU8:
	default:
		return decodeErr(r.blob, "length", 0, fmt.Errorf("%w: %d bytes (want 16, 32, 48, 60 or 76)", ErrLength, len(b)))
	}
	switch len(b) {
	case MotionLenFloatPlane, MotionLenFloat:
		m.Form = MotionFloat
		m.Position = r.vec3("Position")
		m.Velocity = r.vec3("Velocity")
		m.Acceleration = r.vec3("Acceleration")
		x, y, z := r.f32("Rotation"), r.f32("Rotation"), r.f32("Rotation")
		m.Rotation = ritual.QuaternionFromXYZ(x, y, z)
		m.AngularVelocity = r.vec3("AngularVelocity")
	case MotionLenU16Plane, MotionLenU16:
		m.Form = MotionU16
		m.Position.X = U16ToFloat(r.u16("Position"), MotionU16PosXYMin, MotionU16PosXYMax)
		m.Position.Y = U16ToFloat(r.u16("Position"), MotionU16PosXYMin, MotionU16PosXYMax)
		m.Position.Z = U16ToFloat(r.u16("Position"), MotionU16PosZMin, MotionU16PosZMax)
		m.Velocity = r.vecU16("Velocity", MotionVecMin, MotionVecMax)
		m.Acceleration = r.vecU16("Acceleration", MotionVecMin, MotionVecMax)
		m.Rotation = r.quatU16("Rotation")
		m.AngularVelocity = r.vecU16("AngularVelocity", MotionVecMin, MotionVecMax)
	case MotionLenU8:
		m.Form = MotionU8
		m.Position = r.vecU8("Position")
		m.Velocity = r.vecU8("Velocity")
		m.Acceleration = r.vecU8("Acceleration")
		m.Rotation.X = U8ToFloat(r.u8("Rotation"), MotionRotMin, MotionRotMax)
		m.Rotation.Y = U8ToFloat(r.u8("Rotation"), MotionRotMin, MotionRotMax)
		m.Rotation.Z = U8ToFloat(r.u8("Rotation"), MotionRotMin, MotionRotMax)
		m.Rotation.W = U8ToFloat(r.u8("Rotation"), MotionRotMin, MotionRotMax)
		m.AngularVelocity = r.vecU8("AngularVelocity")
	}
	return r.done()
}

// wireRotation returns the quaternion whose X, Y, Z go on the wire where W
// is implied: W made non-negative, normalised only when off unit length.
func wireRotation(q ritual.Quaternion) ritual.Quaternion {
	n2 := float64(q.X)*float64(q.X) + float64(q.Y)*float64(q.Y) + float64(q.Z)*float64(q.Z) + float64(q.W)*float64(q.W)
	if n2 < 0.998 || n2 > 1.002 || n2 != n2 {
		return q.Packed()
	}
	if q.W < 0 { // 0-x rather than -x: no negative zeros on the wire
		return ritual.Quaternion{X: 0 - q.X, Y: 0 - q.Y, Z: 0 - q.Z, W: 0 - q.W}
	}
	return q
}

func appendVecU16(b []byte, v ritual.Vector3, lo, hi float32) []byte {
	b = appendU16(b, FloatToU16(v.X, lo, hi))
	b = appendU16(b, FloatToU16(v.Y, lo, hi))
	return appendU16(b, FloatToU16(v.Z, lo, hi))
}

func appendQuatU16(b []byte, q ritual.Quaternion) []byte {
	b = appendU16(b, FloatToU16(q.X, MotionRotMin, MotionRotMax))
	b = appendU16(b, FloatToU16(q.Y, MotionRotMin, MotionRotMax))
	b = appendU16(b, FloatToU16(q.Z, MotionRotMin, MotionRotMax))
	return appendU16(b, FloatToU16(q.W, MotionRotMin, MotionRotMax))
}

func appendVecU8(b []byte, v ritual.Vector3) []byte {
	return append(b, FloatToU8(v.X, MotionVecMin, MotionVecMax), FloatToU8(v.Y, MotionVecMin, MotionVecMax),
		FloatToU8(v.Z, MotionVecMin, MotionVecMax))
}

func (r *reader) vecU16(field string, lo, hi float32) ritual.Vector3 {
	return ritual.Vector3{X: U16ToFloat(r.u16(field), lo, hi), Y: U16ToFloat(r.u16(field), lo, hi), Z: U16ToFloat(r.u16(field), lo, hi)}
}

func (r *reader) quatU16(field string) ritual.Quaternion {
	return ritual.Quaternion{
		X: U16ToFloat(r.u16(field), MotionRotMin, MotionRotMax),
		Y: U16ToFloat(r.u16(field), MotionRotMin, MotionRotMax),
		Z: U16ToFloat(r.u16(field), MotionRotMin, MotionRotMax),
		W: U16ToFloat(r.u16(field), MotionRotMin, MotionRotMax),
	}
}

func (r *reader) vecU8(field string) ritual.Vector3 {
	return ritual.Vector3{X: U8ToFloat(r.u8(field), MotionVecMin, MotionVecMax), Y: U8ToFloat(r.u8(field), MotionVecMin, MotionVecMax), Z: U8ToFloat(r.u8(field), MotionVecMin, MotionVecMax)}
}
