package login

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"

	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
)

// loginRequest is what the server reads from a login_to_simulator request
// of either form. Missing or mistyped members read as "".
type loginRequest struct {
	format              Format
	first, last, passwd string
	start               string
	channel, version    string
	platform            string

	remote     string // the HTTP peer, host:port
	clientAddr netip.Addr
}

// badRequest is a body that is not a login request at all.
type badRequest struct {
	fault int32 // the XML-RPC fault code
	msg   string
}

// decodeRequest reads a login request in form f.
func decodeRequest(f Format, body []byte) (*loginRequest, *badRequest) {
	var get func(name string) string
	switch f {
	case FormatLLSD:
		v, err := llsd.UnmarshalXML(body)
		if err != nil {
			return nil, &badRequest{msg: "malformed LLSD: " + err.Error()}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, &badRequest{msg: "the LLSD login request is not a map"}
		}
		get = func(name string) string {
			v, ok := m[name]
			if !ok {
				return ""
			}
			s, _ := llsd.AsString(v)
			return s
		}
	default:
		call, err := xmlrpc.ParseRequest(body)
		if err != nil {
			code := xmlrpc.FaultInvalidRequest
			if errors.Is(err, xmlrpc.ErrMalformed) {
				code = xmlrpc.FaultParse
			}
			return nil, &badRequest{fault: code, msg: err.Error()}
		}
		if call.Method != MethodName {
			return nil, &badRequest{fault: xmlrpc.FaultMethodNotFound, msg: "no such method: " + clip(call.Method)}
		}
		var st xmlrpc.Struct
		if len(call.Params) > 0 {
			st, _ = call.Params[0].(xmlrpc.Struct)
		}
		if st == nil {
			return nil, &badRequest{fault: xmlrpc.FaultInvalidParams, msg: MethodName + " takes one struct parameter"}
		}
		get = func(name string) string {
			s, _ := st.String(name)
			return s
		}
	}
	return &loginRequest{
		format:   f,
		first:    get("first"),
		last:     get("last"),
		passwd:   get("passwd"),
		start:    get("start"),
		channel:  get("channel"),
		version:  get("version"),
		platform: get("platform"),
	}, nil
}

// normalizeStart maps the start member to what a Circuit carries: "home",
// "uri:Region&x&y&z", or "last" for anything else.
func normalizeStart(s string) string {
	switch {
	case s == "home":
		return "home"
	case strings.HasPrefix(s, "uri:") && len(s) <= maxStart:
		return s
	}
	return "last"
}

// maxStart bounds a "uri:" start location (a region name is at most 64
// bytes; the LL viewer XML-escapes it).
const maxStart = 512

// startLocation is the start_location member for a circuit's Start.
func startLocation(start string) string {
	switch {
	case start == "home":
		return "home"
	case strings.HasPrefix(start, "uri:"):
		return "url"
	}
	return "last"
}

// maxTraceString bounds the client-chosen strings copied into events.
const maxTraceString = 255

// clip shortens s to at most maxTraceString bytes without splitting a
// UTF-8 sequence.
func clip(s string) string {
	if len(s) <= maxTraceString {
		return s
	}
	n := maxTraceString
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
