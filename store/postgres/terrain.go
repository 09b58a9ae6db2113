package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"math"

	"ritual"
	"ritual/store"
)

type terrain struct{ s *Store }

// Load implements store.Terrain.
func (x *terrain) Load(ctx context.Context, rid ritual.UUID) (store.Heightmap, error) {
	if err := x.s.live(); err != nil {
		return store.Heightmap{}, err
	}
	var w, h int
	var blob []byte
	err := x.s.pool.QueryRow(ctx, `SELECT width, height, heights FROM terrain WHERE region = $1`, id(rid)).Scan(&w, &h, &blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Heightmap{}, fmt.Errorf("postgres: terrain of region %s: %w", rid, store.ErrNotFound)
	}
	if err != nil {
		return store.Heightmap{}, x.s.fail("load terrain", err)
	}
	hm, err := decodeHeights(w, h, blob)
	if err != nil {
		return store.Heightmap{}, fmt.Errorf("postgres: terrain of region %s: %w", rid, err)
	}
	return hm, nil
}

// decodeHeights reads a stored heightmap, checking its size first.
func decodeHeights(w, h int, blob []byte) (store.Heightmap, error) {
	if w < 1 || h < 1 || w > store.MaxTerrainSide || h > store.MaxTerrainSide {
		return store.Heightmap{}, fmt.Errorf("%w: heightmap %d×%d", ErrCorrupt, w, h)
	}
	if len(blob) != 4*w*h {
		return store.Heightmap{}, fmt.Errorf("%w: heightmap %d×%d stored in %d bytes, want %d", ErrCorrupt, w, h, len(blob), 4*w*h)
	}
	hm := store.Heightmap{W: w, H: h, Heights: make([]float32, w*h)}
	for i := range hm.Heights {
		hm.Heights[i] = math.Float32frombits(binary.LittleEndian.Uint32(blob[4*i:]))
	}
	return hm, nil
}

// Save implements store.Terrain.
func (x *terrain) Save(ctx context.Context, rid ritual.UUID, hm store.Heightmap) error {
	if err := hm.Validate(); err != nil {
		return fmt.Errorf("postgres: save terrain of region %s: %w", rid, err)
	}
	blob := make([]byte, 0, 4*len(hm.Heights))
	for _, v := range hm.Heights {
		blob = binary.LittleEndian.AppendUint32(blob, math.Float32bits(v))
	}
	return x.s.inTx(ctx, "save terrain", func(tx pgx.Tx) error {
		if err := regionExists(ctx, x.s, tx, rid); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO terrain (region, width, height, heights) VALUES ($1, $2, $3, $4)
			ON CONFLICT (region) DO UPDATE SET width = excluded.width, height = excluded.height, heights = excluded.heights`,
			id(rid), hm.W, hm.H, blob)
		if err != nil {
			return x.s.fail("save terrain", err)
		}
		return nil
	})
}
