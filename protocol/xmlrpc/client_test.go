package xmlrpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ritual/protocol/xmlrpc"
)

func TestClientCall(t *testing.T) {
	srv := httptest.NewServer(loginServer(t, io.Discard))
	defer srv.Close()
	ctx := context.Background()

	login := xmlrpc.Struct{
		{Name: "first", Value: "Test"}, {Name: "last", Value: "User"},
		{Name: "passwd", Value: "$1$5f4dcc3b5aa765d61d8327deb882cf99"},
		{Name: "options", Value: []string{"inventory-root"}},
	}
	t.Run("result", func(t *testing.T) {
		c := xmlrpc.Client{Header: http.Header{"User-Agent": {"RigTest"}}}
		v, err := c.Call(ctx, srv.URL, "login_to_simulator", login)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := v.(xmlrpc.Struct)
		if ok, _ := s.Bool("login"); !ok {
			t.Errorf("%v", v)
		}
		if ua, _ := s.String("user_agent"); ua != "RigTest" {
			t.Errorf("user agent %q", ua)
		}
	})
	t.Run("package Call", func(t *testing.T) {
		v, err := xmlrpc.Call(ctx, srv.Client(), srv.URL, "login_to_simulator", login)
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := v.(xmlrpc.Struct).Int("circuit_code"); code != 296610768 {
			t.Errorf("%v", v)
		}
	})
	t.Run("fault", func(t *testing.T) {
		_, err := xmlrpc.Call(ctx, nil, srv.URL, "no.such.method")
		f, ok := err.(*xmlrpc.Fault)
		if !ok || f.Code != xmlrpc.FaultMethodNotFound {
			t.Errorf("error %T %v, want the *Fault", err, err)
		}
	})
	t.Run("unsendable params", func(t *testing.T) {
		_, err := xmlrpc.Call(ctx, nil, srv.URL, "login_to_simulator", make(chan int))
		if ce, ok := errors.AsType[*xmlrpc.CallError](err); !ok || !errors.Is(err, xmlrpc.ErrUnsupportedValue) || ce.StatusCode != 0 {
			t.Errorf("%v", err)
		}
	})
}

// answering serves a fixed answer to every request.
func answering(status int, body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	ok := func(v string) string {
		return xmlrpc.Prolog + "<methodResponse><params><param><value>" + v + "</value></param></params></methodResponse>"
	}
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		max     int64
		is      error
		status2 int
	}{
		{"HTTP 500", 500, "oops", 0, xmlrpc.ErrHTTPStatus, 500},
		{"HTTP 404", 404, ok("x"), 0, xmlrpc.ErrHTTPStatus, 404},
		{"malformed", 200, "<methodResponse><params>", 0, xmlrpc.ErrMalformed, 200},
		{"not XML-RPC", 200, "<llsd><map/></llsd>", 0, xmlrpc.ErrInvalid, 200},
		{"no params", 200, "<methodResponse><params/></methodResponse>", 0, xmlrpc.ErrInvalid, 200},
		{"over the limit", 200, ok(strings.Repeat("x", 100)), 100, xmlrpc.ErrTooLarge, 200},
		{"over the default limit", 200, ok(strings.Repeat("x", xmlrpc.DefaultMaxResponseBytes)), 0, xmlrpc.ErrTooLarge, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := answering(tc.status, tc.body)
			defer srv.Close()
			c := xmlrpc.Client{MaxResponseBytes: tc.max}
			_, err := c.Call(ctx, srv.URL+"/login", "login_to_simulator")
			ce, isCall := errors.AsType[*xmlrpc.CallError](err)
			if !isCall || !errors.Is(err, tc.is) {
				t.Fatalf("error %T %v, want a *CallError that is %v", err, err, tc.is)
			}
			if ce.StatusCode != tc.status2 || ce.Method != "login_to_simulator" || ce.URL != srv.URL+"/login" {
				t.Errorf("%+v", ce)
			}
			if msg := err.Error(); !strings.Contains(msg, srv.URL+"/login") || !strings.Contains(msg, "login_to_simulator") {
				t.Errorf("error %q lacks the URL or method", msg)
			}
		})
	}
	t.Run("exactly at the limit", func(t *testing.T) {
		body := ok(strings.Repeat("x", 100))
		srv := answering(200, body)
		defer srv.Close()
		c := xmlrpc.Client{MaxResponseBytes: int64(len(body))}
		if v, err := c.Call(ctx, srv.URL, "m"); err != nil || v != strings.Repeat("x", 100) {
			t.Errorf("%v %v", v, err)
		}
	})
	t.Run("password redacted", func(t *testing.T) {
		srv := answering(500, "")
		defer srv.Close()
		u := strings.Replace(srv.URL, "http://", "http://user:sekrit@", 1)
		_, err := xmlrpc.Call(ctx, nil, u, "m")
		if err == nil || strings.Contains(err.Error(), "sekrit") || !strings.Contains(err.Error(), "user:xxxxx@") {
			t.Errorf("%v", err)
		}
	})
	t.Run("no server", func(t *testing.T) {
		srv := answering(200, "")
		u := srv.URL
		srv.Close()
		_, err := xmlrpc.Call(ctx, nil, u, "m")
		if ce, ok := errors.AsType[*xmlrpc.CallError](err); !ok || ce.StatusCode != 0 {
			t.Errorf("%v", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
		defer srv.Close()
		defer close(block)
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := xmlrpc.Call(ctx, nil, srv.URL, "m")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v, want DeadlineExceeded", err)
		}
	})
}
