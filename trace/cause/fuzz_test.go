package cause_test

import (
	"testing"
	"time"
	"unicode/utf8"

	"ritual/trace/cause"
)

// FuzzExplainText reads arbitrary error texts and URIs: no panic, always
// some words, and a recognised timeout always carries the wait.
func FuzzExplainText(f *testing.F) {
	for _, s := range []string{
		`login: Post "http://127.0.0.1:9000/": context deadline exceeded`,
		`login: Post "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`,
		`Post "https://grid.invalid/": dial tcp: lookup grid.invalid: no such host`,
		`Post "https://127.0.0.1:9000/": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
		`Post "http://127.0.0.1:9000/": EOF`,
		`": `, ``, "\xff\xfe",
	} {
		f.Add(s, "http://127.0.0.1:9000/", int64(12*time.Second))
	}
	f.Fuzz(func(t *testing.T, detail, uri string, waited int64) {
		x := cause.ExplainText(detail, uri, time.Duration(waited))
		if x.Words == "" {
			t.Fatalf("no words for %q", detail)
		}
		if x.Timeout && x.Waited != time.Duration(waited) {
			t.Fatalf("timeout without its wait: %+v", x)
		}
		c := cause.LoginFailedText(uri, detail, time.Duration(waited))
		if c.Text == "" || c.Step != cause.StepLoginAnswered || c.Fault == "" {
			t.Fatalf("cause %+v", c)
		}
		if utf8.ValidString(detail) && utf8.ValidString(uri) && !utf8.ValidString(c.Text) {
			t.Fatalf("invalid UTF-8 from valid input: %q", c.Text)
		}
		if sc := cause.SeedFailedText(uri, detail, time.Duration(waited)); sc.Step != cause.StepSeed || sc.Fault == cause.LoginService {
			t.Fatalf("seed cause %+v", sc)
		}
	})
}
