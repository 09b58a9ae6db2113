package terrain

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// vector is the shape of the protocol test vectors in testdata/.
type vector struct {
	Description     string          `json:"description"`
	Fields          json.RawMessage `json:"fields"`
	Hex             string          `json:"hex"`
	DecodedFirstRow []float64       `json:"decoded_first_row"`
	InputFirstRow   []float64       `json:"input_first_row"`
	BitString       string          `json:"bit_string"`
	Length          int             `json:"length"`
}

func loadVector(t testing.TB, name string) (vector, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		t.Fatalf("%s: hex: %v", name, err)
	}
	return v, b
}

type bitWrite struct {
	v     uint32
	n     int
	float bool
}

// TestBitPackVectors writes each vector's values and expects its exact
// bytes, then reads them back.
func TestBitPackVectors(t *testing.T) {
	tests := []struct {
		file   string
		writes []bitWrite
	}{
		{"bitpack_group_header.json", []bitWrite{{v: 264, n: 16}, {v: 16, n: 8}, {v: 0x4C, n: 8}}},
		{"bitpack_unaligned.json", []bitWrite{{v: 5, n: 3}, {v: 34, n: 10}, {v: 1, n: 1}}},
		{"bitpack_float_unaligned.json", []bitWrite{{v: 1, n: 1}, {v: 0x3F800000, n: 32, float: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			vec, want := loadVector(t, tt.file)
			var w BitWriter
			bitsTotal := 0
			for _, op := range tt.writes {
				if op.float {
					w.WriteFloat32(1.0)
				} else {
					w.WriteBits(op.v, op.n)
				}
				bitsTotal += op.n
			}
			if got := w.Bytes(); hex.EncodeToString(got) != vec.Hex {
				t.Fatalf("wrote %x, want %s", got, vec.Hex)
			}
			if w.BitLen() != bitsTotal || w.Len() != len(want) {
				t.Errorf("BitLen %d Len %d, want %d and %d", w.BitLen(), w.Len(), bitsTotal, len(want))
			}
			if vec.BitString != "" {
				r := NewBitReader(want)
				got := make([]byte, 0, len(vec.BitString))
				for range vec.BitString {
					b, _ := r.ReadBits(1)
					got = append(got, byte('0'+b))
				}
				if string(got) != vec.BitString {
					t.Errorf("bits %s, want %s", got, vec.BitString)
				}
			}
			r := NewBitReader(want)
			for i, op := range tt.writes {
				if op.float {
					f, err := r.ReadFloat32()
					if err != nil || f != 1.0 {
						t.Errorf("read %d: float %v, %v; want 1.0", i, f, err)
					}
					continue
				}
				v, err := r.ReadBits(op.n)
				if err != nil || v != op.v {
					t.Errorf("read %d: %d, %v; want %d", i, v, err, op.v)
				}
			}
			if left := r.BitsLeft(); left != len(want)*8-bitsTotal {
				t.Errorf("%d bits left, want %d of padding", left, len(want)*8-bitsTotal)
			}
		})
	}
}

// TestBitWriterTable documents the bit order with more hex examples.
func TestBitWriterTable(t *testing.T) {
	tests := []struct {
		name   string
		writes []bitWrite
		hex    string
	}{
		{"one bit", []bitWrite{{v: 1, n: 1}}, "80"},
		{"EOB code 10", []bitWrite{{v: 2, n: 2}}, "80"},
		{"positive code then 4-bit 5", []bitWrite{{v: 6, n: 3}, {v: 5, n: 4}}, "ca"},
		{"16 bits low byte first", []bitWrite{{v: 0x1234, n: 16}}, "3412"},
		{"12 bits: low byte, then high nibble", []bitWrite{{v: 0xABC, n: 12}}, "bca0"},
		{"32 bits across a byte boundary", []bitWrite{{v: 0, n: 4}, {v: 0xDDCCBBAA, n: 32}}, "0aabbccdd0"},
		{"zero bits write nothing", []bitWrite{{v: 0xFF, n: 0}}, ""},
		{"value bits above n are ignored", []bitWrite{{v: 0xFF, n: 3}}, "e0"},
		{"end marker 97 after one bit", []bitWrite{{v: 1, n: 1}, {v: 97, n: 8}}, "b080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w BitWriter
			w.Reset([]byte{0xEE}) // a prefix is kept and not part of the stream
			for _, op := range tt.writes {
				w.WriteBits(op.v, op.n)
			}
			got := w.Bytes()
			if got[0] != 0xEE || hex.EncodeToString(got[1:]) != tt.hex {
				t.Fatalf("got %x, want ee%s", got, tt.hex)
			}
		})
	}
}

