package terrain

import (
	"fmt"
	"math"
	"math/bits"
	"sync"
)

// Codec constants (PROTOCOL.md 4.3, 4.4).
const (
	// N is the side of a patch in samples.
	N = 16
	// ClassicPatches is the number of patches along each side of a classic
	// 256 m region (the 10-bit patch id holds x and y in 0..15).
	ClassicPatches = 16
	// GroupStride is the stride written in the group header; decoders
	// ignore it.
	GroupStride = 264
	// EndOfPatches is the 8-bit code that ends a blob where the next
	// patch's quant byte would be.
	EndOfPatches = 97
	// Prequant is the prequantisation the encoder uses: heights are
	// normalised to ±2^(Prequant-1) around the middle of the patch range.
	Prequant = 10
	// DefaultMaxBlob is the blob size EncodeRegion aims under when given 0:
	// a LayerData datagram carrying it (10 bytes of header, type and length
	// around the blob, plus room for appended acks) stays below the
	// 1200-byte datagram limit every peer accepts (PROTOCOL.md 2.8).
	DefaultMaxBlob = 1000
	// MaxBlob is the most LayerData.Data can hold: it is a Variable2 field,
	// with a 16-bit length.
	MaxBlob = 0xFFFF
)

// coefficient codes (PROTOCOL.md 4.4 step 8).
const (
	codeZero     = 0x0 // 1 bit
	codeEOB      = 0x2 // 2 bits
	codePositive = 0x6 // 3 bits
	codeNegative = 0x7 // 3 bits
)

// Patch is one 16×16 block of samples and its place in the region's patch
// grid: X is the column (east), Y the row (north). Heights[j*16+i] is the
// sample i metres east and j metres north of the patch's south-west corner.
type Patch struct {
	X, Y    int
	Heights [N * N]float32
}

// patchHeader is one patch's header and its quantised coefficients, ready
// to write.
type patchHeader struct {
	quant uint8
	dc    float32
	rng   uint16
	x, y  int
	wbits int
	last  int // stream position of the last non-zero coefficient; -1 if none
}

// Encoder compresses patches into LayerData blobs (PROTOCOL.md 4.4). It
// keeps its scratch buffers between calls, so reusing one Encoder encodes
// without allocating beyond the output. The zero value is ready to use and
// encodes as OpenSimulator does; an Encoder is not safe for concurrent use.
//
// Each patch is normalised to ±512 units across its range R (the range
// field, floor(max-min+1) metres), transformed, and each coefficient
// divided by 1+2(u+v) and truncated toward zero. The decoded heights h'
// then satisfy, per sample (figures measured by this package's tests):
//
//   - flat patches (every height equal): h' = h exactly whenever h-0.5 is
//     exactly representable as a float32 (every height within ±2²² m
//     that is a multiple of 2⁻¹, within ±2²¹ m that is a multiple of 2⁻²,
//     and so on: all real terrain);
//   - smooth terrain (slopes up to 1 m/m plus undulations of wavelength
//     ≥ 8 m and amplitude up to 40 m): |h'-h| ≤ 0.05·R + 0.05 m (measured
//     worst 0.046·R over 50,000 random patches);
//   - rough terrain (cliffs, white noise, single-sample spikes):
//     |h'-h| ≤ 0.3·R (measured worst 0.247·R, for a lone spike);
//   - any input at all: |h'-h| < e.MaxError(R) ≈ 0.95·R, by construction.
//
// With RoundNearest set, coefficients are rounded to nearest instead:
// every error above roughly halves (smooth ≤ 0.025·R + 0.05 m, measured
// 0.023·R; rough ≤ 0.08·R, measured 0.064·R; MaxError ≈ 0.48·R) for blobs
// about a fifth larger. Decoders cannot tell the difference; the bytes
// just no longer match OpenSimulator's encoder.
type Encoder struct {
	// RoundNearest rounds quantised coefficients to nearest rather than
	// truncating them toward zero.
	RoundNearest bool

	w   BitWriter
	hdr patchHeader
	b   [N * N]float64 // normalised samples
	c   [N * N]float64 // DCT coefficients
	tmp [N * N]float64
	q   [N * N]int32 // quantised coefficients in stream (zigzag) order
}

