package prim

import (
	"encoding/binary"
	"fmt"
	"math"

	"ritual"
)

// reader walks a blob with bounds checks. The first failure sticks: later
// reads return zero values and leave the recorded error in place, so a
// decoder can read a run of fixed fields and check once.
type reader struct {
	b    []byte
	off  int
	blob string
	err  error
}

func (r *reader) left() int { return len(r.b) - r.off }

// take returns the next n bytes, or nil after recording ErrShort.
func (r *reader) take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.left() < n {
		r.err = decodeErr(r.blob, field, r.off, fmt.Errorf("%w: need %d bytes, have %d", ErrShort, n, r.left()))
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(field string) uint8 {
	if p := r.take(1, field); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16(field string) uint16 {
	if p := r.take(2, field); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if p := r.take(4, field); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) f32(field string) float32 { return math.Float32frombits(r.u32(field)) }

func (r *reader) vec3(field string) ritual.Vector3 {
	if p := r.take(12, field); p != nil {
		return getVec3(p)
	}
	return ritual.Vector3{}
}

func (r *reader) vec4(field string) ritual.Vector4 {
	if p := r.take(16, field); p != nil {
		return ritual.Vector4{X: getF32(p[0:]), Y: getF32(p[4:]), Z: getF32(p[8:]), W: getF32(p[12:])}
	}
	return ritual.Vector4{}
}

func (r *reader) uuid(field string) ritual.UUID {
	var u ritual.UUID
	if p := r.take(16, field); p != nil {
		copy(u[:], p)
	}
	return u
}

// cstring returns the bytes up to (not including) the next NUL and skips the
// NUL.
func (r *reader) cstring(field string) []byte {
	if r.err != nil {
		return nil
	}
	for i := r.off; i < len(r.b); i++ {
		if r.b[i] == 0 {
			p := r.b[r.off:i]
			r.off = i + 1
			return p
		}
	}
	r.err = decodeErr(r.blob, field, r.off, fmt.Errorf("%w: no NUL terminator in the %d bytes left", ErrShort, r.left()))
	return nil
}

// done records ErrTrailing if bytes are left over.
func (r *reader) done() error {
	if r.err == nil && r.left() != 0 {
		r.err = decodeErr(r.blob, "end", r.off, fmt.Errorf("%w: %d bytes after the last field", ErrTrailing, r.left()))
	}
	return r.err
}

func getF32(p []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(p)) }

func getVec3(p []byte) ritual.Vector3 {
	return ritual.Vector3{X: getF32(p[0:]), Y: getF32(p[4:]), Z: getF32(p[8:])}
}

func appendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func appendF32(b []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

func appendVec3(b []byte, v ritual.Vector3) []byte {
	return appendF32(appendF32(appendF32(b, v.X), v.Y), v.Z)
}

func appendVec4(b []byte, v ritual.Vector4) []byte {
	return appendF32(appendF32(appendF32(appendF32(b, v.X), v.Y), v.Z), v.W)
}
