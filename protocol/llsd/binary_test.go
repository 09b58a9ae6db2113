package llsd

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"ritual"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// binaryVectors encode both ways: the value is written as exactly these
// bytes (after BinaryHeader) and the bytes decode to the value.
var binaryVectors = []struct {
	name  string
	value any
	hex   string
}{
	{"undef", nil, "21"},
	{"true", true, "31"},
	{"false", false, "30"},
	{"integer 42", int32(42), "69 0000002a"},
	{"integer -1", int32(-1), "69 ffffffff"},
	{"real 1.5", 1.5, "72 3ff8000000000000"},
	{"real nan", math.NaN(), "72 7ff8000000000001"},
	{"uuid", testUUID, "75 2e3fc2971d6f493eaa23d69777db3cbe"},
	{"string", "hi", "73 00000002 6869"},
	{"string empty", "", "73 00000000"},
	{"uri", URI("http://a/"), "6c 00000009 687474703a2f2f612f"},
	{"binary", []byte{1, 2}, "62 00000002 0102"},
	// The LibreMetaverse test vector: a date is a LITTLE-endian float64.
	{"date 2008-01-01 20:10:31", time.Date(2008, 1, 1, 20, 10, 31, 0, time.UTC), "64 0000c08da7ded141"},
	{"array", []any{int32(1), "a"}, "5b 00000002 69 00000001 73 00000001 61 5d"},
	{"array empty", []any{}, "5b 00000000 5d"},
	{"map", map[string]any{"a": true, "b": nil}, "7b 00000002 6b 00000001 61 31 6b 00000001 62 21 7d"},
	{"map empty", map[string]any{}, "7b 00000000 7d"},
}

func TestBinaryVectors(t *testing.T) {
	for _, tt := range binaryVectors {
		t.Run(tt.name, func(t *testing.T) {
			wire := unhex(t, tt.hex)
			got, err := MarshalBinary(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if want := append([]byte(BinaryHeader), wire...); tt.name != "real nan" && !bytes.Equal(got, want) {
				t.Fatalf("MarshalBinary = % x\nwant            % x", got, want)
			}
			for _, in := range [][]byte{wire, append([]byte(BinaryHeader), wire...), append([]byte("<?llsd/binary?>"), wire...)} {
				v, err := UnmarshalBinary(in)
				if err != nil {
					t.Fatalf("UnmarshalBinary(% x): %v", in, err)
				}
				if !Equal(v, tt.value) {
					t.Fatalf("UnmarshalBinary(% x) = %#v, want %#v", in, v, tt.value)
				}
			}
		})
	}
}

func TestBinaryDateVector(t *testing.T) {
	// d 00 00 c0 8d a7 de d1 41: 1199218231 seconds, 2008-01-01 20:10:31 UTC.
	raw := unhex(t, "0000c08da7ded141")
	if secs := math.Float64frombits(binary.LittleEndian.Uint64(raw)); secs != 1199218231 {
		t.Fatalf("vector seconds = %v", secs)
	}
	v, err := UnmarshalBinary(append([]byte{'d'}, raw...))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.(time.Time).Format(time.RFC3339); got != "2008-01-01T20:10:31Z" {
		t.Fatalf("date = %s", got)
	}
}

func TestBinaryDecodeExtras(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want any
	}{
		{"notation-style quoted string", "27 615c6e27", "a\n"},
		{"double-quoted string", "22 6222", "b"},
		{"quoted map key", "7b 00000001 27 6b27 31 7d", map[string]any{"k": true}},
		{"s marker as key", "7b 00000001 73 00000001 6b 30 7d", map[string]any{"k": false}},
		{"header with CRLF", hex.EncodeToString([]byte("<? llsd/binary ?>\r\n")) + "21", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := UnmarshalBinary(unhex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(v, tt.want) {
				t.Fatalf("got %#v, want %#v", v, tt.want)
			}
		})
	}
}

