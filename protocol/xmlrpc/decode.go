package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Request is an XML-RPC <methodCall>.
type Request struct {
	Method string
	Params []any
}

// Response is an XML-RPC <methodResponse>: either Params (XML-RPC sends
// exactly one; more or none are read and written as they are) or a Fault.
type Response struct {
	Params []any
	Fault  *Fault
}

// ParseRequest parses a <methodCall> document. It does not bound the size
// of data; callers reading from the network should (Server does).
func ParseRequest(data []byte) (*Request, error) {
	p := newParser(data)
	if err := p.root("methodCall"); err != nil {
		return nil, err
	}
	req := &Request{}
	haveName, haveParams := false, false
	for {
		name, ok, err := p.child("methodCall")
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch {
		case name == "methodName" && !haveName:
			s, err := p.text("methodName")
			if err != nil {
				return nil, err
			}
			s = strings.TrimSpace(s)
			if !validMethodName(s) {
				return nil, p.invalid(fmt.Sprintf("bad method name %q", s))
			}
			req.Method, haveName = s, true
		case name == "params" && !haveParams:
			if req.Params, err = p.params(); err != nil {
				return nil, err
			}
			haveParams = true
		default:
			return nil, p.unexpected(name, "methodCall")
		}
	}
	if !haveName {
		return nil, p.invalid("methodCall without methodName")
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return req, nil
}

// ParseResponse parses a <methodResponse> document. A fault is returned in
// Response.Fault, not as an error. It does not bound the size of data;
// callers reading from the network should (Client does).
func ParseResponse(data []byte) (*Response, error) {
	p := newParser(data)
	if err := p.root("methodResponse"); err != nil {
		return nil, err
	}
	resp := &Response{}
	seen := false
	for {
		name, ok, err := p.child("methodResponse")
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if seen || (name != "params" && name != "fault") {
			return nil, p.unexpected(name, "methodResponse")
		}
		seen = true
		if name == "params" {
			if resp.Params, err = p.params(); err != nil {
				return nil, err
			}
		} else if resp.Fault, err = p.fault(); err != nil {
			return nil, err
		}
	}
	if !seen {
		return nil, p.invalid("methodResponse without params or fault")
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return resp, nil
}

// parser walks the token stream of one document. Every method that reads an
// element is entered just after the element's start tag and returns just
// after its end tag.
type parser struct {
	d     *xml.Decoder
	base  int64  // bytes skipped before the decoder's input (a byte order mark)
	off   int64  // input offset of the current token
	depth int    // arrays and structs open
	buf   []byte // scratch for the text of the element being read
}

func newParser(data []byte) *parser {
	p := &parser{}
	if bytes.HasPrefix(data, utf8BOM) {
		data, p.base = data[len(utf8BOM):], int64(len(utf8BOM))
	}
	p.d = xml.NewDecoder(bytes.NewReader(data))
	p.d.CharsetReader = charsetReader
	return p
}

var utf8BOM = []byte("\xef\xbb\xbf")

// charsetReader lets documents declare the encodings older XML-RPC
// implementations use besides UTF-8.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii":
		return r, nil // a subset of UTF-8
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return &latin1Reader{r: r}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}

// latin1Reader converts ISO-8859-1 to UTF-8.
type latin1Reader struct {
	r   io.Reader
	buf [512]byte
	out []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	if len(l.out) == 0 {
		n, err := l.r.Read(l.buf[:])
		if n == 0 {
			return 0, err
		}
		l.out = l.out[:0]
		for _, c := range l.buf[:n] {
			l.out = utf8.AppendRune(l.out, rune(c))
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

// token returns the next raw token, io.EOF at the end of the input, or a
// *ParseError. The token's data is only valid until the next call.
func (p *parser) token() (xml.Token, error) {
	p.off = p.base + p.d.InputOffset()
	tok, err := p.d.RawToken()
	switch {
	case err == nil, err == io.EOF:
		return tok, err
	}
	if se, ok := errors.AsType[*xml.SyntaxError](err); ok {
		return nil, &ParseError{Offset: p.off, Msg: se.Msg, Kind: ErrMalformed}
	}
	return nil, &ParseError{Offset: p.off, Msg: "reading XML", Kind: ErrMalformed, Err: err}
}

// next returns the next token that matters inside the document: comments
// and processing instructions are skipped, DOCTYPE and other directives
// rejected, and the end of input is an error.
func (p *parser) next() (xml.Token, error) {
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil, &ParseError{Offset: p.off, Msg: msgEOF, Kind: ErrMalformed}
		}
		if err != nil {
			return nil, err
		}
		switch tok.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		case xml.Directive:
			return nil, p.malformed("DOCTYPE and other directives are not allowed")
		}
		return tok, nil
	}
}

const msgEOF = "unexpected end of input"

func (p *parser) malformed(msg string) error {
	return &ParseError{Offset: p.off, Msg: msg, Kind: ErrMalformed}
}

func (p *parser) invalid(msg string) error {
	return &ParseError{Offset: p.off, Msg: msg, Kind: ErrInvalid}
}

func (p *parser) unexpected(name, parent string) error {
	return p.invalid(fmt.Sprintf("unexpected <%s> in <%s>", name, parent))
}

func elemName(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// root reads up to the start tag of the document element, which must be
// want.
func (p *parser) root(want string) error {
	for {
		tok, err := p.next()
		if err != nil {
			if pe, ok := err.(*ParseError); ok && pe.Msg == msgEOF {
				pe.Msg = "no " + want + " element"
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if name := elemName(t.Name); name != want {
				return p.invalid(fmt.Sprintf("document element is <%s>, want <%s>", name, want))
			}
			return nil
		case xml.CharData:
			if !isSpace(t) {
				return p.malformed("text before the document element")
			}
		case xml.EndElement:
			return p.malformed(fmt.Sprintf("unexpected </%s>", elemName(t.Name)))
		}
	}
}

// end checks that nothing but whitespace, comments and processing
// instructions follows the document element.
func (p *parser) end() error {
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if !isSpace(t) {
				return p.malformed("text after the document element")
			}
		default:
			return p.malformed("content after the document element")
		}
	}
}

// child returns the name of the next child element of parent, having read
// its start tag, or ok=false having read parent's end tag. Whitespace
// between children is skipped; other text is an error.
func (p *parser) child(parent string) (name string, ok bool, err error) {
	for {
		tok, err := p.next()
		if err != nil {
			return "", false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return elemName(t.Name), true, nil
		case xml.EndElement:
			if n := elemName(t.Name); n != parent {
				return "", false, p.malformed(fmt.Sprintf("</%s> closes <%s>", n, parent))
			}
			return "", false, nil
		case xml.CharData:
			if !isSpace(t) {
				return "", false, p.invalid(fmt.Sprintf("text in <%s>", parent))
			}
		}
	}
}

// text reads the character content of elem up to its end tag.
func (p *parser) text(elem string) (string, error) {
	p.buf = p.buf[:0]
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			p.buf = append(p.buf, t...) // t aliases the decoder's buffer
		case xml.StartElement:
			return "", p.unexpected(elemName(t.Name), elem)
		case xml.EndElement:
			if n := elemName(t.Name); n != elem {
				return "", p.malformed(fmt.Sprintf("</%s> closes <%s>", n, elem))
			}
			return string(p.buf), nil
		}
	}
}

