package prim

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; every decoding error unwraps to one of them.
var (
	// ErrShort reports a blob that ends before a field it must hold.
	ErrShort = errors.New("prim: short buffer")
	// ErrTrailing reports bytes left over after a blob's last field.
	ErrTrailing = errors.New("prim: trailing bytes")
	// ErrLength reports a blob or parameter whose length fits no known layout.
	ErrLength = errors.New("prim: bad length")
	// ErrRange reports a value outside what the format allows (a face index
	// beyond MaxFaces, a NUL inside a NUL-terminated string, too many entries).
	ErrRange = errors.New("prim: value out of range")
	// ErrEmpty reports an empty TextureEntry field: the object sent none.
	ErrEmpty = errors.New("prim: empty TextureEntry")
)

// DecodeError says which blob and field could not be decoded, and where.
// Offset counts bytes from the start of the blob.
type DecodeError struct {
	Blob   string // e.g. "TextureEntry", "ExtraParams", "ObjectUpdateCompressed.Data"
	Field  string // e.g. "Color override", "param 2 (Light)"
	Offset int
	Err    error // one of the sentinel errors, possibly wrapped with detail
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("prim: %s %s at offset %d: %s", e.Blob, e.Field, e.Offset, strings.TrimPrefix(e.Err.Error(), "prim: "))
}

func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(blob, field string, off int, err error) error {
	return &DecodeError{Blob: blob, Field: field, Offset: off, Err: err}
}
