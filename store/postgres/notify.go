package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ritual/store"
)

var _ store.Notifier = (*Store)(nil)

// Notify implements store.Notifier with NOTIFY (payloads of at most 7999
// bytes, PostgreSQL's limit).
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if err := s.live(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return s.fail("notify "+channel, err)
	}
	return nil
}

// listenBuffer is how many payloads a listener holds for a slow reader.
const listenBuffer = 256

// Listen implements store.Notifier with LISTEN on a connection of its own
// (outside the pool), reconnecting after a lost connection. It ends when ctx
// ends or the store is closed.
func (s *Store) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	conn, err := s.listenConn(ctx, channel)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.done, cancel)
	out := make(chan string, listenBuffer)
	go func() {
		defer close(out)
		defer stop()
		defer cancel()
		for {
			for conn != nil {
				n, err := conn.WaitForNotification(ctx)
				if err != nil {
					conn.Close(context.Background())
					conn = nil
					break
				}
				select {
				case out <- n.Payload:
				default: // the reader looks for itself now and then
				}
			}
			if ctx.Err() != nil {
				return
			}
			// Reconnect, with a pause; the reader missed what came
			// meanwhile and finds it by looking.
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			conn, _ = s.listenConn(ctx, channel)
		}
	}()
	return out, nil
}

// listenConn opens a connection listening on channel.
func (s *Store) listenConn(ctx context.Context, channel string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, s.fail("listen "+channel, err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, s.fail(fmt.Sprintf("listen %s", channel), err)
	}
	return conn, nil
}
