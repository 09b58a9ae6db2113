// Package llsd reads and writes LLSD (Linden Lab Structured Data), the
// self-describing value format of the viewer protocol's HTTP side: the LLSD
// form of login, capability requests and answers, and the event queue. It
// speaks all three serialisations: XML (what OpenSimulator and the viewers
// use over HTTP), binary, and notation (the text form in which login's
// look_at and home members are written).
//
// # Values
//
// A decoded LLSD value is a plain Go value of one of these types:
//
//	LLSD type  Go type            XML element            binary  notation
//	undef      nil                <undef />              !       !
//	boolean    bool               <boolean>1</boolean>   1 / 0   1 / 0
//	integer    int32              <integer>              i       i42
//	real       float64            <real>                 r       r1.5
//	string     string             <string>               s       'text'
//	uuid       ritual.UUID        <uuid>                 u       u<uuid>
//	date       time.Time (UTC)    <date>                 d       d"2006-01-02T15:04:05Z"
//	uri        URI                <uri>                  l       l"http://…"
//	binary     []byte             <binary>               b       b64"…"
//	map        map[string]any     <map><key>…            {       {'k':v}
//	array      []any              <array>                [       [a,b]
//
// With Options.KeepOrder, maps decode as OrderedMap (entries in wire order)
// instead of map[string]any.
//
// The encoders accept those types and, for convenience, a few more: Map and
// OrderedMap; every Go integer type whose value fits a signed 32-bit integer
// (anything larger is an error: LLSD has no unsigned or 64-bit integer, and
// OpenSimulator carries U32 and U64 as 4- and 8-byte big-endian binary, see
// U32Binary and U64Binary); float32; *url.URL; ritual.Vector3, Vector3d,
// Vector4 and Quaternion (as arrays of reals, the LLSD convention); slices
// and string-keyed maps of supported values; pointers (nil is undef); and
// any type implementing Marshaler. Keys of Go maps are written in sorted
// order so output is deterministic; OrderedMap keeps the caller's order.
//
// Reading fields leniently, as LLSD readers do, goes through Map and the As*
// functions: AsInt accepts an integer, a real, a boolean or a numeric string;
// AsUUID accepts a uuid or a string holding one; and so on.
//
// # Wire forms
//
// XML: an optional <?xml …?> prolog, then one <llsd> element holding one
// value. Booleans are written as 1 and 0 (node-metaverse's LLSD library reads
// the text "false" as true), binary as base64, dates as ISO-8601 UTC with
// the fractional second trimmed, reals in shortest round-trip decimal form.
// Reading trims white space around scalars, except in <string> and <uri>,
// whose text is kept as written.
//
// Binary: an optional header line "<? llsd/binary ?>\n", then a marker byte
// per value:
//
//	!  undef                  1 / 0  true / false
//	i  int32 big-endian       r  float64 big-endian
//	u  16 UUID bytes          d  float64 LITTLE-endian seconds since 1970
//	s  u32 BE length, UTF-8   l  u32 BE length, URI
//	b  u32 BE length, bytes
//	[  u32 BE count, values, ]
//	{  u32 BE count, then per entry k + u32 BE length + key + value, }
//
// Notation: text such as {'region_handle':[r256000,r256000],'name':'x'}.
// The special reals are written rnan, rinf and r-inf, the spellings Linden
// Lab's parser reads; rNaN, rInfinity and r-Infinity are read as well.
// The login response's look_at and home members are notation inside a
// string, in a shape clients parse by hand; Vector3Notation and
// Home.Notation write exactly OpenSimulator's spelling, and
// ParseVector3Notation and ParseHome read it back.
//
// MarshalXML, MarshalBinary and MarshalNotation (and their Append forms)
// write one document; Unmarshal tells the form from the first bytes (see
// Detect) and UnmarshalXML, UnmarshalBinary and UnmarshalNotation read one
// form. Encoder and Decoder do the same over an io.Writer and io.Reader, and
// FormatOf maps a Content-Type header to its form.
//
// Decoders never panic on bad input, never read past their buffer, bound
// nesting depth (DefaultMaxDepth) and never allocate on a count the input
// cannot back; errors are *DecodeError values saying what went wrong, at
// which byte offset and where in the value tree.
package llsd
