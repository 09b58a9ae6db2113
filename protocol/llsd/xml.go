package llsd

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"ritual"
)

// ---- encoding ----

// xmlEmitter writes the XML form: compact, no whitespace between elements
// (the LLSD JavaScript library node-metaverse uses rejects whitespace text
// nodes inside <llsd> and <map>).
type xmlEmitter struct{ b []byte }

func (x *xmlEmitter) undef() { x.b = append(x.b, "<undef />"...) }

func (x *xmlEmitter) boolean(v bool) {
	if v {
		x.b = append(x.b, "<boolean>1</boolean>"...)
	} else {
		x.b = append(x.b, "<boolean>0</boolean>"...)
	}
}

func (x *xmlEmitter) integer(i int32) {
	x.b = append(x.b, "<integer>"...)
	x.b = strconv.AppendInt(x.b, int64(i), 10)
	x.b = append(x.b, "</integer>"...)
}

func (x *xmlEmitter) real(f float64) {
	x.b = append(x.b, "<real>"...)
	x.b = appendReal(x.b, f)
	x.b = append(x.b, "</real>"...)
}

func (x *xmlEmitter) str(s string) { x.textElem("string", s) }
func (x *xmlEmitter) uri(s string) { x.textElem("uri", s) }

func (x *xmlEmitter) textElem(name, s string) {
	x.b = append(x.b, '<')
	x.b = append(x.b, name...)
	if s == "" {
		x.b = append(x.b, " />"...)
		return
	}
	x.b = append(x.b, '>')
	x.b = appendXMLText(x.b, s)
	x.b = append(x.b, "</"...)
	x.b = append(x.b, name...)
	x.b = append(x.b, '>')
}

func (x *xmlEmitter) uuid(u ritual.UUID) {
	x.b = append(x.b, "<uuid>"...)
	x.b = u.AppendText(x.b)
	x.b = append(x.b, "</uuid>"...)
}

func (x *xmlEmitter) date(t time.Time) {
	x.b = append(x.b, "<date>"...)
	x.b = appendDate(x.b, t)
	x.b = append(x.b, "</date>"...)
}

func (x *xmlEmitter) binary(p []byte) {
	if len(p) == 0 {
		x.b = append(x.b, `<binary encoding="base64" />`...)
		return
	}
	x.b = append(x.b, `<binary encoding="base64">`...)
	x.b = base64.StdEncoding.AppendEncode(x.b, p)
	x.b = append(x.b, "</binary>"...)
}

func (x *xmlEmitter) beginArray(n int) {
	if n == 0 {
		x.b = append(x.b, "<array />"...)
	} else {
		x.b = append(x.b, "<array>"...)
	}
}

func (x *xmlEmitter) endArray(n int) {
	if n != 0 {
		x.b = append(x.b, "</array>"...)
	}
}

func (x *xmlEmitter) beginMap(n int) {
	if n == 0 {
		x.b = append(x.b, "<map />"...)
	} else {
		x.b = append(x.b, "<map>"...)
	}
}

func (x *xmlEmitter) key(k string) { x.textElem("key", k) }

func (x *xmlEmitter) endMap(n int) {
	if n != 0 {
		x.b = append(x.b, "</map>"...)
	}
}