// params reads <param><value>...</value></param>... up to </params>.
func (p *parser) params() ([]any, error) {
	var out []any
	for {
		name, ok, err := p.child("params")
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		if name != "param" {
			return nil, p.unexpected(name, "params")
		}
		v, err := p.wrapped("param")
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// wrapped reads the single <value> inside elem (param, fault) and elem's
// end tag.
func (p *parser) wrapped(elem string) (any, error) {
	name, ok, err := p.child(elem)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.invalid(fmt.Sprintf("<%s> without a value", elem))
	}
	if name != "value" {
		return nil, p.unexpected(name, elem)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if name, ok, err = p.child(elem); err != nil {
		return nil, err
	} else if ok {
		return nil, p.unexpected(name, elem)
	}
	return v, nil
}

// fault reads <value><struct>faultCode, faultString</struct></value>.
func (p *parser) fault() (*Fault, error) {
	v, err := p.wrapped("fault")
	if err != nil {
		return nil, err
	}
	s, ok := v.(Struct)
	if !ok {
		return nil, p.invalid("fault value is not a struct")
	}
	code, ok := s.Int("faultCode")
	if !ok || code != int64(int32(code)) {
		return nil, p.invalid("fault without an int faultCode")
	}
	f := &Fault{Code: int32(code)}
	if v, ok := s.Get("faultString"); ok {
		if f.String, ok = v.(string); !ok {
			return nil, p.invalid("fault with a faultString that is not a string")
		}
	}
	return f, nil
}

// value reads the content of <value> up to </value>: one typed element, or
// text (an untyped string), with whitespace around a typed element ignored.
func (p *parser) value() (any, error) {
	p.buf = p.buf[:0] // text before a typed element, or the untyped string
	var v any
	typed := false
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if typed {
				if !isSpace(t) {
					return nil, p.invalid("text beside a typed value")
				}
				continue
			}
			p.buf = append(p.buf, t...)
		case xml.StartElement:
			if typed {
				return nil, p.invalid("two values in one <value>")
			}
			if !isSpace(p.buf) {
				return nil, p.invalid("text beside a typed value")
			}
			if v, err = p.typed(elemName(t.Name)); err != nil {
				return nil, err
			}
			typed = true
		case xml.EndElement:
			if n := elemName(t.Name); n != "value" {
				return nil, p.malformed(fmt.Sprintf("</%s> closes <value>", n))
			}
			if typed {
				return v, nil
			}
			return string(p.buf), nil
		}
	}
}

