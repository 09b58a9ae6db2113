// Package terrain is the LayerData patch codec: it turns 16×16 blocks of
// terrain heights (or wind and cloud samples) into the bit-packed,
// DCT-compressed blob carried in the LayerData message's LayerData.Data
// field, and back. The region server encodes with it; the client library
// decodes with it. It knows nothing of packets or sockets: the LayerData
// message (High 11, LayerID.Type + LayerData.Data Variable2) is built and
// parsed elsewhere, and only its Data bytes pass through here.
//
// Wire format (PROTOCOL.md section 4). The blob is a bit stream written
// most significant bit first within each byte; a value of n bits goes out
// as its little-endian bytes, each whole byte MSB-first, then the low n%8
// bits of the next byte MSB-first (see BitWriter):
//
//	group header   stride      16 bits  264 (ignored when decoding)
//	               patch size   8 bits  16
//	               layer type   8 bits  'L' 0x4C, 'M' 0x4D, '7' 0x37, ...
//	per patch      quant        8 bits  high nibble prequant-2, low nibble wbits-2
//	               dc offset   32 bits  float32, the patch's lowest height
//	               range       16 bits  integer, floor(max - min + 1)
//	               patch id    10 bits  x<<5 | y     (Land, Wind, Cloud, Water)
//	                           32 bits  x<<16 | y    (the Extended forms)
//	               coefficients         in zigzag order, one code each:
//	                             0            a zero coefficient
//	                             10           end of patch: the rest are zero
//	                             110 m        +m, m in wbits bits
//	                             111 m        -m, m in wbits bits
//	end marker     97 (0x61)    8 bits  where the next quant byte would be
//
// A patch's samples are normalised to about ±512 around the middle of its
// range, transformed with an orthonormal 16×16 DCT-II, divided by
// 1+2(u+v) and truncated toward zero (or, optionally, rounded). The loss
// this causes is bounded: see Encoder for the stated error bounds. A patch whose heights are all equal
// is sent as OpenSimulator sends it (quant 0, dc = h-0.5, range 1, no
// coefficients) and decodes to exactly h.
//
// Typical use: a server calls EncodeRegion (or Encoder.EncodeSplit for the
// patches that changed) and sends each blob in its own LayerData message; a
// client hands each message's Data to Decoder.Decode or DecodePatches and
// applies the patches to a Heightmap with ApplyPatch.
//
// Decoding never panics and never allocates more than the blob's own size
// warrants: every malformed input (truncation, a patch size other than 16,
// an unknown layer type, a patch id outside the 16×16 grid) is reported as
// an error wrapping one of the package's sentinel errors.
package terrain
