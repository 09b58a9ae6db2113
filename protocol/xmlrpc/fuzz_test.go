package xmlrpc_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"ritual/protocol/xmlrpc"
)

// seeds adds every capture and golden file, and small documents covering
// each type, to f.
func seeds(f *testing.F) {
	for _, dir := range []string{"testdata", filepath.Join("testdata", "golden")} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, v := range []string{
		"", " x ", "<string>a&amp;b</string>", "<i4>-1</i4>", "<int>7</int>", "<i8>1</i8>",
		"<boolean>true</boolean>", "<double>-1.5e3</double>", "<base64>aGk=</base64>",
		"<dateTime.iso8601>2026-11-25T15:35:07+01:00</dateTime.iso8601>", "<nil/>",
		"<array><data><value/></data></array>", "<struct><member><name>n</name><value/></member></struct>",
	} {
		f.Add(doc(v))
		f.Add([]byte("<methodCall><methodName>m</methodName><params><param><value>" + v + "</value></param></params></methodCall>"))
	}
	f.Add([]byte("<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>4</int></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>"))
}

// checkParseError: a failure is a *ParseError of one of the three kinds.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	if _, ok := errors.AsType[*xmlrpc.ParseError](err); !ok {
		t.Fatalf("error %T is not a *ParseError: %v", err, err)
	}
	if !errors.Is(err, xmlrpc.ErrMalformed) && !errors.Is(err, xmlrpc.ErrInvalid) && !errors.Is(err, xmlrpc.ErrTooDeep) {
		t.Fatalf("error of no known kind: %v", err)
	}
}

// FuzzParseRequest: no panic; whatever parses writes back, and what it
// writes parses to the same request and writes back to the same bytes.
func FuzzParseRequest(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := xmlrpc.ParseRequest(data)
		if err != nil {
			checkParseError(t, err)
			return
		}
		out, err := req.Marshal()
		if err != nil {
			t.Fatalf("parsed request does not marshal: %v", err)
		}
		again, err := xmlrpc.ParseRequest(out)
		if err != nil {
			t.Fatalf("marshalled request does not parse: %v\n%s", err, out)
		}
		if again.Method != req.Method {
			t.Fatalf("method %q became %q", req.Method, again.Method)
		}
		if d := diff("params", req.Params, again.Params); d != "" {
			t.Fatalf("%s\n%s", d, out)
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second marshal differs (%v):\n%s\n%s", err, out, out2)
		}
	})
}

// FuzzParseResponse: as FuzzParseRequest, for responses and faults.
func FuzzParseResponse(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := xmlrpc.ParseResponse(data)
		if err != nil {
			checkParseError(t, err)
			return
		}
		out, err := resp.Marshal()
		if err != nil {
			t.Fatalf("parsed response does not marshal: %v", err)
		}
		again, err := xmlrpc.ParseResponse(out)
		if err != nil {
			t.Fatalf("marshalled response does not parse: %v\n%s", err, out)
		}
		if (resp.Fault == nil) != (again.Fault == nil) || (resp.Fault != nil && *resp.Fault != *again.Fault) {
			t.Fatalf("fault %v became %v", resp.Fault, again.Fault)
		}
		if d := diff("params", resp.Params, again.Params); d != "" {
			t.Fatalf("%s\n%s", d, out)
		}
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second marshal differs (%v):\n%s\n%s", err, out, out2)
		}
	})
}
