package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// DefaultMaxResponseBytes is the response body limit of a Client whose
// MaxResponseBytes is zero. OpenSimulator's login response for a fresh
// account is about 24 KB, and grows with the inventory folders it lists.
const DefaultMaxResponseBytes = 4 << 20

// Client calls XML-RPC methods over HTTP. The zero value is ready to use.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Set its
	// Timeout or use a context deadline: Call adds none.
	HTTPClient *http.Client
	// MaxResponseBytes bounds the response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// Header holds extra request headers (User-Agent, say).
	Header http.Header
}

// CallError is a call that failed for a reason other than a fault: the
// request could not be sent, the server answered with an HTTP error, or the
// answer was too large or not XML-RPC. It names the method and the URL
// (without any password), and the HTTP status if there was a response.
type CallError struct {
	Method     string
	URL        string
	StatusCode int // 0 if no response was received
	Err        error
}

func (e *CallError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("xmlrpc: call %s at %s: HTTP %d: %v", e.Method, e.URL, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("xmlrpc: call %s at %s: %v", e.Method, e.URL, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// ErrHTTPStatus is the cause in a CallError for a response whose status is
// not 200 OK.
var ErrHTTPStatus = errors.New("xmlrpc: HTTP status is not 200 OK")

// Call calls method at endpoint (a URL) with params through httpClient (nil means
// http.DefaultClient) and the default response limit. See Client.Call.
func Call(ctx context.Context, httpClient *http.Client, endpoint, method string, params ...any) (any, error) {
	c := Client{HTTPClient: httpClient}
	return c.Call(ctx, endpoint, method, params...)
}

// Call calls method at endpoint (a URL) with params and returns the first param of the
// response. If the server answers with a fault, the error is that *Fault;
// every other error is a *CallError. A response without params is an error.
func (c *Client) Call(ctx context.Context, endpoint, method string, params ...any) (any, error) {
	resp, err := c.Do(ctx, endpoint, &Request{Method: method, Params: params})
	if err != nil {
		return nil, err
	}
	if resp.Fault != nil {
		return nil, resp.Fault
	}
	if len(resp.Params) == 0 {
		return nil, &CallError{Method: method, URL: redact(endpoint), StatusCode: http.StatusOK,
			Err: fmt.Errorf("%w: response without a value", ErrInvalid)}
	}
	return resp.Params[0], nil
}

// Do sends req to endpoint (a URL) and returns the parsed response, which may carry a
// fault (that is not an error here). Errors are *CallError.
func (c *Client) Do(ctx context.Context, endpoint string, req *Request) (*Response, error) {
	fail := func(status int, err error) (*Response, error) {
		return nil, &CallError{Method: req.Method, URL: redact(endpoint), StatusCode: status, Err: err}
	}
	body, err := req.Marshal()
	if err != nil {
		return fail(0, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fail(0, err)
	}
	for k, vs := range c.Header {
		hreq.Header[k] = append([]string(nil), vs...)
	}
	hreq.Header.Set("Content-Type", "text/xml")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	hresp, err := hc.Do(hreq)
	if err != nil {
		// net/http's error repeats the URL in full; keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fail(0, err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		return fail(hresp.StatusCode, fmt.Errorf("%w: %s", ErrHTTPStatus, hresp.Status))
	}
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	data, err := readLimited(hresp.Body, limit)
	if err != nil {
		return fail(hresp.StatusCode, fmt.Errorf("reading the response: %w", err))
	}
	resp, err := ParseResponse(data)
	if err != nil {
		return fail(hresp.StatusCode, err)
	}
	return resp, nil
}

// redact returns u with any password replaced by "xxxxx".
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Redacted()
}
