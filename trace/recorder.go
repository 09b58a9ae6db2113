package trace

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Recorder receives events. Implementations are safe for concurrent use. A
// nil Recorder means the observer is off; emitters check for nil before
// building an event, so an unobserved connection pays nothing.
type Recorder interface {
	Record(Event)
}

// Emit stamps ev's time if it is zero and hands it to r; it does nothing
// when r is nil.
func Emit(r Recorder, ev Event) {
	if r == nil {
		return
	}
	h := ev.Head()
	if h.Time.IsZero() {
		h.Time = time.Now()
	}
	r.Record(ev)
}

// Tee returns a Recorder that passes every event to each non-nil recorder
// in turn, or nil when there are none.
func Tee(rs ...Recorder) Recorder {
	var out tee
	for _, r := range rs {
		if r != nil {
			out = append(out, r)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

type tee []Recorder

func (t tee) Record(ev Event) {
	for _, r := range t {
		r.Record(ev)
	}
}

// DefaultMemoryLimit is how many events a Memory keeps when Limit is zero.
const DefaultMemoryLimit = 1 << 20

// Memory keeps events in order, up to Limit (DefaultMemoryLimit when zero);
// past it, events are counted in Dropped rather than kept, so an observed
// connection never grows memory without bound.
type Memory struct {
	Limit int

	mu      sync.Mutex
	events  []Event
	dropped int
	notify  chan struct{}
}

// Record implements Recorder.
func (m *Memory) Record(ev Event) {
	m.mu.Lock()
	limit := m.Limit
	if limit <= 0 {
		limit = DefaultMemoryLimit
	}
	if len(m.events) < limit {
		m.events = append(m.events, ev)
	} else {
		m.dropped++
	}
	ch := m.notify
	m.notify = nil
	m.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// Events returns a copy of the events recorded so far.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Dropped returns how many events were not kept because of the limit.
func (m *Memory) Dropped() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Changed returns a channel closed at the next Record, for waiting on new
// events without polling.
func (m *Memory) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notify == nil {
		m.notify = make(chan struct{})
	}
	return m.notify
}

// WriterSink writes one JSON object per line: the event's name under
// "event", its fields, its absolute time and its time relative to the first
// event under "rel_ms". Secrets are masked unless Show is ShowSecrets.
type WriterSink struct {
	Show Secrets

	mu    sync.Mutex
	w     *bufio.Writer
	first time.Time
	err   error
}

// NewWriterSink returns a JSON-lines sink writing to w. Call Flush when
// done.
func NewWriterSink(w io.Writer, show Secrets) *WriterSink {
	return &WriterSink{Show: show, w: bufio.NewWriter(w)}
}

// Record implements Recorder.
func (s *WriterSink) Record(ev Event) {
	b, err := MarshalJSON(Visible(ev, s.Show))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if err != nil {
		s.err = err
		return
	}
	t := ev.Head().Time
	if s.first.IsZero() {
		s.first = t
	}
	rel := float64(t.Sub(s.first).Microseconds()) / 1000
	// Insert rel_ms after the opening brace.
	fmt.Fprintf(s.w, `{"rel_ms":%.3f,`, rel)
	s.w.Write(b[1:])
	s.err = s.w.WriteByte('\n')
}

// Flush writes buffered lines and reports the first error met.
func (s *WriterSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}

// MarshalJSON encodes ev as a JSON object with its name under "event"
// followed by its fields. It does not mask; see Visible.
func MarshalJSON(ev Event) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("trace: encoding %s: %w", ev.Name(), err)
	}
	name, _ := json.Marshal(ev.Name())
	out := make([]byte, 0, len(b)+len(name)+12)
	out = append(out, `{"event":`...)
	out = append(out, name...)
	if len(b) > 2 {
		out = append(out, ',')
		out = append(out, b[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// ReadJSONL reads events written by WriterSink, one per line.
func ReadJSONL(r io.Reader) ([]Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var out []Event
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		ev, err := Decode(sc.Bytes())
		if err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, ev)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("trace: reading events: %w", err)
	}
	return out, nil
}

// SlogSink forwards events to a structured logger at Debug level (Info
// for anomalies and stalls), masked unless Show is ShowSecrets.
type SlogSink struct {
	Logger *slog.Logger // nil means slog.Default()
	Show   Secrets
}

// Record implements Recorder.
func (s SlogSink) Record(ev Event) {
	l := s.Logger
	if l == nil {
		l = slog.Default()
	}
	ev = Visible(ev, s.Show)
	level := slog.LevelDebug
	switch ev.(type) {
	case *Anomaly, *Stall:
		level = slog.LevelInfo
	}
	if !l.Enabled(context.Background(), level) {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		l.Warn("trace: unencodable event", "event", ev.Name(), "err", err)
		return
	}
	h := ev.Head()
	l.Log(context.Background(), level, "probe",
		"event", ev.Name(), "side", h.Side.String(), "layer", h.Layer.String(),
		"from", h.From, "to", h.To, "data", json.RawMessage(b))
}