func TestBitWriterRewind(t *testing.T) {
	var w BitWriter
	w.WriteBits(5, 3)
	m := w.mark()
	w.WriteBits(0xFFFF, 16)
	w.rewind(m)
	w.WriteBits(1, 1)
	if got := hex.EncodeToString(w.Bytes()); got != "b0" || w.BitLen() != 4 {
		t.Fatalf("after rewind: %s (%d bits), want b0 (4 bits)", got, w.BitLen())
	}
}

func TestBitReaderPastEnd(t *testing.T) {
	r := NewBitReader([]byte{0xA4, 0x44})
	if v, err := r.ReadBits(3); err != nil || v != 5 {
		t.Fatalf("ReadBits(3) = %d, %v", v, err)
	}
	if _, err := r.ReadBits(14); !errors.Is(err, ErrTruncated) {
		t.Fatalf("ReadBits(14) with 13 left: %v, want ErrTruncated", err)
	}
	if r.BitPos() != 3 {
		t.Errorf("failed read moved the reader to bit %d", r.BitPos())
	}
	if v, err := r.ReadBits(13); err != nil || v != 34|1<<10 {
		t.Errorf("ReadBits(13) = %d, %v", v, err)
	}
	if _, err := r.ReadBits(1); !errors.Is(err, ErrTruncated) {
		t.Errorf("read at end: %v, want ErrTruncated", err)
	}
	if _, err := r.ReadBits(33); !errors.Is(err, ErrBitCount) {
		t.Errorf("ReadBits(33): %v, want ErrBitCount", err)
	}
	if _, err := NewBitReader(nil).ReadFloat32(); !errors.Is(err, ErrTruncated) {
		t.Errorf("ReadFloat32 on empty: %v", err)
	}
	if v, err := NewBitReader(nil).ReadBits(0); err != nil || v != 0 {
		t.Errorf("ReadBits(0) on empty: %d, %v", v, err)
	}
}

// FuzzBitPack: any sequence of writes reads back exactly, and any bytes
// can be read with any widths without panicking.
func FuzzBitPack(f *testing.F) {
	f.Add([]byte{16, 0x08, 0x01, 0, 0, 8, 0x10, 0, 0, 0, 8, 0x4c, 0, 0, 0})
	f.Add([]byte{3, 5, 0, 0, 0, 10, 34, 0, 0, 0, 1, 1, 0, 0, 0})
	f.Add([]byte{1, 1, 0, 0, 0, 32, 0, 0, 0x80, 0x3f})
	f.Add([]byte{0x08, 0x01, 0x10, 0x4c, 0x00, 0x00, 0x00, 0xa4, 0x41, 0x01, 0x00, 0x65, 0x26, 0x10})
	f.Fuzz(func(t *testing.T, data []byte) {
		// As a write program: (n%33, 4-byte value) pairs.
		var w BitWriter
		type op struct {
			v uint32
			n int
		}
		var ops []op
		total := 0
		for p := data; len(p) >= 5; p = p[5:] {
			n := int(p[0]) % 33
			v := binary.LittleEndian.Uint32(p[1:5])
			w.WriteBits(v, n)
			ops = append(ops, op{v, n})
			total += n
		}
		if w.BitLen() != total || w.Len() != (total+7)/8 {
			t.Fatalf("wrote %d bits in %d bytes, BitLen %d", total, w.Len(), w.BitLen())
		}
		r := NewBitReader(w.Bytes())
		for i, o := range ops {
			got, err := r.ReadBits(o.n)
			want := o.v
			if o.n < 32 {
				want &= 1<<o.n - 1
			}
			if err != nil || got != want {
				t.Fatalf("op %d: read %d (%v), wrote %d in %d bits", i, got, err, want, o.n)
			}
		}
		if r.BitsLeft() >= 8 {
			t.Fatalf("%d bits left after reading everything back", r.BitsLeft())
		}
		// As a stream to read with widths taken from itself.
		r.Reset(data)
		for i := 0; ; i++ {
			n := 1
			if len(data) > 0 {
				n = int(data[i%len(data)]) % 33
			}
			before := r.BitPos()
			_, err := r.ReadBits(n)
			if err != nil {
				if !errors.Is(err, ErrTruncated) || r.BitPos() != before || n <= r.BitsLeft() {
					t.Fatalf("read %d bits with %d left: %v, moved %d", n, r.BitsLeft(), err, r.BitPos()-before)
				}
				break
			}
			if r.BitPos() != before+n {
				t.Fatalf("read %d bits but moved %d", n, r.BitPos()-before)
			}
			if i > 8*len(data)+1 {
				break // zero-width reads forever
			}
		}
	})
}
