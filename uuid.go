package ritual

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// UUID is a 128-bit identifier as the viewer protocol carries it (LLUUID):
// sixteen raw bytes in the order of its textual form, so
// "aaaaaaaa-bbbb-..." is the bytes aa aa aa aa bb bb ... on the wire.
type UUID [16]byte

// ZeroUUID is the all-zero UUID ("00000000-0000-0000-0000-000000000000").
var ZeroUUID UUID

// ErrBadUUID reports text that is not a UUID.
var ErrBadUUID = errors.New("ritual: malformed UUID")

// NewUUID returns a random (version 4) UUID drawn from crypto/rand.
func NewUUID() UUID {
	var u UUID
	if _, err := rand.Read(u[:]); err != nil {
		panic("ritual: crypto/rand failed: " + err.Error())
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

// ParseUUID reads the dashed form (36 characters) or the bare 32 hex digit
// form, in either case. The empty string is the zero UUID, as LLSD and the
// login members treat it.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	switch len(s) {
	case 0:
		return u, nil
	case 32:
		if _, err := hex.Decode(u[:], []byte(s)); err != nil {
			return UUID{}, fmt.Errorf("%w: %q", ErrBadUUID, s)
		}
		return u, nil
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return UUID{}, fmt.Errorf("%w: %q", ErrBadUUID, s)
		}
		var buf [32]byte
		copy(buf[0:8], s[0:8])
		copy(buf[8:12], s[9:13])
		copy(buf[12:16], s[14:18])
		copy(buf[16:20], s[19:23])
		copy(buf[20:32], s[24:36])
		if _, err := hex.Decode(u[:], buf[:]); err != nil {
			return UUID{}, fmt.Errorf("%w: %q", ErrBadUUID, s)
		}
		return u, nil
	}
	return UUID{}, fmt.Errorf("%w: %q", ErrBadUUID, s)
}

// MustParseUUID is ParseUUID for constants; it panics on bad input.
func MustParseUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// IsZero reports whether u is the zero UUID.
func (u UUID) IsZero() bool { return u == ZeroUUID }

// String returns the lowercase dashed form.
func (u UUID) String() string {
	return string(u.AppendText(make([]byte, 0, 36)))
}

// AppendText appends the lowercase dashed form to b.
func (u UUID) AppendText(b []byte) []byte {
	const digits = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return b
}

// MarshalText implements encoding.TextMarshaler.
func (u UUID) MarshalText() ([]byte, error) { return u.AppendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