// appendXMLText escapes s as XML character data. '<', '>' and '&' become
// entities and '\r' a character reference (XML readers would turn a raw one
// into '\n'). Bytes XML cannot carry at all (invalid UTF-8, control
// characters other than tab, newline and carriage return, U+FFFE and U+FFFF)
// become U+FFFD.
func appendXMLText(b []byte, s string) []byte {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			clean = false
			break
		}
	}
	if clean {
		return append(b, s...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '\r':
				b = append(b, "&#13;"...)
			case c == '\t' || c == '\n' || c >= 0x20:
				b = append(b, c)
			default:
				b = append(b, "\uFFFD"...)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// ---- decoding ----

type xmlDecoder struct {
	data      []byte
	pos       int
	maxDepth  int
	keepOrder bool
	path      path
	buf       []byte // text with entities or CDATA, valid until the next text call
	keys      interner
}

// xmlTag is a parsed start tag; name and encoding alias the input.
type xmlTag struct {
	name     []byte
	empty    bool   // <name/>
	encoding []byte // the encoding attribute, for <binary>
	hasEnc   bool
	offset   int
}

func decodeXML(data []byte, o Options) (any, error) {
	d := &xmlDecoder{data: data, maxDepth: o.maxDepth(), keepOrder: o.KeepOrder}
	return d.document()
}

func (d *xmlDecoder) errAt(off int, sentinel error, format string, args ...any) error {
	return &DecodeError{Format: FormatXML, Offset: off, Path: d.path.String(), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

func (d *xmlDecoder) document() (any, error) {
	if bytes.HasPrefix(d.data, []byte("\xef\xbb\xbf")) {
		d.pos = 3
	}
	if err := d.misc(); err != nil {
		return nil, err
	}
	if d.pos >= len(d.data) {
		return nil, d.errAt(d.pos, ErrTruncated, "no <llsd> element")
	}
	if d.data[d.pos] != '<' {
		return nil, d.errAt(d.pos, ErrSyntax, "text %s before <llsd>", quoteSnippet(d.data[d.pos:]))
	}
	t, err := d.startTag()
	if err != nil {
		return nil, err
	}
	if string(t.name) != "llsd" {
		return nil, d.errAt(t.offset, ErrSyntax, "root element is <%s>, want <llsd>", t.name)
	}
	var v any
	if !t.empty {
		if err := d.misc(); err != nil {
			return nil, err
		}
		if !d.atEndTag() {
			if v, err = d.value(0); err != nil {
				return nil, err
			}
			if err := d.misc(); err != nil {
				return nil, err
			}
		}
		if err := d.endTag(t.name); err != nil {
			return nil, err
		}
	}
	if err := d.misc(); err != nil {
		return nil, err
	}
	if d.pos < len(d.data) {
		return nil, d.errAt(d.pos, ErrSyntax, "data after </llsd>: %s", quoteSnippet(d.data[d.pos:]))
	}
	return v, nil
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// misc skips whitespace, comments and processing instructions (the prolog
// among them). It stops at anything else; declarations are refused, so no
// DOCTYPE can define entities.
func (d *xmlDecoder) misc() error {
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if isXMLSpace(c) {
			d.pos++
			continue
		}
		if c != '<' || d.pos+1 >= len(d.data) {
			return nil
		}
		switch rest := d.data[d.pos:]; {
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := d.skipComment(); err != nil {
				return err
			}
		case rest[1] == '?':
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return d.errAt(d.pos, ErrTruncated, "unclosed processing instruction")
			}
			d.pos += 2 + end + 2
		case rest[1] == '!':
			return d.errAt(d.pos, ErrSyntax, "declaration %s not allowed (no DOCTYPE, no CDATA outside text)", quoteSnippet(rest))
		default:
			return nil
		}
	}
	return nil
}

func (d *xmlDecoder) skipComment() error {
	end := bytes.Index(d.data[d.pos+4:], []byte("-->"))
	if end < 0 {
		return d.errAt(d.pos, ErrTruncated, "unclosed comment")
	}
	d.pos += 4 + end + 3
	return nil
}

func (d *xmlDecoder) atEndTag() bool {
	return d.pos+1 < len(d.data) && d.data[d.pos] == '<' && d.data[d.pos+1] == '/'
}

func isNameEnd(c byte) bool { return isXMLSpace(c) || c == '/' || c == '>' || c == '=' }

// startTag reads <name attr="v" ...> or <name .../> at d.pos.
func (d *xmlDecoder) startTag() (xmlTag, error) {
	t := xmlTag{offset: d.pos}
	if d.pos >= len(d.data) || d.data[d.pos] != '<' {
		return t, d.errAt(d.pos, ErrSyntax, "expected an element")
	}
	d.pos++
	start := d.pos
	for d.pos < len(d.data) && !isNameEnd(d.data[d.pos]) && d.data[d.pos] != '<' {
		d.pos++
	}
	t.name = d.data[start:d.pos]
	if len(t.name) == 0 {
		return t, d.errAt(t.offset, ErrSyntax, "malformed tag %s", quoteSnippet(d.data[t.offset:]))
	}
	for {
		for d.pos < len(d.data) && isXMLSpace(d.data[d.pos]) {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return t, d.errAt(t.offset, ErrTruncated, "unclosed tag <%s", t.name)
		}
		switch d.data[d.pos] {
		case '>':
			d.pos++
			return t, nil
		case '/':
			if d.pos+1 < len(d.data) && d.data[d.pos+1] == '>' {
				d.pos += 2
				t.empty = true
				return t, nil
			}
			return t, d.errAt(d.pos, ErrSyntax, "stray '/' in tag <%s>", t.name)
		}
		// attribute: name = "value"
		astart := d.pos
		for d.pos < len(d.data) && !isNameEnd(d.data[d.pos]) && d.data[d.pos] != '<' {
			d.pos++
		}
		aname := d.data[astart:d.pos]
		for d.pos < len(d.data) && isXMLSpace(d.data[d.pos]) {
			d.pos++
		}
		if len(aname) == 0 || d.pos >= len(d.data) || d.data[d.pos] != '=' {
			return t, d.errAt(astart, ErrSyntax, "malformed attribute in <%s>", t.name)
		}
		d.pos++
		for d.pos < len(d.data) && isXMLSpace(d.data[d.pos]) {
			d.pos++
		}
		if d.pos >= len(d.data) || (d.data[d.pos] != '"' && d.data[d.pos] != '\'') {
			return t, d.errAt(d.pos, ErrSyntax, "attribute %s of <%s> is not quoted", aname, t.name)
		}
		q := d.data[d.pos]
		d.pos++
		vstart := d.pos
		end := bytes.IndexByte(d.data[d.pos:], q)
		if end < 0 {
			return t, d.errAt(vstart-1, ErrTruncated, "unclosed attribute value in <%s>", t.name)
		}
		val := d.data[vstart : vstart+end]
		if bytes.IndexByte(val, '<') >= 0 {
			return t, d.errAt(vstart, ErrSyntax, "'<' in attribute value")
		}
		d.pos = vstart + end + 1
		if string(aname) == "encoding" {
			t.encoding, t.hasEnc = val, true
		}
	}
}

// endTag reads </name> at d.pos.
func (d *xmlDecoder) endTag(name []byte) error {
	off := d.pos
	if !d.atEndTag() {
		if d.pos >= len(d.data) {
			return d.errAt(off, ErrTruncated, "unclosed <%s>", name)
		}
		return d.errAt(off, ErrSyntax, "expected </%s>, found %s", name, quoteSnippet(d.data[off:]))
	}
	d.pos += 2
	start := d.pos
	for d.pos < len(d.data) && !isNameEnd(d.data[d.pos]) && d.data[d.pos] != '<' {
		d.pos++
	}
	got := d.data[start:d.pos]
	for d.pos < len(d.data) && isXMLSpace(d.data[d.pos]) {
		d.pos++
	}
	if d.pos >= len(d.data) {
		return d.errAt(off, ErrTruncated, "unclosed end tag </%s", got)
	}
	if d.data[d.pos] != '>' || !bytes.Equal(got, name) {
		return d.errAt(off, ErrSyntax, "</%s> closes <%s>", got, name)
	}
	d.pos++
	return nil
}

// text reads the character data of the element whose start tag was just
// read, through its end tag. Entities and character references are
// replaced, CDATA sections copied, comments dropped, line ends normalised to
// '\n'. The result aliases the input or d.buf: copy it before the next call.
func (d *xmlDecoder) text(t xmlTag) ([]byte, error) {
	if t.empty {
		return nil, nil
	}
	start := d.pos
	i := bytes.IndexByte(d.data[start:], '<')
	if i < 0 {
		return nil, d.errAt(t.offset, ErrTruncated, "unclosed <%s>", t.name)
	}
	seg := d.data[start : start+i]
	if bytes.IndexByte(seg, '&') < 0 && bytes.IndexByte(seg, '\r') < 0 &&
		start+i+1 < len(d.data) && d.data[start+i+1] == '/' {
		d.pos = start + i
		if err := d.endTag(t.name); err != nil {
			return nil, err
		}
		if bad := badXMLChar(seg); bad >= 0 {
			return nil, d.errAt(start+bad, ErrSyntax, "character XML does not allow in <%s>", t.name)
		}
		return seg, nil
	}
	d.buf = d.buf[:0]
	for {
		if d.pos >= len(d.data) {
			return nil, d.errAt(t.offset, ErrTruncated, "unclosed <%s>", t.name)
		}
		switch c := d.data[d.pos]; c {
		case '<':
			rest := d.data[d.pos:]
			switch {
			case bytes.HasPrefix(rest, []byte("</")):
				if err := d.endTag(t.name); err != nil {
					return nil, err
				}
				if bad := badXMLChar(d.buf); bad >= 0 {
					return nil, d.errAt(start, ErrSyntax, "character XML does not allow in <%s>", t.name)
				}
				return d.buf, nil
			case bytes.HasPrefix(rest, []byte("<![CDATA[")):
				end := bytes.Index(rest[9:], []byte("]]>"))
				if end < 0 {
					return nil, d.errAt(d.pos, ErrTruncated, "unclosed CDATA section")
				}
				d.appendNormalized(rest[9 : 9+end])
				d.pos += 9 + end + 3
			case bytes.HasPrefix(rest, []byte("<!--")):
				if err := d.skipComment(); err != nil {
					return nil, err
				}
			case bytes.HasPrefix(rest, []byte("<?")):
				end := bytes.Index(rest[2:], []byte("?>"))
				if end < 0 {
					return nil, d.errAt(d.pos, ErrTruncated, "unclosed processing instruction")
				}
				d.pos += 2 + end + 2
			default:
				return nil, d.errAt(d.pos, ErrSyntax, "element inside <%s>: %s", t.name, quoteSnippet(rest))
			}
		case '&':
			if err := d.entity(); err != nil {
				return nil, err
			}
		default:
			j := d.pos
			for j < len(d.data) && d.data[j] != '<' && d.data[j] != '&' {
				j++
			}
			d.appendNormalized(d.data[d.pos:j])
			d.pos = j
		}
	}
}

// appendNormalized appends s to d.buf turning "\r\n" and lone '\r' into '\n'.
func (d *xmlDecoder) appendNormalized(s []byte) {
	for {
		i := bytes.IndexByte(s, '\r')
		if i < 0 {
			d.buf = append(d.buf, s...)
			return
		}
		d.buf = append(d.buf, s[:i]...)
		d.buf = append(d.buf, '\n')
		s = s[i+1:]
		if len(s) > 0 && s[0] == '\n' {
			s = s[1:]
		}
	}
}

// entity decodes the entity or character reference at d.pos into d.buf.
func (d *xmlDecoder) entity() error {
	off := d.pos
	end := bytes.IndexByte(d.data[off:min(len(d.data), off+12)], ';')
	if end < 0 {
		return d.errAt(off, ErrSyntax, "malformed entity %s", quoteSnippet(d.data[off:min(len(d.data), off+12)]))
	}
	name := d.data[off+1 : off+end]
	d.pos = off + end + 1
	switch string(name) {
	case "lt":
		d.buf = append(d.buf, '<')
	case "gt":
		d.buf = append(d.buf, '>')
	case "amp":
		d.buf = append(d.buf, '&')
	case "quot":
		d.buf = append(d.buf, '"')
	case "apos":
		d.buf = append(d.buf, '\'')
	default:
		if len(name) < 2 || name[0] != '#' {
			return d.errAt(off, ErrSyntax, "unknown entity &%s;", name)
		}
		var r uint64
		var err error
		if name[1] == 'x' {
			r, err = strconv.ParseUint(string(name[2:]), 16, 32)
		} else {
			r, err = strconv.ParseUint(string(name[1:]), 10, 32)
		}
		if err != nil || !xmlCharOK(rune(r)) || r > utf8.MaxRune {
			return d.errAt(off, ErrSyntax, "bad character reference &%s;", name)
		}
		d.buf = utf8.AppendRune(d.buf, rune(r))
	}
	return nil
}

func xmlCharOK(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return r <= utf8.MaxRune
}

// badXMLChar returns the offset of the first byte that is not part of an
// XML character (invalid UTF-8, a control character), or -1.
func badXMLChar(s []byte) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			return i
		}
		i += n
	}
	return -1
}