// typed reads a type element's content and its end tag.
func (p *parser) typed(tag string) (any, error) {
	start := p.off
	switch tag {
	case "string":
		return p.text(tag)
	case "struct":
		return p.structValue()
	case "array":
		return p.array()
	case "nil":
		s, err := p.text(tag)
		if err != nil {
			return nil, err
		}
		if !isSpace([]byte(s)) {
			return nil, p.invalid("<nil> with content")
		}
		return nil, nil
	case "int", "i4", "i8", "boolean", "double", "base64", "dateTime.iso8601":
	default:
		return nil, p.invalid(fmt.Sprintf("unknown type <%s>", tag))
	}
	s, err := p.text(tag)
	if err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	switch tag {
	case "int", "i4":
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, p.badValue(start, tag, s, err)
		}
		return int32(n), nil
	case "i8":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, p.badValue(start, tag, s, err)
		}
		return n, nil
	case "boolean":
		switch {
		case s == "1", strings.EqualFold(s, "true"):
			return true, nil
		case s == "0", strings.EqualFold(s, "false"):
			return false, nil
		}
		return nil, p.badValue(start, tag, s, nil)
	case "double":
		if !isDecimal(s) {
			return nil, p.badValue(start, tag, s, nil)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, p.badValue(start, tag, s, err)
		}
		return f, nil
	case "base64":
		b, err := decodeBase64(s)
		if err != nil {
			return nil, p.badValue(start, tag, s, err)
		}
		return b, nil
	default: // dateTime.iso8601
		t, ok := parseTime(s)
		if !ok {
			return nil, p.badValue(start, tag, s, nil)
		}
		return t, nil
	}
}

