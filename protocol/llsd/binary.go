package llsd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"ritual"
)

// ---- encoding ----

type binaryEmitter struct{ b []byte }

func (x *binaryEmitter) undef() { x.b = append(x.b, '!') }

func (x *binaryEmitter) boolean(v bool) {
	if v {
		x.b = append(x.b, '1')
	} else {
		x.b = append(x.b, '0')
	}
}

func (x *binaryEmitter) integer(i int32) {
	x.b = binary.BigEndian.AppendUint32(append(x.b, 'i'), uint32(i))
}

func (x *binaryEmitter) real(f float64) {
	x.b = binary.BigEndian.AppendUint64(append(x.b, 'r'), math.Float64bits(f))
}

func (x *binaryEmitter) counted(marker byte, s string) {
	x.b = binary.BigEndian.AppendUint32(append(x.b, marker), uint32(len(s)))
	x.b = append(x.b, s...)
}

func (x *binaryEmitter) str(s string) { x.counted('s', s) }
func (x *binaryEmitter) uri(s string) { x.counted('l', s) }
func (x *binaryEmitter) key(k string) { x.counted('k', k) }

func (x *binaryEmitter) uuid(u ritual.UUID) { x.b = append(append(x.b, 'u'), u[:]...) }

// date is the one little-endian number in the binary form.
func (x *binaryEmitter) date(t time.Time) {
	x.b = binary.LittleEndian.AppendUint64(append(x.b, 'd'), math.Float64bits(dateToSeconds(t)))
}

func (x *binaryEmitter) binary(p []byte) {
	x.b = binary.BigEndian.AppendUint32(append(x.b, 'b'), uint32(len(p)))
	x.b = append(x.b, p...)
}

func (x *binaryEmitter) beginArray(n int) {
	x.b = binary.BigEndian.AppendUint32(append(x.b, '['), uint32(n))
}
func (x *binaryEmitter) endArray(int) { x.b = append(x.b, ']') }

func (x *binaryEmitter) beginMap(n int) {
	x.b = binary.BigEndian.AppendUint32(append(x.b, '{'), uint32(n))
}
func (x *binaryEmitter) endMap(int) { x.b = append(x.b, '}') }

// ---- decoding ----

type binaryDecoder struct {
	data      []byte
	pos       int
	maxDepth  int
	keepOrder bool
	path      path
	keys      interner
}

// preallocCap bounds the room reserved for a container before its elements
// are read, whatever count the input claims.
const preallocCap = 32

func decodeBinary(data []byte, o Options) (any, error) {
	d := &binaryDecoder{data: data, maxDepth: o.maxDepth(), keepOrder: o.KeepOrder}
	d.pos = binaryHeaderLen(data)
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.data) {
		return nil, d.errAt(d.pos, ErrSyntax, "%d bytes after the value", len(d.data)-d.pos)
	}
	return v, nil
}

// binaryHeaderLen returns the length of a leading "<? llsd/binary ?>" header
// (any spacing, any case) and the newline after it, or 0.
func binaryHeaderLen(data []byte) int {
	name, n := headerLine(data)
	if name != "llsd/binary" {
		return 0
	}
	if bytes.HasPrefix(data[n:], []byte("\r\n")) {
		n += 2
	} else if bytes.HasPrefix(data[n:], []byte("\n")) {
		n++
	}
	return n
}

// headerLine reads a leading "<? name ?>" (within the first 64 bytes) and
// returns its name, trimmed and lowercased, and its length through "?>";
// "" and 0 when there is none.
func headerLine(data []byte) (string, int) {
	if !bytes.HasPrefix(data, []byte("<?")) {
		return "", 0
	}
	end := bytes.Index(data[2:min(len(data), 64)], []byte("?>"))
	if end < 0 {
		return "", 0
	}
	return strings.ToLower(strings.TrimSpace(string(data[2 : 2+end]))), 2 + end + 2
}

