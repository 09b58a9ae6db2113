package xmlrpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ritual/protocol/xmlrpc"
)

// loginServer answers login_to_simulator as a grid would, enough to test
// dispatch: it checks the password member and echoes the name.
func loginServer(t *testing.T, logs io.Writer) *xmlrpc.Server {
	t.Helper()
	s := &xmlrpc.Server{Logger: slog.New(slog.NewTextHandler(logs, nil))}
	s.Handle("login_to_simulator", func(ctx context.Context, params []any) (any, error) {
		if len(params) != 1 {
			return nil, &xmlrpc.Fault{Code: xmlrpc.FaultInvalidParams, String: "want one struct"}
		}
		req, ok := params[0].(xmlrpc.Struct)
		if !ok {
			return nil, &xmlrpc.Fault{Code: xmlrpc.FaultInvalidParams, String: "want one struct"}
		}
		var out xmlrpc.Struct
		if pw, _ := req.String("passwd"); pw != "$1$5f4dcc3b5aa765d61d8327deb882cf99" {
			out.Set("login", "false")
			out.Set("reason", "key")
			return out, nil
		}
		first, _ := req.String("first")
		out.Set("login", "true")
		out.Set("first_name", first)
		out.Set("circuit_code", int32(296610768))
		if hr, ok := xmlrpc.HTTPRequest(ctx); ok {
			out.Set("user_agent", hr.UserAgent())
		}
		return out, nil
	})
	s.Handle("fails", func(context.Context, []any) (any, error) {
		return nil, errors.New("database password is hunter2")
	})
	s.Handle("faults", func(context.Context, []any) (any, error) {
		return nil, fmt.Errorf("wrapped: %w", &xmlrpc.Fault{Code: 7, String: "seven"})
	})
	s.Handle("unwritable", func(context.Context, []any) (any, error) {
		return make(chan int), nil
	})
	return s
}

func post(t *testing.T, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/xml")
	r.Header.Set("User-Agent", "RigTest")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// faultOf parses a 200 text/xml answer and returns its fault (nil if none).
func faultOf(t *testing.T, w *httptest.ResponseRecorder) (*xmlrpc.Response, *xmlrpc.Fault) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.HasPrefix(w.Body.Bytes(), []byte(xmlrpc.Prolog)) {
		t.Errorf("answer lacks the prolog: %.60s", w.Body)
	}
	resp, err := xmlrpc.ParseResponse(w.Body.Bytes())
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, w.Body)
	}
	return resp, resp.Fault
}

func TestServerDispatch(t *testing.T) {
	var logs bytes.Buffer
	s := loginServer(t, &logs)
	t.Run("login", func(t *testing.T) {
		resp, f := faultOf(t, post(t, s, capture(t, "opensim-login-request.xml")))
		if f != nil {
			t.Fatal(f)
		}
		want := xmlrpc.Struct{
			{Name: "login", Value: "true"}, {Name: "first_name", Value: "Test"},
			{Name: "circuit_code", Value: int32(296610768)}, {Name: "user_agent", Value: "RigTest"},
		}
		if d := diff("result", resp.Params[0], want); d != "" || len(resp.Params) != 1 {
			t.Errorf("%s (%d params)", d, len(resp.Params))
		}
	})
	t.Run("bad password", func(t *testing.T) {
		resp, f := faultOf(t, post(t, s, capture(t, "opensim-login-request-badpw.xml")))
		if f != nil {
			t.Fatal(f)
		}
		if r, _ := resp.Params[0].(xmlrpc.Struct).String("reason"); r != "key" {
			t.Errorf("reason %q", r)
		}
	})
	for _, tc := range []struct {
		name string
		body string
		code int32
		says string
	}{
		{"malformed XML", "<methodCall><methodName>login_to_simulator</methodName><params>", xmlrpc.FaultParse, "malformed XML"},
		{"not XML", "\x00\x01", xmlrpc.FaultParse, "malformed XML"},
		{"empty body", "", xmlrpc.FaultParse, "no methodCall element"},
		{"not a methodCall", "<llsd><map/></llsd>", xmlrpc.FaultInvalidRequest, "document element is <llsd>"},
		{"unknown method", "<methodCall><methodName>system.listMethods</methodName></methodCall>", xmlrpc.FaultMethodNotFound, "no such method: system.listMethods"},
		{"handler fault", "<methodCall><methodName>faults</methodName></methodCall>", 7, "seven"},
		{"invalid params", "<methodCall><methodName>login_to_simulator</methodName></methodCall>", xmlrpc.FaultInvalidParams, "want one struct"},
		{"handler error", "<methodCall><methodName>fails</methodName></methodCall>", xmlrpc.FaultApplication, "the method failed"},
		{"unwritable result", "<methodCall><methodName>unwritable</methodName></methodCall>", xmlrpc.FaultInternal, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, s, []byte(tc.body))
			_, f := faultOf(t, w)
			if f == nil || f.Code != tc.code || !strings.Contains(f.String, tc.says) {
				t.Errorf("fault %+v, want code %d saying %q", f, tc.code, tc.says)
			}
		})
	}
	// The handler's own error is logged, never sent.
	if w := post(t, s, []byte("<methodCall><methodName>fails</methodName></methodCall>")); strings.Contains(w.Body.String(), "hunter2") {
		t.Error("handler error leaked to the client")
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "method=fails") {
		t.Errorf("handler error not logged: %q", logs.String())
	}
	if !strings.Contains(logs.String(), "method=unwritable") {
		t.Errorf("unwritable result not logged: %q", logs.String())
	}
}

