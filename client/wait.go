package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ritual/circuit"
	"ritual/trace"
	"ritual/trace/cause"
)

// WaitMovementComplete waits until AgentMovementComplete has arrived: the
// agent is in the region.
func (s *Session) WaitMovementComplete(ctx context.Context) error {
	return s.wait(ctx, "AgentMovementComplete", func() bool {
		_, ok := s.Movement()
		return ok
	})
}

// WaitObjects waits until at least n objects are known in full.
func (s *Session) WaitObjects(ctx context.Context, n int) error {
	return s.wait(ctx, fmt.Sprintf("%d objects", n), func() bool { return s.world.Len() >= n })
}

// WaitTerrain waits until every land patch of the region has arrived.
func (s *Session) WaitTerrain(ctx context.Context) error {
	return s.wait(ctx, "the whole terrain", func() bool {
		p, of := s.world.TerrainProgress()
		return p == of
	})
}

// WaitRitual waits for the whole ritual: AgentMovementComplete, at least
// one object and every terrain patch. When ctx's deadline passes first it
// records what was missing (TIMEOUT and a STALL with the likely causes).
func (s *Session) WaitRitual(ctx context.Context) error {
	return s.wait(ctx, "the ritual to complete", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.complete
	})
}

// wait blocks until ready holds, the session ends or ctx ends. On ctx's
// deadline it records a TIMEOUT and a STALL naming the first missing step.
func (s *Session) wait(ctx context.Context, what string, ready func() bool) error {
	start := time.Now()
	for {
		ch := s.changedChan()
		if ready() {
			return nil
		}
		select {
		case <-ch:
		case <-s.done:
			if ready() {
				return nil
			}
			s.diagnoseEnd(what, time.Since(start))
			return fmt.Errorf("client: waiting for %s: %w", what, s.Err())
		case <-ctx.Done():
			if ready() {
				return nil
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				s.diagnose(what, time.Since(start))
			}
			return fmt.Errorf("client: waiting for %s (%s): %w", what, s.progress(), ctx.Err())
		}
	}
}

// progress describes how far the ritual has come, for errors.
func (s *Session) progress() string {
	_, moved := s.Movement()
	p, of := s.world.TerrainProgress()
	return fmt.Sprintf("movement complete: %t, %d objects, %d/%d terrain patches", moved, s.world.Len(), p, of)
}

// diagnoseEnd records why the session ended before the wait was over,
// when the region ended it (KickUser, DisableSimulator) or the circuit died
// under it; a session closed or logged out by its user is no stall.
func (s *Session) diagnoseEnd(what string, waited time.Duration) {
	if s.rec == nil {
		return
	}
	err := s.Err()
	step := s.missingStep()
	cc := s.cfg.Circuit
	var c cause.Cause
	var kicked *KickedError
	switch {
	case errors.As(err, &kicked):
		c = cause.KickedOut(step, kicked.Reason)
	case errors.Is(err, ErrDisabled):
		c = cause.RegionDisabled(step)
	case errors.Is(err, circuit.ErrTimeout):
		silent := cc.Timeout
		if silent <= 0 {
			silent = circuitTimeout
		}
		// The client cannot tell a silent region from a network that
		// drops its datagrams.
		c = cause.RegionWentSilent(step, silent).Blame(cause.Unknown)
	case errors.Is(err, circuit.ErrGaveUp):
		sends := cc.MaxResends
		if sends <= 0 {
			sends = circuitMaxResends
		}
		c = cause.RegionStoppedAcking(step, sends+1).Blame(cause.Unknown)
	default:
		return
	}
	s.stall(trace.UDP, "[CLIENT] [UDP] CIRCUIT CLOSED", "the region to go on with "+what, waited, c)
}

// The defaults of circuit.Config that the causes name.
const (
	circuitTimeout    = 60 * time.Second
	circuitMaxResends = 10
)

// missingStep is the first step of the UDP ritual not reached.
func (s *Session) missingStep() cause.Step {
	_, moved := s.Movement()
	p, of := s.world.TerrainProgress()
	switch {
	case !s.Handshaken():
		return cause.StepHandshake
	case !moved:
		return cause.StepMovementComplete
	case s.world.Len() == 0:
		return cause.StepFirstObject
	case p < of:
		return cause.StepTerrain
	}
	return cause.StepComplete
}

// diagnose records why a wait ran out: the first step of the ritual not
// reached, and the causes the session's evidence supports (from package
// trace/cause). Faults the ritual went on without (a blank or failing
// seed capability, a silent event queue) come before the scene in the
// ritual, so they are named first.
func (s *Session) diagnose(what string, waited time.Duration) {
	if s.rec == nil {
		return
	}
	mv, moved := s.Movement()
	objects := s.world.Len()
	p, of := s.world.TerrainProgress()
	ws := s.world.Stats()
	w := cause.Dur(waited)
	switch {
	case !moved:
		s.anomaly(trace.AnomalyTimeout, "AgentMovementComplete", "no AgentMovementComplete within "+w+" (waiting for "+what+")")
		s.stall(trace.UDP, "[CLIENT] [UDP] SEND RegionHandshakeReply", "[CLIENT] [UDP] CONNECTED (RECV AgentMovementComplete)", waited,
			cause.NoMovementComplete(waited))
	case objects == 0 || p < of:
		var cs []cause.Cause
		for _, f := range s.Faults() {
			if f.Step < cause.StepFirstObject {
				cs = append(cs, f)
			}
		}
		since := min(time.Since(mv.At), waited)
		last, expected := "[CLIENT] [UDP] CONNECTED", "[CLIENT] [UDP] RECV ObjectUpdate"
		if objects == 0 {
			s.anomaly(trace.AnomalyTimeout, "ObjectUpdate", "no object within "+w+" (waiting for "+what+")")
			cs = append(cs, cause.NoObject(since, ws.CachedAnnounced))
		} else {
			s.anomaly(trace.AnomalyTimeout, "LayerData", fmt.Sprintf("%d/%d terrain patches within %s (waiting for %s)", p, of, w, what))
			last = "[CLIENT] [UDP] RECV ObjectUpdate"
			if ws.LandPackets > 0 {
				last = "[CLIENT] [UDP] RECV LayerData"
			}
			expected = fmt.Sprintf("[CLIENT] [UDP] RECV LayerData (%d/%d patches so far)", p, of)
			cs = append(cs, cause.TerrainStopped(p, of))
		}
		layer := trace.UDP
		switch cs[0].Step {
		case cause.StepSeed:
			layer = trace.Caps
		case cause.StepEventQueue:
			layer = trace.EQ
		}
		s.stall(layer, last, expected, waited, cs...)
	default:
		s.anomaly(trace.AnomalyTimeout, "", "gave up waiting for "+what+" after "+w)
	}
}
