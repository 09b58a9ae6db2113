package xmlrpc

import (
	"strconv"
	"strings"
)

// Member is one named value of a Struct.
type Member struct {
	Name  string
	Value any
}

// Struct is an XML-RPC <struct>: its members in document order. Order is
// kept so that marshalling is deterministic and a parsed struct writes back
// as it came. Member names are unique (parsing and marshalling reject
// duplicates).
type Struct []Member

// Get returns the value of the member called name.
func (s Struct) Get(name string) (any, bool) {
	for i := range s {
		if s[i].Name == name {
			return s[i].Value, true
		}
	}
	return nil, false
}

// Set replaces the value of the member called name, or appends a member if
// there is none.
func (s *Struct) Set(name string, v any) {
	for i := range *s {
		if (*s)[i].Name == name {
			(*s)[i].Value = v
			return
		}
	}
	*s = append(*s, Member{Name: name, Value: v})
}

// String returns the member called name if it is a string.
func (s Struct) String(name string) (string, bool) {
	v, ok := s.Get(name)
	if !ok {
		return "", false
	}
	str, ok := v.(string)
	return str, ok
}

// Int returns the member called name as an integer, leniently (see AsInt).
func (s Struct) Int(name string) (int64, bool) {
	v, ok := s.Get(name)
	if !ok {
		return 0, false
	}
	return AsInt(v)
}

// Bool returns the member called name as a flag, leniently (see AsBool).
func (s Struct) Bool(name string) (bool, bool) {
	v, ok := s.Get(name)
	if !ok {
		return false, false
	}
	return AsBool(v)
}

// Float returns the member called name as a number, leniently (see AsFloat).
func (s Struct) Float(name string) (float64, bool) {
	v, ok := s.Get(name)
	if !ok {
		return 0, false
	}
	return AsFloat(v)
}

// Array returns the member called name if it is an array.
func (s Struct) Array(name string) ([]any, bool) {
	v, ok := s.Get(name)
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	return a, ok
}

// Struct returns the member called name if it is a struct.
func (s Struct) Struct(name string) (Struct, bool) {
	v, ok := s.Get(name)
	if !ok {
		return nil, false
	}
	st, ok := v.(Struct)
	return st, ok
}

// AsInt converts v to an integer: an int32 or int64 as it is, or a string
// holding a base-10 integer (surrounding whitespace ignored), as some
// senders write numbers.
func AsInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// AsBool converts v to a flag: a bool as it is; an int32 or int64 as
// non-zero; a string "true"/"false", "1"/"0", "y"/"n" or "yes"/"no" in any
// case, surrounding whitespace ignored (login-flags use "Y" and "N").
func AsBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int32:
		return x != 0, true
	case int64:
		return x != 0, true
	case string:
		s := strings.TrimSpace(x)
		switch {
		case s == "1", strings.EqualFold(s, "true"), strings.EqualFold(s, "y"), strings.EqualFold(s, "yes"):
			return true, true
		case s == "0", strings.EqualFold(s, "false"), strings.EqualFold(s, "n"), strings.EqualFold(s, "no"):
			return false, true
		}
	}
	return false, false
}

// AsFloat converts v to a number: a float64 as it is, an int32 or int64, or
// a string holding a decimal number (surrounding whitespace ignored).
func AsFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		s := strings.TrimSpace(x)
		if !isDecimal(s) {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// isDecimal reports whether s is [+-]digits[.digits][e[+-]digits] with at
// least one digit before the exponent: what <double> accepts (no infinities,
// NaN, hexadecimal or underscores, which strconv would take).
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
