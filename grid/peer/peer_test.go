package peer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ritual"
)

var secret = bytes.Repeat([]byte{0x5a}, 32)

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// TestVerify covers what a Verifier refuses and accepts.
func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	path := "/grid/v1/regions/6f3c1a52-0d1e-4c7b-9a59-3e2b1f0c9d11/admit"
	body := []byte(`{"circuit":{"code":7}}`)
	signAt := func(at time.Time, method, p string, b []byte, sec []byte) string {
		s, err := NewSigner(sec)
		if err != nil {
			t.Fatal(err)
		}
		s.now = fixedNow(at)
		return s.Sign(method, p, b)
	}
	good := signAt(now, "POST", path, body, secret)
	other := bytes.Repeat([]byte{0xa5}, 32)
	for _, tt := range []struct {
		name   string
		method string
		path   string
		header string
		body   []byte
		want   error
	}{
		{"good", "POST", path, good, body, nil},
		{"unsigned", "POST", path, "", body, ErrUnsigned},
		{"blank", "POST", path, "   ", body, ErrUnsigned},
		{"other secret", "POST", path, signAt(now, "POST", path, body, other), body, ErrBadSignature},
		{"body changed", "POST", path, good, []byte(`{"circuit":{"code":8}}`), ErrBadSignature},
		{"path changed", "POST", strings.Replace(path, "admit", "release", 1), good, body, ErrBadSignature},
		{"method changed", "PUT", path, good, body, ErrBadSignature},
		{"time changed", "POST", path, strings.Replace(good, "t=1800000000", "t=1800000001", 1), body, ErrBadSignature},
		{"stale", "POST", path, signAt(now.Add(-61*time.Second), "POST", path, body, secret), body, ErrStale},
		{"future", "POST", path, signAt(now.Add(61*time.Second), "POST", path, body, secret), body, ErrStale},
		{"just in time", "POST", path, signAt(now.Add(-59*time.Second), "POST", path, body, secret), body, nil},
		{"wrong version", "POST", path, "v2" + good[2:], body, ErrBadSignature},
		{"short signature", "POST", path, good[:len(good)-2], body, ErrBadSignature},
		{"not hex", "POST", path, good[:len(good)-2] + "zz", body, ErrBadSignature},
		{"missing field", "POST", path, good[:strings.Index(good, " s=")], body, ErrBadSignature},
		{"negative time", "POST", path, "v1 t=-5 n=00112233445566778899aabbccddeeff s=" + strings.Repeat("00", 32), body, ErrBadSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(secret, 0)
			if err != nil {
				t.Fatal(err)
			}
			v.now = fixedNow(now)
			err = v.Verify(tt.method, tt.path, tt.header, tt.body)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyReplay: a call made twice is refused the second time; when
// the set of nonces is full of live ones, calls are refused rather than
// remembered less; once the nonces' calls are stale they are forgotten.
func TestVerifyReplay(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v, err := NewVerifier(secret, 3)
	if err != nil {
		t.Fatal(err)
	}
	v.now = fixedNow(now)
	s, _ := NewSigner(secret)
	s.now = fixedNow(now)
	h := s.Sign("POST", "/p", nil)
	if err := v.Verify("POST", "/p", h, nil); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify("POST", "/p", h, nil); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	for range 2 {
		if err := v.Verify("POST", "/p", s.Sign("POST", "/p", nil), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Verify("POST", "/p", s.Sign("POST", "/p", nil), nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("full: %v", err)
	}
	// Later, the calls signed at now are stale: their nonces are
	// forgotten and a replay of them fails as stale.
	later := now.Add(2 * MaxSkew)
	v.now = fixedNow(later)
	s.now = fixedNow(later)
	if err := v.Verify("POST", "/p", s.Sign("POST", "/p", nil), nil); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if err := v.Verify("POST", "/p", h, nil); !errors.Is(err, ErrStale) {
		t.Fatalf("old replay: %v", err)
	}
	if len(v.seen) != 1 {
		t.Errorf("%d nonces remembered, want 1", len(v.seen))
	}
}

func TestShortSecret(t *testing.T) {
	if _, err := NewSigner(nil); !errors.Is(err, ErrNoSecret) {
		t.Errorf("NewSigner(nil): %v", err)
	}
	if _, err := NewVerifier([]byte("short"), 0); !errors.Is(err, ErrNoSecret) {
		t.Errorf("NewVerifier(short): %v", err)
	}
}

// TestReadCall covers the HTTP refusals: 413 over MaxBody, 401 unsigned,
// and a signed call read whole; and Call's decoding of a refusal.
func TestReadCall(t *testing.T) {
	v, _ := NewVerifier(secret, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := ReadCall(w, r, v)
		if !ok {
			return
		}
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
			return
		}
		if in["full"] == true {
			WriteError(w, http.StatusServiceUnavailable, CodeRegionFull, "region full")
			return
		}
		WriteResult(w, in)
	}))
	defer srv.Close()
	c, err := NewClient(secret)
	if err != nil {
		t.Fatal(err)
	}
	region := ritual.NewUUID()
	var out map[string]any
	if err := c.Call(t.Context(), srv.URL, region, "admit", map[string]any{"a": 1.0}, &out); err != nil || out["a"] != 1.0 {
		t.Fatalf("Call: %v %v", out, err)
	}
	err = c.Call(t.Context(), srv.URL, region, "admit", map[string]any{"full": true}, nil)
	if pe, ok := errors.AsType[*Error](err); !ok || pe.Code != CodeRegionFull || pe.Status != http.StatusServiceUnavailable {
		t.Fatalf("refusal: %v", err)
	}

	post := func(body []byte, sign bool) *http.Response {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL+Path(region, "admit"), bytes.NewReader(body))
		if sign {
			req.Header.Set(Header, c.Signer.Sign("POST", Path(region, "admit"), body))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, tt := range []struct {
		name string
		body []byte
		sign bool
		want int
	}{
		{"unsigned", []byte(`{}`), false, http.StatusUnauthorized},
		{"too large", bytes.Repeat([]byte(" "), MaxBody+1), true, http.StatusRequestEntityTooLarge},
		{"bad json", []byte(`{`), true, http.StatusBadRequest},
		{"good", []byte(`{}`), true, http.StatusOK},
	} {
		if got := post(tt.body, tt.sign).StatusCode; got != tt.want {
			t.Errorf("%s: HTTP %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	id := ritual.NewUUID()
	for _, tt := range []struct {
		path string
		ok   bool
		op   string
	}{
		{Path(id, "admit"), true, "admit"},
		{PathPrefix + id.String(), false, ""},
		{PathPrefix + id.String() + "/", false, ""},
		{PathPrefix + id.String() + "/a/b", false, ""},
		{PathPrefix + "nope/admit", false, ""},
		{"/other/" + id.String() + "/admit", false, ""},
	} {
		got, op, ok := ParsePath(tt.path)
		if ok != tt.ok || ok && (got != id || op != tt.op) {
			t.Errorf("ParsePath(%q) = %v %q %v", tt.path, got, op, ok)
		}
	}
}

// FuzzVerify feeds arbitrary signature headers, paths and bodies to a
// Verifier: it never panics, and accepts only what was signed.
func FuzzVerify(f *testing.F) {
	s, _ := NewSigner(secret)
	f.Add("POST", "/grid/v1/regions/x/admit", s.Sign("POST", "/grid/v1/regions/x/admit", []byte("{}")), []byte("{}"))
	f.Add("POST", "/p", "v1 t=1 n=00 s=00", []byte(nil))
	f.Add("POST", "/p", "v1 t=99999999999999999999 n=00112233445566778899aabbccddeeff s="+strings.Repeat("ab", 32), []byte("x"))
	f.Add("GET", "", "v1  t=", []byte{0})
	f.Fuzz(func(t *testing.T, method, path, header string, body []byte) {
		v, _ := NewVerifier(secret, 8)
		err := v.Verify(method, path, header, body)
		if err == nil {
			// Only a header made with the secret verifies: its signature
			// is the one computed here.
			sig, perr := parseSignature(header)
			if perr != nil {
				t.Fatalf("accepted an unparsable header %q", header)
			}
			h := hashOf(body)
			if !bytes.Equal(mac(v.key, method, path, sig.unix, sig.nonce[:], h), sig.sig[:]) {
				t.Fatalf("accepted a wrong signature %q", header)
			}
		}
	})
}

func hashOf(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// FuzzParsePath: any path parses or not without panicking; what parses
// names a region and an op, and is the Path of them.
func FuzzParsePath(f *testing.F) {
	f.Add(Path(ritual.NewUUID(), "admit"))
	f.Add(PathPrefix + "x/y")
	f.Add("/grid/v1/regions//")
	f.Fuzz(func(t *testing.T, p string) {
		id, op, ok := ParsePath(p)
		if !ok {
			return
		}
		if op == "" || strings.Contains(op, "/") {
			t.Fatalf("ParsePath(%q) = %v %q", p, id, op)
		}
		if got, _, ok := ParsePath(Path(id, op)); !ok || got != id {
			t.Fatalf("Path(%v, %q) does not parse back", id, op)
		}
	})
}
