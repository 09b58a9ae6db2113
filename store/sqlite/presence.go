package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ritual"
	"ritual/store"
)

type presence struct{ s *Store }

// Presence implements store.GridStore.
func (s *Store) Presence() store.Presence { return presence{s} }

const presenceCols = `agent, session, region, updated`

func scanPresence(row rowScanner) (store.AgentPresence, error) {
	var p store.AgentPresence
	var updated int64
	if err := row.Scan(uuidCol{&p.Agent}, uuidCol{&p.Session}, uuidCol{&p.Region}, &updated); err != nil {
		return store.AgentPresence{}, err
	}
	p.Updated = fromMicros(updated)
	return p, nil
}

// Set implements store.Presence.
func (x presence) Set(ctx context.Context, p *store.AgentPresence) error {
	if p == nil || p.Session.IsZero() {
		return fmt.Errorf("sqlite: set presence: %w: missing or zero session", store.ErrInvalid)
	}
	now := store.Timestamp(time.Now())
	err := x.s.inTx(ctx, "set presence", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_presence (`+presenceCols+`) VALUES (?, ?, ?, ?)
			ON CONFLICT (agent) DO UPDATE SET session = excluded.session, region = excluded.region, updated = excluded.updated`,
			id(p.Agent), id(p.Session), id(p.Region), micros(now))
		if err != nil {
			return x.s.fail("set presence of "+p.Agent.String(), err)
		}
		return nil
	})
	if err == nil {
		p.Updated = now
	}
	return err
}

// Clear implements store.Presence.
func (x presence) Clear(ctx context.Context, agent, session, region ritual.UUID) error {
	if err := x.s.live(); err != nil {
		return err
	}
	res, err := x.s.w.ExecContext(ctx, `DELETE FROM agent_presence WHERE agent = ? AND session = ? AND region = ?`,
		id(agent), id(session), id(region))
	if err != nil {
		return x.s.fail("clear presence", err)
	}
	return affected(res, "presence of "+agent.String()+" in region "+region.String())
}

// Get implements store.Presence.
func (x presence) Get(ctx context.Context, agent ritual.UUID) (store.AgentPresence, error) {
	if err := x.s.live(); err != nil {
		return store.AgentPresence{}, err
	}
	p, err := scanPresence(x.s.r.QueryRowContext(ctx, `SELECT `+presenceCols+` FROM agent_presence WHERE agent = ?`, id(agent)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.AgentPresence{}, fmt.Errorf("sqlite: presence of %s: %w", agent, store.ErrNotFound)
	}
	if err != nil {
		return store.AgentPresence{}, x.s.fail("get presence", err)
	}
	return p, nil
}

// List implements store.Presence.
func (x presence) List(ctx context.Context) ([]store.AgentPresence, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, x.s.r, "list presence", scanPresence, `SELECT `+presenceCols+` FROM agent_presence ORDER BY agent`)
}

// ClearRegion implements store.Presence.
func (x presence) ClearRegion(ctx context.Context, region ritual.UUID) (int, error) {
	if err := x.s.live(); err != nil {
		return 0, err
	}
	res, err := x.s.w.ExecContext(ctx, `DELETE FROM agent_presence WHERE region = ?`, id(region))
	if err != nil {
		return 0, x.s.fail("clear presence in region", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, x.s.fail("clear presence in region", err)
	}
	return int(n), nil
}

// Secret implements store.GridStore.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, store.SecretSize)
	rand.Read(fresh)
	var secret []byte
	err := s.inTx(ctx, "grid secret", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO grid_secret (id, secret, created) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
			fresh, micros(time.Now())); err != nil {
			return s.fail("grid secret", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT secret FROM grid_secret WHERE id = 1`).Scan(&secret); err != nil {
			return s.fail("grid secret", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(secret) != store.SecretSize {
		return nil, fmt.Errorf("%w: grid secret of %d bytes", ErrCorrupt, len(secret))
	}
	return secret, nil
}

type homes struct{ s *Store }

// Homes implements store.Store.
func (s *Store) Homes() store.Homes { return homes{s} }

// Set implements store.Homes.
func (x homes) Set(ctx context.Context, h *store.Home) error {
	if h == nil || !store.FiniteVector(h.Position) || !store.FiniteVector(h.LookAt) {
		return fmt.Errorf("sqlite: set home: %w: missing or non-finite", store.ErrInvalid)
	}
	now := store.Timestamp(time.Now())
	err := x.s.inTx(ctx, "set home", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_homes (agent, region, pos_x, pos_y, pos_z, look_x, look_y, look_z, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent) DO UPDATE SET region = excluded.region, pos_x = excluded.pos_x, pos_y = excluded.pos_y,
			pos_z = excluded.pos_z, look_x = excluded.look_x, look_y = excluded.look_y, look_z = excluded.look_z, updated = excluded.updated`,
			id(h.Agent), id(h.Region), h.Position.X, h.Position.Y, h.Position.Z, h.LookAt.X, h.LookAt.Y, h.LookAt.Z, micros(now))
		if err != nil {
			return x.s.fail("set home of "+h.Agent.String(), err)
		}
		return nil
	})
	if err == nil {
		h.Updated = now
	}
	return err
}

// Get implements store.Homes.
func (x homes) Get(ctx context.Context, agent ritual.UUID) (store.Home, error) {
	if err := x.s.live(); err != nil {
		return store.Home{}, err
	}
	h := store.Home{Agent: agent}
	var updated int64
	err := x.s.r.QueryRowContext(ctx, `SELECT region, pos_x, pos_y, pos_z, look_x, look_y, look_z, updated FROM agent_homes WHERE agent = ?`, id(agent)).
		Scan(uuidCol{&h.Region}, f32{&h.Position.X}, f32{&h.Position.Y}, f32{&h.Position.Z}, f32{&h.LookAt.X}, f32{&h.LookAt.Y}, f32{&h.LookAt.Z}, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Home{}, fmt.Errorf("sqlite: home of %s: %w", agent, store.ErrNotFound)
	}
	if err != nil {
		return store.Home{}, x.s.fail("get home", err)
	}
	h.Updated = fromMicros(updated)
	return h, nil
}
