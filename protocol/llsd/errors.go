package llsd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors; every decode or encode error wraps one of them.
var (
	// ErrSyntax reports input that is not well-formed in its format:
	// malformed XML, an unknown element or marker, a missing key or value.
	ErrSyntax = errors.New("llsd: syntax error")
	// ErrBadValue reports a scalar whose text does not parse as its type:
	// an integer, real, UUID, date, boolean or base64/base16 payload.
	ErrBadValue = errors.New("llsd: bad value")
	// ErrTruncated reports input that ends in the middle of a value.
	ErrTruncated = errors.New("llsd: unexpected end of input")
	// ErrDepth reports maps and arrays nested deeper than the limit.
	ErrDepth = errors.New("llsd: nesting too deep")
	// ErrTooLarge reports a length or count larger than the remaining input
	// or a document larger than the reader's limit.
	ErrTooLarge = errors.New("llsd: too large")
	// ErrUnsupported reports something valid LLSD may carry that this
	// package does not handle (base85 binary), or a Go value the encoders
	// cannot represent.
	ErrUnsupported = errors.New("llsd: unsupported")
)

// DecodeError says what was wrong with an input and where: the byte offset
// into the input and the path of the value being read (".events[0].body";
// empty at the top level). It unwraps to one of the sentinel errors.
type DecodeError struct {
	Format Format
	Offset int
	Path   string
	Msg    string
	Err    error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("llsd: ")
	b.WriteString(e.Format.String())
	b.WriteString(": byte ")
	b.WriteString(strconv.Itoa(e.Offset))
	if e.Path != "" {
		b.WriteString(" at ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError reports a value the encoders cannot write, with the path of
// the value inside the document.
type EncodeError struct {
	Path string
	Msg  string
	Err  error
}

func (e *EncodeError) Error() string {
	if e.Path == "" {
		return "llsd: encode: " + e.Msg
	}
	return "llsd: encode " + e.Path + ": " + e.Msg
}

func (e *EncodeError) Unwrap() error { return e.Err }

// pathSeg is one step into the value tree: a map key or an array index.
type pathSeg struct {
	key   string
	index int
	isKey bool
}

// path is the stack of steps from the top to the value being read or
// written; it is rendered only when an error is reported.
type path []pathSeg

func (p *path) pushKey(k string) { *p = append(*p, pathSeg{key: k, isKey: true}) }
func (p *path) pushIndex(i int)  { *p = append(*p, pathSeg{index: i}) }
func (p *path) pop()             { *p = (*p)[:len(*p)-1] }

func (p path) String() string {
	var b strings.Builder
	for _, s := range p {
		if !s.isKey {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if plainKey(s.key) {
			b.WriteByte('.')
			b.WriteString(s.key)
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Quote(s.key))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// quoteSnippet renders up to 20 bytes of input for an error message.
func quoteSnippet(b []byte) string {
	if len(b) > 20 {
		return strconv.Quote(string(b[:20])) + "…"
	}
	return strconv.Quote(string(b))
}

func encodeErr(p path, sentinel error, format string, args ...any) error {
	return &EncodeError{Path: p.String(), Msg: fmt.Sprintf(format, args...), Err: sentinel}
}
