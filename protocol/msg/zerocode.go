package msg

import "bytes"

var zeros [255]byte

// AppendZeroEncode appends src zerocoded to dst: each run of k zero bytes is
// written "00 k", runs longer than 255 are split (300 zeros are
// 00 FF 00 2D), and other bytes are copied. dst and src may share a backing
// array only if dst's free capacity does not overlap src.
func AppendZeroEncode(dst, src []byte) []byte {
	for len(src) > 0 {
		i := bytes.IndexByte(src, 0)
		if i < 0 {
			return append(dst, src...)
		}
		dst = append(dst, src[:i]...)
		src = src[i:]
		n := 0
		for n < len(src) && src[n] == 0 {
			n++
		}
		src = src[n:]
		for n > 255 {
			dst = append(dst, 0, 255)
			n -= 255
		}
		dst = append(dst, 0, byte(n))
	}
	return dst
}

// ZeroEncodedLen returns the length AppendZeroEncode would produce for src.
func ZeroEncodedLen(src []byte) int {
	n := 0
	for len(src) > 0 {
		i := bytes.IndexByte(src, 0)
		if i < 0 {
			return n + len(src)
		}
		n += i
		src = src[i:]
		run := 0
		for run < len(src) && src[run] == 0 {
			run++
		}
		src = src[run:]
		n += 2 * ((run + 254) / 255)
	}
	return n
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
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			i = len(rest)
		}
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