// MaxError is the largest per-sample error e's quantisation can cause on a
// patch whose range field is rng metres. Every coefficient loses less than
// one quantisation step 1+2(u+v) (half a step when rounding), and no basis
// function exceeds (2/16)·s(u)·s(v) in magnitude, so the error is below
// Σ (2/16)·s(u)·s(v)·(1+2(u+v)) · rng/1024 ≈ 0.95·rng (half that when
// rounding). Float32 rounding of the heights themselves comes on top.
func (e *Encoder) MaxError(rng float64) float64 {
	b := theoreticalUnits * rng / (1 << Prequant)
	if e.RoundNearest {
		b /= 2
	}
	return b
}

// theoreticalUnits is Σ fwdScale·dequant, set by init once the tables exist.
var theoreticalUnits float64

// Encode appends one LayerData blob holding patches, in order, to dst and
// returns the extended slice: the group header for layer, each patch, and
// the end marker. It fails, returning dst unchanged, if layer is not a
// known type, a patch's X or Y does not fit the layer's patch id (0..15, or
// 0..65535 for the Extended types), or its heights are not encodable (NaN,
// infinite, or spanning 65535 m or more).
func (e *Encoder) Encode(dst []byte, layer LayerType, patches []Patch) ([]byte, error) {
	if !layer.Valid() {
		return dst, fmt.Errorf("%w: 0x%02X", ErrLayerType, uint8(layer))
	}
	n := len(dst)
	e.w.Reset(dst)
	writeGroupHeader(&e.w, layer)
	for i := range patches {
		p := &patches[i]
		if err := e.prepare(layer, p.Heights[:], N, p.X, p.Y); err != nil {
			return dst[:n], fmt.Errorf("patch %d: %w", i, err)
		}
		e.writePatch(&e.w, layer)
	}
	e.w.WriteBits(EndOfPatches, 8)
	return e.w.Bytes(), nil
}

// EncodePatches appends one LayerData blob holding patches to dst; see
// Encoder.Encode. Callers encoding often should keep an Encoder.
func EncodePatches(dst []byte, layer LayerType, patches []Patch) ([]byte, error) {
	e := encoderPool.Get().(*Encoder)
	defer encoderPool.Put(e)
	out, err := e.Encode(dst, layer, patches)
	e.w.Reset(nil)
	return out, err
}

var encoderPool = sync.Pool{New: func() any { return new(Encoder) }}

func writeGroupHeader(w *BitWriter, layer LayerType) {
	w.WriteBits(GroupStride, 16)
	w.WriteBits(N, 8)
	w.WriteBits(uint32(layer), 8)
}

