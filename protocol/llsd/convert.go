package llsd

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"ritual"
)

// The As* functions convert a decoded value leniently, in the manner of
// LLSD's own readers, so that code reading a peer's map accepts the
// spellings peers actually use (a numeric string for an integer, a string
// for a UUID, 1 for true). The second result is false when v is absent (nil)
// or cannot be converted; the first is then the zero value.

// AsBool converts a boolean; an integer or real (non-zero is true); a UUID
// (non-zero is true); or a string: "", "0", "false", "n", "no" are false and
// "1", "true", "y", "yes" true (any case), other numbers by their value.
func AsBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int32:
		return x != 0, true
	case float64:
		return x != 0 && !math.IsNaN(x), true
	case ritual.UUID:
		return !x.IsZero(), true
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(s) {
		case "", "0", "false", "f", "n", "no":
			return false, true
		case "1", "true", "t", "y", "yes":
			return true, true
		}
		if f, ok := parseRealText(s); ok {
			return f != 0 && !math.IsNaN(f), true
		}
	}
	return false, false
}

// AsInt converts an integer; a boolean (1 or 0); a real (truncated toward
// zero, clamped to the int32 range; not ok when out of range or NaN); or a
// string holding an integer or a real.
func AsInt(v any) (int32, bool) {
	switch x := v.(type) {
	case int32:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case float64:
		return realToInt(x)
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 32); err == nil {
			return int32(i), true
		}
		if f, ok := parseRealText(s); ok {
			return realToInt(f)
		}
	}
	return 0, false
}

func realToInt(f float64) (int32, bool) {
	switch {
	case math.IsNaN(f):
		return 0, false
	case f >= math.MaxInt32+1:
		return math.MaxInt32, false
	case f <= math.MinInt32-1:
		return math.MinInt32, false
	}
	return int32(f), true
}

// AsReal converts a real; an integer; a boolean (1 or 0); a string holding a
// number (including the nan and infinity spellings); or a date (seconds since
// 1970).
func AsReal(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int32:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		return parseRealText(strings.TrimSpace(x))
	case time.Time:
		return dateToSeconds(x), true
	}
	return 0, false
}

// AsString converts a string; a uri; an integer or real (decimal); a boolean
// ("true" or "false"); a UUID (dashed lowercase); or a date (ISO-8601).
func AsString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case URI:
		return string(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case float64:
		return string(appendReal(nil, x)), true
	case bool:
		return strconv.FormatBool(x), true
	case ritual.UUID:
		return x.String(), true
	case time.Time:
		return string(appendDate(nil, x)), true
	}
	return "", false
}

// AsUUID converts a UUID, a string holding one (dashed or 32 hex digits;
// empty is the zero UUID), or 16 bytes of binary.
func AsUUID(v any) (ritual.UUID, bool) {
	switch x := v.(type) {
	case ritual.UUID:
		return x, true
	case string:
		u, err := ritual.ParseUUID(strings.TrimSpace(x))
		return u, err == nil
	case []byte:
		if len(x) == 16 {
			return ritual.UUID(x), true
		}
	}
	return ritual.UUID{}, false
}

// AsDate converts a date, a string holding an ISO-8601 date, or a number of
// seconds since 1970 (integer or real).
func AsDate(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		t, err := parseDate(strings.TrimSpace(x))
		return t, err == nil
	case float64:
		t, err := secondsToDate(x)
		return t, err == nil
	case int32:
		return time.Unix(int64(x), 0).UTC(), true
	}
	return time.Time{}, false
}

// AsURI converts a uri or a string.
func AsURI(v any) (URI, bool) {
	switch x := v.(type) {
	case URI:
		return x, true
	case string:
		return URI(x), true
	}
	return "", false
}

// AsBinary converts a binary value.
func AsBinary(v any) ([]byte, bool) {
	x, ok := v.([]byte)
	return x, ok
}

// AsArray converts an array.
func AsArray(v any) ([]any, bool) {
	x, ok := v.([]any)
	return x, ok
}

// AsMap converts a map: map[string]any, Map, or OrderedMap (copied into a
// Map, later duplicates winning).
func AsMap(v any) (Map, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case Map:
		return x, true
	case OrderedMap:
		return x.Map(), true
	}
	return nil, false
}

