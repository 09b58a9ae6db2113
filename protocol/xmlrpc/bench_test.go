package xmlrpc_test

import (
	"testing"

	"ritual/protocol/xmlrpc"
)

// The realistic pair: OpenSimulator's 24 KB login response (39 members,
// inventory skeletons of 20 and 19 folders) and the viewer's 2.5 KB request.

func BenchmarkParseResponse(b *testing.B) {
	in := capture(b, "opensim-login-response.xml")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xmlrpc.ParseResponse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequest(b *testing.B) {
	in := capture(b, "opensim-login-request.xml")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := xmlrpc.ParseRequest(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalResponse(b *testing.B) {
	resp, err := xmlrpc.ParseResponse(capture(b, "opensim-login-response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	buf, _ := resp.AppendXML(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = resp.AppendXML(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalRequest(b *testing.B) {
	req, err := xmlrpc.ParseRequest(capture(b, "opensim-login-request.xml"))
	if err != nil {
		b.Fatal(err)
	}
	buf, _ := req.AppendXML(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = req.AppendXML(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMarshalAllocs: writing the login response into a reused buffer
// allocates nothing.
func TestMarshalAllocs(t *testing.T) {
	resp, err := xmlrpc.ParseResponse(capture(t, "opensim-login-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	buf, _ := resp.AppendXML(nil)
	if n := testing.AllocsPerRun(20, func() { buf, _ = resp.AppendXML(buf[:0]) }); n != 0 {
		t.Errorf("%v allocations per marshal, want 0", n)
	}
}
