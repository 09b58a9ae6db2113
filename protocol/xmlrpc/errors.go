package xmlrpc

import (
	"errors"
	"fmt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrMalformed reports input that is not well-formed XML.
	ErrMalformed = errors.New("xmlrpc: malformed XML")
	// ErrInvalid reports well-formed XML that is not a valid XML-RPC
	// document: unknown elements or type tags, bad numbers, missing parts.
	ErrInvalid = errors.New("xmlrpc: invalid XML-RPC")
	// ErrTooDeep reports arrays and structs nested deeper than MaxDepth.
	ErrTooDeep = errors.New("xmlrpc: nesting too deep")
	// ErrTooLarge reports a body over the configured size limit.
	ErrTooLarge = errors.New("xmlrpc: body too large")
	// ErrUnsupportedValue reports a Go value that has no XML-RPC form: an
	// unsupported type, an int out of i4 range, NaN or an infinity, a year
	// outside 0-9999, a duplicate struct member, a bad method name.
	ErrUnsupportedValue = errors.New("xmlrpc: value has no XML-RPC form")
)

// MaxDepth bounds how deeply arrays and structs may nest, on input and on
// output.
const MaxDepth = 64

// ParseError describes input that could not be parsed: what was wrong and
// the byte offset where it was found. It unwraps to ErrMalformed,
// ErrInvalid or ErrTooDeep, and to the underlying cause if there is one.
type ParseError struct {
	Offset int64  // byte offset in the input of the offending token
	Msg    string // what was wrong
	Kind   error  // ErrMalformed, ErrInvalid or ErrTooDeep
	Err    error  // underlying cause (an *xml.SyntaxError, a strconv error), or nil
}

func (e *ParseError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s at byte %d: %v", e.Kind, e.Msg, e.Offset, e.Err)
	}
	return fmt.Sprintf("%v: %s at byte %d", e.Kind, e.Msg, e.Offset)
}

// Unwrap returns the kind and the cause.
func (e *ParseError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Fault is an XML-RPC fault: the error form of a methodResponse. It is an
// error, so a Handler may return one to send it, and Call returns the one a
// server sent.
type Fault struct {
	Code   int32
	String string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("xmlrpc: fault %d: %s", f.Code, f.String)
}

// Fault codes from the "specification for fault code interoperability"
// (xmlrpc-epi), used by Server for the faults it raises itself.
const (
	FaultParse          int32 = -32700 // not well-formed XML, or an unsupported encoding
	FaultInvalidRequest int32 = -32600 // well-formed, but not XML-RPC
	FaultMethodNotFound int32 = -32601 // no such method
	FaultInvalidParams  int32 = -32602 // invalid method parameters (for handlers to use)
	FaultInternal       int32 = -32603 // the result could not be written
	FaultApplication    int32 = -32500 // the method failed
)
