package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ritual/trace"
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

// diagnose records why a wait ran out: the first step of the ritual not
// reached, and what usually causes that.
func (s *Session) diagnose(what string, waited time.Duration) {
	if s.rec == nil {
		return
	}
	_, moved := s.Movement()
	objects := s.world.Len()
	p, of := s.world.TerrainProgress()
	ws := s.world.Stats()
	switch {
	case !moved:
		s.anomaly(trace.AnomalyTimeout, "AgentMovementComplete", fmt.Sprintf("no AgentMovementComplete within %v (waiting for %s)", waited.Round(time.Millisecond), what))
		s.stall(stepMovement, "[CLIENT] [UDP] SEND RegionHandshakeReply", "[CLIENT] [UDP] CONNECTED (RECV AgentMovementComplete)", waited, []string{
			"the region did not place the agent: CompleteAgentMovement was refused or its answer lost",
			"the region is still busy with the agent's arrival",
		})
	case objects == 0:
		s.anomaly(trace.AnomalyTimeout, "ObjectUpdate", fmt.Sprintf("no object within %v (waiting for %s)", waited.Round(time.Millisecond), what))
		causes := []string{
			"OpenSimulator sends the scene only after RegionHandshakeReply and the seed capability request, and a few heartbeats later",
			"the region is empty and did not send the agent's own avatar",
		}
		if ws.CachedAnnounced > 0 {
			causes = append(causes, fmt.Sprintf("%d objects were announced only by ObjectUpdateCached and the region has not answered RequestMultipleObjects", ws.CachedAnnounced))
		}
		s.stall(stepObjects, "[CLIENT] [UDP] CONNECTED", "[CLIENT] [UDP] RECV ObjectUpdate", waited, causes)
	case p < of:
		s.anomaly(trace.AnomalyTimeout, "LayerData", fmt.Sprintf("%d/%d terrain patches within %v (waiting for %s)", p, of, waited.Round(time.Millisecond), what))
		last := "[CLIENT] [UDP] RECV ObjectUpdate"
		if ws.LandPackets > 0 {
			last = "[CLIENT] [UDP] RECV LayerData"
		}
		s.stall(stepTerrain, last, fmt.Sprintf("[CLIENT] [UDP] RECV LayerData (%d/%d patches so far)", p, of), waited, []string{
			"the region sends terrain slowly under a low land throttle (AgentThrottle)",
			"LayerData packets were lost and the region gave up resending them",
			"the region sends terrain only for patches near the agent (draw distance)",
		})
	default:
		s.anomaly(trace.AnomalyTimeout, "", fmt.Sprintf("gave up waiting for %s after %v", what, waited.Round(time.Millisecond)))
	}
}
