package caps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"ritual/protocol/llsd"
	"ritual/trace"
)

// Defaults of EventQueueClient.
const (
	DefaultPollTimeout = 90 * time.Second
	DefaultRetryMin    = time.Second
	DefaultRetryMax    = 10 * time.Second
	// DoneTimeout bounds the final {done: true} request Run sends when its
	// context ends.
	DoneTimeout = 2 * time.Second
)

// EventQueueClient is the client side of EventQueueGet. The zero value of
// every field but URL works.
type EventQueueClient struct {
	// URL is the EventQueueGet capability.
	URL string
	// HTTPClient sends the polls; nil means http.DefaultClient. Its
	// Timeout, if set, should exceed the server's hold time (OpenSimulator
	// holds a poll about 58 s).
	HTTPClient *http.Client
	// Recorder receives probe events; nil means off.
	Recorder trace.Recorder
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
	// PollTimeout gives up one poll from this side (default 90 s); like a
	// 502, that is normal and the next poll goes out at once.
	PollTimeout time.Duration
	// RetryMin and RetryMax bound the wait after a failed poll: it starts
	// at RetryMin (default 1 s) and doubles up to RetryMax (default 10 s).
	RetryMin, RetryMax time.Duration
}

// Run polls the event queue until ctx ends or the server says the queue is
// gone, calling handle (from Run's goroutine) for each event in order. Each
// answer's id is acknowledged by the next poll; an answer the server sends
// again because an acknowledgement was lost is not handled twice. A 502 or
// a poll timed out on this side is re-polled at once; a 404 or 410 stops Run
// with an error wrapping ErrQueueGone; anything else (network errors, other
// statuses, malformed answers) is logged and retried after a growing wait.
// A URL that is not an absolute http(s) URL is an error at once.
// When ctx ends Run sends one last poll with done: true (best effort,
// within DoneTimeout) and returns nil.
//
// With a Recorder it records trace.EQPoll for each poll, trace.EQDeliver
// for each answer with events and trace.EQTimeout for each poll that
// brought nothing (Status 502, or 0 when it timed out on this side).
func (c *EventQueueClient) Run(ctx context.Context, handle func(Event)) error {
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("caps: event queue: URL %q is not an absolute http(s) URL", trace.MaskURL(c.URL))
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	pollTimeout := c.PollTimeout
	if pollTimeout <= 0 {
		pollTimeout = DefaultPollTimeout
	}
	retryMin, retryMax := c.RetryMin, c.RetryMax
	if retryMin <= 0 {
		retryMin = DefaultRetryMin
	}
	if retryMax < retryMin {
		retryMax = max(DefaultRetryMax, retryMin)
	}

	var (
		ack     int32
		hasAck  bool
		backoff time.Duration
	)
	// retry waits before the next poll (or until ctx ends).
	retry := func(why error) {
		if backoff == 0 {
			backoff = retryMin
		} else {
			backoff = min(2*backoff, retryMax)
		}
		log.Warn("caps: event queue poll failed; retrying", "url", trace.MaskURL(c.URL), "in", backoff, "err", why)
		t := time.NewTimer(backoff)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}

	for ctx.Err() == nil {
		trace.Emit(c.Recorder, &trace.EQPoll{
			Header: clientHeader(trace.EQ, trace.EndClient, trace.EndCaps),
			Ack:    int(ack),
		})
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, pollTimeout)
		status, data, err := roundTrip(pctx, c.HTTPClient, http.MethodPost, c.URL, pollBody(ack, hasAck, false))
		pollExpired := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			break
		}
		switch {
		case err != nil && (pollExpired || isTimeout(err)):
			c.timeout(0, time.Since(start))
			backoff = 0
		case err != nil:
			retry(err)
		case status == http.StatusOK:
			id, events, err := parseEventAnswer(data)
			if err != nil {
				retry(err)
				continue
			}
			names := make([]string, len(events))
			for i, ev := range events {
				names[i] = ev.Message
			}
			trace.Emit(c.Recorder, &trace.EQDeliver{
				Header: clientHeader(trace.EQ, trace.EndCaps, trace.EndClient),
				ID:     int(id),
				Events: names,
			})
			if !(hasAck && id == ack) && handle != nil {
				for _, ev := range events {
					handle(ev)
				}
			}
			ack, hasAck = id, true
			backoff = 0
		case status == http.StatusBadGateway:
			c.timeout(status, time.Since(start))
			backoff = 0
		case status == http.StatusNotFound || status == http.StatusGone:
			return fmt.Errorf("%w: %w", ErrQueueGone, newStatusError(EventQueueGet, c.URL, status, data))
		default:
			retry(newStatusError(EventQueueGet, c.URL, status, data))
		}
	}
	c.sendDone(ctx, ack, hasAck)
	return nil
}

func (c *EventQueueClient) timeout(status int, waited time.Duration) {
	trace.Emit(c.Recorder, &trace.EQTimeout{
		Header: clientHeader(trace.EQ, trace.EndCaps, trace.EndClient),
		Status: status,
		Waited: waited,
	})
}

// sendDone tells the server the client is leaving, best effort.
func (c *EventQueueClient) sendDone(ctx context.Context, ack int32, hasAck bool) {
	trace.Emit(c.Recorder, &trace.EQPoll{
		Header: clientHeader(trace.EQ, trace.EndClient, trace.EndCaps),
		Ack:    int(ack),
		Done:   true,
	})
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DoneTimeout)
	defer cancel()
	roundTrip(dctx, c.HTTPClient, http.MethodPost, c.URL, pollBody(ack, hasAck, true))
}

// pollBody encodes {ack, done}; ack is undef until there is one.
func pollBody(ack int32, hasAck, done bool) []byte {
	var a any
	if hasAck {
		a = ack
	}
	b, err := llsd.MarshalXML(llsd.OrderedMap{{Key: "ack", Value: a}, {Key: "done", Value: done}})
	if err != nil {
		panic("caps: encoding a poll: " + err.Error()) // an int32 and a bool always encode
	}
	return b
}

// parseEventAnswer reads {events: [{message, body}, …], id}. Entries that
// are not maps with a message name are skipped; a missing id is an error
// (the answer could not be acknowledged).
func parseEventAnswer(data []byte) (int32, []Event, error) {
	v, err := llsd.Unmarshal(data)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	m, ok := llsd.AsMap(v)
	if !ok {
		return 0, nil, fmt.Errorf("%w: answer is %s, want a map {events, id}", ErrBadResponse, llsdKind(v))
	}
	idv, ok := m.Lookup("id")
	if !ok {
		return 0, nil, fmt.Errorf("%w: answer has no id", ErrBadResponse)
	}
	id, ok := llsd.AsInt(idv)
	if !ok {
		return 0, nil, fmt.Errorf("%w: id is %s, want an integer", ErrBadResponse, llsdKind(idv))
	}
	arr := m.Array("events")
	events := make([]Event, 0, len(arr))
	for _, e := range arr {
		em, ok := llsd.AsMap(e)
		if !ok {
			continue
		}
		name := em.String("message")
		if name == "" {
			continue
		}
		events = append(events, Event{Message: name, Body: map[string]any(em.Map("body"))})
	}
	return id, events, nil
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}
