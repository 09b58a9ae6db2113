package terrain

import (
	"fmt"
	"math"
)

// BitWriter packs values into a bit stream the way the LayerData blob does
// (PROTOCOL.md 4.2): bits fill each byte from the most significant bit
// down; an n-bit value is emitted as its little-endian bytes, each whole
// byte MSB-first, followed by the low n%8 bits of the next byte MSB-first.
// So a 16-bit value goes out low byte first, and a 10-bit value as its low
// 8 bits followed by bits 9..8. The last byte is zero-padded.
//
// The zero value is an empty writer ready to use. A BitWriter appends to the
// slice given to Reset and is not safe for concurrent use.
type BitWriter struct {
	buf   []byte
	start int  // len(buf) when Reset was called: the stream begins here
	free  uint // unused low bits of buf[len(buf)-1]; 0 means the next bit opens a new byte
}

// Reset makes w append a new bit stream to dst (which may be nil). The
// bytes already in dst are kept and are not part of the stream.
func (w *BitWriter) Reset(dst []byte) {
	w.buf = dst
	w.start = len(dst)
	w.free = 0
}

// put appends the low c bits of x, most significant first; 1 <= c <= 8 and
// x must have no bits set above bit c-1.
func (w *BitWriter) put(x byte, c uint) {
	if w.free == 0 {
		w.buf = append(w.buf, 0)
		w.free = 8
	}
	last := len(w.buf) - 1
	if c <= w.free {
		w.buf[last] |= x << (w.free - c)
		w.free -= c
		return
	}
	rest := c - w.free
	w.buf[last] |= x >> rest
	w.buf = append(w.buf, x<<(8-rest))
	w.free = 8 - rest
}

// WriteBits appends the low n bits of v in the protocol's order (see
// BitWriter). n must be between 0 and 32; WriteBits panics otherwise, as
// that is a mistake in the calling code, never in received data.
func (w *BitWriter) WriteBits(v uint32, n int) {
	if n < 0 || n > 32 {
		panic(fmt.Sprintf("terrain: BitWriter.WriteBits of %d bits", n))
	}
	for ; n >= 8; n -= 8 {
		w.put(byte(v), 8)
		v >>= 8
	}
	if n > 0 {
		w.put(byte(v)&(1<<n-1), uint(n))
	}
}

// WriteFloat32 appends f's IEEE-754 bits as a 32-bit value, so the float's
// little-endian byte 0 comes first.
func (w *BitWriter) WriteFloat32(f float32) {
	w.WriteBits(math.Float32bits(f), 32)
}

// Bytes returns the slice given to Reset with the stream appended; the
// final partial byte is zero-padded. It aliases w's buffer until the next
// write or Reset.
func (w *BitWriter) Bytes() []byte { return w.buf }

// Len reports the stream's length in bytes (every byte touched).
func (w *BitWriter) Len() int { return len(w.buf) - w.start }

// BitLen reports the number of bits written since Reset.
func (w *BitWriter) BitLen() int { return (len(w.buf)-w.start)*8 - int(w.free) }

// writerMark is a position in a BitWriter's stream to return to.
type writerMark struct {
	n    int
	free uint
}

func (w *BitWriter) mark() writerMark { return writerMark{len(w.buf), w.free} }

// rewind drops everything written after m.
func (w *BitWriter) rewind(m writerMark) {
	w.buf = w.buf[:m.n]
	w.free = m.free
	if m.free > 0 {
		w.buf[m.n-1] &^= 1<<m.free - 1
	}
}

// BitReader reads a bit stream written by BitWriter (PROTOCOL.md 4.2). It
// never reads past the end of its slice: a read that needs more bits than
// remain returns an error wrapping ErrTruncated and leaves the reader where
// it was.
type BitReader struct {
	data []byte
	pos  uint // bits consumed
	end  uint // len(data)*8
}

// NewBitReader returns a reader over b.
func NewBitReader(b []byte) *BitReader {
	r := new(BitReader)
	r.Reset(b)
	return r
}

// Reset makes r read b from its first bit.
func (r *BitReader) Reset(b []byte) {
	r.data = b
	r.pos = 0
	r.end = uint(len(b)) * 8
}

// BitPos reports how many bits have been read.
func (r *BitReader) BitPos() int { return int(r.pos) }

// BitsLeft reports how many bits remain, padding included.
func (r *BitReader) BitsLeft() int { return int(r.end - r.pos) }

// get returns the next c bits (1 <= c <= 8) MSB-first; the caller has
// checked that they exist.
func (r *BitReader) get(c uint) byte {
	i := r.pos >> 3
	win := uint16(r.data[i]) << 8
	if int(i)+1 < len(r.data) {
		win |= uint16(r.data[i+1])
	}
	x := byte(win>>(16-(r.pos&7)-c)) & (1<<c - 1)
	r.pos += c
	return x
}

// ReadBits reads an n-bit value (0 <= n <= 32) written by WriteBits.
func (r *BitReader) ReadBits(n int) (uint32, error) {
	if n < 0 || n > 32 {
		return 0, fmt.Errorf("%w: %d bits requested", ErrBitCount, n)
	}
	if uint(n) > r.end-r.pos {
		return 0, fmt.Errorf("%w: %d bits wanted at bit %d, %d left", ErrTruncated, n, r.pos, r.end-r.pos)
	}
	var v uint32
	shift := 0
	for ; n >= 8; n -= 8 {
		v |= uint32(r.get(8)) << shift
		shift += 8
	}
	if n > 0 {
		v |= uint32(r.get(uint(n))) << shift
	}
	return v, nil
}

// ReadFloat32 reads a float written by WriteFloat32.
func (r *BitReader) ReadFloat32() (float32, error) {
	v, err := r.ReadBits(32)
	return math.Float32frombits(v), err
}

// bit reads one bit, reporting false for ok at the end of the data.
func (r *BitReader) bit() (b uint8, ok bool) {
	if r.pos >= r.end {
		return 0, false
	}
	b = r.data[r.pos>>3] >> (7 - r.pos&7) & 1
	r.pos++
	return b, true
}
