package xmlrpc

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Prolog begins every document this package writes.
const Prolog = `<?xml version="1.0" encoding="utf-8"?>`

// AppendXML appends the <methodCall> document for r to b. On error it
// returns b unchanged.
func (r *Request) AppendXML(b []byte) ([]byte, error) {
	if !validMethodName(r.Method) {
		return b, fmt.Errorf("%w: method name %q", ErrUnsupportedValue, r.Method)
	}
	n := len(b)
	b = append(b, Prolog+"<methodCall><methodName>"...)
	b = append(b, r.Method...)
	b = append(b, "</methodName>"...)
	b, err := appendParams(b, r.Params)
	if err != nil {
		return b[:n], err
	}
	return append(b, "</methodCall>"...), nil
}

// Marshal returns the <methodCall> document for r.
func (r *Request) Marshal() ([]byte, error) {
	return r.AppendXML(make([]byte, 0, 512))
}

// AppendXML appends the <methodResponse> document for r to b: the fault if
// r.Fault is set (then r.Params must be empty), else the params. On error
// it returns b unchanged.
func (r *Response) AppendXML(b []byte) ([]byte, error) {
	if r.Fault != nil {
		if len(r.Params) != 0 {
			return b, fmt.Errorf("%w: response with both a fault and params", ErrUnsupportedValue)
		}
		return AppendFault(b, r.Fault), nil
	}
	n := len(b)
	b = append(b, Prolog+"<methodResponse>"...)
	b, err := appendParams(b, r.Params)
	if err != nil {
		return b[:n], err
	}
	return append(b, "</methodResponse>"...), nil
}

// Marshal returns the <methodResponse> document for r.
func (r *Response) Marshal() ([]byte, error) {
	return r.AppendXML(make([]byte, 0, 512))
}

// MarshalResponse returns the <methodResponse> document whose one param is v.
func MarshalResponse(v any) ([]byte, error) {
	r := Response{Params: []any{v}}
	return r.Marshal()
}

// MarshalFault returns the <methodResponse> document carrying f. It cannot
// fail: characters XML cannot carry are replaced (see the package comment).
func MarshalFault(f *Fault) []byte {
	return AppendFault(make([]byte, 0, 256+len(f.String)), f)
}

// AppendFault appends the <methodResponse> document carrying f to b.
func AppendFault(b []byte, f *Fault) []byte {
	b = append(b, Prolog+"<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>"...)
	b = strconv.AppendInt(b, int64(f.Code), 10)
	b = append(b, "</i4></value></member><member><name>faultString</name><value><string>"...)
	b = appendEscaped(b, f.String)
	return append(b, "</string></value></member></struct></value></fault></methodResponse>"...)
}

func appendParams(b []byte, params []any) ([]byte, error) {
	b = append(b, "<params>"...)
	for i, v := range params {
		b = append(b, "<param>"...)
		var err error
		if b, err = appendValue(b, v, 0); err != nil {
			return b, err.(*encodeError).finish(fmt.Sprintf("params[%d]", i))
		}
		b = append(b, "</param>"...)
	}
	return append(b, "</params>"...), nil
}

// AppendValue appends v as a <value> element to b. On error it returns b
// unchanged. Besides the types parsing yields (see the package comment) it
// writes:
//
//	int, int8, int16, uint8, uint16, uint32, uint, uint64  <i4> (error if out of int32 range)
//	float32                                                <double>
//	map[string]any                                         <struct>, members sorted by name
//	[]string, []Struct                                     <array>
//
// int64 is always written as <i8>, so that a parsed <i8> writes back as
// itself; convert to int32 for <i4>. NaN and infinities are errors (XML-RPC
// has no form for them), as are times outside years 0-9999.
func AppendValue(b []byte, v any) ([]byte, error) {
	out, err := appendValue(b, v, 0)
	if err != nil {
		return b, err.(*encodeError).finish("value")
	}
	return out, nil
}

// encodeError is a value that cannot be written, with the path to it built
// up (innermost first) as the error returns through the containers.
type encodeError struct {
	what string
	path []string
}

func (e *encodeError) Error() string { return e.what }

func (e *encodeError) at(step string) *encodeError {
	e.path = append(e.path, step)
	return e
}