// AsU32 converts the forms an unsigned 32-bit number travels in: 4 bytes of
// big-endian binary (OpenSimulator's habit), an integer (its bits, so -1 is
// 0xffffffff), a whole real in range, or a decimal string.
func AsU32(v any) (uint32, bool) {
	switch x := v.(type) {
	case []byte:
		if len(x) == 4 {
			return binary.BigEndian.Uint32(x), true
		}
	case int32:
		return uint32(x), true
	case float64:
		if x >= 0 && x <= math.MaxUint32 && x == math.Trunc(x) {
			return uint32(x), true
		}
	case string:
		s := strings.TrimSpace(x)
		if u, err := strconv.ParseUint(s, 10, 32); err == nil {
			return uint32(u), true
		}
		if i, err := strconv.ParseInt(s, 10, 32); err == nil {
			return uint32(i), true
		}
	}
	return 0, false
}

// AsU64 converts the forms an unsigned 64-bit number travels in: 8 (or 4)
// bytes of big-endian binary, an integer (its bits zero-extended from 32), a
// whole real in range, or a decimal string.
func AsU64(v any) (uint64, bool) {
	switch x := v.(type) {
	case []byte:
		switch len(x) {
		case 8:
			return binary.BigEndian.Uint64(x), true
		case 4:
			return uint64(binary.BigEndian.Uint32(x)), true
		}
	case int32:
		return uint64(uint32(x)), true
	case float64:
		if x >= 0 && x < 1<<64 && x == math.Trunc(x) {
			return uint64(x), true
		}
	case string:
		if u, err := strconv.ParseUint(strings.TrimSpace(x), 10, 64); err == nil {
			return u, true
		}
	}
	return 0, false
}

// AsVector3 converts an array of three numbers, or a string holding one in
// notation ("[r0.99,r0.04,r0]", as login's look_at member is sent).
func AsVector3(v any) (ritual.Vector3, bool) {
	switch x := v.(type) {
	case []any:
		return vector3FromArray(x)
	case string:
		vec, err := ParseVector3Notation(x)
		return vec, err == nil
	}
	return ritual.Vector3{}, false
}

func vector3FromArray(a []any) (ritual.Vector3, bool) {
	if len(a) != 3 {
		return ritual.Vector3{}, false
	}
	var f [3]float64
	for i, e := range a {
		r, ok := AsReal(e)
		if !ok {
			return ritual.Vector3{}, false
		}
		f[i] = r
	}
	return ritual.Vector3{X: float32(f[0]), Y: float32(f[1]), Z: float32(f[2])}, true
}

// Map is an LLSD map with lenient accessors, for reading the maps peers
// send. Each accessor returns the zero value when the key is absent or its
// value does not convert (see the As* functions for the rules); use Lookup
// and the As* functions directly to tell those cases apart. A decoded
// map[string]any converts to Map for free: llsd.Map(m).
type Map map[string]any

// Lookup returns the value stored under key and whether it is present.
func (m Map) Lookup(key string) (any, bool) {
	v, ok := m[key]
	return v, ok
}

// Has reports whether key is present.
func (m Map) Has(key string) bool {
	_, ok := m[key]
	return ok
}

// Bool reads key with AsBool.
func (m Map) Bool(key string) bool { v, _ := AsBool(m[key]); return v }

// Int reads key with AsInt.
func (m Map) Int(key string) int32 { v, _ := AsInt(m[key]); return v }

// Real reads key with AsReal.
func (m Map) Real(key string) float64 { v, _ := AsReal(m[key]); return v }

// String reads key with AsString.
func (m Map) String(key string) string { v, _ := AsString(m[key]); return v }

// UUID reads key with AsUUID.
func (m Map) UUID(key string) ritual.UUID { v, _ := AsUUID(m[key]); return v }

// Date reads key with AsDate.
func (m Map) Date(key string) time.Time { v, _ := AsDate(m[key]); return v }

// URI reads key with AsURI.
func (m Map) URI(key string) URI { v, _ := AsURI(m[key]); return v }

// Binary reads key with AsBinary.
func (m Map) Binary(key string) []byte { v, _ := AsBinary(m[key]); return v }

// Array reads key with AsArray.
func (m Map) Array(key string) []any { v, _ := AsArray(m[key]); return v }

// Map reads key with AsMap.
func (m Map) Map(key string) Map { v, _ := AsMap(m[key]); return v }

// U32 reads key with AsU32.
func (m Map) U32(key string) uint32 { v, _ := AsU32(m[key]); return v }

// U64 reads key with AsU64.
func (m Map) U64(key string) uint64 { v, _ := AsU64(m[key]); return v }

// Vector3 reads key with AsVector3.
func (m Map) Vector3(key string) ritual.Vector3 { v, _ := AsVector3(m[key]); return v }
