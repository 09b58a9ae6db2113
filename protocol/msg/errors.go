package msg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, wrapped by DecodeError and EncodeError; test with
// errors.Is.
var (
	// ErrShortBuffer: the data ended inside a header, number, field or
	// block (including a block count larger than the data can hold).
	ErrShortBuffer = errors.New("msg: short buffer")
	// ErrTrailingData: bytes were left after the message's last block.
	// The value has been decoded in full; a receiver that wants to
	// tolerate senders with a newer template may accept it.
	ErrTrailingData = errors.New("msg: trailing data after message")
	// ErrUnknownMessage: no template message has the number.
	ErrUnknownMessage = errors.New("msg: unknown message")
	// ErrBadZerocode: zerocoded data ends inside a run or expands past
	// the limit.
	ErrBadZerocode = errors.New("msg: bad zerocoding")
	// ErrTooLong: a value does not fit its length prefix or count (or a
	// datagram exceeds MaxDatagram).
	ErrTooLong = errors.New("msg: too long")
)

// DecodeError reports where decoding failed. Message, Block and Field are
// template names (Field may instead name a header part such as "appended
// acks"); empty when unknown. Offset counts bytes from the start of the
// message body for Message.Decode, and from the start of the datagram
// (zero-decoded, when the flag is set) for Packet.Parse.
type DecodeError struct {
	Message, Block, Field string
	Offset                int
	Err                   error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("msg: decode")
	if where := joinName(e.Message, e.Block, e.Field); where != "" {
		b.WriteString(" ")
		b.WriteString(where)
	}
	b.WriteString(" at offset ")
	b.WriteString(strconv.Itoa(e.Offset))
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "msg: "))
	return b.String()
}

// Unwrap returns the underlying error, one of the sentinels or an error
// wrapping one.
func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError reports a value that cannot be encoded: a Variable field
// longer than its length prefix allows, or a Variable block with more than
// 255 instances. Index is the block instance (0 for a Single block); Len is
// the offending length or count and Max the limit. It wraps ErrTooLong.
type EncodeError struct {
	Message, Block, Field string
	Index                 int
	Len, Max              int
}

func (e *EncodeError) Error() string {
	what := "length"
	where := joinName(e.Message, e.Block, e.Field)
	if e.Field == "" {
		what = "count"
	} else if e.Block != "" {
		where = joinName(e.Message, e.Block+"["+strconv.Itoa(e.Index)+"]", e.Field)
	}
	return fmt.Sprintf("msg: encode %s: %s %d exceeds %d: too long", where, what, e.Len, e.Max)
}

// Unwrap returns ErrTooLong.
func (e *EncodeError) Unwrap() error { return ErrTooLong }

func joinName(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

type wrapped struct {
	sentinel error
	detail   string
}

func (w *wrapped) Error() string { return w.sentinel.Error() + ": " + w.detail }
func (w *wrapped) Unwrap() error { return w.sentinel }

func errShortf(format string, args ...any) error {
	return &wrapped{ErrShortBuffer, fmt.Sprintf(format, args...)}
}

func errf(sentinel error, format string, args ...any) error {
	return &wrapped{sentinel, fmt.Sprintf(format, args...)}
}