func (e *encodeError) finish(root string) error {
	var sb strings.Builder
	sb.WriteString(root)
	for _, s := range slices.Backward(e.path) {
		sb.WriteString(s)
	}
	return fmt.Errorf("%w: %s at %s", ErrUnsupportedValue, e.what, sb.String())
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "<value><nil/></value>"...), nil
	case string:
		b = append(b, "<value><string>"...)
		b = appendEscaped(b, x)
		return append(b, "</string></value>"...), nil
	case bool:
		if x {
			return append(b, "<value><boolean>1</boolean></value>"...), nil
		}
		return append(b, "<value><boolean>0</boolean></value>"...), nil
	case int32:
		return appendI4(b, int64(x)), nil
	case int64:
		b = append(b, "<value><i8>"...)
		b = strconv.AppendInt(b, x, 10)
		return append(b, "</i8></value>"...), nil
	case int:
		return appendInt(b, int64(x), x >= math.MinInt32 && x <= math.MaxInt32, v)
	case int8:
		return appendI4(b, int64(x)), nil
	case int16:
		return appendI4(b, int64(x)), nil
	case uint8:
		return appendI4(b, int64(x)), nil
	case uint16:
		return appendI4(b, int64(x)), nil
	case uint32:
		return appendInt(b, int64(x), x <= math.MaxInt32, v)
	case uint:
		return appendInt(b, int64(x), x <= math.MaxInt32, v)
	case uint64:
		return appendInt(b, int64(x), x <= math.MaxInt32, v)
	case float64:
		return appendDouble(b, x, 64)
	case float32:
		return appendDouble(b, float64(x), 32)
	case []byte:
		b = append(b, "<value><base64>"...)
		b = base64.StdEncoding.AppendEncode(b, x)
		return append(b, "</base64></value>"...), nil
	case time.Time:
		t := x.UTC()
		if t.Year() < 0 || t.Year() > 9999 {
			return b, &encodeError{what: fmt.Sprintf("time %v outside years 0-9999", x)}
		}
		b = append(b, "<value><dateTime.iso8601>"...)
		b = t.AppendFormat(b, "20060102T15:04:05.999999999")
		return append(b, "</dateTime.iso8601></value>"...), nil
	case Struct:
		return appendStruct(b, x, depth)
	case map[string]any:
		s := make(Struct, 0, len(x))
		for k, v := range x {
			s = append(s, Member{Name: k, Value: v})
		}
		slices.SortFunc(s, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
		return appendStruct(b, s, depth)
	case []any:
		return appendArray(b, len(x), func(i int) any { return x[i] }, depth)
	case []string:
		return appendArray(b, len(x), func(i int) any { return x[i] }, depth)
	case []Struct:
		return appendArray(b, len(x), func(i int) any { return x[i] }, depth)
	}
	return b, &encodeError{what: fmt.Sprintf("unsupported type %T", v)}
}

func appendI4(b []byte, n int64) []byte {
	b = append(b, "<value><i4>"...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, "</i4></value>"...)
}

func appendInt(b []byte, n int64, fits bool, v any) ([]byte, error) {
	if !fits {
		return b, &encodeError{what: fmt.Sprintf("%T %v out of <i4> range (use int64 for <i8>)", v, v)}
	}
	return appendI4(b, n), nil
}

// appendDouble writes f in plain decimal notation (no exponent: the
// specification allows none), with the fewest digits that read back as f.
func appendDouble(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, &encodeError{what: fmt.Sprintf("double %v", f)}
	}
	b = append(b, "<value><double>"...)
	b = strconv.AppendFloat(b, f, 'f', -1, bits)
	return append(b, "</double></value>"...), nil
}

func appendStruct(b []byte, s Struct, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return b, &encodeError{what: fmt.Sprintf("more than %d nested arrays and structs", MaxDepth)}
	}
	if dup, ok := duplicateName(s); ok {
		return b, &encodeError{what: fmt.Sprintf("duplicate struct member %q", dup)}
	}
	b = append(b, "<value><struct>"...)
	for i := range s {
		b = append(b, "<member><name>"...)
		b = appendEscaped(b, s[i].Name)
		b = append(b, "</name>"...)
		var err error
		if b, err = appendValue(b, s[i].Value, depth+1); err != nil {
			return b, err.(*encodeError).at(fmt.Sprintf("[%q]", s[i].Name))
		}
		b = append(b, "</member>"...)
	}
	return append(b, "</struct></value>"...), nil
}

func appendArray(b []byte, n int, elem func(int) any, depth int) ([]byte, error) {
	if depth >= MaxDepth {
		return b, &encodeError{what: fmt.Sprintf("more than %d nested arrays and structs", MaxDepth)}
	}
	b = append(b, "<value><array><data>"...)
	for i := 0; i < n; i++ {
		var err error
		if b, err = appendValue(b, elem(i), depth+1); err != nil {
			return b, err.(*encodeError).at(fmt.Sprintf("[%d]", i))
		}
	}
	return append(b, "</data></array></value>"...), nil
}

// appendEscaped appends s as XML character data: &, < and > as entities,
// carriage return as &#xD; (so that it survives line-end normalisation),
// and every character XML 1.0 cannot carry, and every invalid UTF-8
// sequence, as U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c >= 0x20 && c != '&' && c != '<' && c != '>') || c == '\t' || c == '\n' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '&':
				b = append(b, "&amp;"...)
			case '<':
				b = append(b, "&lt;"...)
			case '>':
				b = append(b, "&gt;"...)
			case '\r':
				b = append(b, "&#xD;"...)
			default:
				b = append(b, "\uFFFD"...)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
