package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ritual"
	"ritual/store"
)

type regions struct{ s *Store }

const regionCols = `id, name, grid_x, grid_y, size_x, size_y, created`

func scanRegion(row rowScanner) (store.Region, error) {
	var r store.Region
	var created int64
	if err := row.Scan(uuidCol{&r.ID}, &r.Name, &r.GridX, &r.GridY, &r.SizeX, &r.SizeY, &created); err != nil {
		return store.Region{}, err
	}
	r.Created = fromMicros(created)
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
func (x *regions) checkFree(ctx context.Context, tx *sql.Tx, r *store.Region) error {
	var other string
	switch err := tx.QueryRowContext(ctx, `SELECT name FROM regions WHERE name = ? AND id != ?`, r.Name, id(r.ID)).Scan(&other); {
	case err == nil:
		return fmt.Errorf("sqlite: region %q: %w: name taken by %q", r.Name, store.ErrExists, other)
	case !errors.Is(err, sql.ErrNoRows):
		return x.s.fail("region "+r.Name, err)
	}
	w, h := r.SizeX/ritual.RegionSize, r.SizeY/ritual.RegionSize
	var gx, gy uint32
	err := tx.QueryRowContext(ctx, `SELECT name, grid_x, grid_y FROM regions
		WHERE id != ? AND grid_x < ? AND ? < grid_x + size_x / 256 AND grid_y < ? AND ? < grid_y + size_y / 256
		ORDER BY grid_x, grid_y LIMIT 1`,
		id(r.ID), r.GridX+w, r.GridX, r.GridY+h, r.GridY).Scan(&other, &gx, &gy)
	switch {
	case err == nil:
		return fmt.Errorf("sqlite: region %q at (%d, %d): %w: overlaps %q at (%d, %d)", r.Name, r.GridX, r.GridY, store.ErrExists, other, gx, gy)
	case !errors.Is(err, sql.ErrNoRows):
		return x.s.fail("region "+r.Name, err)
	}
	return nil
}

// Create implements store.Regions.
func (x *regions) Create(ctx context.Context, r *store.Region) error {
	if r == nil {
		return fmt.Errorf("sqlite: create region: %w: nil region", store.ErrInvalid)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("sqlite: create region: %w", err)
	}
	nr := *r
	if nr.ID.IsZero() {
		nr.ID = ritual.NewUUID()
	}
	fillRegion(&nr, store.Timestamp(time.Now()))
	err := x.s.inTx(ctx, "create region", func(tx *sql.Tx) error {
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM regions WHERE id = ?`, id(nr.ID)).Scan(&one); {
		case err == nil:
			return fmt.Errorf("sqlite: create region %q: %w: id %s", nr.Name, store.ErrExists, nr.ID)
		case !errors.Is(err, sql.ErrNoRows):
			return x.s.fail("create region", err)
		}
		if err := x.checkFree(ctx, tx, &nr); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO regions (`+regionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id(nr.ID), nr.Name, nr.GridX, nr.GridY, nr.SizeX, nr.SizeY, micros(nr.Created))
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
	r, err := scanRegion(x.s.r.QueryRowContext(ctx, `SELECT `+regionCols+` FROM regions WHERE id = ?`, id(rid)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Region{}, fmt.Errorf("sqlite: region %s: %w", rid, store.ErrNotFound)
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
	r, err := scanRegion(x.s.r.QueryRowContext(ctx, `SELECT `+regionCols+` FROM regions WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Region{}, fmt.Errorf("sqlite: region %q: %w", name, store.ErrNotFound)
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
	return queryAll(ctx, x.s, x.s.r, "list regions", scanRegion, `SELECT `+regionCols+` FROM regions ORDER BY name, id`)
}

// Update implements store.Regions.
func (x *regions) Update(ctx context.Context, r store.Region) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("sqlite: update region: %w", err)
	}
	fillSize(&r)
	return x.s.inTx(ctx, "update region", func(tx *sql.Tx) error {
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM regions WHERE id = ?`, id(r.ID)).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: update region %s: %w", r.ID, store.ErrNotFound)
		case err != nil:
			return x.s.fail("update region", err)
		}
		if err := x.checkFree(ctx, tx, &r); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE regions SET name = ?, grid_x = ?, grid_y = ?, size_x = ?, size_y = ? WHERE id = ?`,
			r.Name, r.GridX, r.GridY, r.SizeX, r.SizeY, id(r.ID))
		if err != nil {
			return x.s.fail("update region "+r.Name, err)
		}
		return nil
	})
}

// Delete implements store.Regions.
func (x *regions) Delete(ctx context.Context, rid ritual.UUID) error {
	return x.s.inTx(ctx, "delete region", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM regions WHERE id = ?`, id(rid))
		if err != nil {
			return x.s.fail("delete region", err)
		}
		return affected(res, "region "+rid.String())
	})
}

// regionExists fails with ErrNotFound unless the region exists.
func regionExists(ctx context.Context, s *Store, tx *sql.Tx, rid ritual.UUID) error {
	var one int
	switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM regions WHERE id = ?`, id(rid)).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: region %s: %w", rid, store.ErrNotFound)
	case err != nil:
		return s.fail("region "+rid.String(), err)
	}
	return nil
}
