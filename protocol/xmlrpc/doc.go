// Package xmlrpc reads and writes XML-RPC (http://xmlrpc.com/spec.md) as
// Second Life viewers and OpenSimulator speak it, chiefly for the classic
// login_to_simulator call, and provides both ends of the exchange: a Server
// (an http.Handler dispatching on method name) and a Client.
//
// # Wire format
//
//	<?xml version="1.0" encoding="utf-8"?>
//	<methodCall>
//	  <methodName>login_to_simulator</methodName>
//	  <params><param><value><struct>
//	    <member><name>first</name><value><string>Test</string></value></member>
//	    ...
//	  </struct></value></param></params>
//	</methodCall>
//
//	<methodResponse><params><param><value>...</value></param></params></methodResponse>
//	<methodResponse><fault><value><struct>
//	  faultCode (int), faultString (string)
//	</struct></value></fault></methodResponse>
//
// # Values
//
// Parsed values are plain Go values:
//
//	<string>, untyped <value>  string (whitespace kept; <value/> is "")
//	<int>, <i4>                int32
//	<i8>                       int64 (a common extension)
//	<boolean>                  bool (1/0; true/false accepted on input)
//	<double>                   float64
//	<base64>                   []byte
//	<dateTime.iso8601>         time.Time in UTC (20060102T15:04:05, also with
//	                           dashes, a zone or fractional seconds on input)
//	<struct>                   Struct: members in document order
//	<array>                    []any
//	<nil/>                     nil (a common extension)
//
// Struct keeps member order so that output is deterministic; its accessors
// (String, Int, Bool, Float, Array, Struct) are lenient in the ways login
// code needs: an int member may arrive as a numeric string, a flag as a
// boolean, an int, "true" or "Y". Duplicate member names are rejected on
// input and on output, so that every reader of a struct sees the same value.
//
// Marshalling accepts those types plus the conveniences listed at
// AppendValue (int, float32, map[string]any, []string, ...). Output is
// compact, has the prolog <?xml version="1.0" encoding="utf-8"?>, writes
// every string inside <string>, int32 as <i4> (as OpenSimulator does) and
// int64 as <i8>. Characters that XML 1.0 cannot carry (control characters
// other than tab, newline and carriage return; invalid UTF-8; U+FFFE and
// U+FFFF) are replaced by U+FFFD rather than failing the whole document,
// and carriage returns are written as &#xD; so that they survive XML's
// line-end normalisation.
//
// # Limits and errors
//
// Parsing bounds nesting of arrays and structs to MaxDepth; the Server and
// Client bound body sizes (DefaultMaxBodyBytes, DefaultMaxResponseBytes).
// Tokens come from encoding/xml (strict mode; DOCTYPE is refused, so no
// entity expansion; UTF-8, or ISO-8859-1/US-ASCII if declared). Input that
// is not well-formed XML as encoding/xml judges it, or whose tags do not
// nest, fails with ErrMalformed; well-formed XML that is not XML-RPC
// (unknown elements or type tags, bad numbers, missing parts, duplicate
// members) with ErrInvalid; both come as a *ParseError giving the byte
// offset. Attributes are ignored.
//
// A Server answers every request it could read with HTTP 200: a result, or
// a fault (as XML-RPC prescribes) for malformed XML, unknown methods and
// handler errors, using the fault codes of the "specification for fault code
// interoperability" (FaultParse, FaultInvalidRequest, ...). Only transport
// problems get an HTTP error status: 405 for methods other than POST, 413 for
// bodies over the limit.
package xmlrpc
