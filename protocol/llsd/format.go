package llsd

import (
	"bytes"
	"io"
	"mime"
	"strconv"
	"strings"
)

// Format names an LLSD serialisation.
type Format int

const (
	// FormatAuto means: tell the form from the document's first bytes
	// (see Detect).
	FormatAuto Format = iota
	FormatXML
	FormatBinary
	FormatNotation
)

func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatXML:
		return "xml"
	case FormatBinary:
		return "binary"
	case FormatNotation:
		return "notation"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// ContentType returns the media type of the form: application/llsd+xml,
// application/llsd+binary or application/llsd+notation ("" for FormatAuto).
func (f Format) ContentType() string {
	switch f {
	case FormatXML:
		return "application/llsd+xml"
	case FormatBinary:
		return "application/llsd+binary"
	case FormatNotation:
		return "application/llsd+notation"
	}
	return ""
}

// FormatOf returns the form a Content-Type header names:
// application/llsd+xml, application/xml and text/xml are XML (OpenSimulator
// answers event-queue polls as application/xml), application/llsd+binary and
// application/octet-stream binary, application/llsd+notation notation;
// anything else is FormatAuto.
func FormatOf(contentType string) Format {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch mt {
	case "application/llsd+xml", "application/xml", "text/xml":
		return FormatXML
	case "application/llsd+binary", "application/octet-stream":
		return FormatBinary
	case "application/llsd+notation":
		return FormatNotation
	}
	return FormatAuto
}

// Detect tells the form of a document from its first bytes: a
// "<? llsd/binary ?>" or "<? llsd/notation ?>" header names its form; any
// other leading '<' is XML; a '{' or '[' followed by a zero byte is headerless
// binary (the high byte of its count); anything else is notation.
func Detect(data []byte) Format {
	d := data
	d = bytes.TrimPrefix(d, []byte("\xef\xbb\xbf"))
	d = bytes.TrimLeft(d, " \t\r\n")
	if len(d) == 0 {
		return FormatNotation
	}
	if bytes.HasPrefix(d, []byte("<?")) {
		switch name, _ := headerLine(d); name {
		case "llsd/binary":
			return FormatBinary
		case "llsd/notation":
			return FormatNotation
		}
		return FormatXML
	}
	if d[0] == '<' {
		return FormatXML
	}
	if len(data) >= 5 && (data[0] == '{' || data[0] == '[') && data[1] == 0 {
		return FormatBinary
	}
	return FormatNotation
}

// Options tunes decoding. The zero value decodes with DefaultMaxDepth into
// map[string]any.
type Options struct {
	// MaxDepth bounds the nesting of maps and arrays; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// KeepOrder decodes maps as OrderedMap, in wire order, instead of
	// map[string]any.
	KeepOrder bool
}

func (o Options) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return o.MaxDepth
}

// Unmarshal decodes one document in form f (FormatAuto: see Detect).
func (o Options) Unmarshal(f Format, data []byte) (any, error) {
	if f == FormatAuto {
		f = Detect(data)
	}
	switch f {
	case FormatXML:
		return decodeXML(data, o)
	case FormatBinary:
		return decodeBinary(data, o)
	case FormatNotation:
		return decodeNotation(data, o)
	}
	return nil, &DecodeError{Format: f, Msg: "unknown format", Err: ErrUnsupported}
}

// Unmarshal decodes one document of any form, telling which by Detect.
func Unmarshal(data []byte) (any, error) { return Options{}.Unmarshal(FormatAuto, data) }

// UnmarshalXML decodes an LLSD XML document.
func UnmarshalXML(data []byte) (any, error) { return decodeXML(data, Options{}) }

// UnmarshalBinary decodes a binary LLSD document, with or without
// BinaryHeader (or its unspaced spelling "<?llsd/binary?>").
func UnmarshalBinary(data []byte) (any, error) { return decodeBinary(data, Options{}) }

// UnmarshalNotation decodes a notation document, with or without
// NotationHeader.
func UnmarshalNotation(data []byte) (any, error) { return decodeNotation(data, Options{}) }

// DefaultMaxBytes is the largest document a Decoder reads unless told
// otherwise.
const DefaultMaxBytes = 32 << 20

// A Decoder reads one LLSD document from a reader: it reads the whole input
// (up to MaxBytes) and decodes it.
type Decoder struct {
	Options
	// Format is the form to expect; FormatAuto tells it from the data.
	Format Format
	// MaxBytes bounds the document size; 0 means DefaultMaxBytes.
	MaxBytes int64

	r io.Reader
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// Decode reads the reader to its end and decodes the document.
func (d *Decoder) Decode() (any, error) {
	limit := d.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(d.r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &DecodeError{Format: d.Format, Offset: int(limit), Msg: "document larger than the limit", Err: ErrTooLarge}
	}
	return d.Options.Unmarshal(d.Format, data)
}
