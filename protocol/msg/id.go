package msg

import (
	"strconv"
	"strings"

	"ritual/protocol/template"
)

// Flags is the first byte of every datagram.
type Flags uint8

// The header flag bits.
const (
	FlagZerocoded Flags = 0x80 // everything after the header up to the ack tail is zerocoded
	FlagReliable  Flags = 0x40 // the receiver must acknowledge the sequence number
	FlagResent    Flags = 0x20 // a retransmission, with the original sequence number
	FlagAcks      Flags = 0x10 // acknowledgements are appended after the body
)

// String names the set bits, e.g. "RELIABLE|ZEROCODED", or "0" for none.
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for _, b := range [...]struct {
		f    Flags
		name string
	}{{FlagReliable, "RELIABLE"}, {FlagZerocoded, "ZEROCODED"}, {FlagResent, "RESENT"}, {FlagAcks, "ACKS"}} {
		if f&b.f != 0 {
			parts = append(parts, b.name)
			f &^= b.f
		}
	}
	if f != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(parts, "|")
}

// Frequency is a message's frequency class (template.Frequency).
type Frequency = template.Frequency

// The frequency classes.
const (
	High   = template.High
	Medium = template.Medium
	Low    = template.Low
	Fixed  = template.Fixed
)

// Deprecation is a message's optional template flag (template.Deprecation).
type Deprecation = template.Deprecation

// The deprecation flags.
const (
	NotDeprecated  = template.NotDeprecated
	UDPDeprecated  = template.UDPDeprecated
	Deprecated     = template.Deprecated
	UDPBlackListed = template.UDPBlackListed
)

// ID identifies a message: its number prefix as read big-endian from the
// wire. High n is n, Medium n is 0xFF00|n, Low n is 0xFFFF0000|n and Fixed
// messages are 0xFFFFFFxx. The generated constants IDUseCircuitCode and so
// on name every template message.
type ID uint32

// Frequency returns the frequency class the ID's value implies, or 0 for a
// value that no message number can have (such as 0xFF or 0x12345).
func (id ID) Frequency() Frequency {
	switch {
	case id <= 0xFE:
		return High
	case id >= 0xFF00 && id <= 0xFFFE:
		return Medium
	case id >= 0xFFFF0000 && id <= 0xFFFFFEFF:
		return Low
	case id >= 0xFFFFFF00:
		return Fixed
	}
	return 0
}

// Number returns the number as the template writes it: n for High, Medium
// and Low, and the whole ID for Fixed.
func (id ID) Number() uint32 {
	switch id.Frequency() {
	case Medium:
		return uint32(id) & 0xFF
	case Low:
		return uint32(id) & 0xFFFF
	}
	return uint32(id)
}

// Len returns the number of bytes the ID takes on the wire: 1, 2 or 4, or
// 0 for an invalid ID.
func (id ID) Len() int {
	switch id.Frequency() {
	case High:
		return 1
	case Medium:
		return 2
	case Low, Fixed:
		return 4
	}
	return 0
}

// AppendTo appends the ID's wire form (before zerocoding). An invalid ID
// (Frequency 0) is written as four big-endian bytes, which will not read
// back as the same ID; every generated message has a valid one.
func (id ID) AppendTo(b []byte) []byte {
	switch id.Frequency() {
	case High:
		return append(b, byte(id))
	case Medium:
		return append(b, 0xFF, byte(id))
	}
	return append(b, byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

// String returns the message's name, or the frequency and number (such as
// "Low 999") when no message has the ID, or "ID(0x...)" for an invalid ID.
func (id ID) String() string {
	if i := infoIndex(id); i >= 0 {
		return infoTable[i].Name
	}
	switch f := id.Frequency(); f {
	case High, Medium, Low:
		return f.String() + " " + strconv.FormatUint(uint64(id.Number()), 10)
	case Fixed:
		return "Fixed 0x" + strings.ToUpper(strconv.FormatUint(uint64(id), 16))
	}
	return "ID(0x" + strconv.FormatUint(uint64(id), 16) + ")"
}

// ReadID reads a message number from the start of b (already zero-decoded)
// and returns it with the number of bytes it took.
func ReadID(b []byte) (ID, int, error) {
	switch {
	case len(b) >= 1 && b[0] != 0xFF:
		return ID(b[0]), 1, nil
	case len(b) >= 2 && b[1] != 0xFF:
		return 0xFF00 | ID(b[1]), 2, nil
	case len(b) >= 4:
		return 0xFFFF0000 | ID(b[2])<<8 | ID(b[3]), 4, nil
	}
	return 0, 0, &DecodeError{Field: "message number", Offset: 0, Err: errShortf("message number needs %d bytes, %d remain", idLenFromPrefix(b), len(b))}
}

func idLenFromPrefix(b []byte) int {
	switch {
	case len(b) == 0:
		return 1
	case len(b) == 1:
		return 2
	}
	return 4
}
