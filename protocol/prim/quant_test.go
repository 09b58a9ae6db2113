package prim

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFloatToU16Table(t *testing.T) {
	tests := []struct {
		v, lo, hi float32
		want      uint16
	}{
		{0, -128, 128, 0x7FFF}, // OpenSim's zero velocity in terse updates (capture: ff 7f)
		{-128, -128, 128, 0x0000},
		{128, -128, 128, 0xFFFF},
		{1000, -128, 128, 0xFFFF}, // clamped
		{-1000, -128, 128, 0x0000},
		{0, -1, 1, 0x7FFF},
		{1, -1, 1, 0xFFFF},
		{0.02117, -1, 1, 0x82B5}, // capture rotation z: b5 82
		{0.99976, -1, 1, 0xFFF7}, // capture rotation w: f7 ff
		{128, -128, 384, 0x7FFF}, // 32-byte ObjectData x: (128+128)/512
		{float32(math.NaN()), -64, 64, 0x7FFF},
		{float32(math.Inf(1)), -64, 64, 0xFFFF},
		{float32(math.Inf(-1)), -64, 64, 0x0000},
	}
	for _, tt := range tests {
		if got := FloatToU16(tt.v, tt.lo, tt.hi); got != tt.want {
			t.Errorf("FloatToU16(%g, %g, %g) = %#04x, want %#04x", tt.v, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestU16ToFloatTable(t *testing.T) {
	tests := []struct {
		u      uint16
		lo, hi float32
		want   float32
		tol    float64
	}{
		{0x7FFF, -128, 128, 0, 0}, // -0.00195 snaps to 0
		{0x8000, -128, 128, 0, 0}, // +0.00195 snaps to 0
		{0x0000, -128, 128, -128, 0},
		{0xFFFF, -128, 128, 128, 0},
		{0x8001, -128, 128, 0.005859, 1e-5},
		{0x82B5, -1, 1, 0.021164, 1e-5},
		{0xFFF7, -1, 1, 0.999756, 1e-5},
	}
	for _, tt := range tests {
		got := U16ToFloat(tt.u, tt.lo, tt.hi)
		if math.Abs(float64(got-tt.want)) > tt.tol {
			t.Errorf("U16ToFloat(%#04x, %g, %g) = %g, want %g", tt.u, tt.lo, tt.hi, got, tt.want)
		}
	}
}

// quantRanges are every range the object blobs pack with FloatToU16/U8.
var quantRanges = [][2]float32{
	{MotionU16PosXYMin, MotionU16PosXYMax}, {MotionU16PosZMin, MotionU16PosZMax},
	{MotionVecMin, MotionVecMax}, {MotionRotMin, MotionRotMax},
	{TerseVelocityMin, TerseVelocityMax}, {TerseAccelerationMin, TerseAccelerationMax},
}

// Every code decodes to a value that packs back to the same code, unless it
// decoded to zero (two codes straddle zero); then zero packs to one fixed
// code that is itself stable.
func TestU16CodesAreFixedPoints(t *testing.T) {
	for _, r := range quantRanges {
		zero := FloatToU16(0, r[0], r[1])
		if U16ToFloat(zero, r[0], r[1]) != 0 {
			t.Errorf("range %v: zero code %#04x does not decode to 0", r, zero)
		}
		for u := 0; u <= math.MaxUint16; u++ {
			v := U16ToFloat(uint16(u), r[0], r[1])
			got := FloatToU16(v, r[0], r[1])
			if got != uint16(u) && !(v == 0 && got == zero) {
				t.Fatalf("range %v: %#04x -> %g -> %#04x", r, u, v, got)
			}
		}
	}
}

func TestU8CodesAreFixedPoints(t *testing.T) {
	for _, r := range quantRanges {
		zero := FloatToU8(0, r[0], r[1])
		for u := 0; u <= math.MaxUint8; u++ {
			v := U8ToFloat(uint8(u), r[0], r[1])
			got := FloatToU8(v, r[0], r[1])
			if got != uint8(u) && !(v == 0 && got == zero) {
				t.Fatalf("range %v: %#02x -> %g -> %#02x", r, u, v, got)
			}
		}
	}
}

// The packing error is at most one step (hi-lo)/65535 (U16) or
// (hi-lo)/255 (U8) for values inside the range, and at most two steps
// within two steps of zero (where a code snaps to zero).
func TestQuantizationErrorBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, r := range quantRanges {
		lo, hi := float64(r[0]), float64(r[1])
		step16, step8 := (hi-lo)/65535, (hi-lo)/255
		bound := func(v float32, step float64) float64 {
			if math.Abs(float64(v)) < 2*step {
				return 2 * step * 1.001
			}
			return step * 1.001
		}
		for i := range 40000 {
			v := float32(lo + rng.Float64()*(hi-lo))
			if i%4 == 0 { // also probe close to zero
				v = float32((rng.Float64()*4 - 2) * step8)
			}
			if e := math.Abs(float64(U16ToFloat(FloatToU16(v, r[0], r[1]), r[0], r[1]) - v)); e > bound(v, step16) {
				t.Fatalf("range %v: U16 error %g for %g exceeds its bound (step %g)", r, e, v, step16)
			}
			if e := math.Abs(float64(U8ToFloat(FloatToU8(v, r[0], r[1]), r[0], r[1]) - v)); e > bound(v, step8) {
				t.Fatalf("range %v: U8 error %g for %g exceeds its bound (step %g)", r, e, v, step8)
			}
		}
	}
}

func TestTextureEntryQuantization(t *testing.T) {
	for s := math.MinInt16; s <= math.MaxInt16; s++ {
		if got := teOffset(teOffsetFloat(int16(s))); got != int16(s) {
			t.Fatalf("offset %d -> %g -> %d", s, teOffsetFloat(int16(s)), got)
		}
		if got := teRotation(teRotationFloat(int16(s))); got != int16(s) {
			t.Fatalf("rotation %d -> %g -> %d", s, teRotationFloat(int16(s)), got)
		}
	}
	for g := range 256 {
		if got := teGlow(teGlowFloat(uint8(g))); got != uint8(g) {
			t.Fatalf("glow %d -> %d", g, got)
		}
	}
	tests := []struct {
		name string
		got  int64
		want int64
	}{
		{"offset 1", int64(teOffset(1)), 32767},
		{"offset -1", int64(teOffset(-1)), -32767},
		{"offset 0.5", int64(teOffset(0.5)), 16384},
		{"offset 7 clamps", int64(teOffset(7)), 32767},
		{"rotation π/2", int64(teRotation(math.Pi / 2)), 8192},
		{"rotation -π/2", int64(teRotation(-math.Pi / 2)), -8192},
		{"rotation π", int64(teRotation(math.Pi)), 16384},
		{"rotation 2π wraps", int64(teRotation(2 * math.Pi)), 0},
		{"rotation -2π", int64(teRotation(-2 * math.Pi)), -32768},
		{"rotation 2π-ε", int64(teRotation(2*math.Pi - 1e-4)), 32767},
		{"rotation 5π/2 wraps", int64(teRotation(5 * math.Pi / 2)), 8192},
		{"rotation -5π/2 wraps", int64(teRotation(-5 * math.Pi / 2)), -8192},
		{"rotation NaN", int64(teRotation(float32(math.NaN()))), 0},
		{"glow 1", int64(teGlow(1)), 255},
		{"glow 0.5", int64(teGlow(0.5)), 128},
		{"glow 2 clamps", int64(teGlow(2)), 255},
		{"glow -1 clamps", int64(teGlow(-1)), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	// Error bounds: half a quantum for offsets in [-1, 1] and rotations
	// (modulo a turn).
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		o := float32(rng.Float64()*2 - 1)
		if e := math.Abs(float64(teOffsetFloat(teOffset(o)) - o)); e > 0.5/32767+1e-7 {
			t.Fatalf("offset %g error %g", o, e)
		}
		r := float32(rng.Float64()*20 - 10)
		d := math.Mod(float64(teRotationFloat(teRotation(r))-r), 2*math.Pi)
		d = math.Min(math.Abs(d), 2*math.Pi-math.Abs(d))
		if d > math.Pi/32768+1e-5 {
			t.Fatalf("rotation %g error %g", r, d)
		}
	}
}