func TestBinaryErrors(t *testing.T) {
	deep := strings.Repeat("5b00000001", 129) + "21" + strings.Repeat("5d", 129)
	tests := []struct {
		name     string
		hex      string
		sentinel error
		msg      string
	}{
		{"empty", "", ErrTruncated, "byte 0: value expected"},
		{"truncated integer", "69 0000", ErrTruncated, "integer needs 4 bytes, 2 left"},
		{"truncated real", "72 00", ErrTruncated, "real needs 8 bytes"},
		{"truncated uuid", "75 00112233", ErrTruncated, "uuid needs 16 bytes"},
		{"truncated date", "64 0000", ErrTruncated, "date needs 8 bytes"},
		{"truncated length", "73 0000", ErrTruncated, "string length needs 4 bytes"},
		{"huge string", "73 ffffffff 61", ErrTooLarge, "string of 4294967295 bytes, only 1 left"},
		{"huge binary", "62 7fffffff", ErrTooLarge, "binary of 2147483647 bytes, only 0 left"},
		{"huge array", "5b ffffffff 21 5d", ErrTooLarge, "array of 4294967295 elements, only 2 bytes left"},
		{"huge map", "7b 10000000 6b00000000 21 7d", ErrTooLarge, "map of 268435456 entries"},
		{"array not closed", "5b 00000001 21 21", ErrSyntax, "not closed by ']'"},
		{"array short", "5b 00000002 21 5d 5d", ErrSyntax, "byte 6 at [1]: unknown marker ']'"},
		{"array count beyond input", "5b 00000001 21", ErrTooLarge, "array of 1 elements, only 1 bytes left"},
		{"map not closed", "7b 00000001 6b00000001 61 21 21", ErrSyntax, "not closed by '}'"},
		{"map bad key marker", "7b 00000001 69 00000001 7d", ErrSyntax, "map key expected, found marker 'i'"},
		{"map key truncated", "7b 00000001 6b 000000ff 61 21 7d", ErrTooLarge, "key of 255 bytes"},
		{"unknown marker", "7a", ErrSyntax, "unknown marker 'z'"},
		{"trailing bytes", "21 21", ErrSyntax, "1 bytes after the value"},
		{"date NaN", "64 000000000000f87f", ErrBadValue, "date of NaN seconds"},
		{"date far future", "64 " + hex.EncodeToString(binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e300))), ErrBadValue, "outside years"},
		{"unterminated quoted", "27 6162", ErrTruncated, "no closing '"},
		{"nested error path", "7b 00000001 6b00000003 616263 5b 00000001 69 00", ErrTruncated, "at .abc[0]: integer needs 4 bytes"},
		{"depth bomb", deep, ErrDepth, "nested deeper than 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.hex)
			v, err := UnmarshalBinary(in)
			if err == nil {
				t.Fatalf("UnmarshalBinary(% x) = %#v, want an error", in, v)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v does not wrap %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestBinaryClaimedCountsAllocateLittle nests arrays that each claim as many
// elements as there are bytes left: the decoder must not reserve room on the
// strength of those claims.
func TestBinaryClaimedCountsAllocateLittle(t *testing.T) {
	const levels = 120
	var in []byte
	for i := range levels {
		in = append(in, '[')
		in = binary.BigEndian.AppendUint32(in, uint32(5*(levels-i-1)+1000-1))
	}
	in = append(in, bytes.Repeat([]byte{'!'}, 1000)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := UnmarshalBinary(in)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("decoding %d bytes allocated %d bytes", len(in), n)
	}
}

func TestBinaryOfRealisticValue(t *testing.T) {
	v := map[string]any{
		"agent_id":    testUUID,
		"region_x":    int32(256000),
		"look_at":     []any{0.5, 0.25, 0.0},
		"seed":        URI("http://127.0.0.1:9000/CAPS/x/"),
		"when":        testDate,
		"flags":       U32Binary(0x2800204b),
		"handle":      U64Binary(uint64(ritual.HandleFromMeters(256000, 256000))),
		"inventory":   []any{map[string]any{"folder_id": "de750c77-6b39-4023-a315-1f4e7c0ad004", "version": int32(18)}},
		"empty_map":   map[string]any{},
		"empty_array": []any{},
		"nothing":     nil,
	}
	b, err := MarshalBinary(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(got, v) {
		t.Fatalf("round trip changed the value:\n%#v\n%#v", got, v)
	}
	m := Map(got.(map[string]any))
	if m.U32("flags") != 0x2800204b || ritual.RegionHandle(m.U64("handle")) != ritual.HandleFromMeters(256000, 256000) {
		t.Fatalf("U32/U64 read back as %#x, %#x", m.U32("flags"), m.U64("handle"))
	}
}
