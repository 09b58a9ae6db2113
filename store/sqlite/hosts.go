package sqlite

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"database/sql"

	"ritual"
	"ritual/store"
)

var _ store.GridStore = (*Store)(nil)

type hosts struct{ s *Store }

type circuits struct{ s *Store }

// Hosts implements store.GridStore.
func (s *Store) Hosts() store.Hosts { return hosts{s} }

// Circuits implements store.GridStore.
func (s *Store) Circuits() store.Circuits { return circuits{s} }

const hostCols = `region, instance, sim_ip, sim_port, http_base, started, heartbeat`

func scanHost(row rowScanner) (store.RegionHost, error) {
	var h store.RegionHost
	var ip string
	var port int32
	var started, heartbeat int64
	if err := row.Scan(uuidCol{&h.Region}, uuidCol{&h.Instance}, &ip, &port, &h.HTTPBase, &started, &heartbeat); err != nil {
		return store.RegionHost{}, err
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || port <= 0 || port > 65535 {
		return store.RegionHost{}, fmt.Errorf("%w: region host %s at %q port %d", ErrCorrupt, h.Region, ip, port)
	}
	h.SimIP, h.SimPort = a, uint16(port)
	h.Started, h.Heartbeat = fromMicros(started), fromMicros(heartbeat)
	return h, nil
}

// Register implements store.Hosts.
func (x hosts) Register(ctx context.Context, h *store.RegionHost) error {
	if h == nil {
		return fmt.Errorf("sqlite: register region host: %w: nil", store.ErrInvalid)
	}
	if err := h.Validate(); err != nil {
		return fmt.Errorf("sqlite: register region host: %w", err)
	}
	now := store.Timestamp(time.Now())
	err := x.s.inTx(ctx, "register region host", func(tx *sql.Tx) error {
		if err := regionExists(ctx, x.s, tx, h.Region); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO region_hosts (`+hostCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (region) DO UPDATE SET instance = excluded.instance, sim_ip = excluded.sim_ip,
			sim_port = excluded.sim_port, http_base = excluded.http_base, started = excluded.started, heartbeat = excluded.heartbeat`,
			id(h.Region), id(h.Instance), h.SimIP.String(), int32(h.SimPort), h.HTTPBase, micros(now), micros(now))
		if err != nil {
			return x.s.fail("register region host", err)
		}
		return nil
	})
	if err == nil {
		h.Started, h.Heartbeat = now, now
	}
	return err
}

// Heartbeat implements store.Hosts.
func (x hosts) Heartbeat(ctx context.Context, region, instance ritual.UUID) error {
	if err := x.s.live(); err != nil {
		return err
	}
	res, err := x.s.w.ExecContext(ctx, `UPDATE region_hosts SET heartbeat = ? WHERE region = ? AND instance = ?`,
		micros(time.Now()), id(region), id(instance))
	if err != nil {
		return x.s.fail("heartbeat", err)
	}
	return affected(res, "host of region "+region.String())
}

// Unregister implements store.Hosts.
func (x hosts) Unregister(ctx context.Context, region, instance ritual.UUID) error {
	if err := x.s.live(); err != nil {
		return err
	}
	res, err := x.s.w.ExecContext(ctx, `DELETE FROM region_hosts WHERE region = ? AND instance = ?`, id(region), id(instance))
	if err != nil {
		return x.s.fail("unregister region host", err)
	}
	return affected(res, "host of region "+region.String())
}

// Get implements store.Hosts.
func (x hosts) Get(ctx context.Context, region ritual.UUID) (store.RegionHost, error) {
	if err := x.s.live(); err != nil {
		return store.RegionHost{}, err
	}
	h, err := scanHost(x.s.r.QueryRowContext(ctx, `SELECT `+hostCols+` FROM region_hosts WHERE region = ?`, id(region)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.RegionHost{}, fmt.Errorf("sqlite: host of region %s: %w", region, store.ErrNotFound)
	}
	if err != nil {
		return store.RegionHost{}, x.s.fail("get region host", err)
	}
	return h, nil
}

// List implements store.Hosts.
func (x hosts) List(ctx context.Context) ([]store.RegionHost, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, x.s.r, "list region hosts", scanHost, `SELECT `+hostCols+` FROM region_hosts ORDER BY region`)
}

// Sweep implements store.Hosts.
func (x hosts) Sweep(ctx context.Context, before time.Time) ([]ritual.UUID, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, x.s.w, "sweep region hosts", func(row rowScanner) (ritual.UUID, error) {
		var u ritual.UUID
		err := row.Scan(uuidCol{&u})
		return u, err
	}, `DELETE FROM region_hosts WHERE heartbeat < ? RETURNING region`, micros(before))
}

