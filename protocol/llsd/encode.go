package llsd

import (
	"io"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"time"

	"ritual"
)

// DefaultMaxDepth is how deeply maps and arrays may nest, in documents read
// and written, unless Options.MaxDepth says otherwise.
const DefaultMaxDepth = 128

// Headers that may precede a document.
const (
	// XMLProlog is the XML declaration MarshalXML writes first.
	XMLProlog = `<?xml version="1.0" encoding="UTF-8"?>`
	// BinaryHeader is the line MarshalBinary writes first.
	BinaryHeader = "<? llsd/binary ?>\n"
	// NotationHeader is the line a notation document may start with;
	// MarshalNotation does not write it.
	NotationHeader = "<? llsd/notation ?>\n"
)

// MarshalXML returns v as an LLSD XML document, with the XML prolog.
func MarshalXML(v any) ([]byte, error) { return AppendXML(nil, v) }

// AppendXML appends v as an LLSD XML document, with the XML prolog, to b.
// On error it returns b unchanged.
func AppendXML(b []byte, v any) ([]byte, error) { return appendDoc(b, FormatXML, v, true) }

// MarshalBinary returns v in the binary form, after BinaryHeader.
func MarshalBinary(v any) ([]byte, error) { return AppendBinary(nil, v) }

// AppendBinary appends BinaryHeader and v in the binary form to b. (An
// Encoder with SetHeader(false) writes the bare value.) On error it returns
// b unchanged.
func AppendBinary(b []byte, v any) ([]byte, error) { return appendDoc(b, FormatBinary, v, true) }

// MarshalNotation returns v in notation, without a header:
// {'a':i1,'b':[r0.5,'x']}.
func MarshalNotation(v any) ([]byte, error) { return AppendNotation(nil, v) }

// AppendNotation appends v in notation to b. On error it returns b
// unchanged.
func AppendNotation(b []byte, v any) ([]byte, error) { return appendDoc(b, FormatNotation, v, false) }

// Marshal returns v in format f as MarshalXML, MarshalBinary or
// MarshalNotation would.
func Marshal(f Format, v any) ([]byte, error) {
	return appendDoc(nil, f, v, f != FormatNotation)
}

// An Encoder writes LLSD documents to a writer, one per Encode call.
type Encoder struct {
	w      io.Writer
	format Format
	header bool
	buf    []byte
}

// NewEncoder returns an Encoder writing format f (FormatXML, FormatBinary or
// FormatNotation) to w. XML documents start with the XML prolog and binary
// ones with BinaryHeader unless SetHeader(false) is called; notation has no
// header unless SetHeader(true) is.
func NewEncoder(w io.Writer, f Format) *Encoder {
	return &Encoder{w: w, format: f, header: f != FormatNotation}
}

// SetHeader turns the prolog or header line on or off.
func (e *Encoder) SetHeader(on bool) { e.header = on }

// Encode writes v as one document.
func (e *Encoder) Encode(v any) error {
	var err error
	e.buf, err = appendDoc(e.buf[:0], e.format, v, e.header)
	if err != nil {
		return err
	}
	_, err = e.w.Write(e.buf)
	return err
}

func appendDoc(b []byte, f Format, v any, header bool) ([]byte, error) {
	start := len(b)
	w := walker{maxDepth: DefaultMaxDepth}
	switch f {
	case FormatXML:
		x := &xmlEmitter{b: b}
		if header {
			x.b = append(x.b, XMLProlog...)
		}
		x.b = append(x.b, "<llsd>"...)
		w.e = x
		if err := w.value(v, 0); err != nil {
			return b[:start], err
		}
		return append(x.b, "</llsd>"...), nil
	case FormatBinary:
		x := &binaryEmitter{b: b}
		if header {
			x.b = append(x.b, BinaryHeader...)
		}
		w.e = x
		if err := w.value(v, 0); err != nil {
			return b[:start], err
		}
		return x.b, nil
	case FormatNotation:
		x := &notationEmitter{b: b}
		if header {
			x.b = append(x.b, NotationHeader...)
		}
		w.e = x
		if err := w.value(v, 0); err != nil {
			return b[:start], err
		}
		return x.b, nil
	}
	return b, &EncodeError{Msg: "no encoder for format " + f.String(), Err: ErrUnsupported}
}

