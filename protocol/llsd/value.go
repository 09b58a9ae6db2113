package llsd

import (
	"bytes"
	"math"
	"time"

	"ritual"
)

// Value is any LLSD value; see the package documentation for the Go types
// it may hold.
type Value = any

// URI is the LLSD uri type. It is a distinct type so that a uri survives a
// round trip as a uri and not as a string.
type URI string

// KV is one entry of an OrderedMap.
type KV struct {
	Key   string
	Value any
}

// OrderedMap is an LLSD map whose entries keep their order: the encoders
// write them as given, and decoding with Options.KeepOrder produces one in
// wire order (a repeated key keeps every occurrence; Get returns the last,
// as a Go map would).
type OrderedMap []KV

// Get returns the value of the last entry named key.
func (m OrderedMap) Get(key string) (any, bool) {
	for i := len(m) - 1; i >= 0; i-- {
		if m[i].Key == key {
			return m[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the value of the first entry named key, or appends an entry.
func (m *OrderedMap) Set(key string, v any) {
	for i := range *m {
		if (*m)[i].Key == key {
			(*m)[i].Value = v
			return
		}
	}
	*m = append(*m, KV{key, v})
}

// Map returns the entries as a Map (later duplicates win).
func (m OrderedMap) Map() Map {
	out := make(Map, len(m))
	for _, kv := range m {
		out[kv.Key] = kv.Value
	}
	return out
}

// Marshaler is implemented by types that can describe themselves as an LLSD
// value (any of the types the encoders accept).
type Marshaler interface {
	MarshalLLSD() (any, error)
}

// U32Binary returns v as 4 big-endian bytes, the form in which
// OpenSimulator sends unsigned 32-bit fields (an LLSD binary).
func U32Binary(v uint32) []byte {
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// U64Binary returns v as 8 big-endian bytes, the form in which
// OpenSimulator sends unsigned 64-bit fields such as region handles.
func U64Binary(v uint64) []byte {
	return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32),
		byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// Equal reports whether a and b are the same LLSD value. Types must match
// (an integer never equals a real), except that Map, map[string]any and
// OrderedMap compare as maps (an OrderedMap by its Map form) and a nil and an
// empty []byte are equal. NaN equals NaN; dates compare as instants.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int32:
		y, ok := b.(int32)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case string:
		y, ok := b.(string)
		return ok && x == y
	case URI:
		y, ok := b.(URI)
		return ok && x == y
	case ritual.UUID:
		y, ok := b.(ritual.UUID)
		return ok && x == y
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	xm, ok := equalMap(a)
	if !ok {
		return false
	}
	ym, ok := equalMap(b)
	if !ok || len(xm) != len(ym) {
		return false
	}
	for k, xv := range xm {
		yv, ok := ym[k]
		if !ok || !Equal(xv, yv) {
			return false
		}
	}
	return true
}

func equalMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case Map:
		return m, true
	case OrderedMap:
		return m.Map(), true
	}
	return nil, false
}

// interner shares the text of map keys within one decoded document: keys
// repeat (every inventory folder has folder_id, parent_id, name ...), and a
// shared string saves an allocation per repeat. It is a small direct-mapped
// cache, so it costs no allocation of its own.
type interner [64]string

func (in *interner) get(b []byte) string {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &in[h%uint32(len(in))]
	if *slot == string(b) {
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}
