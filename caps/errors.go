package caps

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"ritual/trace"
)

// Errors. Test with errors.Is.
var (
	// ErrConfig reports a Config the Router cannot work with (Grant
	// returns it).
	ErrConfig = errors.New("caps: bad config")
	// ErrUnknownAgent reports an agent with no grant (never granted, or
	// revoked).
	ErrUnknownAgent = errors.New("caps: agent has no capabilities")
	// ErrQueueFull reports an event refused because the agent's queue
	// holds Config.QueueLimit events already.
	ErrQueueFull = errors.New("caps: event queue full")
	// ErrQueueClosed reports an event refused because the client ended its
	// event queue (done: true).
	ErrQueueClosed = errors.New("caps: event queue closed")
	// ErrBadEvent reports an event Enqueue cannot send: no message name, or
	// a body LLSD cannot carry.
	ErrBadEvent = errors.New("caps: bad event")
	// ErrStatus reports an HTTP answer with an unexpected status; the
	// error is a *StatusError.
	ErrStatus = errors.New("caps: unexpected HTTP status")
	// ErrBadResponse reports an answer whose body is not what the
	// capability promises.
	ErrBadResponse = errors.New("caps: malformed response")
	// ErrQueueGone reports that the server no longer has an event queue
	// for the client (404 or 410): EventQueueClient.Run stops with it.
	ErrQueueGone = errors.New("caps: event queue gone")
)

// StatusError is an HTTP answer with an unexpected status, with a short
// excerpt of its body. URL has its secret path masked.
type StatusError struct {
	Op      string // "seed", "EventQueueGet", a capability name
	URL     string
	Status  int
	Excerpt string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("caps: %s %s: HTTP %d", e.Op, e.URL, e.Status)
	if e.Excerpt != "" {
		s += ": " + e.Excerpt
	}
	return s
}

// Unwrap returns ErrStatus.
func (e *StatusError) Unwrap() error { return ErrStatus }

// maxExcerpt bounds the body excerpt in a StatusError.
const maxExcerpt = 160

func newStatusError(op, rawURL string, status int, body []byte) *StatusError {
	return &StatusError{Op: op, URL: trace.MaskURL(rawURL), Status: status, Excerpt: excerpt(body)}
}

// excerpt returns the start of body as one line of valid UTF-8.
func excerpt(body []byte) string {
	cut := len(body) > maxExcerpt
	if cut {
		body = body[:maxExcerpt]
		for len(body) > 0 && !utf8.Valid(body) {
			body = body[:len(body)-1]
		}
	}
	s := strings.ToValidUTF8(string(body), "?")
	s = strings.Join(strings.Fields(s), " ")
	if cut {
		s += "…"
	}
	return s
}
