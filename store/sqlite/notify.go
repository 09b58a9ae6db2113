package sqlite

import (
	"context"
	"sync"

	"ritual/store"
)

var _ store.Notifier = (*Store)(nil)
var _ store.GridStore = (*Store)(nil)

// listeners fans notifications out to the listeners of one Store: SQLite
// has no way to wake another process, so processes sharing a file find
// each other's writes by looking (see store.Notifier).
type listeners struct {
	mu   sync.Mutex
	subs map[string]map[chan string]struct{}
}

// listenBuffer is how many payloads a listener holds for a slow reader.
const listenBuffer = 256

// Notify implements store.Notifier for the listeners of this Store.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if err := s.live(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.listen.mu.Lock()
	defer s.listen.mu.Unlock()
	for c := range s.listen.subs[channel] {
		select {
		case c <- payload:
		default:
		}
	}
	return nil
}

// Listen implements store.Notifier: it delivers what this Store's Notify
// sends on channel until ctx ends or the store is closed.
func (s *Store) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	c := make(chan string, listenBuffer)
	s.listen.mu.Lock()
	if s.listen.subs == nil {
		s.listen.subs = map[string]map[chan string]struct{}{}
	}
	if s.listen.subs[channel] == nil {
		s.listen.subs[channel] = map[chan string]struct{}{}
	}
	s.listen.subs[channel][c] = struct{}{}
	s.listen.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		s.listen.mu.Lock()
		delete(s.listen.subs[channel], c)
		close(c)
		s.listen.mu.Unlock()
	}()
	return c, nil
}
