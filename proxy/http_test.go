package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/trace"
)

// upstreamRecorder answers with fixed bodies and keeps what it received.
type upstreamRecorder struct {
	mu   sync.Mutex
	got  []string // method path body
	resp map[string][]byte
}

func (u *upstreamRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got = append(u.got, r.Method+" "+r.URL.RequestURI()+" "+string(body))
	u.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Upstream", "yes")
	if b, ok := u.resp[r.URL.Path]; ok {
		_, _ = w.Write(b)
		return
	}
	http.NotFound(w, r)
}

// TestHTTPPassThrough: a failed login reaches the client byte for byte and
// is told; any other request to the login URI's host (get_grid_info, a
// POST that is not a login) is forwarded unchanged with its answer.
func TestHTTPPassThrough(t *testing.T) {
	badpw := readTestdata(t, filepath.Join("..", "login", "testdata", "opensim-login-response-badpw.xml"))
	up := &upstreamRecorder{resp: map[string][]byte{
		"/":              badpw,
		"/get_grid_info": []byte("<gridinfo><gridname>Test</gridname></gridinfo>"),
	}}
	srv := httptest.NewServer(up)
	defer srv.Close()
	p, e := startTestProxy(t, srv.URL+"/", 10*time.Second)
	req := readTestdata(t, filepath.Join("..", "login", "testdata", "opensim-login-request-badpw.xml"))

	for _, c := range []struct {
		method, path, body string
		want               []byte
	}{
		{"POST", "/", string(req), badpw},
		{"GET", "/get_grid_info?x=1", "", []byte("<gridinfo><gridname>Test</gridname></gridinfo>")},
		{"POST", "/get_grid_info", "<methodCall><methodName>other</methodName></methodCall>", []byte("<gridinfo><gridname>Test</gridname></gridinfo>")},
	} {
		r, err := http.NewRequest(c.method, p.LoginURI()[:len(p.LoginURI())-1]+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "text/xml")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(got, c.want) || resp.Header.Get("X-Upstream") != "yes" {
			t.Errorf("%s %s: %d %q (headers %v)", c.method, c.path, resp.StatusCode, got, resp.Header)
		}
	}
	up.mu.Lock()
	got := up.got
	up.mu.Unlock()
	if len(got) != 3 || got[0] != "POST / "+string(req) || got[1] != "GET /get_grid_info?x=1 " || !strings.HasPrefix(got[2], "POST /get_grid_info <methodCall>") {
		t.Errorf("the upstream received %q", got)
	}
	select {
	case <-e.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("the refused login's session did not end")
	}
	e.mu.Lock()
	evs := e.evs[0]
	e.mu.Unlock()
	var lr *trace.LoginResponse
	for _, ev := range evs {
		if r, ok := ev.(*trace.LoginResponse); ok {
			lr = r
		}
	}
	if lr == nil || lr.OK || lr.Reason != "key" {
		t.Errorf("the refusal was told as %+v", lr)
	}
	if st := stallOf(evs); st == nil || st.Fault != "client" || st.Cause != "login_refused" {
		t.Errorf("the refusal was diagnosed as %+v", st)
	}
}

// TestUnknownCapability: a capability path the proxy never handed out is
// 404 and goes nowhere.
func TestUnknownCapability(t *testing.T) {
	up := &upstreamRecorder{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	p, _ := startTestProxy(t, srv.URL+"/", 10*time.Second)
	base := strings.TrimSuffix(p.LoginURI(), "/")
	for _, path := range []string{CapPrefix + strings.Repeat("0", 32) + "/", CapPrefix + "x", CapPrefix} {
		resp, err := http.Post(base+path, "application/llsd+xml", strings.NewReader("<llsd><array/></llsd>"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	if len(up.got) != 0 {
		t.Errorf("the upstream received %q", up.got)
	}
}
