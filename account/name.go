package account

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrBadName reports a first or last name that ValidateName rejects.
var ErrBadName = errors.New("account: bad name")

// MaxNameLen is the longest first or last name, in bytes (all accepted
// characters are ASCII, so also in characters).
const MaxNameLen = 31

// ValidateName checks a first and last name: each 1..MaxNameLen ASCII
// letters, digits, '-', '_' or '.', nothing else (no spaces). The error names
// the part and the offending character.
func ValidateName(first, last string) error {
	if err := validatePart("first", first); err != nil {
		return err
	}
	return validatePart("last", last)
}

func validatePart(part, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s name", ErrBadName, part)
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("%w: %s name is %d characters long (at most %d)", ErrBadName, part, len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fmt.Errorf("%w: %s name %q: character %q at offset %d is not allowed (letters, digits, '-', '_', '.')", ErrBadName, part, s, r, i)
		}
	}
	return nil
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}
