package template

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// File is a parsed message_template.msg.
type File struct {
	// Version is the template's version line ("2.0" for the one in use).
	Version string
	// Messages are in template order.
	Messages []Message
}

// Message is one template message definition.
type Message struct {
	Name      string
	Frequency Frequency
	// Number is the number as the template writes it: 1–254 for High and
	// Medium, 1–65279 for Low, and the full 0xFFFFFFxx for Fixed.
	Number uint32
	// Trusted is true for "Trusted" (only simulators may send it) and false
	// for "NotTrusted" (viewers may send it).
	Trusted bool
	// Zerocoded is true for "Zerocoded", false for "Unencoded": the
	// default for the packet's zerocode flag.
	Zerocoded   bool
	Deprecation Deprecation
	// Blocks are in wire order. A message may have none (CloseCircuit).
	Blocks []Block
	// Line is where the message's opening brace is (1-based), 0 for values
	// not read from a file.
	Line int
}

// ID returns the message's full number prefix read big-endian, the form
// used to identify messages regardless of frequency: High n, Medium
// 0xFF00|n, Low 0xFFFF0000|n, Fixed the number itself (0xFFFFFFxx).
func (m *Message) ID() uint32 {
	switch m.Frequency {
	case High:
		return m.Number
	case Medium:
		return 0xFF00 | m.Number
	case Low:
		return 0xFFFF0000 | m.Number
	}
	return m.Number
}

// Block is one block of a message.
type Block struct {
	Name string
	Kind BlockKind
	// Count is 1 for Single, N for "Multiple N" and 0 for Variable (whose
	// count travels on the wire).
	Count  int
	Fields []Field
	Line   int
}

// Field is one field of a block.
type Field struct {
	Name string
	Type FieldType
	// Size is N for "Fixed N", 1 or 2 (the length prefix's width) for
	// "Variable 1|2", and 0 for every other type.
	Size int
	Line int
}

// FixedSize returns the number of bytes the field always takes on the
// wire, or 0 for a Variable field, whose size depends on its value.
func (f Field) FixedSize() int {
	switch f.Type {
	case TypeFixed:
		return f.Size
	case TypeVariable:
		return 0
	}
	return f.Type.size()
}

// MinSize returns the fewest bytes the field takes on the wire: its fixed
// size, or for a Variable field the length prefix alone.
func (f Field) MinSize() int {
	if f.Type == TypeVariable {
		return f.Size
	}
	return f.FixedSize()
}

// FixedSize returns the bytes one instance of the block takes on the wire
// when all its fields are fixed-size, else 0.
func (b Block) FixedSize() int {
	n := 0
	for _, f := range b.Fields {
		s := f.FixedSize()
		if s == 0 {
			return 0
		}
		n += s
	}
	return n
}

// MinSize returns the fewest bytes one instance of the block takes.
func (b Block) MinSize() int {
	n := 0
	for _, f := range b.Fields {
		n += f.MinSize()
	}
	return n
}

// Frequency is a message's frequency class, which decides how its number is
// written on the wire.
type Frequency uint8

// The frequency classes.
const (
	High   Frequency = iota + 1 // one byte: n
	Medium                      // two bytes: FF n
	Low                         // four bytes: FF FF n(U16 BE)
	Fixed                       // four bytes: FF FF FF n
)

var frequencyNames = [...]string{High: "High", Medium: "Medium", Low: "Low", Fixed: "Fixed"}

func (f Frequency) String() string {
	if int(f) < len(frequencyNames) && frequencyNames[f] != "" {
		return frequencyNames[f]
	}
	return "Frequency(" + strconv.Itoa(int(f)) + ")"
}

// Deprecation is a message's optional flag.
type Deprecation uint8

// The deprecation flags.
const (
	NotDeprecated  Deprecation = iota // no flag
	UDPDeprecated                     // sent over the event queue instead; UDP still accepted
	Deprecated                        // obsolete
	UDPBlackListed                    // must not be accepted over UDP
)