// badValue reports a value that does not parse as its type, quoting at
// most 64 bytes of it (strconv's errors quote all of it, so only their
// reason is kept).
func (p *parser) badValue(off int64, tag, s string, cause error) error {
	if ne, ok := errors.AsType[*strconv.NumError](cause); ok {
		cause = ne.Err
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return &ParseError{Offset: off, Msg: fmt.Sprintf("bad <%s> %q", tag, s), Kind: ErrInvalid, Err: cause}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return &ParseError{Offset: p.off, Msg: fmt.Sprintf("more than %d nested arrays and structs", MaxDepth), Kind: ErrTooDeep}
	}
	return nil
}

// structValue reads members up to </struct>.
func (p *parser) structValue() (Struct, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	s := Struct{}
	for {
		name, ok, err := p.child("struct")
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if name != "member" {
			return nil, p.unexpected(name, "struct")
		}
		m, err := p.member()
		if err != nil {
			return nil, err
		}
		s = append(s, m)
	}
	if dup, ok := duplicateName(s); ok {
		return nil, p.invalid(fmt.Sprintf("duplicate struct member %q", dup))
	}
	p.depth--
	return s, nil
}

// member reads <name> and <value> (in either order) up to </member>.
func (p *parser) member() (Member, error) {
	var m Member
	haveName, haveValue := false, false
	for {
		name, ok, err := p.child("member")
		if err != nil {
			return m, err
		}
		if !ok {
			break
		}
		switch {
		case name == "name" && !haveName:
			if m.Name, err = p.text("name"); err != nil {
				return m, err
			}
			haveName = true
		case name == "value" && !haveValue:
			if m.Value, err = p.value(); err != nil {
				return m, err
			}
			haveValue = true
		default:
			return m, p.unexpected(name, "member")
		}
	}
	if !haveName || !haveValue {
		return m, p.invalid("member without a name and a value")
	}
	return m, nil
}

// array reads <data> and its values up to </array>.
func (p *parser) array() ([]any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	name, ok, err := p.child("array")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.invalid("<array> without <data>")
	}
	if name != "data" {
		return nil, p.unexpected(name, "array")
	}
	a := []any{}
	for {
		name, ok, err := p.child("data")
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if name != "value" {
			return nil, p.unexpected(name, "data")
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	if name, ok, err = p.child("array"); err != nil {
		return nil, err
	} else if ok {
		return nil, p.unexpected(name, "array")
	}
	p.depth--
	return a, nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// decodeBase64 reads standard base64, ignoring whitespace (senders wrap
// lines) and tolerating missing padding.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(b, []byte(s))
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// timeLayouts are the dateTime.iso8601 forms accepted: the classic basic
// form, the extended form with dashes, and the all-basic form, each with no
// zone (read as UTC), "Z" or a numeric offset. Fractional seconds are
// accepted after the seconds in every form.
var timeLayouts = [...]string{
	"20060102T15:04:05",
	"20060102T15:04:05Z07:00",
	"20060102T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"20060102T150405",
	"20060102T150405Z07:00",
	"20060102T150405Z0700",
}

// parseTime reads a dateTime.iso8601 value as a UTC time, which must fall
// in years 0-9999 (what can be written back).
func parseTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if y := t.Year(); y < 0 || y > 9999 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// validMethodName reports whether s is a method name as the XML-RPC
// specification allows (letters, digits, '_', '.', ':', '/'), plus '-',
// which some servers use.
func validMethodName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '.', c == ':', c == '/', c == '-':
		default:
			return false
		}
	}
	return true
}

// duplicateName returns a member name that occurs twice in s: by pairwise
// comparison for structs the size of login's (no allocation), with a set
// above 64 members so that the check stays linear.
func duplicateName(s Struct) (string, bool) {
	if len(s) <= 64 {
		for i := 1; i < len(s); i++ {
			for j := 0; j < i; j++ {
				if s[i].Name == s[j].Name {
					return s[i].Name, true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(s))
	for i := range s {
		if _, ok := seen[s[i].Name]; ok {
			return s[i].Name, true
		}
		seen[s[i].Name] = struct{}{}
	}
	return "", false
}