// emitter is one wire form's writer; the walker validates values and calls
// it in document order.
type emitter interface {
	undef()
	boolean(bool)
	integer(int32)
	real(float64)
	str(string)
	uri(string)
	uuid(ritual.UUID)
	date(time.Time)
	binary([]byte)
	beginArray(n int)
	endArray(n int)
	beginMap(n int)
	key(k string)
	endMap(n int)
}

// walker turns Go values into emitter calls, checking what LLSD cannot
// carry (integers beyond 32 bits, dates beyond years 1–9999, cycles).
type walker struct {
	e        emitter
	maxDepth int
	path     path
	keys     []string // sort scratch, used as a stack by nested maps
}

func (w *walker) value(v any, depth int) error {
	switch x := v.(type) {
	case nil:
		w.e.undef()
	case bool:
		w.e.boolean(x)
	case int32:
		w.e.integer(x)
	case int:
		return w.int64(int64(x))
	case int64:
		return w.int64(x)
	case int8:
		w.e.integer(int32(x))
	case int16:
		w.e.integer(int32(x))
	case uint8:
		w.e.integer(int32(x))
	case uint16:
		w.e.integer(int32(x))
	case uint32:
		return w.uint64(uint64(x))
	case uint:
		return w.uint64(uint64(x))
	case uint64:
		return w.uint64(x)
	case float64:
		w.e.real(x)
	case float32:
		w.e.real(widen32(x))
	case string:
		return w.str(x, false)
	case URI:
		return w.str(string(x), true)
	case *url.URL:
		if x == nil {
			w.e.undef()
			return nil
		}
		return w.str(x.String(), true)
	case ritual.UUID:
		w.e.uuid(x)
	case time.Time:
		if !dateInRange(x) {
			return encodeErr(w.path, ErrUnsupported, "date %s is outside years 1 to 9999", x.Format(time.RFC3339))
		}
		w.e.date(x)
	case []byte:
		if uint64(len(x)) > math.MaxUint32 {
			return encodeErr(w.path, ErrTooLarge, "binary of %d bytes", len(x))
		}
		w.e.binary(x)
	case map[string]any:
		return w.stringMap(x, depth)
	case Map:
		return w.stringMap(x, depth)
	case OrderedMap:
		return w.orderedMap(x, depth)
	case []any:
		if err := w.enter(depth); err != nil {
			return err
		}
		w.e.beginArray(len(x))
		for i, e := range x {
			w.path.pushIndex(i)
			if err := w.value(e, depth+1); err != nil {
				return err
			}
			w.path.pop()
		}
		w.e.endArray(len(x))
	case []string:
		if err := w.enter(depth); err != nil {
			return err
		}
		w.e.beginArray(len(x))
		for i, s := range x {
			w.path.pushIndex(i)
			if err := w.str(s, false); err != nil {
				return err
			}
			w.path.pop()
		}
		w.e.endArray(len(x))
	case ritual.Vector3:
		return w.reals(depth, widen32(x.X), widen32(x.Y), widen32(x.Z))
	case ritual.Vector3d:
		return w.reals(depth, x.X, x.Y, x.Z)
	case ritual.Vector4:
		return w.reals(depth, widen32(x.X), widen32(x.Y), widen32(x.Z), widen32(x.W))
	case ritual.Quaternion:
		return w.reals(depth, widen32(x.X), widen32(x.Y), widen32(x.Z), widen32(x.W))
	case Marshaler:
		if rv := reflect.ValueOf(x); rv.Kind() == reflect.Pointer && rv.IsNil() {
			w.e.undef()
			return nil
		}
		if err := w.enter(depth); err != nil {
			return err
		}
		m, err := x.MarshalLLSD()
		if err != nil {
			return &EncodeError{Path: w.path.String(), Msg: "MarshalLLSD: " + err.Error(), Err: err}
		}
		return w.value(m, depth+1)
	default:
		return w.reflectValue(reflect.ValueOf(v), depth)
	}
	return nil
}

func (w *walker) enter(depth int) error {
	if depth >= w.maxDepth {
		return encodeErr(w.path, ErrDepth, "nested deeper than %d (a cycle?)", w.maxDepth)
	}
	return nil
}