var deprecationNames = [...]string{NotDeprecated: "", UDPDeprecated: "UDPDeprecated", Deprecated: "Deprecated", UDPBlackListed: "UDPBlackListed"}

func (d Deprecation) String() string {
	if d == NotDeprecated {
		return "NotDeprecated"
	}
	if int(d) < len(deprecationNames) {
		return deprecationNames[d]
	}
	return "Deprecation(" + strconv.Itoa(int(d)) + ")"
}

// BlockKind says how many instances of a block a message carries.
type BlockKind uint8

// The block kinds.
const (
	Single   BlockKind = iota + 1 // exactly one, no count on the wire
	Multiple                      // exactly Count, no count on the wire
	Variable                      // a U8 count on the wire, then that many
)

var kindNames = [...]string{Single: "Single", Multiple: "Multiple", Variable: "Variable"}

func (k BlockKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "BlockKind(" + strconv.Itoa(int(k)) + ")"
}

// FieldType is a field's template type.
type FieldType uint8

// The field types, named as the template spells them.
const (
	TypeU8 FieldType = iota + 1
	TypeU16
	TypeU32
	TypeU64
	TypeS8
	TypeS16
	TypeS32
	TypeS64
	TypeF32
	TypeF64
	TypeBOOL
	TypeLLUUID
	TypeLLVector3
	TypeLLVector3d
	TypeLLVector4
	TypeLLQuaternion
	TypeIPADDR
	TypeIPPORT
	TypeFixed    // "Fixed N": N raw bytes
	TypeVariable // "Variable 1|2": a U8 or U16 (little-endian) length, then the bytes
)

var typeInfo = [...]struct {
	name string
	size int
}{
	TypeU8:           {"U8", 1},
	TypeU16:          {"U16", 2},
	TypeU32:          {"U32", 4},
	TypeU64:          {"U64", 8},
	TypeS8:           {"S8", 1},
	TypeS16:          {"S16", 2},
	TypeS32:          {"S32", 4},
	TypeS64:          {"S64", 8},
	TypeF32:          {"F32", 4},
	TypeF64:          {"F64", 8},
	TypeBOOL:         {"BOOL", 1},
	TypeLLUUID:       {"LLUUID", 16},
	TypeLLVector3:    {"LLVector3", 12},
	TypeLLVector3d:   {"LLVector3d", 24},
	TypeLLVector4:    {"LLVector4", 16},
	TypeLLQuaternion: {"LLQuaternion", 12},
	TypeIPADDR:       {"IPADDR", 4},
	TypeIPPORT:       {"IPPORT", 2},
	TypeFixed:        {"Fixed", 0},
	TypeVariable:     {"Variable", 0},
}

func (t FieldType) String() string {
	if int(t) < len(typeInfo) && typeInfo[t].name != "" {
		return typeInfo[t].name
	}
	return "FieldType(" + strconv.Itoa(int(t)) + ")"
}

// size is the wire size of the fixed-size types, 0 for Fixed and Variable
// (whose size comes from the field).
func (t FieldType) size() int {
	if int(t) < len(typeInfo) {
		return typeInfo[t].size
	}
	return 0
}

// ErrInvalid is wrapped by every *Error: the template could not be parsed.
var ErrInvalid = errors.New("template: invalid template")

// Error reports a problem in a template: where it is and what was wrong.
type Error struct {
	File string // the path given to ParseFile, or ""
	Line int    // 1-based; 0 when the problem has no single line
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("template: %s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("template: %s: %s", e.File, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("template: line %d: %s", e.Line, e.Msg)
	}
	return "template: " + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// ParseFile reads and parses the template at path.
func ParseFile(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	f, err := Parse(src)
	if err != nil {
		var te *Error
		if errors.As(err, &te) {
			te.File = path
		}
		return nil, err
	}
	return f, nil
}

// Message returns the message called name, or false.
func (f *File) Message(name string) (*Message, bool) {
	for i := range f.Messages {
		if f.Messages[i].Name == name {
			return &f.Messages[i], true
		}
	}
	return nil, false
}