// between skips what may separate elements inside a container and reports
// text that may not.
func (d *xmlDecoder) between(container string) error {
	if err := d.misc(); err != nil {
		return err
	}
	if d.pos >= len(d.data) {
		return d.errAt(d.pos, ErrTruncated, "unclosed <%s>", container)
	}
	if d.data[d.pos] != '<' {
		return d.errAt(d.pos, ErrSyntax, "text %s inside <%s>", quoteSnippet(d.data[d.pos:]), container)
	}
	return nil
}

// value reads one value element at d.pos; depth counts the enclosing maps
// and arrays.
func (d *xmlDecoder) value(depth int) (any, error) {
	t, err := d.startTag()
	if err != nil {
		return nil, err
	}
	switch string(t.name) {
	case "map":
		return d.mapValue(t, depth+1)
	case "array":
		return d.arrayValue(t, depth+1)
	case "undef":
		txt, err := d.text(t)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimLeft(txt, " \t\r\n")) != 0 {
			return nil, d.errAt(t.offset, ErrSyntax, "<undef> holds text %s", quoteSnippet(txt))
		}
		return nil, nil
	case "string":
		txt, err := d.text(t)
		if err != nil {
			return nil, err
		}
		return string(txt), nil
	case "boolean", "integer", "real", "uuid", "date", "uri", "binary":
	case "key":
		return nil, d.errAt(t.offset, ErrSyntax, "<key> outside a map")
	default:
		return nil, d.errAt(t.offset, ErrSyntax, "unknown element <%s>", t.name)
	}
	txt, err := d.text(t)
	if err != nil {
		return nil, err
	}
	switch string(t.name) {
	case "binary":
		return d.binaryValue(t, txt)
	case "uri":
		// Kept as written, white space and all, as Linden Lab's
		// library reads it (and as <string> is read).
		return URI(txt), nil
	}
	txt = trimXMLSpace(txt)
	switch string(t.name) {
	case "boolean":
		switch string(txt) {
		case "", "0", "false", "FALSE", "False":
			return false, nil
		case "1", "true", "TRUE", "True":
			return true, nil
		}
		return nil, d.errAt(t.offset, ErrBadValue, "boolean %s (want 1, 0, true or false)", quoteSnippet(txt))
	case "integer":
		if len(txt) == 0 {
			return int32(0), nil
		}
		i, ok := parseInt32(txt)
		if !ok {
			return nil, d.errAt(t.offset, ErrBadValue, "integer %s (want a signed 32-bit decimal)", quoteSnippet(txt))
		}
		return i, nil
	case "real":
		if len(txt) == 0 {
			return float64(0), nil
		}
		f, ok := parseRealText(string(txt))
		if !ok {
			return nil, d.errAt(t.offset, ErrBadValue, "real %s", quoteSnippet(txt))
		}
		return f, nil
	case "uuid":
		u, ok := parseUUIDBytes(txt)
		if !ok {
			return nil, d.errAt(t.offset, ErrBadValue, "uuid %s", quoteSnippet(txt))
		}
		return u, nil
	default: // date
		tm, err := parseDate(string(txt))
		if err != nil {
			return nil, d.errAt(t.offset, ErrBadValue, "date %s: %v", quoteSnippet(txt), err)
		}
		return tm, nil
	}
}

