package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"time"

	"ritual"
	"ritual/store"
)

type regions struct{ s *Store }

const regionCols = `id, name, grid_x, grid_y, size_x, size_y, created`

func scanRegion(row pgx.Row) (store.Region, error) {
	var r store.Region
	if err := row.Scan(uuidCol{&r.ID}, &r.Name, &r.GridX, &r.GridY, &r.SizeX, &r.SizeY, &r.Created); err != nil {
		return store.Region{}, err
	}
	r.Created = utc(r.Created)
	return r, nil
}

// fillSize makes a zero size 256 m.
func fillSize(r *store.Region) {
	if r.SizeX == 0 {
		r.SizeX = ritual.RegionSize
	}
	if r.SizeY == 0 {
		r.SizeY = ritual.RegionSize
	}
}

// fillRegion applies the defaults of store.Regions.Create to r.
func fillRegion(r *store.Region, now time.Time) {
	fillSize(r)
	if r.Created.IsZero() {
		r.Created = now
	} else {
		r.Created = store.Timestamp(r.Created)
	}
}

// checkFree fails with ErrExists when another region has r's name or
// overlaps its area.
func (x *regions) checkFree(ctx context.Context, tx pgx.Tx, r *store.Region) error {
	// Serialize region writers: the overlap check below must see every
	// region committed before this one is written.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(regionLock)); err != nil {
		return x.s.fail("region "+r.Name, err)
	}
	var other string
	switch err := tx.QueryRow(ctx, `SELECT name FROM regions WHERE name_fold = $1 AND id != $2`, fold(r.Name), id(r.ID)).Scan(&other); {
	case err == nil:
		return fmt.Errorf("postgres: region %q: %w: name taken by %q", r.Name, store.ErrExists, other)
	case !errors.Is(err, pgx.ErrNoRows):
		return x.s.fail("region "+r.Name, err)
	}
	w, h := r.SizeX/ritual.RegionSize, r.SizeY/ritual.RegionSize
	var gx, gy uint32
	err := tx.QueryRow(ctx, `SELECT name, grid_x, grid_y FROM regions
		WHERE id != $1 AND grid_x < $2 AND $3 < grid_x + size_x / 256 AND grid_y < $4 AND $5 < grid_y + size_y / 256
		ORDER BY grid_x, grid_y LIMIT 1`,
		id(r.ID), r.GridX+w, r.GridX, r.GridY+h, r.GridY).Scan(&other, &gx, &gy)
	switch {
	case err == nil:
		return fmt.Errorf("postgres: region %q at (%d, %d): %w: overlaps %q at (%d, %d)", r.Name, r.GridX, r.GridY, store.ErrExists, other, gx, gy)
	case !errors.Is(err, pgx.ErrNoRows):
		return x.s.fail("region "+r.Name, err)
	}
	return nil
}

// Create implements store.Regions.
func (x *regions) Create(ctx context.Context, r *store.Region) error {
	if r == nil {
		return fmt.Errorf("postgres: create region: %w: nil region", store.ErrInvalid)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("postgres: create region: %w", err)
	}
	nr := *r
	if nr.ID.IsZero() {
		nr.ID = ritual.NewUUID()
	}
	fillRegion(&nr, store.Timestamp(time.Now()))
	err := x.s.inTx(ctx, "create region", func(tx pgx.Tx) error {
		var one int
		switch err := tx.QueryRow(ctx, `SELECT 1 FROM regions WHERE id = $1`, id(nr.ID)).Scan(&one); {
		case err == nil:
			return fmt.Errorf("postgres: create region %q: %w: id %s", nr.Name, store.ErrExists, nr.ID)
		case !errors.Is(err, pgx.ErrNoRows):
			return x.s.fail("create region", err)
		}
		if err := x.checkFree(ctx, tx, &nr); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO regions (`+regionCols+`, name_fold) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id(nr.ID), nr.Name, nr.GridX, nr.GridY, nr.SizeX, nr.SizeY, nr.Created, fold(nr.Name))
		if err != nil {
			return x.s.fail("create region "+nr.Name, err)
		}
		return nil
	})
	if err == nil {
		*r = nr
	}
	return err
}

// Get implements store.Regions.
func (x *regions) Get(ctx context.Context, rid ritual.UUID) (store.Region, error) {
	if err := x.s.live(); err != nil {
		return store.Region{}, err
	}
	r, err := scanRegion(x.s.pool.QueryRow(ctx, `SELECT `+regionCols+` FROM regions WHERE id = $1`, id(rid)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Region{}, fmt.Errorf("postgres: region %s: %w", rid, store.ErrNotFound)
	}
	if err != nil {
		return store.Region{}, x.s.fail("get region", err)
	}
	return r, nil
}

// ByName implements store.Regions.
func (x *regions) ByName(ctx context.Context, name string) (store.Region, error) {
	if err := x.s.live(); err != nil {
		return store.Region{}, err
	}
	r, err := scanRegion(x.s.pool.QueryRow(ctx, `SELECT `+regionCols+` FROM regions WHERE name_fold = $1`, fold(name)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Region{}, fmt.Errorf("postgres: region %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Region{}, x.s.fail("get region by name", err)
	}
	return r, nil
}

// List implements store.Regions.
func (x *regions) List(ctx context.Context) ([]store.Region, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, x.s.pool, "list regions", scanRegion, `SELECT `+regionCols+` FROM regions ORDER BY name_fold, id`)
}

// Update implements store.Regions.
func (x *regions) Update(ctx context.Context, r store.Region) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("postgres: update region: %w", err)
	}
	fillSize(&r)
	return x.s.inTx(ctx, "update region", func(tx pgx.Tx) error {
		var one int
		switch err := tx.QueryRow(ctx, `SELECT 1 FROM regions WHERE id = $1`, id(r.ID)).Scan(&one); {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("postgres: update region %s: %w", r.ID, store.ErrNotFound)
		case err != nil:
			return x.s.fail("update region", err)
		}
		if err := x.checkFree(ctx, tx, &r); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE regions SET name = $1, grid_x = $2, grid_y = $3, size_x = $4, size_y = $5, name_fold = $7 WHERE id = $6`,
			r.Name, r.GridX, r.GridY, r.SizeX, r.SizeY, id(r.ID), fold(r.Name))
		if err != nil {
			return x.s.fail("update region "+r.Name, err)
		}
		return nil
	})
}

// Delete implements store.Regions.
func (x *regions) Delete(ctx context.Context, rid ritual.UUID) error {
	return x.s.inTx(ctx, "delete region", func(tx pgx.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM regions WHERE id = $1`, id(rid))
		if err != nil {
			return x.s.fail("delete region", err)
		}
		return affected(res, "region "+rid.String())
	})
}
