package grid

import (
	"context"
	"time"
)

// Abandon stops the server as a crash would as far as the grid's map is
// concerned: the heartbeats stop and the regions do not leave the map.
func (s *Server) Abandon() {
	if s.hosting != nil {
		s.hosting.cancel()
		s.hosting.wg.Wait()
		s.hosting.hosts = nil
	}
	if s.msgr != nil {
		// Nothing of the agents' presence is cleared.
		s.msgr.stop()
		s.msgr.abandoned = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Close(ctx)
}
