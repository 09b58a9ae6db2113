package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"ritual"
	"ritual/store"
)

type presence struct{ s *Store }

// Presence implements store.GridStore.
func (s *Store) Presence() store.Presence { return presence{s} }

const presenceCols = `agent, session, region, updated`

func scanPresence(row pgx.Row) (store.AgentPresence, error) {
	var p store.AgentPresence
	if err := row.Scan(uuidCol{&p.Agent}, uuidCol{&p.Session}, uuidCol{&p.Region}, &p.Updated); err != nil {
		return store.AgentPresence{}, err
	}
	p.Updated = utc(p.Updated)
	return p, nil
}

// Set implements store.Presence.
func (x presence) Set(ctx context.Context, p *store.AgentPresence) error {
	if p == nil || p.Session.IsZero() {
		return fmt.Errorf("postgres: set presence: %w: missing or zero session", store.ErrInvalid)
	}
	if err := x.s.live(); err != nil {
		return err
	}
	now := store.Timestamp(time.Now())
	_, err := x.s.pool.Exec(ctx, `INSERT INTO agent_presence (`+presenceCols+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (agent) DO UPDATE SET session = excluded.session, region = excluded.region, updated = excluded.updated`,
		id(p.Agent), id(p.Session), id(p.Region), now)
	if err != nil {
		return x.s.fail("set presence of "+p.Agent.String(), err)
	}
	p.Updated = now
	return nil
}

// Clear implements store.Presence.
func (x presence) Clear(ctx context.Context, agent, session, region ritual.UUID) error {
	if err := x.s.live(); err != nil {
		return err
	}
	tag, err := x.s.pool.Exec(ctx, `DELETE FROM agent_presence WHERE agent = $1 AND session = $2 AND region = $3`,
		id(agent), id(session), id(region))
	if err != nil {
		return x.s.fail("clear presence", err)
	}
	return affected(tag, "presence of "+agent.String()+" in region "+region.String())
}

// Get implements store.Presence.
func (x presence) Get(ctx context.Context, agent ritual.UUID) (store.AgentPresence, error) {
	if err := x.s.live(); err != nil {
		return store.AgentPresence{}, err
	}
	p, err := scanPresence(x.s.pool.QueryRow(ctx, `SELECT `+presenceCols+` FROM agent_presence WHERE agent = $1`, id(agent)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.AgentPresence{}, fmt.Errorf("postgres: presence of %s: %w", agent, store.ErrNotFound)
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
	return queryAll(ctx, x.s, x.s.pool, "list presence", scanPresence, `SELECT `+presenceCols+` FROM agent_presence ORDER BY agent`)
}

// ClearRegion implements store.Presence.
func (x presence) ClearRegion(ctx context.Context, region ritual.UUID) (int, error) {
	if err := x.s.live(); err != nil {
		return 0, err
	}
	tag, err := x.s.pool.Exec(ctx, `DELETE FROM agent_presence WHERE region = $1`, id(region))
	if err != nil {
		return 0, x.s.fail("clear presence in region", err)
	}
	return int(tag.RowsAffected()), nil
}

// Secret implements store.GridStore.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	fresh := make([]byte, store.SecretSize)
	rand.Read(fresh)
	if _, err := s.pool.Exec(ctx, `INSERT INTO grid_secret (id, secret, created) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING`,
		fresh, time.Now()); err != nil {
		return nil, s.fail("grid secret", err)
	}
	var secret []byte
	if err := s.pool.QueryRow(ctx, `SELECT secret FROM grid_secret WHERE id = 1`).Scan(&secret); err != nil {
		return nil, s.fail("grid secret", err)
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
		return fmt.Errorf("postgres: set home: %w: missing or non-finite", store.ErrInvalid)
	}
	if err := x.s.live(); err != nil {
		return err
	}
	now := store.Timestamp(time.Now())
	_, err := x.s.pool.Exec(ctx, `INSERT INTO agent_homes (agent, region, pos_x, pos_y, pos_z, look_x, look_y, look_z, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (agent) DO UPDATE SET region = excluded.region, pos_x = excluded.pos_x, pos_y = excluded.pos_y,
		pos_z = excluded.pos_z, look_x = excluded.look_x, look_y = excluded.look_y, look_z = excluded.look_z, updated = excluded.updated`,
		id(h.Agent), id(h.Region), h.Position.X, h.Position.Y, h.Position.Z, h.LookAt.X, h.LookAt.Y, h.LookAt.Z, now)
	if err != nil {
		return x.s.fail("set home of "+h.Agent.String(), err)
	}
	h.Updated = now
	return nil
}

// Get implements store.Homes.
func (x homes) Get(ctx context.Context, agent ritual.UUID) (store.Home, error) {
	if err := x.s.live(); err != nil {
		return store.Home{}, err
	}
	h := store.Home{Agent: agent}
	err := x.s.pool.QueryRow(ctx, `SELECT region, pos_x, pos_y, pos_z, look_x, look_y, look_z, updated FROM agent_homes WHERE agent = $1`, id(agent)).
		Scan(uuidCol{&h.Region}, &h.Position.X, &h.Position.Y, &h.Position.Z, &h.LookAt.X, &h.LookAt.Y, &h.LookAt.Z, &h.Updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Home{}, fmt.Errorf("postgres: home of %s: %w", agent, store.ErrNotFound)
	}
	if err != nil {
		return store.Home{}, x.s.fail("get home", err)
	}
	h.Updated = utc(h.Updated)
	return h, nil
}
