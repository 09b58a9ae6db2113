package llsd

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ritual"
)

// ---- encoding ----

// notationEmitter writes notation: {'key':value,...}, [a,b], no spaces.
type notationEmitter struct {
	b     []byte
	stack []notationLevel
}

type notationLevel struct {
	array bool
	n     int
}

// pre writes the comma before an array element.
func (x *notationEmitter) pre() {
	if k := len(x.stack) - 1; k >= 0 && x.stack[k].array {
		if x.stack[k].n > 0 {
			x.b = append(x.b, ',')
		}
		x.stack[k].n++
	}
}

func (x *notationEmitter) undef() { x.pre(); x.b = append(x.b, '!') }

func (x *notationEmitter) boolean(v bool) {
	x.pre()
	if v {
		x.b = append(x.b, '1')
	} else {
		x.b = append(x.b, '0')
	}
}

func (x *notationEmitter) integer(i int32) {
	x.pre()
	x.b = strconv.AppendInt(append(x.b, 'i'), int64(i), 10)
}

func (x *notationEmitter) real(f float64) {
	x.pre()
	x.b = appendNotationReal(append(x.b, 'r'), f)
}

func (x *notationEmitter) str(s string) {
	x.pre()
	x.b = appendQuoted(x.b, s, '\'')
}

func (x *notationEmitter) uri(s string) {
	x.pre()
	x.b = appendQuoted(append(x.b, 'l'), s, '"')
}

func (x *notationEmitter) uuid(u ritual.UUID) {
	x.pre()
	x.b = u.AppendText(append(x.b, 'u'))
}

func (x *notationEmitter) date(t time.Time) {
	x.pre()
	x.b = append(appendDate(append(x.b, `d"`...), t), '"')
}

func (x *notationEmitter) binary(p []byte) {
	x.pre()
	x.b = append(base64.StdEncoding.AppendEncode(append(x.b, `b64"`...), p), '"')
}

func (x *notationEmitter) beginArray(int) {
	x.pre()
	x.b = append(x.b, '[')
	x.stack = append(x.stack, notationLevel{array: true})
}

func (x *notationEmitter) endArray(int) {
	x.stack = x.stack[:len(x.stack)-1]
	x.b = append(x.b, ']')
}

func (x *notationEmitter) beginMap(int) {
	x.pre()
	x.b = append(x.b, '{')
	x.stack = append(x.stack, notationLevel{})
}

func (x *notationEmitter) key(k string) {
	top := &x.stack[len(x.stack)-1]
	if top.n > 0 {
		x.b = append(x.b, ',')
	}
	top.n++
	x.b = append(appendQuoted(x.b, k, '\''), ':')
}

func (x *notationEmitter) endMap(int) {
	x.stack = x.stack[:len(x.stack)-1]
	x.b = append(x.b, '}')
}

// appendQuoted writes s between q quotes with notation escapes: backslash
// and the quote escaped, control characters as \n, \t … or \xHH, bytes that
// are not UTF-8 as \xHH; valid UTF-8 is written as is.
func appendQuoted(b []byte, s string, q byte) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, q)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch c {
		case '\\':
			b = append(b, '\\', '\\')
		case q:
			b = append(b, '\\', q)
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\v':
			b = append(b, '\\', 'v')
		default:
			if c < 0x20 || c == 0x7f {
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, q)
}

// ---- decoding ----

// unquote reads a delimited string from b, which starts just after the
// opening quote q, through the closing quote. It returns the string and the
// bytes consumed. Escapes: \a \b \f \n \r \t \v \xHH, and a backslash before
// any other byte stands for that byte.
func unquote(b []byte, q byte) (string, int, error) {
	i := bytes.IndexByte(b, q)
	if i < 0 {
		return "", 0, fmt.Errorf("%w: no closing %c", ErrTruncated, q)
	}
	if bytes.IndexByte(b[:i], '\\') < 0 {
		return string(b[:i]), i + 1, nil
	}
	out := make([]byte, 0, len(b[:i]))
	for j := 0; j < len(b); j++ {
		c := b[j]
		if c == q {
			return string(out), j + 1, nil
		}
		if c != '\\' {
			out = append(out, c)
			continue
		}
		j++
		if j >= len(b) {
			break
		}
		switch e := b[j]; e {
		case 'a':
			out = append(out, '\a')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		case 'x':
			if j+2 >= len(b) {
				return "", 0, fmt.Errorf("%w: \\x escape cut short", ErrTruncated)
			}
			var h [1]byte
			if _, err := hex.Decode(h[:], b[j+1:j+3]); err != nil {
				return "", 0, fmt.Errorf("%w: bad \\x escape %q", ErrSyntax, b[j-1:j+3])
			}
			out = append(out, h[0])
			j += 2
		default:
			out = append(out, e)
		}
	}
	return "", 0, fmt.Errorf("%w: no closing %c", ErrTruncated, q)
}

// errDetail is an error's message without the package prefix, for
// embedding in a DecodeError message.
func errDetail(err error) string { return strings.TrimPrefix(err.Error(), "llsd: ") }