func (d *binaryDecoder) errAt(off int, sentinel error, format string, args ...any) error {
	return &DecodeError{Format: FormatBinary, Offset: off, Path: d.path.String(), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// need returns the next n bytes, or an error naming what was being read.
func (d *binaryDecoder) need(n int, what string, at int) ([]byte, error) {
	if n > len(d.data)-d.pos {
		return nil, d.errAt(at, ErrTruncated, "%s needs %d bytes, %d left", what, n, len(d.data)-d.pos)
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// length reads a u32 length and checks the input still holds that many bytes.
func (d *binaryDecoder) length(what string, at int) (int, error) {
	if len(d.data)-d.pos < 4 {
		return 0, d.errAt(at, ErrTruncated, "%s length needs 4 bytes, %d left", what, len(d.data)-d.pos)
	}
	n := binary.BigEndian.Uint32(d.data[d.pos:])
	d.pos += 4
	if uint64(n) > uint64(len(d.data)-d.pos) {
		return 0, d.errAt(at, ErrTooLarge, "%s of %d bytes, only %d left", what, n, len(d.data)-d.pos)
	}
	return int(n), nil
}

func (d *binaryDecoder) value(depth int) (any, error) {
	at := d.pos
	if d.pos >= len(d.data) {
		return nil, d.errAt(at, ErrTruncated, "value expected")
	}
	c := d.data[d.pos]
	d.pos++
	switch c {
	case '!':
		return nil, nil
	case '1':
		return true, nil
	case '0':
		return false, nil
	case 'i':
		b, err := d.need(4, "integer", at)
		if err != nil {
			return nil, err
		}
		return int32(binary.BigEndian.Uint32(b)), nil
	case 'r':
		b, err := d.need(8, "real", at)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case 'u':
		b, err := d.need(16, "uuid", at)
		if err != nil {
			return nil, err
		}
		return ritual.UUID(b), nil
	case 'd':
		b, err := d.need(8, "date", at)
		if err != nil {
			return nil, err
		}
		secs := math.Float64frombits(binary.LittleEndian.Uint64(b))
		t, err := secondsToDate(secs)
		if err != nil {
			return nil, d.errAt(at, ErrBadValue, "date of %g seconds: %v", secs, err)
		}
		return t, nil
	case 's', 'l', 'b':
		what := "string"
		switch c {
		case 'l':
			what = "uri"
		case 'b':
			what = "binary"
		}
		n, err := d.length(what, at)
		if err != nil {
			return nil, err
		}
		p := d.data[d.pos : d.pos+n]
		d.pos += n
		switch c {
		case 's':
			return string(p), nil
		case 'l':
			return URI(p), nil
		}
		return bytes.Clone(p), nil
	case '\'', '"':
		s, err := d.quoted(c, at)
		if err != nil {
			return nil, err
		}
		return s, nil
	case '[':
		return d.array(depth+1, at)
	case '{':
		return d.mapValue(depth+1, at)
	}
	return nil, d.errAt(at, ErrSyntax, "unknown marker %q", c)
}

// quoted reads a notation-style delimited string, which binary documents
// may use for strings and keys.
func (d *binaryDecoder) quoted(q byte, at int) (string, error) {
	s, n, err := unquote(d.data[d.pos:], q)
	if err != nil {
		return "", d.errAt(at, err, "quoted string: %s", errDetail(err))
	}
	d.pos += n
	return s, nil
}

func (d *binaryDecoder) array(depth, at int) (any, error) {
	if depth > d.maxDepth {
		return nil, d.errAt(at, ErrDepth, "maps and arrays nested deeper than %d", d.maxDepth)
	}
	b, err := d.need(4, "array count", at)
	if err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(b)
	// Each element takes at least one byte, and ']' one more.
	if uint64(n) >= uint64(len(d.data)-d.pos) {
		return nil, d.errAt(at, ErrTooLarge, "array of %d elements, only %d bytes left", n, len(d.data)-d.pos)
	}
	a := make([]any, 0, min(int(n), preallocCap))
	for i := range int(n) {
		d.path.pushIndex(i)
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		d.path.pop()
		a = append(a, v)
	}
	if d.pos >= len(d.data) || d.data[d.pos] != ']' {
		return nil, d.errAt(d.pos, ErrSyntax, "array of %d elements not closed by ']'", n)
	}
	d.pos++
	return a, nil
}

func (d *binaryDecoder) mapValue(depth, at int) (any, error) {
	if depth > d.maxDepth {
		return nil, d.errAt(at, ErrDepth, "maps and arrays nested deeper than %d", d.maxDepth)
	}
	b, err := d.need(4, "map count", at)
	if err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(b)
	// Each entry takes at least 3 bytes ('' key and a value), '}' one more.
	if uint64(n) > uint64(len(d.data)-d.pos)/3 {
		return nil, d.errAt(at, ErrTooLarge, "map of %d entries, only %d bytes left", n, len(d.data)-d.pos)
	}
	var m map[string]any
	var om OrderedMap
	if d.keepOrder {
		om = make(OrderedMap, 0, min(int(n), preallocCap))
	} else {
		m = make(map[string]any, min(int(n), preallocCap))
	}
	for range int(n) {
		kat := d.pos
		if d.pos >= len(d.data) {
			return nil, d.errAt(kat, ErrTruncated, "map key expected")
		}
		var key string
		switch c := d.data[d.pos]; c {
		case 'k', 's':
			d.pos++
			kn, err := d.length("key", kat)
			if err != nil {
				return nil, err
			}
			key = d.keys.get(d.data[d.pos : d.pos+kn])
			d.pos += kn
		case '\'', '"':
			d.pos++
			if key, err = d.quoted(c, kat); err != nil {
				return nil, err
			}
		default:
			return nil, d.errAt(kat, ErrSyntax, "map key expected, found marker %q", c)
		}
		d.path.pushKey(key)
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		d.path.pop()
		if d.keepOrder {
			om = append(om, KV{key, v})
		} else {
			m[key] = v
		}
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '}' {
		return nil, d.errAt(d.pos, ErrSyntax, "map of %d entries not closed by '}'", n)
	}
	d.pos++
	if d.keepOrder {
		return om, nil
	}
	return m, nil
}
