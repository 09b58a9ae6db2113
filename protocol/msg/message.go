package msg

import (
	"slices"
	"strings"

	"ritual/protocol/template"
)

// Message is implemented by a pointer to each generated message type
// (*UseCircuitCode, *RegionHandshake, ...).
type Message interface {
	// ID returns the message's number (IDUseCircuitCode, ...).
	ID() ID
	// Name returns the template name.
	Name() string
	// Trusted reports whether the template marks it Trusted (only
	// simulators send it) rather than NotTrusted.
	Trusted() bool
	// Zerocoded reports the template's encoding default.
	Zerocoded() bool
	// AppendTo appends the body (no message number) to b. It allocates
	// nothing when b has room. It panics with an *EncodeError if the
	// value is invalid; see Validate.
	AppendTo(b []byte) []byte
	// Decode fills the value from a body (no message number), reusing
	// the capacity of its Variable fields and blocks; decoded fields never
	// alias body.
	//
	// A body may end where a block starts, as messages from senders with
	// an older template do (libopenmetaverse's ImprovedInstantMessage
	// stops after MessageBlock; OpenSimulator leaves out some trailing
	// Variable block counts): that block and all after it are absent and
	// decode as zero (Single, every instance of Multiple) or empty
	// (Variable), Decode returns nil and Absent says how many there were.
	// A body that ends inside a block, a field or a Variable block's
	// instances is an error.
	//
	// Errors are *DecodeError; on ErrTrailingData the value is complete,
	// otherwise it is partly overwritten.
	Decode(body []byte) error
	// Absent returns how many trailing blocks the body given to the last
	// Decode lacked: 0 for a whole message (and for a value that was
	// never decoded or failed to decode), more for a short one, which a
	// receiver may want to trace (see AbsentBlocks). AppendTo always
	// writes every block.
	Absent() int
	// Validate reports whether AppendTo can encode the value: no
	// "Variable 1" field longer than 255 bytes, no "Variable 2" field
	// longer than 65535, no Variable block with more than 255 instances.
	// Its error is an *EncodeError wrapping ErrTooLong.
	Validate() error
}

// Info describes a template message.
type Info struct {
	Name        string
	ID          ID
	Frequency   Frequency
	Trusted     bool
	Zerocoded   bool
	Deprecation Deprecation
	// Blocks is the body layout in wire order, as the template gives it.
	// It is shared: do not modify it.
	Blocks []template.Block
}

// Lookup describes the message with the given number.
func Lookup(id ID) (Info, bool) {
	i := infoIndex(id)
	if i < 0 {
		return Info{}, false
	}
	return infoTable[i], true
}

// ByName describes the message with the given template name.
func ByName(name string) (Info, bool) {
	i, ok := slices.BinarySearchFunc(byName[:], name, func(idx uint16, name string) int {
		return strings.Compare(infoTable[idx].Name, name)
	})
	if !ok {
		return Info{}, false
	}
	return infoTable[byName[i]], true
}

// New returns a new zero value of the message type with the given number.
func New(id ID) (Message, bool) {
	i := infoIndex(id)
	if i < 0 {
		return nil, false
	}
	return newMessage(i), true
}

// Infos returns a description of every template message, ordered by ID.
func Infos() []Info { return slices.Clone(infoTable[:]) }

// infoIndex returns the index of id in infoTable, or -1.
func infoIndex(id ID) int {
	var i uint16
	switch id.Frequency() {
	case High:
		i = highIndex[id]
	case Medium:
		i = mediumIndex[id&0xFF]
	case Low:
		if n := int(id & 0xFFFF); n < len(lowIndex) {
			i = lowIndex[n]
		}
	case Fixed:
		i = fixedIndex[id&0xFF]
	}
	return int(i) - 1
}

// AbsentBlocks returns the names of the trailing blocks that the body m
// last decoded lacked (see Message.Absent), in template order; nil for a
// whole message. It allocates; call it only when m.Absent() > 0.
func AbsentBlocks(m Message) []string {
	n := m.Absent()
	if n == 0 {
		return nil
	}
	info, ok := Lookup(m.ID())
	if !ok || n > len(info.Blocks) {
		return nil
	}
	names := make([]string, 0, n)
	for _, b := range info.Blocks[len(info.Blocks)-n:] {
		names = append(names, b.Name)
	}
	return names
}