type notationDecoder struct {
	data      []byte
	pos       int
	maxDepth  int
	keepOrder bool
	path      path
}

func decodeNotation(data []byte, o Options) (any, error) {
	d := &notationDecoder{data: data, maxDepth: o.maxDepth(), keepOrder: o.KeepOrder}
	d.pos = notationHeaderLen(data)
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errAt(d.pos, ErrSyntax, "data after the value: %s", quoteSnippet(d.data[d.pos:]))
	}
	return v, nil
}

func notationHeaderLen(data []byte) int {
	if name, n := headerLine(data); name == "llsd/notation" {
		return n
	}
	return 0
}

func (d *notationDecoder) errAt(off int, sentinel error, format string, args ...any) error {
	return &DecodeError{Format: FormatNotation, Offset: off, Path: d.path.String(), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

func (d *notationDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			d.pos++
		default:
			return
		}
	}
}

func isNotationDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ':', ' ', '\t', '\n', '\r', '\f', '\v', '\'', '"', '[', '{':
		return true
	}
	return c < 0x20 || c >= 0x7f
}

// token returns the run of bytes up to the next delimiter.
func (d *notationDecoder) token() []byte {
	start := d.pos
	for d.pos < len(d.data) && !isNotationDelim(d.data[d.pos]) {
		d.pos++
	}
	return d.data[start:d.pos]
}

// quotedAt reads a delimited string whose opening quote is at d.pos.
func (d *notationDecoder) quotedAt(what string, at int) (string, error) {
	if d.pos >= len(d.data) {
		return "", d.errAt(at, ErrTruncated, "%s: quote expected", what)
	}
	q := d.data[d.pos]
	if q != '\'' && q != '"' {
		return "", d.errAt(at, ErrSyntax, "%s: quote expected, found %q", what, q)
	}
	s, n, err := unquote(d.data[d.pos+1:], q)
	if err != nil {
		return "", d.errAt(at, err, "%s: %s", what, errDetail(err))
	}
	d.pos += 1 + n
	return s, nil
}

// counted reads "(len)" then a quote, len raw bytes and the same quote: the
// s(5)"hello" and b(5)"hello" forms.
func (d *notationDecoder) counted(what string, at int) ([]byte, error) {
	if d.pos >= len(d.data) || d.data[d.pos] != '(' {
		return nil, d.errAt(at, ErrSyntax, "%s: '(' expected", what)
	}
	d.pos++
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' && d.pos-start < 11 {
		d.pos++
	}
	if d.pos == start || d.pos >= len(d.data) || d.data[d.pos] != ')' {
		return nil, d.errAt(at, ErrSyntax, "%s: length in parentheses expected", what)
	}
	n, err := strconv.ParseUint(string(d.data[start:d.pos]), 10, 32)
	if err != nil {
		return nil, d.errAt(at, ErrSyntax, "%s: bad length", what)
	}
	d.pos++
	if d.pos >= len(d.data) || (d.data[d.pos] != '"' && d.data[d.pos] != '\'') {
		return nil, d.errAt(at, ErrSyntax, "%s: quote expected after length", what)
	}
	q := d.data[d.pos]
	d.pos++
	if n+1 > uint64(len(d.data)-d.pos) {
		return nil, d.errAt(at, ErrTooLarge, "%s of %d bytes, only %d left", what, n, len(d.data)-d.pos)
	}
	p := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	if d.data[d.pos] != q {
		return nil, d.errAt(d.pos, ErrSyntax, "%s of %d bytes not followed by its closing quote", what, n)
	}
	d.pos++
	return p, nil
}

func (d *notationDecoder) value(depth int) (any, error) {
	d.skipSpace()
	at := d.pos
	if d.pos >= len(d.data) {
		return nil, d.errAt(at, ErrTruncated, "value expected")
	}
	c := d.data[d.pos]
	switch c {
	case '!':
		d.pos++
		return nil, nil
	case '0':
		d.pos++
		return false, nil
	case '1':
		d.pos++
		return true, nil
	case 't', 'T', 'f', 'F':
		w := d.token()
		switch strings.ToLower(string(w)) {
		case "t", "true":
			return true, nil
		case "f", "false":
			return false, nil
		}
		return nil, d.errAt(at, ErrSyntax, "unknown word %s", quoteSnippet(w))
	case 'i':
		d.pos++
		w := d.token()
		i, ok := parseInt32(w)
		if !ok {
			return nil, d.errAt(at, ErrBadValue, "integer %s (want a signed 32-bit decimal)", quoteSnippet(w))
		}
		return i, nil
	case 'r':
		d.pos++
		w := d.token()
		f, ok := parseRealText(string(w))
		if !ok {
			return nil, d.errAt(at, ErrBadValue, "real %s", quoteSnippet(w))
		}
		return f, nil
	case 'u':
		d.pos++
		if len(d.data)-d.pos < 36 {
			return nil, d.errAt(at, ErrTruncated, "uuid needs 36 characters")
		}
		u, ok := parseUUIDBytes(d.data[d.pos : d.pos+36])
		if !ok {
			return nil, d.errAt(at, ErrBadValue, "uuid %s", quoteSnippet(d.data[d.pos:d.pos+36]))
		}
		d.pos += 36
		return u, nil
	case '\'', '"':
		return d.quotedAt("string", at)
	case 's':
		d.pos++
		p, err := d.counted("string", at)
		if err != nil {
			return nil, err
		}
		return string(p), nil
	case 'l':
		d.pos++
		s, err := d.quotedAt("uri", at)
		if err != nil {
			return nil, err
		}
		return URI(s), nil
	case 'd':
		d.pos++
		s, err := d.quotedAt("date", at)
		if err != nil {
			return nil, err
		}
		t, err := parseDate(strings.TrimSpace(s))
		if err != nil {
			return nil, d.errAt(at, ErrBadValue, "date %q: %v", s, err)
		}
		return t, nil
	case 'b':
		return d.binary(at)
	case '[':
		return d.array(depth+1, at)
	case '{':
		return d.mapValue(depth+1, at)
	}
	return nil, d.errAt(at, ErrSyntax, "unexpected %s", quoteSnippet(d.data[at:at+1]))
}

