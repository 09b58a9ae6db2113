package login_test

import (
	"context"
	"testing"

	"ritual/account"
	"ritual/login"
)

// BenchmarkLogin is a whole login over loopback HTTP: the client builds and
// sends the request, the server verifies the password, reads the inventory
// from SQLite, provisions the circuit and answers, and the client parses
// the reply. fast-kdf uses argon2id costs low enough to show the protocol's
// own cost; default-kdf the costs accounts are really stored with.
func BenchmarkLogin(b *testing.B) {
	for _, kdf := range []struct {
		name string
		p    account.Params
	}{{"fast-kdf", fastKDF}, {"default-kdf", account.Params{}}} {
		for _, f := range []login.Format{login.FormatXMLRPC, login.FormatLLSD} {
			if kdf.name == "default-kdf" && f == login.FormatLLSD {
				continue // the KDF dominates; one form is enough
			}
			b.Run(f.String()+"/"+kdf.name, func(b *testing.B) {
				g := newGrid(b, kdf.p, func(c *login.Config) { c.Recorder = nil })
				p := login.Params{URI: g.url, First: testFirst, Last: testLast, Password: testPassword, Format: f}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := login.Login(ctx, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkServe is the server's share of a login (fast KDF), without the
// network.
func BenchmarkServe(b *testing.B) {
	for _, tc := range []struct{ name, ct, file string }{
		{"xmlrpc", "text/xml", "opensim-login-request.xml"},
		{"llsd", "application/llsd+xml", "opensim-login-llsd-request.xml"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g := newGrid(b, fastKDF, func(c *login.Config) { c.Recorder = nil })
			body := readTestdata(b, tc.file)
			b.ReportAllocs()
			for b.Loop() {
				httptestRecorder(b, g.srv, tc.ct, body)
			}
		})
	}
}

// BenchmarkParseResponse is the client's parse of OpenSimulator's replies.
func BenchmarkParseResponse(b *testing.B) {
	for _, tc := range []struct{ name, file string }{
		{"xmlrpc", "opensim-login-response.xml"},
		{"llsd", "opensim-login-llsd-response.xml"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := readTestdata(b, tc.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := login.ParseResponse("", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
