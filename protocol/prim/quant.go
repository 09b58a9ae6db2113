package prim

import "math"

// quantSlack absorbs float32 rounding when a decoded value is packed again, so
// that FloatToU16(U16ToFloat(u)) == u: a float32 carries 24 significant bits,
// enough to put a decoded value up to 2^-8 of a step below its code. Values
// are otherwise truncated, as OpenSimulator packs them (zero in ±128 packs to
// 0x7FFF, as in the recorded ImprovedTerseObjectUpdate).
const quantSlack = 1.0 / 64

// FloatToU16 packs v from the range [lo, hi] into a U16 the way the object
// messages carry quantized vectors and rotations (ObjectUpdate's 32- and
// 48-byte ObjectData, ImprovedTerseObjectUpdate's Data):
// u = trunc((v-lo)/(hi-lo) × 65535), clamped to 0..65535. NaN packs as 0.
//
// Unpacked again with U16ToFloat, a value in range comes back within one
// step (hi-lo)/65535 of itself, or within two steps close to zero, where
// the code below zero snaps to exactly zero.
func FloatToU16(v, lo, hi float32) uint16 { return uint16(quantize(v, lo, hi, 65535)) }

// U16ToFloat unpacks a FloatToU16 value: lo + u·(hi-lo)/65535, with results
// within one step (hi-lo)/65535 of zero snapped to exactly zero, so that a
// resting object reads as resting.
func U16ToFloat(u uint16, lo, hi float32) float32 { return dequantize(float64(u), lo, hi, 65535) }

// FloatToU8 packs v from [lo, hi] into a byte (ObjectUpdate's 16-byte
// ObjectData): trunc((v-lo)/(hi-lo) × 255), clamped to 0..255.
func FloatToU8(v, lo, hi float32) uint8 { return uint8(quantize(v, lo, hi, 255)) }

// U8ToFloat unpacks a FloatToU8 value: lo + u·(hi-lo)/255, snapped to zero
// within one step of it.
func U8ToFloat(u uint8, lo, hi float32) float32 { return dequantize(float64(u), lo, hi, 255) }

func quantize(v, lo, hi float32, top float64) uint32 {
	if v != v {
		v = 0
	}
	x := (float64(v) - float64(lo)) / (float64(hi) - float64(lo)) * top
	if !(x > 0) { // also catches NaN from a degenerate range
		return 0
	}
	if x >= top {
		return uint32(top)
	}
	return uint32(math.Floor(x + quantSlack))
}

func dequantize(u float64, lo, hi float32, top float64) float32 {
	step := (float64(hi) - float64(lo)) / top
	v := float64(lo) + u*step
	if math.Abs(v) < step {
		v = 0
	}
	return float32(v)
}

// TextureEntry face values (5.4): offsets and rotation travel as S16, glow
// as a byte.

// teOffset packs a texture offset: round(o × 32767), clamped to the S16
// range (so every S16 decodes and packs back to itself). NaN packs as 0.
func teOffset(o float32) int16 { return int16(roundClamp(float64(o)*32767, -32768, 32767)) }

func teOffsetFloat(s int16) float32 { return float32(float64(s) / 32767) }

// teRotation packs a texture rotation in radians: round(angle/2π × 32768)
// as an S16. The S16 range covers two turns, [-2π, 2π); codes outside it are
// taken modulo 32768 (one turn), so every S16 packs back to itself and other
// angles keep their direction.
func teRotation(r float32) int16 {
	x := float64(r)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	if math.Abs(x) > 1e9 {
		x = math.Mod(x, 2*math.Pi)
	}
	k := int64(math.Round(x / (2 * math.Pi) * 32768))
	if k < math.MinInt16 || k > math.MaxInt16 {
		k %= 32768
	}
	return int16(k)
}

func teRotationFloat(s int16) float32 { return float32(float64(s) / 32768 * 2 * math.Pi) }

// teGlow packs glow 0..1 into a byte: round(g × 255), clamped.
func teGlow(g float32) uint8 { return uint8(roundClamp(float64(g)*255, 0, 255)) }

func teGlowFloat(b uint8) float32 { return float32(float64(b) / 255) }

// roundClamp rounds x half away from zero and clamps it to [lo, hi]; NaN
// gives 0 clamped.
func roundClamp(x, lo, hi float64) int64 {
	if x != x {
		x = 0
	}
	x = math.Round(x)
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	return int64(x)
}