func (d *notationDecoder) binary(at int) (any, error) {
	d.pos++
	if d.pos < len(d.data) && d.data[d.pos] == '(' {
		p, err := d.counted("binary", at)
		if err != nil {
			return nil, err
		}
		return bytes.Clone(p), nil
	}
	base := d.token()
	if d.pos >= len(d.data) || (d.data[d.pos] != '"' && d.data[d.pos] != '\'') {
		return nil, d.errAt(at, ErrSyntax, "binary: b64\"…\", b16\"…\" or b(len)\"…\" expected")
	}
	q := d.data[d.pos]
	end := bytes.IndexByte(d.data[d.pos+1:], q)
	if end < 0 {
		return nil, d.errAt(at, ErrTruncated, "binary: no closing quote")
	}
	payload := stripXMLSpace(d.data[d.pos+1 : d.pos+1+end])
	d.pos += 1 + end + 1
	switch string(base) {
	case "64":
		out, err := decodeBase64(payload)
		if err != nil {
			return nil, d.errAt(at, ErrBadValue, "base64 binary: %v", err)
		}
		return out, nil
	case "16":
		out := make([]byte, hex.DecodedLen(len(payload)))
		if _, err := hex.Decode(out, payload); err != nil {
			return nil, d.errAt(at, ErrBadValue, "base16 binary: %v", err)
		}
		return out, nil
	case "85":
		return nil, d.errAt(at, ErrUnsupported, "base85 binary encoding is not supported")
	}
	return nil, d.errAt(at, ErrBadValue, "unknown binary base %s", quoteSnippet(base))
}

func (d *notationDecoder) array(depth, at int) (any, error) {
	if depth > d.maxDepth {
		return nil, d.errAt(at, ErrDepth, "maps and arrays nested deeper than %d", d.maxDepth)
	}
	d.pos++
	a := []any{}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errAt(at, ErrTruncated, "unclosed '['")
		}
		if d.data[d.pos] == ']' {
			d.pos++
			return a, nil
		}
		if len(a) > 0 {
			if d.data[d.pos] != ',' {
				return nil, d.errAt(d.pos, ErrSyntax, "',' or ']' expected, found %s", quoteSnippet(d.data[d.pos:]))
			}
			d.pos++
		}
		d.path.pushIndex(len(a))
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		d.path.pop()
		a = append(a, v)
	}
}

func (d *notationDecoder) mapValue(depth, at int) (any, error) {
	if depth > d.maxDepth {
		return nil, d.errAt(at, ErrDepth, "maps and arrays nested deeper than %d", d.maxDepth)
	}
	d.pos++
	var m map[string]any
	var om OrderedMap
	if d.keepOrder {
		om = OrderedMap{}
	} else {
		m = map[string]any{}
	}
	for n := 0; ; n++ {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errAt(at, ErrTruncated, "unclosed '{'")
		}
		if d.data[d.pos] == '}' {
			d.pos++
			break
		}
		if n > 0 {
			if d.data[d.pos] != ',' {
				return nil, d.errAt(d.pos, ErrSyntax, "',' or '}' expected, found %s", quoteSnippet(d.data[d.pos:]))
			}
			d.pos++
			d.skipSpace()
		}
		kat := d.pos
		var key string
		if d.pos < len(d.data) && d.data[d.pos] == 's' {
			d.pos++
			p, err := d.counted("key", kat)
			if err != nil {
				return nil, err
			}
			key = string(p)
		} else {
			var err error
			if key, err = d.quotedAt("map key", kat); err != nil {
				return nil, err
			}
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errAt(d.pos, ErrSyntax, "':' expected after key %q", key)
		}
		d.pos++
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
	if d.keepOrder {
		return om, nil
	}
	return m, nil
}
