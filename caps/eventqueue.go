package caps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"ritual/protocol/llsd"
	"ritual/trace"
)

// errRevoked closes a queue whose grant was revoked or replaced.
var errRevoked = errors.New("caps: event queue revoked")

// queuedEvent is an event encoded at Enqueue: its name, for the trace, and
// its {message, body} map as an LLSD XML fragment.
type queuedEvent struct {
	message string
	xml     []byte
}

// batch is one answer with events, kept until the client acknowledges its
// id so that it can be sent again.
type batch struct {
	id       int32
	messages []string
	body     []byte // the whole LLSD XML document
}

// queue is one agent's event queue.
type queue struct {
	limit int

	mu      sync.Mutex
	pending []queuedEvent
	unacked *batch
	nextID  int32
	closed  error         // errRevoked or ErrQueueClosed once closed
	gen     uint64        // the current poll; an older poll is superseded
	wake    chan struct{} // closed to wake a waiting poll; nil when none waits
	stats   QueueStats
}

func newQueue(limit int) *queue {
	// Ids start at a random value, as OpenSimulator's do (below 2^24 so
	// they stay far from wrapping).
	return &queue{limit: limit, nextID: rand.Int32N(1<<24) + 1}
}

// signalLocked wakes whatever poll waits.
func (q *queue) signalLocked() {
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
}

func (q *queue) push(ev queuedEvent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed != nil {
		return ErrQueueClosed
	}
	if len(q.pending) >= q.limit {
		q.stats.Dropped++
		return ErrQueueFull
	}
	q.pending = append(q.pending, ev)
	q.signalLocked()
	return nil
}

func (q *queue) close(why error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed == nil {
		q.closed = why
	}
	q.pending, q.unacked = nil, nil
	q.signalLocked()
}

func (q *queue) snapshot() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.stats
	st.Pending = len(q.pending)
	if q.unacked != nil {
		st.Unacked = len(q.unacked.messages)
	}
	return st
}

// pollRequest is a decoded EventQueueGet request.
type pollRequest struct {
	ack    int32
	hasAck bool
	done   bool
}

type pollOutcome int

const (
	pollDeliver    pollOutcome = iota // 200 with a batch
	pollTimeout                       // 502: nothing to say
	pollGone                          // 404: the queue is closed
	pollSuperseded                    // a newer poll of the agent took over
	pollAbandoned                     // the request's context ended
	pollDone                          // this poll closed the queue
)

type pollResult struct {
	outcome pollOutcome
	batch   *batch
	waited  time.Duration
}

// poll serves one EventQueueGet request: it drops the acknowledged batch,
// then answers at once with the unacknowledged batch or the pending events,
// or waits for events until timeout.
func (q *queue) poll(ctx context.Context, p pollRequest, timeout time.Duration) pollResult {
	start := time.Now()
	q.mu.Lock()
	if q.closed != nil {
		q.mu.Unlock()
		return pollResult{outcome: pollGone}
	}
	if p.done {
		q.closed = ErrQueueClosed
		q.pending, q.unacked = nil, nil
		q.signalLocked()
		q.mu.Unlock()
		return pollResult{outcome: pollDone}
	}
	q.gen++
	me := q.gen
	q.signalLocked() // an older waiting poll is superseded
	if q.unacked != nil && p.hasAck && p.ack == q.unacked.id {
		q.stats.Delivered += len(q.unacked.messages)
		q.unacked = nil
	}
	var timer *time.Timer
	for {
		switch {
		case q.closed != nil:
			q.mu.Unlock()
			return pollResult{outcome: pollGone, waited: time.Since(start)}
		case q.gen != me:
			q.mu.Unlock()
			return pollResult{outcome: pollSuperseded, waited: time.Since(start)}
		case q.unacked == nil && len(q.pending) > 0:
			q.unacked = q.newBatchLocked()
			fallthrough
		case q.unacked != nil:
			// Not acknowledged by this poll: the client did not get it.
			b := q.unacked
			q.stats.Batches++
			q.mu.Unlock()
			return pollResult{outcome: pollDeliver, batch: b, waited: time.Since(start)}
		}
		if q.wake == nil {
			q.wake = make(chan struct{})
		}
		wake := q.wake
		q.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			return pollResult{outcome: pollTimeout, waited: time.Since(start)}
		case <-ctx.Done():
			return pollResult{outcome: pollAbandoned, waited: time.Since(start)}
		}
		q.mu.Lock()
	}
}

// newBatchLocked takes every pending event into a new batch.
func (q *queue) newBatchLocked() *batch {
	b := &batch{id: q.nextID, messages: make([]string, len(q.pending))}
	if q.nextID == math.MaxInt32 {
		q.nextID = 1
	} else {
		q.nextID++
	}
	n := len(llsd.XMLProlog) + len(batchHead) + len(batchMid) + 11 + len(batchTail)
	for _, ev := range q.pending {
		n += len(ev.xml)
	}
	body := make([]byte, 0, n)
	body = append(body, llsd.XMLProlog...)
	body = append(body, batchHead...)
	for i, ev := range q.pending {
		b.messages[i] = ev.message
		body = append(body, ev.xml...)
	}
	body = append(body, batchMid...)
	body = strconv.AppendInt(body, int64(b.id), 10)
	body = append(body, batchTail...)
	b.body = body
	clear(q.pending)
	q.pending = q.pending[:0]
	return b
}

