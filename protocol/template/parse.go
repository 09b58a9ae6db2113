package template

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits on what a template may declare. They are far above what the real
// template uses and keep generated types and decoders bounded.
const (
	MaxMultiple  = 255   // largest N in "Multiple N"
	MaxFixedSize = 65535 // largest N in "Fixed N"
	MaxLow       = 0xFEFF
	maxHigh      = 254 // also Medium
)

type token struct {
	text string
	line int
}

// tokenize strips "//" comments and splits src on white space and braces,
// which are tokens of their own.
func tokenize(src []byte) []token {
	var toks []token
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '{' || c == '}':
			toks = append(toks, token{string(c), line})
			i++
		default:
			j := i
			for j < len(src) {
				d := src[j]
				if d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == '\f' || d == '\v' || d == '{' || d == '}' {
					break
				}
				if d == '/' && j+1 < len(src) && src[j+1] == '/' {
					break
				}
				j++
			}
			toks = append(toks, token{string(src[i:j]), line})
			i = j
		}
	}
	return toks
}

type parser struct {
	toks    []token
	pos     int
	endLine int // the last line of the file, for errors at end of input
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// peek returns the next token without consuming it; ok is false at the end.
func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{line: p.endLine}, false
	}
	return p.toks[p.pos], true
}

// next consumes a token; what names the expected token for the error at
// the end of input.
func (p *parser) next(what string) (token, error) {
	t, ok := p.peek()
	if !ok {
		return t, p.errorf(t.line, "unexpected end of file: expected %s", what)
	}
	p.pos++
	return t, nil
}

// word consumes a token that is not a brace.
func (p *parser) word(what string) (token, error) {
	t, err := p.next(what)
	if err != nil {
		return t, err
	}
	if t.text == "{" || t.text == "}" {
		return t, p.errorf(t.line, "expected %s, found %q", what, t.text)
	}
	return t, nil
}

func (p *parser) expect(text, what string) (token, error) {
	t, err := p.next(what)
	if err != nil {
		return t, err
	}
	if t.text != text {
		return t, p.errorf(t.line, "expected %s, found %q", what, t.text)
	}
	return t, nil
}

// Parse parses the text of a message template. It returns an *Error (which
// wraps ErrInvalid) naming the line and the problem.
func Parse(src []byte) (*File, error) {
	p := &parser{toks: tokenize(src), endLine: 1 + strings.Count(string(src), "\n")}
	f := &File{}

	if _, err := p.expect("version", `"version" at the start of the template`); err != nil {
		return nil, err
	}
	v, err := p.word("a version number after \"version\"")
	if err != nil {
		return nil, err
	}
	if !isVersion(v.text) {
		return nil, p.errorf(v.line, "version %q is not a number such as 2.0", v.text)
	}
	f.Version = v.text

	names := map[string]int{} // message name -> line
	ids := map[uint32]string{}
	for {
		t, ok := p.peek()
		if !ok {
			break
		}
		if t.text != "{" {
			return nil, p.errorf(t.line, "expected '{' to open a message, found %q", t.text)
		}
		m, err := p.message()
		if err != nil {
			return nil, err
		}
		if prev, dup := names[m.Name]; dup {
			return nil, p.errorf(m.Line, "message %s is defined twice (first at line %d)", m.Name, prev)
		}
		names[m.Name] = m.Line
		if other, dup := ids[m.ID()]; dup {
			return nil, p.errorf(m.Line, "message %s: %s number %s is already used by %s", m.Name, m.Frequency, numberText(m), other)
		}
		ids[m.ID()] = m.Name
		f.Messages = append(f.Messages, m)
	}
	return f, nil
}