func trimXMLSpace(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func (d *xmlDecoder) binaryValue(t xmlTag, txt []byte) (any, error) {
	enc := string(trimXMLSpace(t.encoding))
	if bytes.IndexByte(t.encoding, '&') >= 0 {
		return nil, d.errAt(t.offset, ErrBadValue, "entity in binary encoding attribute")
	}
	txt = stripXMLSpace(txt)
	switch enc {
	case "", "base64":
		out, err := decodeBase64(txt)
		if err != nil {
			return nil, d.errAt(t.offset, ErrBadValue, "base64 binary: %v", err)
		}
		return out, nil
	case "base16":
		out := make([]byte, hex.DecodedLen(len(txt)))
		if _, err := hex.Decode(out, txt); err != nil {
			return nil, d.errAt(t.offset, ErrBadValue, "base16 binary: %v", err)
		}
		return out, nil
	case "base85":
		return nil, d.errAt(t.offset, ErrUnsupported, "base85 binary encoding is not supported")
	}
	return nil, d.errAt(t.offset, ErrBadValue, "unknown binary encoding %q", enc)
}

// stripXMLSpace removes all whitespace (writers wrap long base64), copying
// only when there is some.
func stripXMLSpace(b []byte) []byte {
	i := 0
	for i < len(b) && !isXMLSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b))
	copy(out, b[:i])
	for ; i < len(b); i++ {
		if !isXMLSpace(b[i]) {
			out = append(out, b[i])
		}
	}
	return out
}

