package login_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"ritual/login"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
)

var fuzzContentTypes = []string{"text/xml", "application/llsd+xml", "", "application/xml; charset=utf-8"}

// FuzzServeLogin sends arbitrary bodies to the login service: it must never
// panic or answer 500, and every 200 answer must be a well-formed reply of
// the request's form that the client side reads back (a login, a refusal
// or, for XML-RPC, a fault).
func FuzzServeLogin(f *testing.F) {
	g := newGrid(f, fastKDF, nil)
	g.srv = mustServer(f, g)
	for _, name := range []string{"opensim-login-request.xml", "opensim-login-request-badpw.xml", "opensim-login-llsd-request.xml"} {
		b := readTestdata(f, name)
		f.Add(uint8(0), b)
		f.Add(uint8(1), b)
	}
	f.Add(uint8(0), []byte("<methodCall><methodName>login_to_simulator</methodName><params><param><value><struct><member><name>first</name><value>Test</value></member></struct></value></param></params></methodCall>"))
	f.Add(uint8(1), []byte("<llsd><map><key>first</key><string>Test</string><key>last</key><integer>1</integer><key>passwd</key><uuid/></map></llsd>"))
	f.Add(uint8(2), []byte("<llsd><undef/></llsd>"))
	f.Add(uint8(3), []byte("\xef\xbb\xbf<!--x--><methodCall>"))
	f.Fuzz(func(t *testing.T, ct uint8, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", fuzzContentTypes[int(ct)%len(fuzzContentTypes)])
		rec := httptest.NewRecorder()
		g.srv.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		out := rec.Body.Bytes()
		replyCT := rec.Header().Get("Content-Type")
		r, err := login.ParseResponse(replyCT, out)
		if _, refused := err.(*login.Failure); refused || err == nil {
			if err == nil && (!r.OK || r.CircuitCode == 0) {
				t.Fatalf("success reply reads as %+v", r)
			}
			return
		}
		if replyCT == "text/xml" {
			if x, perr := xmlrpc.ParseResponse(out); perr == nil && x.Fault != nil {
				return
			}
		}
		t.Fatalf("reply (%s) is neither a login, a refusal nor a fault: %v\n%s", replyCT, err, out)
	})
}

// mustServer returns the grid's server (a hook for fuzzing setups).
func mustServer(tb testing.TB, g *grid) *login.Server {
	tb.Helper()
	if g.srv == nil {
		tb.Fatal("grid has no server")
	}
	return g.srv
}

// FuzzParseResponse reads arbitrary replies on the client side: no panic,
// and a reply that parses writes back (its members re-encoded in the same
// form) to the same Response.
func FuzzParseResponse(f *testing.F) {
	for _, name := range []string{"opensim-login-response.xml", "opensim-login-response-badpw.xml",
		"opensim-login-llsd-response.xml", "opensim-login-llsd-response-presence.xml", "reply-xmlrpc.golden", "reply-llsd.golden"} {
		f.Add(uint8(0), readTestdata(f, name))
	}
	f.Add(uint8(1), []byte("<llsd><map><key>login</key><boolean>1</boolean></map></llsd>"))
	f.Fuzz(func(t *testing.T, ct uint8, data []byte) {
		r, err := login.ParseResponse(fuzzContentTypes[int(ct)%len(fuzzContentTypes)], data)
		if err != nil {
			return
		}
		if !r.OK || r.Agent.IsZero() || r.CircuitCode == 0 || r.SimPort == 0 || r.SimIP == "" || r.SeedCapability == "" {
			t.Fatalf("accepted an incomplete login: %+v", r)
		}
		var again []byte
		if r.Format == login.FormatLLSD {
			again, err = llsd.MarshalXML(r.Members)
		} else {
			again, err = xmlrpc.MarshalResponse(r.Members)
		}
		if err != nil {
			return // e.g. an XML-RPC i8 circuit code has no i4 form; not the parser's concern
		}
		r2, err := login.ParseResponse("", again)
		if err != nil {
			t.Fatalf("re-encoded reply does not parse: %v\n%s", err, again)
		}
		if a, b := summary(r), summary(r2); a != b {
			t.Fatalf("re-encoded reply reads differently:\n%s\n%s", a, b)
		}
	})
}

func summary(r *login.Response) string {
	c := *r
	c.Members = nil
	return fmt.Sprintf("%+v", c)
}