const circuitCols = `region, code, agent, session, secure_session, first, last, start, client_addr, expiry, created, coalesce(answer, '')`

func scanCircuit(row rowScanner) (store.PendingCircuit, error) {
	var c store.PendingCircuit
	var code, expiry, created int64
	if err := row.Scan(uuidCol{&c.Region}, &code, uuidCol{&c.Agent}, uuidCol{&c.Session}, uuidCol{&c.SecureSession},
		&c.First, &c.Last, &c.Start, &c.ClientAddr, &expiry, &created, &c.Answer); err != nil {
		return store.PendingCircuit{}, err
	}
	if code <= 0 || code > 1<<32-1 {
		return store.PendingCircuit{}, fmt.Errorf("%w: circuit code %d", ErrCorrupt, code)
	}
	c.Code = uint32(code)
	c.Expiry, c.Created = fromMicros(expiry), fromMicros(created)
	return c, nil
}

// Offer implements store.Circuits.
func (x circuits) Offer(ctx context.Context, c *store.PendingCircuit) error {
	if c == nil {
		return fmt.Errorf("sqlite: offer circuit: %w: nil", store.ErrInvalid)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("sqlite: offer circuit: %w", err)
	}
	now := store.Timestamp(time.Now())
	err := x.s.inTx(ctx, "offer circuit", func(tx *sql.Tx) error {
		if err := regionExists(ctx, x.s, tx, c.Region); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pending_circuits (region, code, agent, session, secure_session, first, last, start, client_addr, expiry, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id(c.Region), int64(c.Code), id(c.Agent), id(c.Session), id(c.SecureSession), c.First, c.Last, c.Start, c.ClientAddr,
			micros(c.Expiry), micros(now))
		if err != nil {
			return x.s.fail(fmt.Sprintf("offer circuit %d", c.Code), err)
		}
		return nil
	})
	if err == nil {
		c.Created, c.Expiry = now, store.Timestamp(c.Expiry)
	}
	return err
}

// Unanswered implements store.Circuits.
func (x circuits) Unanswered(ctx context.Context, region ritual.UUID) ([]store.PendingCircuit, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, x.s.r, "unanswered circuits", scanCircuit,
		`SELECT `+circuitCols+` FROM pending_circuits WHERE region = ? AND answer IS NULL ORDER BY created, code`, id(region))
}