// The parts of an answer around its events and id.
const (
	batchHead = "<llsd><map><key>events</key><array>"
	batchMid  = "</array><key>id</key><integer>"
	batchTail = "</integer></map></llsd>"
)

// encodeEvent encodes ev as the XML fragment of its {message, body} map.
func encodeEvent(ev Event) ([]byte, error) {
	if ev.Message == "" {
		return nil, fmt.Errorf("%w: no message name", ErrBadEvent)
	}
	body := ev.Body
	if body == nil {
		body = map[string]any{}
	}
	var buf bytes.Buffer
	enc := llsd.NewEncoder(&buf, llsd.FormatXML)
	enc.SetHeader(false)
	if err := enc.Encode(llsd.OrderedMap{{Key: "message", Value: ev.Message}, {Key: "body", Value: body}}); err != nil {
		return nil, fmt.Errorf("%w: body: %w", ErrBadEvent, err)
	}
	frag, ok := bytes.CutPrefix(bytes.TrimSpace(buf.Bytes()), []byte("<llsd>"))
	if ok {
		frag, ok = bytes.CutSuffix(frag, []byte("</llsd>"))
	}
	if !ok {
		return nil, fmt.Errorf("%w: unexpected encoder output %q", ErrBadEvent, excerpt(buf.Bytes()))
	}
	return bytes.Clone(frag), nil
}

// parsePoll reads an EventQueueGet request: a map {ack, done}. An empty
// body, an absent ack and an undef ack all mean "nothing to acknowledge".
func parsePoll(v any) (pollRequest, error) {
	var p pollRequest
	if v == nil {
		return p, nil
	}
	m, ok := llsd.AsMap(v)
	if !ok {
		return p, fmt.Errorf("request is %s, want a map {ack, done}", llsdKind(v))
	}
	if a, ok := m.Lookup("ack"); ok && a != nil {
		n, ok := llsd.AsInt(a)
		if !ok {
			return p, fmt.Errorf("ack is %s, want an integer", llsdKind(a))
		}
		p.ack, p.hasAck = n, true
	}
	if d, ok := m.Lookup("done"); ok && d != nil {
		b, ok := llsd.AsBool(d)
		if !ok {
			return p, fmt.Errorf("done is %s, want a boolean", llsdKind(d))
		}
		p.done = b
	}
	return p, nil
}

// serveEventQueue answers one EventQueueGet long poll.
func (r *Router) serveEventQueue(w http.ResponseWriter, req *http.Request, g *grant) {
	if e := requirePost(w, req, EventQueueGet); e != nil {
		fail(w, e)
		return
	}
	v, e := r.readLLSD(w, req, EventQueueGet, true)
	if e != nil {
		fail(w, e)
		return
	}
	p, err := parsePoll(v)
	if err != nil {
		fail(w, badRequest("caps: %s: %v", EventQueueGet, err))
		return
	}
	r.record(&trace.EQPoll{
		Header: r.header(trace.EQ, trace.EndClient, trace.EndCaps),
		Agent:  g.agent.ID,
		Ack:    int(p.ack),
		Done:   p.done,
	})
	res := g.eq.poll(req.Context(), p, r.cfg.EQTimeout)
	switch res.outcome {
	case pollDeliver:
		writeXML(w, http.StatusOK, res.batch.body)
		r.record(&trace.EQDeliver{
			Header: r.header(trace.EQ, trace.EndCaps, trace.EndClient),
			Agent:  g.agent.ID,
			ID:     int(res.batch.id),
			Events: slices.Clone(res.batch.messages),
		})
	case pollTimeout:
		w.WriteHeader(http.StatusBadGateway)
		r.record(&trace.EQTimeout{
			Header: r.header(trace.EQ, trace.EndCaps, trace.EndClient),
			Agent:  g.agent.ID,
			Status: http.StatusBadGateway,
			Waited: res.waited,
		})
	case pollDone:
		r.writeLLSD(w, EventQueueGet, map[string]any{})
	case pollGone:
		http.Error(w, "caps: event queue closed", http.StatusNotFound)
	case pollSuperseded:
		// Usually a connection the client has given up on. A client that
		// really runs two loops must not have them knock each other out
		// in a tight loop, hence a status that makes it back off.
		r.cfg.Logger.Debug("caps: event queue poll superseded by a newer one", "agent", g.agent.ID, "waited", res.waited)
		http.Error(w, "caps: superseded by a newer poll", http.StatusConflict)
	case pollAbandoned:
		r.cfg.Logger.Debug("caps: event queue poll abandoned by the client", "agent", g.agent.ID, "waited", res.waited)
	}
}
