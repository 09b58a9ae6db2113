package metrics

import (
	"sync"

	"ritual/trace"
)

// Events is a trace.Recorder that counts events by name, anomalies by kind
// as well ("anomaly/DROPPED"). It is meant for the layers whose events are
// rare next to packets, the capabilities and the event queue: give it as
// (part of) their Recorder and read the counts at scrape time. The set of
// keys is bounded by the event types and anomaly kinds.
type Events struct {
	mu     sync.Mutex
	counts map[string]uint64
}

// Record implements trace.Recorder.
func (e *Events) Record(ev trace.Event) {
	key := ev.Name()
	if a, ok := ev.(*trace.Anomaly); ok {
		key += "/" + a.Kind
	}
	e.mu.Lock()
	if e.counts == nil {
		e.counts = map[string]uint64{}
	}
	e.counts[key]++
	e.mu.Unlock()
}

// Count returns how many events of a name (or "anomaly/KIND") were
// recorded.
func (e *Events) Count(key string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[key]
}
