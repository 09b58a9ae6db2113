package msg

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"ritual"
	"ritual/protocol/template"
)

// This file holds the small functions the generated codecs in zmessages.go
// are built from. The get/put helpers read and write one template type at
// the start of p; the caller has checked the length.

// grow extends b by n bytes and returns it with the new window.
func grow(b []byte, n int) ([]byte, []byte) {
	l := len(b)
	if cap(b)-l < n {
		b = slices.Grow(b, n)
	}
	b = b[:l+n]
	return b, b[l : l+n]
}

// resize returns s with length n, keeping the elements (and so the
// capacity of their slices) beyond the old length for reuse.
func resize[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	s = s[:cap(s)]
	return append(s, make([]T, n-len(s))...)
}

func getBool(b byte) bool { return b != 0 }

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func getU16(p []byte) uint16  { return binary.LittleEndian.Uint16(p) }
func getU32(p []byte) uint32  { return binary.LittleEndian.Uint32(p) }
func getU64(p []byte) uint64  { return binary.LittleEndian.Uint64(p) }
func getF32(p []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(p)) }
func getF64(p []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(p)) }

func putU16(p []byte, v uint16)  { binary.LittleEndian.PutUint16(p, v) }
func putU32(p []byte, v uint32)  { binary.LittleEndian.PutUint32(p, v) }
func putU64(p []byte, v uint64)  { binary.LittleEndian.PutUint64(p, v) }
func putF32(p []byte, v float32) { binary.LittleEndian.PutUint32(p, math.Float32bits(v)) }
func putF64(p []byte, v float64) { binary.LittleEndian.PutUint64(p, math.Float64bits(v)) }

func getVector3(p []byte) ritual.Vector3 {
	_ = p[11]
	return ritual.Vector3{X: getF32(p[0:4]), Y: getF32(p[4:8]), Z: getF32(p[8:12])}
}

func putVector3(p []byte, v ritual.Vector3) {
	_ = p[11]
	putF32(p[0:4], v.X)
	putF32(p[4:8], v.Y)
	putF32(p[8:12], v.Z)
}

func getVector3d(p []byte) ritual.Vector3d {
	_ = p[23]
	return ritual.Vector3d{X: getF64(p[0:8]), Y: getF64(p[8:16]), Z: getF64(p[16:24])}
}

func putVector3d(p []byte, v ritual.Vector3d) {
	_ = p[23]
	putF64(p[0:8], v.X)
	putF64(p[8:16], v.Y)
	putF64(p[16:24], v.Z)
}

func getVector4(p []byte) ritual.Vector4 {
	_ = p[15]
	return ritual.Vector4{X: getF32(p[0:4]), Y: getF32(p[4:8]), Z: getF32(p[8:12]), W: getF32(p[12:16])}
}

func putVector4(p []byte, v ritual.Vector4) {
	_ = p[15]
	putF32(p[0:4], v.X)
	putF32(p[4:8], v.Y)
	putF32(p[8:12], v.Z)
	putF32(p[12:16], v.W)
}

// getQuaternion reads X, Y, Z and implies W (ritual.QuaternionFromXYZ).
func getQuaternion(p []byte) ritual.Quaternion {
	_ = p[11]
	return ritual.QuaternionFromXYZ(getF32(p[0:4]), getF32(p[4:8]), getF32(p[8:12]))
}

// putQuaternion writes X, Y, Z of q.Packed(). A unit quaternion already in
// wire form (its W is the one its X, Y, Z imply, as after decoding) is
// written as is, so decoding and re-encoding reproduces the bytes; anything
// else, including NaNs and an X, Y, Z longer than 1 received from a peer,
// is normalised first.
func putQuaternion(p []byte, q ritual.Quaternion) {
	_ = p[11]
	if !inWireForm(q) {
		q = q.Packed()
	}
	putF32(p[0:4], q.X)
	putF32(p[4:8], q.Y)
	putF32(p[8:12], q.Z)
}

func inWireForm(q ritual.Quaternion) bool {
	x, y, z := float64(q.X), float64(q.Y), float64(q.Z)
	return x*x+y*y+z*z <= 1+1e-5 && q == ritual.QuaternionFromXYZ(q.X, q.Y, q.Z)
}

func getIPPort(p []byte) uint16    { return binary.BigEndian.Uint16(p) }
func putIPPort(p []byte, v uint16) { binary.BigEndian.PutUint16(p, v) }

