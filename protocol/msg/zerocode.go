package msg

import "encoding/binary"

var zeros [255]byte

// AppendZeroEncode appends src zerocoded to dst: each run of k zero bytes is
// written "00 k", runs longer than 255 are split (300 zeros are
// 00 FF 00 2D), and other bytes are copied. dst and src may share a backing
// array only if dst's free capacity does not overlap src.
func AppendZeroEncode(dst, src []byte) []byte {
	i := 0
	for i < len(src) {
		j := nonZeroSpan(src, i)
		dst = append(dst, src[i:j]...)
		if j == len(src) {
			break
		}
		k := zeroSpan(src, j)
		n := k - j
		for n > 255 {
			dst = append(dst, 0, 255)
			n -= 255
		}
		dst = append(dst, 0, byte(n))
		i = k
	}
	return dst
}

// ZeroEncodedLen returns the length AppendZeroEncode would produce for src.
func ZeroEncodedLen(src []byte) int {
	size := 0
	i := 0
	for i < len(src) {
		j := nonZeroSpan(src, i)
		size += j - i
		if j == len(src) {
			break
		}
		k := zeroSpan(src, j)
		size += 2 * ((k - j + 254) / 255)
		i = k
	}
	return size
}

// nonZeroSpan returns the index of the first zero byte in src at or after
// i, or len(src).
func nonZeroSpan(src []byte, i int) int {
	for i < len(src) && src[i] != 0 {
		i++
	}
	return i
}

// zeroSpan returns the index of the first non-zero byte in src at or after
// i, or len(src); it skips eight zero bytes at a time.
func zeroSpan(src []byte, i int) int {
	for i+8 <= len(src) && binary.LittleEndian.Uint64(src[i:i+8]) == 0 {
		i += 8
	}
	for i < len(src) && src[i] == 0 {
		i++
	}
	return i
}

// AppendZeroDecode appends the zero-decoding of src to dst, writing at most
// limit bytes: "00 k" becomes k zeros and other bytes are copied. As
// LibreMetaverse does, a lone 00 as the last byte of src stands for one
// zero, and "00 00" for none. A run that would take the output past limit
// is an ErrBadZerocode error (wrapped in a *DecodeError whose Offset is the
// run's position in src), so the output never grows beyond limit whatever
// the input claims.
func AppendZeroDecode(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	pos := 0
	for pos < len(src) {
		rest := src[pos:]
		i := nonZeroSpan(rest, 0)
		if len(dst)-start+i > limit {
			return dst, &DecodeError{Field: "zerocoding", Offset: pos + limit - (len(dst) - start),
				Err: errf(ErrBadZerocode, "decoded data exceeds the %d-byte limit", limit)}
		}
		dst = append(dst, rest[:i]...)
		pos += i
		if pos == len(src) {
			break
		}
		// src[pos] is a zero: the next byte counts the run.
		n := 1
		if pos+1 < len(src) {
			n = int(src[pos+1])
		}
		if len(dst)-start+n > limit {
			return dst, &DecodeError{Field: "zerocoding", Offset: pos,
				Err: errf(ErrBadZerocode, "run of %d zeros exceeds the %d-byte limit", n, limit)}
		}
		dst = append(dst, zeros[:n]...)
		pos += 2
	}
	return dst, nil
}
