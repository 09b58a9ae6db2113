package observatory

import (
	"ritual/trace"
)

// Relay returns a recorder that files every event it is given under one
// new session of agent name. It is for a relay between a client and a
// grid (ritual proxy) that records both sides of each session and knows
// which session each event belongs to: nothing is attributed by circuit
// code, agent or address, so concurrent sessions of one name, or events
// that name no one, never mix.
//
// A relay sees both sides: what the client sends is what the grid
// receives, so the session's furthest step is read from both. The relay's
// own end of the story (trace.SessionEnd) closes the session; its own
// diagnosis (a trace.Stall) marks it stalled, and Live adds none of its
// own to it.
func (l *Live) Relay(name string) trace.Recorder {
	l.mu.Lock()
	s := l.newSessionLocked(name)
	s.relay = true
	l.mu.Unlock()
	l.listChanged()
	return &relayRecorder{l: l, s: s}
}

// relayRecorder files a relay's events under its session.
type relayRecorder struct {
	l *Live
	s *session
}

// Record implements trace.Recorder.
func (r *relayRecorder) Record(ev trace.Event) {
	if ev == nil {
		return
	}
	if p, ok := ev.(*trace.Packet); ok {
		if hasSecret(p.Fields) && r.l.cfg.Show == trace.HideSecrets {
			ev = p.Masked()
		}
	} else {
		ev = trace.Visible(ev, r.l.cfg.Show)
	}
	r.s.mu.Lock()
	gone := r.s.gone
	r.s.mu.Unlock()
	if gone {
		// Summarised already (older than the window, or past the
		// sessions kept).
		r.l.unattributed.Add(1)
		return
	}
	if r.s.add(ev, r.l.cfg, r.l.cfg.Now()) {
		r.l.listChanged()
	}
}

// relayView is ev as the grid's side of a relayed session would have
// recorded it, for following the ritual's progress (nil when it tells
// nothing of it): the client's datagrams are what the region received,
// its event-queue polls what the grid's capabilities received.
func (s *session) relayView(ev trace.Event) []trace.Event {
	h := ev.Head()
	switch e := ev.(type) {
	case *trace.Packet:
		if h.Side == trace.Client {
			c := *e
			c.Side, c.Dir = trace.Server, trace.Recv
			if e.Message == "UseCircuitCode" {
				s.relayUCC = true
			}
			return []trace.Event{&c}
		}
		if s.relayUCC && !s.relayOpen {
			// The region answers the circuit: it is open.
			s.relayOpen = true
			return []trace.Event{&trace.CircuitCheck{Header: trace.Header{Time: h.Time, Side: trace.Server, Layer: trace.UDP}, OK: true, Code: e.Circuit}, ev}
		}
	case *trace.EQPoll:
		c := *e
		c.Side = trace.Server
		return []trace.Event{&c}
	}
	return []trace.Event{ev}
}