// prepare computes e.hdr and e.q for the patch whose samples are z[j*stride+i].
func (e *Encoder) prepare(layer LayerType, z []float32, stride, x, y int) error {
	if maxID := layer.maxPatchID(); x < 0 || y < 0 || x > maxID || y > maxID {
		return fmt.Errorf("%w: (%d,%d) in a %v layer (0..%d)", ErrPatchID, x, y, layer, maxID)
	}
	h := &e.hdr
	h.x, h.y = x, y
	zmin, zmax := float32(math.Inf(1)), float32(math.Inf(-1))
	for j := range N {
		for _, v := range z[j*stride : j*stride+N] {
			if v != v || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: %v at patch (%d,%d)", ErrHeight, v, x, y)
			}
			zmin = min(zmin, v)
			zmax = max(zmax, v)
		}
	}
	if zmin == zmax {
		// OpenSimulator's flat patch: decodes to dc + 0.25·2 = zmin.
		h.quant, h.dc, h.rng, h.wbits, h.last = 0, zmin-0.5, 1, 2, -1
		return nil
	}
	span := float64(zmax) - float64(zmin)
	if span+1 > math.MaxUint16 {
		return fmt.Errorf("%w: heights at patch (%d,%d) span %.1f m", ErrHeight, x, y, span)
	}
	rng := math.Floor(span + 1)
	h.dc, h.rng = zmin, uint16(rng)

	premult := (1 << Prequant) / rng
	mid := float64(zmin) + rng/2
	for j := range N {
		row := z[j*stride : j*stride+N]
		for i, v := range row {
			e.b[j*N+i] = float64(float64(v)-mid) * premult
		}
	}
	forwardDCT(&e.c, &e.b, &e.tmp)
	var maxAbs uint32
	h.last = -1
	for k, c := range e.c {
		c /= dequant[k]
		if e.RoundNearest {
			c = math.Round(c)
		}
		q := int32(c) // truncation toward zero
		z := zigzag[k]
		e.q[z] = q
		if q != 0 {
			maxAbs = max(maxAbs, uint32(abs32(q)))
			h.last = max(h.last, int(z))
		}
	}
	h.wbits = min(max(2, bits.Len32(maxAbs)), 17)
	h.quant = uint8((Prequant-2)<<4 | (h.wbits - 2))
	return nil
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// writePatch writes the patch prepared in e.hdr and e.q.
func (e *Encoder) writePatch(w *BitWriter, layer LayerType) {
	h := &e.hdr
	w.WriteBits(uint32(h.quant), 8)
	w.WriteFloat32(h.dc)
	w.WriteBits(uint32(h.rng), 16)
	if layer.Extended() {
		w.WriteBits(uint32(h.x)<<16|uint32(h.y), 32)
	} else {
		w.WriteBits(uint32(h.x)<<5|uint32(h.y), 10)
	}
	if h.last < 0 {
		w.WriteBits(codeEOB, 2)
		return
	}
	maxMag := uint32(1)<<h.wbits - 1
	for _, q := range e.q[:h.last+1] {
		switch {
		case q == 0:
			w.WriteBits(codeZero, 1)
		case q > 0:
			w.WriteBits(codePositive, 3)
			w.WriteBits(min(uint32(q), maxMag), h.wbits)
		default:
			w.WriteBits(codeNegative, 3)
			w.WriteBits(min(uint32(-q), maxMag), h.wbits)
		}
	}
	if h.last < N*N-1 {
		w.WriteBits(codeEOB, 2)
	}
}

// Decoder decompresses LayerData blobs (PROTOCOL.md 4.5). It keeps its
// scratch buffers between calls, so a reused Decoder decodes without
// allocating. The zero value is ready to use; a Decoder is not safe for
// concurrent use.
type Decoder struct {
	r   BitReader
	p   Patch
	f   [N * N]float64 // dequantised coefficients, natural order
	out [N * N]float64
	tmp [N * N]float64
}

// Decode reads one LayerData blob, calling fn with each patch in the order
// the blob holds them, and returns the layer type from the blob's group
// header. The *Patch passed to fn is reused for the next patch: copy it to
// keep it. Decoding stops at the first error, fn's included, which is
// returned (fn's unwrapped); patches before it have been delivered.
//
// Bytes after the end marker are ignored. The caller should check that the
// returned type matches the message's LayerID.Type.
func (d *Decoder) Decode(blob []byte, fn func(*Patch) error) (LayerType, error) {
	r := &d.r
	r.Reset(blob)
	hdr, err := r.ReadBits(32)
	if err != nil {
		return 0, fmt.Errorf("terrain: group header: %w", err)
	}
	// stride (low 16 bits) is ignored, as every client does.
	if size := hdr >> 16 & 0xFF; size != N {
		return 0, fmt.Errorf("%w: %d in group header (want %d)", ErrPatchSize, size, N)
	}
	layer := LayerType(hdr >> 24)
	if !layer.Valid() {
		return 0, fmt.Errorf("%w: 0x%02X in group header", ErrLayerType, uint8(layer))
	}
	for i := 0; ; i++ {
		done, err := d.patch(layer)
		if err != nil {
			return layer, fmt.Errorf("terrain: patch %d: %w", i, err)
		}
		if done {
			return layer, nil
		}
		if err := fn(&d.p); err != nil {
			return layer, err
		}
	}
}