// decodeBase64 reads standard base64, padded or not.
func decodeBase64(txt []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(txt)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	out := make([]byte, enc.DecodedLen(len(txt)))
	n, err := enc.Decode(out, txt)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

func (d *xmlDecoder) mapValue(t xmlTag, depth int) (any, error) {
	if depth > d.maxDepth {
		return nil, d.errAt(t.offset, ErrDepth, "maps and arrays nested deeper than %d", d.maxDepth)
	}
	var m map[string]any
	var om OrderedMap
	if d.keepOrder {
		om = OrderedMap{}
	} else {
		m = map[string]any{}
	}
	if !t.empty {
		for {
			if err := d.between("map"); err != nil {
				return nil, err
			}
			if d.atEndTag() {
				if err := d.endTag(t.name); err != nil {
					return nil, err
				}
				break
			}
			kt, err := d.startTag()
			if err != nil {
				return nil, err
			}
			if string(kt.name) != "key" {
				return nil, d.errAt(kt.offset, ErrSyntax, "<%s> in <map> where a <key> belongs", kt.name)
			}
			ktxt, err := d.text(kt)
			if err != nil {
				return nil, err
			}
			key := d.keys.get(ktxt)
			d.path.pushKey(key)
			if err := d.between("map"); err != nil {
				return nil, err
			}
			if d.atEndTag() {
				return nil, d.errAt(d.pos, ErrSyntax, "key %q has no value", key)
			}
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
	}
	if d.keepOrder {
		return om, nil
	}
	return m, nil
}

func (d *xmlDecoder) arrayValue(t xmlTag, depth int) (any, error) {
	if depth > d.maxDepth {
		return nil, d.errAt(t.offset, ErrDepth, "maps and arrays nested deeper than %d", d.maxDepth)
	}
	a := []any{}
	if t.empty {
		return a, nil
	}
	for {
		if err := d.between("array"); err != nil {
			return nil, err
		}
		if d.atEndTag() {
			if err := d.endTag(t.name); err != nil {
				return nil, err
			}
			return a, nil
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

// parseInt32 reads an optionally signed decimal that fits 32 bits.
func parseInt32(b []byte) (int32, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 11 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if n < -1<<31 || n > 1<<31-1 {
		return 0, false
	}
	return int32(n), true
}

// parseUUIDBytes reads a UUID as ritual.ParseUUID does (dashed, 32 hex
// digits, or empty for zero) without allocating.
func parseUUIDBytes(b []byte) (ritual.UUID, bool) {
	var u ritual.UUID
	switch len(b) {
	case 0:
		return u, true
	case 32:
		_, err := hex.Decode(u[:], b)
		return u, err == nil
	case 36:
		if b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
			return u, false
		}
		var buf [32]byte
		copy(buf[0:8], b[0:8])
		copy(buf[8:12], b[9:13])
		copy(buf[12:16], b[14:18])
		copy(buf[16:20], b[19:23])
		copy(buf[20:32], b[24:36])
		_, err := hex.Decode(u[:], buf[:])
		return u, err == nil
	}
	return u, false
}
