package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ritual"
)

// Codes of an Error.
const (
	CodeNoSuchRegion = "no_such_region" // the region is not run by the process called
	CodeRegionFull   = "region_full"    // the region takes no more circuits
	CodeClosing      = "closing"        // the region is shutting down
	CodeArriving     = "arriving"       // the agent is arriving there: no child
	CodeRefused      = "refused"        // the region refused, for Message's reason
	CodeBadRequest   = "bad_request"    // the body is not a call of the op
	CodeUnauthorized = "unauthorized"   // the signature was refused
	CodeTooLarge     = "too_large"      // the body is over MaxBody
	CodeUnknownOp    = "unknown_op"     // no such op
	CodeNoAPI        = "no_api"         // the process serves no calls (its store keeps no secret)
)

// Error is a call's refusal, as the answer carries it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Status is the HTTP status of the answer (not sent).
	Status int `json:"-"`
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("peer: %s (%s)", e.Message, e.Code)
}

// Answer is the body of every answer: Error on a refusal, else Result
// (the op's answer).
type Answer struct {
	Error  *Error          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// WriteError answers a call with a refusal.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	b, _ := json.Marshal(Answer{Error: &Error{Code: code, Message: message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// WriteResult answers a call with result, as JSON.
func WriteResult(w http.ResponseWriter, result any) {
	r, err := json.Marshal(result)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, CodeRefused, "encoding the answer: "+err.Error())
		return
	}
	b, _ := json.Marshal(Answer{Result: r})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// Client makes signed calls.
type Client struct {
	HTTP   *http.Client
	Signer *Signer
}

// NewClient returns a Client signing with secret, over its own pool of
// connections.
func NewClient(secret []byte) (*Client, error) {
	s, err := NewSigner(secret)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	return &Client{HTTP: &http.Client{Transport: t}, Signer: s}, nil
}

// Path is the path of op at region.
func Path(region ritual.UUID, op string) string {
	return PathPrefix + region.String() + "/" + op
}

// Call posts req as JSON to op of region at the process whose HTTP side is
// base, and decodes the answer's result into resp (when not nil). A
// refusal is an *Error; anything else (no answer, a malformed one) an
// error naming base.
func (c *Client) Call(ctx context.Context, base string, region ritual.UUID, op string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("peer: encoding %s: %w", op, err)
	}
	path := Path(region, op)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("peer: %s at %s: %w", op, base, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(Header, c.Signer.Sign(http.MethodPost, path, body))
	res, err := c.HTTP.Do(hr)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // the URL is said once, as base
		}
		return fmt.Errorf("peer: %s at %s: %w", op, base, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return fmt.Errorf("peer: %s at %s: reading the answer: %w", op, base, err)
	}
	if len(data) > MaxBody {
		return fmt.Errorf("peer: %s at %s: the answer is over %d bytes", op, base, MaxBody)
	}
	var ans Answer
	if err := json.Unmarshal(data, &ans); err != nil {
		return fmt.Errorf("peer: %s at %s: HTTP %d, not an answer: %w", op, base, res.StatusCode, err)
	}
	if ans.Error != nil {
		ans.Error.Status = res.StatusCode
		return ans.Error
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("peer: %s at %s: HTTP %d without a refusal", op, base, res.StatusCode)
	}
	if resp != nil {
		if err := json.Unmarshal(ans.Result, resp); err != nil {
			return fmt.Errorf("peer: %s at %s: decoding the answer: %w", op, base, err)
		}
	}
	return nil
}

// ReadCall reads and verifies a call: it answers the refusal itself
// (413 over MaxBody, 401 unsigned, badly signed, stale or replayed, 503
// when the nonces cannot be remembered) and returns ok false then.
func ReadCall(w http.ResponseWriter, r *http.Request, v *Verifier) (body []byte, ok bool) {
	if r.ContentLength > MaxBody {
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is over %d bytes", MaxBody))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		if _, big := errors.AsType[*http.MaxBytesError](err); big {
			WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is over %d bytes", MaxBody))
		} else {
			WriteError(w, http.StatusBadRequest, CodeBadRequest, "reading the body: "+err.Error())
		}
		return nil, false
	}
	if err := v.Verify(r.Method, r.URL.EscapedPath(), r.Header.Get(Header), body); err != nil {
		if errors.Is(err, ErrBusy) {
			WriteError(w, http.StatusServiceUnavailable, CodeUnauthorized, err.Error())
		} else {
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized, err.Error())
		}
		return nil, false
	}
	return body, true
}

// ParsePath splits a call's path into its region and op.
func ParsePath(p string) (ritual.UUID, string, bool) {
	rest, ok := strings.CutPrefix(p, PathPrefix)
	if !ok {
		return ritual.UUID{}, "", false
	}
	id, op, ok := strings.Cut(rest, "/")
	if !ok || op == "" || strings.Contains(op, "/") {
		return ritual.UUID{}, "", false
	}
	u, err := ritual.ParseUUID(id)
	if err != nil {
		return ritual.UUID{}, "", false
	}
	return u, op, true
}