func isVersion(s string) bool {
	dot := false
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0 && i+1 < len(s):
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

func (p *parser) message() (Message, error) {
	open, _ := p.next("'{'")
	var m Message
	m.Line = open.line

	name, err := p.word("a message name after '{'")
	if err != nil {
		return m, err
	}
	if !isIdent(name.text) {
		return m, p.errorf(name.line, "message name %q is not an identifier (letters, digits and '_', starting with a letter)", name.text)
	}
	m.Name = name.text

	freq, err := p.word("a frequency (High, Medium, Low or Fixed) after message " + m.Name)
	if err != nil {
		return m, err
	}
	switch freq.text {
	case "High":
		m.Frequency = High
	case "Medium":
		m.Frequency = Medium
	case "Low":
		m.Frequency = Low
	case "Fixed":
		m.Frequency = Fixed
	default:
		return m, p.errorf(freq.line, "message %s: unknown frequency %q (want High, Medium, Low or Fixed)", m.Name, freq.text)
	}

	num, err := p.word("a message number after " + m.Name + " " + freq.text)
	if err != nil {
		return m, err
	}
	n, ok := parseNumber(num.text)
	if !ok {
		return m, p.errorf(num.line, "message %s: number %q is not a decimal or 0x hexadecimal number", m.Name, num.text)
	}
	switch m.Frequency {
	case High, Medium:
		if n < 1 || n > maxHigh {
			return m, p.errorf(num.line, "message %s: %s number %d is out of range 1-%d", m.Name, m.Frequency, n, maxHigh)
		}
	case Low:
		if n < 1 || n > MaxLow {
			return m, p.errorf(num.line, "message %s: Low number %d is out of range 1-%d (0xFF00 and above is the Fixed space)", m.Name, n, MaxLow)
		}
	case Fixed:
		if n < 0xFFFFFF00 {
			return m, p.errorf(num.line, "message %s: Fixed number %s is out of range 0xFFFFFF00-0xFFFFFFFF", m.Name, num.text)
		}
	}
	m.Number = uint32(n)

	trust, err := p.word("Trusted or NotTrusted after the message number of " + m.Name)
	if err != nil {
		return m, err
	}
	switch trust.text {
	case "Trusted":
		m.Trusted = true
	case "NotTrusted":
	default:
		return m, p.errorf(trust.line, "message %s: expected Trusted or NotTrusted, found %q", m.Name, trust.text)
	}

	enc, err := p.word("Zerocoded or Unencoded after the trust of " + m.Name)
	if err != nil {
		return m, err
	}
	switch enc.text {
	case "Zerocoded":
		m.Zerocoded = true
	case "Unencoded":
	default:
		return m, p.errorf(enc.line, "message %s: expected Zerocoded or Unencoded, found %q", m.Name, enc.text)
	}

	if t, ok := p.peek(); ok && t.text != "{" && t.text != "}" {
		p.pos++
		switch t.text {
		case "UDPDeprecated":
			m.Deprecation = UDPDeprecated
		case "Deprecated":
			m.Deprecation = Deprecated
		case "UDPBlackListed":
			m.Deprecation = UDPBlackListed
		default:
			return m, p.errorf(t.line, "message %s: unknown flag %q (want UDPDeprecated, Deprecated or UDPBlackListed, or a block)", m.Name, t.text)
		}
	}

	blocks := map[string]int{}
	for {
		t, err := p.next("a block or '}' closing message " + m.Name)
		if err != nil {
			return m, err
		}
		if t.text == "}" {
			return m, nil
		}
		if t.text != "{" {
			return m, p.errorf(t.line, "message %s: expected '{' to open a block or '}', found %q", m.Name, t.text)
		}
		p.pos--
		b, err := p.block(m.Name)
		if err != nil {
			return m, err
		}
		if prev, dup := blocks[b.Name]; dup {
			return m, p.errorf(b.Line, "message %s: block %s is defined twice (first at line %d)", m.Name, b.Name, prev)
		}
		blocks[b.Name] = b.Line
		m.Blocks = append(m.Blocks, b)
	}
}

func (p *parser) block(msgName string) (Block, error) {
	open, _ := p.next("'{'")
	b := Block{Line: open.line}
	name, err := p.word("a block name in message " + msgName)
	if err != nil {
		return b, err
	}
	if !isIdent(name.text) {
		return b, p.errorf(name.line, "message %s: block name %q is not an identifier", msgName, name.text)
	}
	b.Name = name.text
	where := "message " + msgName + ": block " + b.Name

	kind, err := p.word("Single, Multiple or Variable after block " + b.Name)
	if err != nil {
		return b, err
	}
	switch kind.text {
	case "Single":
		b.Kind, b.Count = Single, 1
	case "Variable":
		b.Kind = Variable
	case "Multiple":
		b.Kind = Multiple
		c, err := p.word("a count after Multiple in " + where)
		if err != nil {
			return b, err
		}
		n, ok := parseNumber(c.text)
		if !ok || n < 1 || n > MaxMultiple {
			return b, p.errorf(c.line, "%s: Multiple count %q is not a number in 1-%d", where, c.text, MaxMultiple)
		}
		b.Count = int(n)
	default:
		return b, p.errorf(kind.line, "%s: unknown block kind %q (want Single, Multiple N or Variable)", where, kind.text)
	}

	fields := map[string]int{}
	for {
		t, err := p.next("a field or '}' closing " + where)
		if err != nil {
			return b, err
		}
		if t.text == "}" {
			if len(b.Fields) == 0 {
				return b, p.errorf(b.Line, "%s has no fields", where)
			}
			return b, nil
		}
		if t.text != "{" {
			return b, p.errorf(t.line, "%s: expected '{' to open a field or '}', found %q", where, t.text)
		}
		f, err := p.field(where)
		if err != nil {
			return b, err
		}
		if prev, dup := fields[f.Name]; dup {
			return b, p.errorf(f.Line, "%s: field %s is defined twice (first at line %d)", where, f.Name, prev)
		}
		fields[f.Name] = f.Line
		b.Fields = append(b.Fields, f)
	}
}

// field parses a field after its opening brace.
func (p *parser) field(where string) (Field, error) {
	var f Field
	name, err := p.word("a field name in " + where)
	if err != nil {
		return f, err
	}
	f.Line = name.line
	if !isIdent(name.text) {
		return f, p.errorf(name.line, "%s: field name %q is not an identifier", where, name.text)
	}
	f.Name = name.text
	where += ": field " + f.Name

	typ, err := p.word("a type for " + where)
	if err != nil {
		return f, err
	}
	f.Type = typeByName(typ.text)
	if f.Type == 0 {
		return f, p.errorf(typ.line, "%s: unknown type %q", where, typ.text)
	}
	switch f.Type {
	case TypeFixed:
		s, err := p.word("a size after Fixed in " + where)
		if err != nil {
			return f, err
		}
		n, ok := parseNumber(s.text)
		if !ok || n < 1 || n > MaxFixedSize {
			return f, p.errorf(s.line, "%s: Fixed size %q is not a number in 1-%d", where, s.text, MaxFixedSize)
		}
		f.Size = int(n)
	case TypeVariable:
		s, err := p.word("a length width (1 or 2) after Variable in " + where)
		if err != nil {
			return f, err
		}
		switch s.text {
		case "1":
			f.Size = 1
		case "2":
			f.Size = 2
		default:
			return f, p.errorf(s.line, "%s: Variable length width %q is not 1 or 2", where, s.text)
		}
	}
	if _, err := p.expect("}", "'}' closing "+where); err != nil {
		return f, err
	}
	return f, nil
}

func typeByName(s string) FieldType {
	for t := range typeInfo {
		if t != 0 && typeInfo[t].name == s {
			return FieldType(t)
		}
	}
	return 0
}

// parseNumber reads a decimal number or a 0x-prefixed hexadecimal one that
// fits in 32 bits.
func parseNumber(s string) (uint64, bool) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if !allDigits(s[2:], true) {
			return 0, false
		}
		n, err := strconv.ParseUint(s[2:], 16, 32)
		return n, err == nil
	}
	if !allDigits(s, false) {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return n, err == nil
}

func allDigits(s string, hex bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= '0' && c <= '9' || hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
		if !ok {
			return false
		}
	}
	return true
}

// isIdent reports whether s is an ASCII identifier starting with a letter.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

func numberText(m Message) string {
	if m.Frequency == Fixed {
		return fmt.Sprintf("0x%08X", m.Number)
	}
	return strconv.FormatUint(uint64(m.Number), 10)
}