// decodeVariable1 reads a "Variable 1" field at off into *dst, reusing its
// capacity, and returns the offset after it.
func decodeVariable1(dst *[]byte, b []byte, off int, mi *Info, blk, fld int) (int, error) {
	if off >= len(b) {
		return off, errShort(mi, blk, fld, off, len(b))
	}
	n := int(b[off])
	off++
	if len(b)-off < n {
		return off, errVariable(mi, blk, fld, off, n, len(b))
	}
	*dst = append((*dst)[:0], b[off:off+n]...)
	return off + n, nil
}

// decodeVariable2 reads a "Variable 2" field (U16 little-endian length).
func decodeVariable2(dst *[]byte, b []byte, off int, mi *Info, blk, fld int) (int, error) {
	if len(b)-off < 2 {
		return off, errShort(mi, blk, fld, off, len(b))
	}
	n := int(getU16(b[off : off+2]))
	off += 2
	if len(b)-off < n {
		return off, errVariable(mi, blk, fld, off, n, len(b))
	}
	*dst = append((*dst)[:0], b[off:off+n]...)
	return off + n, nil
}

// appendVariable1 appends a "Variable 1" field; it panics with an
// *EncodeError if v is longer than 255 bytes.
func appendVariable1(b, v []byte, mi *Info, blk, fld, idx int) []byte {
	if len(v) > 0xFF {
		panic(tooLong(mi, blk, fld, idx, len(v), 0xFF))
	}
	b = append(b, byte(len(v)))
	return append(b, v...)
}

// appendVariable2 appends a "Variable 2" field; it panics with an
// *EncodeError if v is longer than 65535 bytes.
func appendVariable2(b, v []byte, mi *Info, blk, fld, idx int) []byte {
	if len(v) > 0xFFFF {
		panic(tooLong(mi, blk, fld, idx, len(v), 0xFFFF))
	}
	b = append(b, byte(len(v)), byte(len(v)>>8))
	return append(b, v...)
}

// appendCount appends a Variable block's count; it panics with an
// *EncodeError if n is more than 255.
func appendCount(b []byte, n int, mi *Info, blk int) []byte {
	if n > 0xFF {
		panic(tooMany(mi, blk, n))
	}
	return append(b, byte(n))
}

func tooLong(mi *Info, blk, fld, idx, n, limit int) *EncodeError {
	b := &mi.Blocks[blk]
	return &EncodeError{Message: mi.Name, Block: b.Name, Field: b.Fields[fld].Name, Index: idx, Len: n, Max: limit}
}

func tooMany(mi *Info, blk, n int) *EncodeError {
	return &EncodeError{Message: mi.Name, Block: mi.Blocks[blk].Name, Len: n, Max: 0xFF}
}

func typeText(f *template.Field) string {
	switch f.Type {
	case template.TypeFixed:
		return "Fixed " + strconv.Itoa(f.Size)
	case template.TypeVariable:
		return "Variable " + strconv.Itoa(f.Size) + " length"
	}
	return f.Type.String()
}

// errShort reports that the data ends in block blk at or after field fld,
// which starts at off: it finds the field that does not fit.
func errShort(mi *Info, blk, fld, off, have int) error {
	b := &mi.Blocks[blk]
	for i := fld; i < len(b.Fields); i++ {
		f := &b.Fields[i]
		n := f.MinSize()
		if have-off < n {
			return &DecodeError{Message: mi.Name, Block: b.Name, Field: f.Name, Offset: off,
				Err: errShortf("%s needs %d bytes, %d remain", typeText(f), n, have-off)}
		}
		if f.Type == template.TypeVariable {
			break // its length is not known here
		}
		off += n
	}
	return &DecodeError{Message: mi.Name, Block: b.Name, Offset: off, Err: ErrShortBuffer}
}

func errVariable(mi *Info, blk, fld, off, n, have int) error {
	b := &mi.Blocks[blk]
	f := &b.Fields[fld]
	return &DecodeError{Message: mi.Name, Block: b.Name, Field: f.Name, Offset: off,
		Err: errShortf("Variable %d length %d, %d bytes remain", f.Size, n, have-off)}
}

// errCount reports a Variable block count (read at off) whose instances
// cannot fit in the remaining data.
func errCount(mi *Info, blk, off, n, minSize, have int) error {
	return &DecodeError{Message: mi.Name, Block: mi.Blocks[blk].Name, Offset: off,
		Err: errShortf("count %d needs at least %d bytes, %d remain", n, n*minSize, have-off-1)}
}

func errTrailing(mi *Info, off, have int) error {
	return &DecodeError{Message: mi.Name, Offset: off,
		Err: errf(ErrTrailingData, "%d bytes after the last block", have-off)}
}