func TestServerBodyLimit(t *testing.T) {
	s := loginServer(t, io.Discard)
	body := capture(t, "opensim-login-request.xml")
	big := append(append([]byte{}, body...), bytes.Repeat([]byte(" "), xmlrpc.DefaultMaxBodyBytes)...)
	t.Run("default limit with Content-Length", func(t *testing.T) {
		if w := post(t, s, big); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP %d, want 413", w.Code)
		}
	})
	t.Run("default limit without Content-Length", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(bytes.NewReader(big)))
		r.ContentLength = -1
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP %d, want 413", w.Code)
		}
	})
	t.Run("exactly at the limit", func(t *testing.T) {
		atLimit := append(append([]byte{}, body...), bytes.Repeat([]byte(" "), xmlrpc.DefaultMaxBodyBytes-len(body))...)
		if _, f := faultOf(t, post(t, s, atLimit)); f != nil {
			t.Error(f)
		}
	})
	t.Run("configured limit", func(t *testing.T) {
		small := &xmlrpc.Server{MaxBodyBytes: int64(len(body)) - 1}
		small.Handle("login_to_simulator", func(context.Context, []any) (any, error) { return "ok", nil })
		if w := post(t, small, body); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("HTTP %d, want 413", w.Code)
		}
		small.MaxBodyBytes++
		if _, f := faultOf(t, post(t, small, body)); f != nil {
			t.Error(f)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestServerUnreadableBody(t *testing.T) {
	s := loginServer(t, io.Discard)
	r := httptest.NewRequest(http.MethodPost, "/", failingReader{})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("HTTP %d, want 400", w.Code)
	}
}

func TestServerHTTPMethod(t *testing.T) {
	s := loginServer(t, io.Discard)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: HTTP %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestServerHandlePanics(t *testing.T) {
	ok := func(context.Context, []any) (any, error) { return nil, nil }
	for name, f := range map[string]func(s *xmlrpc.Server){
		"bad name":  func(s *xmlrpc.Server) { s.Handle("has space", ok) },
		"empty":     func(s *xmlrpc.Server) { s.Handle("", ok) },
		"nil":       func(s *xmlrpc.Server) { s.Handle("m", nil) },
		"duplicate": func(s *xmlrpc.Server) { s.Handle("m", ok); s.Handle("m", ok) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(&xmlrpc.Server{})
		})
	}
}

func TestServerDispatchDirect(t *testing.T) {
	var s xmlrpc.Server // the zero value serves (every method unknown)
	resp, err := xmlrpc.ParseResponse(s.Dispatch(context.Background(), []byte("<methodCall><methodName>x</methodName></methodCall>")))
	if err != nil || resp.Fault == nil || resp.Fault.Code != xmlrpc.FaultMethodNotFound {
		t.Errorf("%+v %v", resp, err)
	}
	s.Handle("echo", func(ctx context.Context, p []any) (any, error) {
		hr, ok := xmlrpc.HTTPRequest(ctx)
		if !ok {
			return nil, &xmlrpc.Fault{Code: 1, String: "no HTTP request"}
		}
		return append(p, hr.RemoteAddr), nil
	})
	hr := httptest.NewRequest(http.MethodPost, "/", nil)
	ctx := xmlrpc.WithHTTPRequest(context.Background(), hr)
	resp, err = xmlrpc.ParseResponse(s.Dispatch(ctx, []byte("<methodCall><methodName>echo</methodName><params><param><value>a</value></param></params></methodCall>")))
	if err != nil || resp.Fault != nil || diff("echo", resp.Params, []any{[]any{"a", hr.RemoteAddr}}) != "" {
		t.Errorf("%+v %v", resp, err)
	}
	resp, err = xmlrpc.ParseResponse(s.Dispatch(context.Background(), []byte("<methodCall><methodName>echo</methodName></methodCall>")))
	if err != nil || resp.Fault == nil || resp.Fault.String != "no HTTP request" {
		t.Errorf("without WithHTTPRequest: %+v %v", resp, err)
	}
}
