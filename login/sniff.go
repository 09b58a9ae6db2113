package login

import (
	"bytes"
	"mime"
)

// rootElement returns the name of the document element of an XML document,
// skipping a byte-order mark, white space, the XML declaration, processing
// instructions, comments and a DOCTYPE. It returns "" when data does not
// begin like XML. It reads no further than the start of the root element.
func rootElement(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for {
		data = bytes.TrimLeft(data, " \t\r\n")
		if len(data) < 2 || data[0] != '<' {
			return ""
		}
		var end []byte
		switch {
		case data[1] == '?':
			end = []byte("?>")
		case bytes.HasPrefix(data, []byte("<!--")):
			end = []byte("-->")
		case data[1] == '!':
			end = []byte(">")
		default:
			name := data[1:]
			n := 0
			for n < len(name) && !isNameEnd(name[n]) {
				n++
			}
			return string(name[:n])
		}
		i := bytes.Index(data[2:], end)
		if i < 0 {
			return ""
		}
		data = data[2+i+len(end):]
	}
}

func isNameEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '>', '/':
		return true
	}
	return false
}

// requestFormat tells the form of a login request: by its document element
// first (<llsd> or <methodCall>), then by its Content-Type. Everything that
// is neither LLSD by element nor by media type is answered as XML-RPC, whose
// fault reports what was wrong.
func requestFormat(contentType string, body []byte) Format {
	switch rootElement(body) {
	case "llsd":
		return FormatLLSD
	case "methodCall":
		return FormatXMLRPC
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "application/llsd+xml" {
		return FormatLLSD
	}
	return FormatXMLRPC
}
