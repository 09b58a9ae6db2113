package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
)

// DefaultMaxBodyBytes is the request body limit of a Server whose
// MaxBodyBytes is zero. A login request is about 2.5 KB.
const DefaultMaxBodyBytes = 64 << 10

// Handler serves one XML-RPC method. It gets the request's context (see
// HTTPRequest) and params, and returns the one value to answer with. To
// answer with a particular fault, return a *Fault (or an error wrapping
// one); any other error is logged by the Server and answered with a generic
// FaultApplication fault that reveals nothing of it.
type Handler func(ctx context.Context, params []any) (any, error)

// Server is an http.Handler serving XML-RPC methods over POST. The zero
// value is ready to use; register methods with Handle before serving, or
// while serving (Handle is safe for concurrent use).
//
// Every request whose body could be read is answered with HTTP 200 and a
// text/xml methodResponse: the result, or a fault for malformed XML
// (FaultParse), XML that is not a methodCall (FaultInvalidRequest), an
// unknown method (FaultMethodNotFound) or a failed handler. This is how
// XML-RPC reports errors, and what clients such as the viewer expect. HTTP
// errors are kept for transport problems: 405 for a method other than POST,
// 413 for a body over MaxBodyBytes, 400 for a body that could not be read.
// A handler that panics is left to net/http, which logs the panic and drops
// the connection.
type Server struct {
	// MaxBodyBytes bounds the request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives handler errors (never sent to the client); nil means
	// slog.Default().
	Logger *slog.Logger

	mu      sync.RWMutex
	methods map[string]Handler
}

// Handle registers h for method. It panics if the method name is not one
// XML-RPC allows, if h is nil, or if method already has a handler, as
// http.ServeMux does for conflicting patterns: these are programming errors.
func (s *Server) Handle(method string, h Handler) {
	if !validMethodName(method) {
		panic(fmt.Sprintf("xmlrpc: Handle: bad method name %q", method))
	}
	if h == nil {
		panic("xmlrpc: Handle: nil handler for " + method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.methods[method]; ok {
		panic("xmlrpc: Handle: method registered twice: " + method)
	}
	if s.methods == nil {
		s.methods = make(map[string]Handler)
	}
	s.methods[method] = h
}

func (s *Server) handler(method string) (Handler, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.methods[method]
	return h, ok
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

type httpRequestKey struct{}

// WithHTTPRequest returns a context carrying r for HTTPRequest. ServeHTTP
// does this itself; callers of Dispatch may.
func WithHTTPRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, httpRequestKey{}, r)
}

// HTTPRequest returns the HTTP request a Server is serving, from the context
// it passes to a Handler (for the client's address or headers; the body has
// been read).
func HTTPRequest(ctx context.Context) (*http.Request, bool) {
	r, ok := ctx.Value(httpRequestKey{}).(*http.Request)
	return r, ok
}

// ServeHTTP reads the methodCall in r's body, runs its handler and writes the
// methodResponse.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	if r.ContentLength > limit {
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	out := s.Dispatch(WithHTTPRequest(r.Context(), r), buf.Bytes())
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out) // if this fails the client has gone: nothing to tell it
}

// Dispatch answers one methodCall document with a methodResponse document:
// the handler's result or a fault, as ServeHTTP describes. It is ServeHTTP
// without the HTTP, for callers that have read the body themselves (a login
// endpoint that also accepts LLSD, say; WithHTTPRequest passes the request
// on to handlers). body is not size-checked here.
func (s *Server) Dispatch(ctx context.Context, body []byte) []byte {
	req, err := ParseRequest(body)
	if err != nil {
		code := FaultInvalidRequest
		if errors.Is(err, ErrMalformed) {
			code = FaultParse
		}
		return MarshalFault(&Fault{Code: code, String: err.Error()})
	}
	h, ok := s.handler(req.Method)
	if !ok {
		return MarshalFault(&Fault{Code: FaultMethodNotFound, String: "no such method: " + req.Method})
	}
	v, err := h(ctx, req.Params)
	if err != nil {
		if f, ok := errors.AsType[*Fault](err); ok {
			return MarshalFault(f)
		}
		s.logger().ErrorContext(ctx, "XML-RPC method failed", "method", req.Method, "err", err)
		return MarshalFault(&Fault{Code: FaultApplication, String: "the method failed"})
	}
	out, err := MarshalResponse(v)
	if err != nil {
		s.logger().ErrorContext(ctx, "XML-RPC method result cannot be written", "method", req.Method, "err", err)
		return MarshalFault(&Fault{Code: FaultInternal, String: "internal error"})
	}
	return out
}

// readLimited reads all of r, failing with ErrTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