// Answer implements store.Circuits.
func (x circuits) Answer(ctx context.Context, region ritual.UUID, code uint32, answer string) error {
	if answer == "" || len(answer) > store.MaxAnswer {
		return fmt.Errorf("sqlite: answer circuit %d: %w: answer of %d bytes (1..%d)", code, store.ErrInvalid, len(answer), store.MaxAnswer)
	}
	return x.s.inTx(ctx, "answer circuit", func(tx *sql.Tx) error {
		var answered bool
		err := tx.QueryRowContext(ctx, `SELECT answer IS NOT NULL FROM pending_circuits WHERE region = ? AND code = ?`, id(region), int64(code)).Scan(&answered)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: circuit %d of region %s: %w", code, region, store.ErrNotFound)
		case err != nil:
			return x.s.fail("answer circuit", err)
		case answered:
			return fmt.Errorf("sqlite: circuit %d of region %s: %w: answered already", code, region, store.ErrExists)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pending_circuits SET answer = ? WHERE region = ? AND code = ?`, answer, id(region), int64(code)); err != nil {
			return x.s.fail("answer circuit", err)
		}
		return nil
	})
}

// Get implements store.Circuits.
func (x circuits) Get(ctx context.Context, region ritual.UUID, code uint32) (store.PendingCircuit, error) {
	if err := x.s.live(); err != nil {
		return store.PendingCircuit{}, err
	}
	c, err := scanCircuit(x.s.r.QueryRowContext(ctx, `SELECT `+circuitCols+` FROM pending_circuits WHERE region = ? AND code = ?`, id(region), int64(code)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.PendingCircuit{}, fmt.Errorf("sqlite: circuit %d of region %s: %w", code, region, store.ErrNotFound)
	}
	if err != nil {
		return store.PendingCircuit{}, x.s.fail("get circuit", err)
	}
	return c, nil
}

// Remove implements store.Circuits.
func (x circuits) Remove(ctx context.Context, region ritual.UUID, code uint32) error {
	if err := x.s.live(); err != nil {
		return err
	}
	res, err := x.s.w.ExecContext(ctx, `DELETE FROM pending_circuits WHERE region = ? AND code = ?`, id(region), int64(code))
	if err != nil {
		return x.s.fail("remove circuit", err)
	}
	return affected(res, fmt.Sprintf("circuit %d of region %s", code, region))
}

// Expire implements store.Circuits.
func (x circuits) Expire(ctx context.Context, before time.Time) (int, error) {
	if err := x.s.live(); err != nil {
		return 0, err
	}
	res, err := x.s.w.ExecContext(ctx, `DELETE FROM pending_circuits WHERE expiry < ?`, micros(before))
	if err != nil {
		return 0, x.s.fail("expire circuits", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, x.s.fail("expire circuits", err)
	}
	return int(n), nil
}

type locations struct{ s *Store }

// Locations implements store.GridStore.
func (s *Store) Locations() store.Locations { return locations{s} }

// Set implements store.Locations.
func (x locations) Set(ctx context.Context, l *store.AgentLocation) error {
	if l == nil || !store.FiniteVector(l.Position) {
		return fmt.Errorf("sqlite: set location: %w: missing or non-finite", store.ErrInvalid)
	}
	now := store.Timestamp(time.Now())
	err := x.s.inTx(ctx, "set location", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_locations (agent, region, pos_x, pos_y, pos_z, updated) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (agent) DO UPDATE SET region = excluded.region, pos_x = excluded.pos_x, pos_y = excluded.pos_y,
			pos_z = excluded.pos_z, updated = excluded.updated`,
			id(l.Agent), id(l.Region), l.Position.X, l.Position.Y, l.Position.Z, micros(now))
		if err != nil {
			return x.s.fail("set location of "+l.Agent.String(), err)
		}
		return nil
	})
	if err == nil {
		l.Updated = now
	}
	return err
}

// Get implements store.Locations.
func (x locations) Get(ctx context.Context, agent ritual.UUID) (store.AgentLocation, error) {
	if err := x.s.live(); err != nil {
		return store.AgentLocation{}, err
	}
	l := store.AgentLocation{Agent: agent}
	var updated int64
	err := x.s.r.QueryRowContext(ctx, `SELECT region, pos_x, pos_y, pos_z, updated FROM agent_locations WHERE agent = ?`, id(agent)).
		Scan(uuidCol{&l.Region}, f32{&l.Position.X}, f32{&l.Position.Y}, f32{&l.Position.Z}, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.AgentLocation{}, fmt.Errorf("sqlite: location of %s: %w", agent, store.ErrNotFound)
	}
	if err != nil {
		return store.AgentLocation{}, x.s.fail("get location", err)
	}
	l.Updated = fromMicros(updated)
	return l, nil
}
