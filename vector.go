package ritual

import (
	"fmt"
	"math"
)

// Vector3 is LLVector3: three little-endian F32 on the wire.
type Vector3 struct{ X, Y, Z float32 }

// Vector3d is LLVector3d: three little-endian F64 on the wire.
type Vector3d struct{ X, Y, Z float64 }

// Vector4 is LLVector4: four little-endian F32 on the wire.
type Vector4 struct{ X, Y, Z, W float32 }

// Quaternion is LLQuaternion. On the wire only X, Y and Z travel (three
// F32); W is implied as sqrt(max(0, 1-x²-y²-z²)), so senders normalise and
// flip the sign to make W non-negative (see Packed).
type Quaternion struct{ X, Y, Z, W float32 }

// IdentityQuaternion is the rotation that does nothing.
var IdentityQuaternion = Quaternion{W: 1}

// String formats v as <x, y, z>, the form viewers show.
func (v Vector3) String() string { return fmt.Sprintf("<%g, %g, %g>", v.X, v.Y, v.Z) }

// String formats v as <x, y, z>.
func (v Vector3d) String() string { return fmt.Sprintf("<%g, %g, %g>", v.X, v.Y, v.Z) }

// String formats v as <x, y, z, w>.
func (v Vector4) String() string { return fmt.Sprintf("<%g, %g, %g, %g>", v.X, v.Y, v.Z, v.W) }

// String formats q as <x, y, z, w>.
func (q Quaternion) String() string { return fmt.Sprintf("<%g, %g, %g, %g>", q.X, q.Y, q.Z, q.W) }

// Packed returns q normalised with W >= 0, the form whose X, Y, Z determine
// it on the wire.
func (q Quaternion) Packed() Quaternion {
	n := math.Sqrt(float64(q.X)*float64(q.X) + float64(q.Y)*float64(q.Y) + float64(q.Z)*float64(q.Z) + float64(q.W)*float64(q.W))
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return IdentityQuaternion
	}
	s := float32(1 / n)
	if q.W < 0 {
		s = -s
	}
	return Quaternion{q.X * s, q.Y * s, q.Z * s, q.W * s}
}

// QuaternionFromXYZ rebuilds a unit quaternion from its wire form, with
// W = sqrt(max(0, 1-x²-y²-z²)).
func QuaternionFromXYZ(x, y, z float32) Quaternion {
	t := 1 - float64(x)*float64(x) - float64(y)*float64(y) - float64(z)*float64(z)
	var w float32
	if t > 0 {
		w = float32(math.Sqrt(t))
	}
	return Quaternion{x, y, z, w}
}