func (w *walker) int64(i int64) error {
	if i < math.MinInt32 || i > math.MaxInt32 {
		return encodeErr(w.path, ErrUnsupported, "integer %d does not fit an LLSD integer (signed 32-bit); send it as U32Binary/U64Binary or a real", i)
	}
	w.e.integer(int32(i))
	return nil
}

func (w *walker) uint64(u uint64) error {
	if u > math.MaxInt32 {
		return encodeErr(w.path, ErrUnsupported, "integer %d does not fit an LLSD integer (signed 32-bit); send it as U32Binary/U64Binary or a real", u)
	}
	w.e.integer(int32(u))
	return nil
}

func (w *walker) str(s string, uri bool) error {
	if uint64(len(s)) > math.MaxUint32 {
		return encodeErr(w.path, ErrTooLarge, "string of %d bytes", len(s))
	}
	if uri {
		w.e.uri(s)
	} else {
		w.e.str(s)
	}
	return nil
}

func (w *walker) reals(depth int, fs ...float64) error {
	if err := w.enter(depth); err != nil {
		return err
	}
	w.e.beginArray(len(fs))
	for _, f := range fs {
		w.e.real(f)
	}
	w.e.endArray(len(fs))
	return nil
}

func (w *walker) stringMap(m map[string]any, depth int) error {
	if err := w.enter(depth); err != nil {
		return err
	}
	start := len(w.keys)
	for k := range m {
		w.keys = append(w.keys, k)
	}
	keys := w.keys[start:]
	slices.Sort(keys)
	w.e.beginMap(len(keys))
	for _, k := range keys {
		if err := w.entry(k, m[k], depth); err != nil {
			return err
		}
	}
	w.e.endMap(len(keys))
	w.keys = w.keys[:start]
	return nil
}

func (w *walker) orderedMap(m OrderedMap, depth int) error {
	if err := w.enter(depth); err != nil {
		return err
	}
	w.e.beginMap(len(m))
	for _, kv := range m {
		if err := w.entry(kv.Key, kv.Value, depth); err != nil {
			return err
		}
	}
	w.e.endMap(len(m))
	return nil
}

func (w *walker) entry(k string, v any, depth int) error {
	w.path.pushKey(k)
	if uint64(len(k)) > math.MaxUint32 {
		return encodeErr(w.path, ErrTooLarge, "key of %d bytes", len(k))
	}
	w.e.key(k)
	if err := w.value(v, depth+1); err != nil {
		return err
	}
	w.path.pop()
	return nil
}

// reflectValue handles named types, typed slices and maps, and pointers.
func (w *walker) reflectValue(rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.Invalid:
		w.e.undef()
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			w.e.undef()
			return nil
		}
		if err := w.enter(depth); err != nil {
			return err
		}
		return w.value(rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		w.e.boolean(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.int64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return w.uint64(rv.Uint())
	case reflect.Float32:
		w.e.real(widen32(float32(rv.Float())))
	case reflect.Float64:
		w.e.real(rv.Float())
	case reflect.String:
		return w.str(rv.String(), false)
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			w.e.binary(b)
			return nil
		}
		if err := w.enter(depth); err != nil {
			return err
		}
		n := rv.Len()
		w.e.beginArray(n)
		for i := range n {
			w.path.pushIndex(i)
			if err := w.value(rv.Index(i).Interface(), depth+1); err != nil {
				return err
			}
			w.path.pop()
		}
		w.e.endArray(n)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return encodeErr(w.path, ErrUnsupported, "map key type %s (LLSD keys are strings)", rv.Type().Key())
		}
		if err := w.enter(depth); err != nil {
			return err
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch as, bs := a.String(), b.String(); {
			case as < bs:
				return -1
			case as > bs:
				return 1
			}
			return 0
		})
		w.e.beginMap(len(keys))
		for _, k := range keys {
			if err := w.entry(k.String(), rv.MapIndex(k).Interface(), depth); err != nil {
				return err
			}
		}
		w.e.endMap(len(keys))
	default:
		return encodeErr(w.path, ErrUnsupported, "Go type %s has no LLSD form (implement llsd.Marshaler)", rv.Type())
	}
	return nil
}

// widen32 converts a float32 to the float64 its shortest decimal form
// denotes, so 0.9991014 (float32) is written as 0.9991014 and not as
// 0.9991014003753662: what a reader of the float32 field meant.
func widen32(f float32) float64 {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return float64(f)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)
	d, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return float64(f)
	}
	return d
}