// patch decodes the next patch into d.p, or reports done at the end marker.
func (d *Decoder) patch(layer LayerType) (done bool, err error) {
	r := &d.r
	at := r.pos
	quant, err := r.ReadBits(8)
	if err != nil {
		return false, fmt.Errorf("quant byte (no end marker): %w", err)
	}
	if quant == EndOfPatches {
		return true, nil
	}
	dc, err := r.ReadFloat32()
	if err != nil {
		return false, fmt.Errorf("DC offset: %w", err)
	}
	if math.IsNaN(float64(dc)) || math.IsInf(float64(dc), 0) {
		return false, fmt.Errorf("%w: %v at bit %d", ErrDCOffset, dc, at+8)
	}
	rng, err := r.ReadBits(16)
	if err != nil {
		return false, fmt.Errorf("range: %w", err)
	}
	var x, y uint32
	if layer.Extended() {
		id, err := r.ReadBits(32)
		if err != nil {
			return false, fmt.Errorf("patch id: %w", err)
		}
		x, y = id>>16, id&0xFFFF
	} else {
		id, err := r.ReadBits(10)
		if err != nil {
			return false, fmt.Errorf("patch id: %w", err)
		}
		x, y = id>>5, id&0x1F
		if x >= ClassicPatches || y >= ClassicPatches {
			return false, fmt.Errorf("%w: (%d,%d) at bit %d in a %v layer (0..%d)",
				ErrPatchID, x, y, at+56, layer, ClassicPatches-1)
		}
	}
	wbits := int(quant&0x0F) + 2
	prequant := int(quant>>4) + 2

	d.f = [N * N]float64{}
	var cols uint16 // columns holding a non-zero coefficient
	for z := 0; z < N*N; z++ {
		b, ok := r.bit()
		if !ok {
			return false, fmt.Errorf("coefficient %d: %w", z, ErrTruncated)
		}
		if b == 0 {
			continue
		}
		if b, ok = r.bit(); !ok {
			return false, fmt.Errorf("coefficient %d: %w", z, ErrTruncated)
		}
		if b == 0 {
			break // end of patch
		}
		neg, ok := r.bit()
		if !ok {
			return false, fmt.Errorf("coefficient %d: %w", z, ErrTruncated)
		}
		m, err := r.ReadBits(wbits)
		if err != nil {
			return false, fmt.Errorf("coefficient %d: %w", z, err)
		}
		k := unzigzag[z]
		v := float64(m) * dequant[k]
		if neg != 0 {
			v = -v
		}
		d.f[k] = v
		cols |= 1 << (k % N)
	}
	inverseDCT(&d.out, &d.f, &d.tmp, cols)

	mult := float64(rng) / float64(uint32(1)<<prequant)
	add := mult*float64(uint32(1)<<(prequant-1)) + float64(dc)
	d.p.X, d.p.Y = int(x), int(y)
	for k, v := range d.out {
		d.p.Heights[k] = float32(v*mult + add)
	}
	return false, nil
}

// DecodePatches decodes one LayerData blob, appending its patches to dst,
// and returns the extended slice and the blob's layer type. On error it
// returns the patches decoded before the fault with the error. dst grows by
// at most one Patch per 67 bits of blob (the smallest possible patch).
func DecodePatches(blob []byte, dst []Patch) ([]Patch, LayerType, error) {
	d := decoderPool.Get().(*Decoder)
	defer decoderPool.Put(d)
	layer, err := d.Decode(blob, func(p *Patch) error {
		dst = append(dst, *p)
		return nil
	})
	d.r.Reset(nil)
	return dst, layer, err
}

var decoderPool = sync.Pool{New: func() any { return new(Decoder) }}
