package prim

import (
	"fmt"

	"ritual"
)

// Ranges of the U16-quantized quantities in a Terse blob.
const (
	TerseVelocityMin, TerseVelocityMax         = -128, 128
	TerseAccelerationMin, TerseAccelerationMax = -64, 64
	TerseAngularMin, TerseAngularMax           = -64, 64
)

// Terse blob lengths.
const (
	TerseLenPrim   = 44
	TerseLenAvatar = 60
)

// Terse is the Data field of ImprovedTerseObjectUpdate.ObjectData
// (PROTOCOL.md 5.7), 44 bytes for a prim or 60 for an avatar:
//
//	LocalID U32, State U8, IsAvatar U8,
//	[CollisionPlane 4×F32 when IsAvatar],
//	Position 3×F32,
//	Velocity 3×U16 (±128), Acceleration 3×U16 (±64),
//	Rotation 4×U16 (±1; x, y, z, w), AngularVelocity 3×U16 (±64)
//
// The U16 values are packed with FloatToU16 and read with U16ToFloat.
// Rotation is sent as given (all four components), so callers pass a unit
// quaternion.
type Terse struct {
	LocalID         uint32
	State           uint8 // attachment point (nibble-swapped) for attachments
	IsAvatar        bool  // adds CollisionPlane
	CollisionPlane  ritual.Vector4
	Position        ritual.Vector3
	Velocity        ritual.Vector3
	Acceleration    ritual.Vector3
	Rotation        ritual.Quaternion
	AngularVelocity ritual.Vector3
}

// Len returns the encoded length of t.
func (t *Terse) Len() int {
	if t.IsAvatar {
		return TerseLenAvatar
	}
	return TerseLenPrim
}

// AppendTo appends the Data blob to b.
func (t *Terse) AppendTo(b []byte) []byte {
	b = appendU32(b, t.LocalID)
	b = append(b, t.State, 0)
	if t.IsAvatar {
		b[len(b)-1] = 1
		b = appendVec4(b, t.CollisionPlane)
	}
	b = appendVec3(b, t.Position)
	b = appendVecU16(b, t.Velocity, TerseVelocityMin, TerseVelocityMax)
	b = appendVecU16(b, t.Acceleration, TerseAccelerationMin, TerseAccelerationMax)
	b = appendQuatU16(b, t.Rotation)
	return appendVecU16(b, t.AngularVelocity, TerseAngularMin, TerseAngularMax)
}

// Decode fills t from a Data blob. Its length must agree with the IsAvatar
// byte (any non-zero value means an avatar).
func (t *Terse) Decode(b []byte) error {
	*t = Terse{}
	r := reader{b: b, blob: "ImprovedTerseObjectUpdate.Data"}
	if len(b) != TerseLenPrim && len(b) != TerseLenAvatar {
		return decodeErr(r.blob, "length", 0, fmt.Errorf("%w: %d bytes (want %d or %d)", ErrLength, len(b), TerseLenPrim, TerseLenAvatar))
	}
	t.LocalID = r.u32("LocalID")
	t.State = r.u8("State")
	t.IsAvatar = r.u8("IsAvatar") != 0
	if t.IsAvatar != (len(b) == TerseLenAvatar) {
		return decodeErr(r.blob, "IsAvatar", 5, fmt.Errorf("%w: IsAvatar %d in a %d-byte blob", ErrLength, b[5], len(b)))
	}
	if t.IsAvatar {
		t.CollisionPlane = r.vec4("CollisionPlane")
	}
	t.Position = r.vec3("Position")
	t.Velocity = r.vecU16("Velocity", TerseVelocityMin, TerseVelocityMax)
	t.Acceleration = r.vecU16("Acceleration", TerseAccelerationMin, TerseAccelerationMax)
	t.Rotation = r.quatU16("Rotation")
	t.AngularVelocity = r.vecU16("AngularVelocity", TerseAngularMin, TerseAngularMax)
	return r.done()
}
