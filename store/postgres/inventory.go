package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"

	"ritual"
	"ritual/store"
)

type inventory struct{ s *Store }

const folderCols = `id, owner, parent, name, type, version`

func scanFolder(row pgx.Row) (store.Folder, error) {
	var f store.Folder
	var typ int16
	if err := row.Scan(uuidCol{&f.ID}, uuidCol{&f.Owner}, uuidCol{&f.Parent}, &f.Name, &typ, &f.Version); err != nil {
		return store.Folder{}, err
	}
	if typ < -128 || typ > 127 {
		return store.Folder{}, fmt.Errorf("%w: folder %s has type %d", ErrCorrupt, f.ID, typ)
	}
	f.Type = store.FolderType(typ)
	return f, nil
}

// Skeleton implements store.InventoryFolders.
func (x *inventory) Skeleton(ctx context.Context, owner ritual.UUID) ([]store.Folder, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	// One statement, one round trip: an account always has its root
	// folder (made in the transaction that made the account, gone with
	// it), so folders found mean the account exists. Only an empty answer
	// needs the account looked up.
	fs, err := queryAll(ctx, x.s, x.s.pool, "inventory skeleton", scanFolder, `SELECT `+folderCols+` FROM inventory_folders WHERE owner = $1
		ORDER BY parent IS NOT NULL, name, id`, id(owner))
	if err != nil || len(fs) > 0 {
		return fs, err
	}
	var one int
	switch err := x.s.pool.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1`, id(owner)).Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("postgres: inventory of %s: account %w", owner, store.ErrNotFound)
	case err != nil:
		return nil, x.s.fail("inventory skeleton", err)
	}
	return nil, nil
}

// Root implements store.InventoryFolders.
func (x *inventory) Root(ctx context.Context, owner ritual.UUID) (store.Folder, error) {
	if err := x.s.live(); err != nil {
		return store.Folder{}, err
	}
	f, err := scanFolder(x.s.pool.QueryRow(ctx, `SELECT `+folderCols+` FROM inventory_folders WHERE owner = $1 AND parent IS NULL`, id(owner)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Folder{}, fmt.Errorf("postgres: root folder of %s: %w", owner, store.ErrNotFound)
	}
	if err != nil {
		return store.Folder{}, x.s.fail("root folder", err)
	}
	return f, nil
}

// Get implements store.InventoryFolders.
func (x *inventory) Get(ctx context.Context, fid ritual.UUID) (store.Folder, error) {
	if err := x.s.live(); err != nil {
		return store.Folder{}, err
	}
	f, err := scanFolder(x.s.pool.QueryRow(ctx, `SELECT `+folderCols+` FROM inventory_folders WHERE id = $1`, id(fid)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Folder{}, fmt.Errorf("postgres: folder %s: %w", fid, store.ErrNotFound)
	}
	if err != nil {
		return store.Folder{}, x.s.fail("get folder", err)
	}
	return f, nil
}

// Create implements store.InventoryFolders.
func (x *inventory) Create(ctx context.Context, f *store.Folder) error {
	if f == nil {
		return fmt.Errorf("postgres: create folder: %w: nil folder", store.ErrInvalid)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("postgres: create folder: %w", err)
	}
	if f.Parent.IsZero() {
		return fmt.Errorf("postgres: create folder %q: %w: no parent (an account has one root)", f.Name, store.ErrInvalid)
	}
	nf := *f
	if nf.ID.IsZero() {
		nf.ID = ritual.NewUUID()
	}
	nf.Version = 1
	err := x.s.inTx(ctx, "create folder", func(tx pgx.Tx) error {
		var owner ritual.UUID
		switch err := tx.QueryRow(ctx, `SELECT owner FROM inventory_folders WHERE id = $1`, id(nf.Parent)).Scan(uuidCol{&owner}); {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("postgres: create folder %q: parent %s: %w", nf.Name, nf.Parent, store.ErrNotFound)
		case err != nil:
			return x.s.fail("create folder", err)
		}
		if owner != nf.Owner {
			return fmt.Errorf("postgres: create folder %q: parent %s of %s: %w among the folders of %s", nf.Name, nf.Parent, owner, store.ErrNotFound, nf.Owner)
		}
		var one int
		switch err := tx.QueryRow(ctx, `SELECT 1 FROM inventory_folders WHERE id = $1`, id(nf.ID)).Scan(&one); {
		case err == nil:
			return fmt.Errorf("postgres: create folder %q: %w: id %s", nf.Name, store.ErrExists, nf.ID)
		case !errors.Is(err, pgx.ErrNoRows):
			return x.s.fail("create folder", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO inventory_folders (`+folderCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			id(nf.ID), id(nf.Owner), id(nf.Parent), nf.Name, int16(nf.Type), nf.Version); err != nil {
			return x.s.fail("create folder", err)
		}
		return bump(ctx, x.s, tx, nf.Parent, nil)
	})
	if err == nil {
		*f = nf
	}
	return err
}

// Delete implements store.InventoryFolders.
func (x *inventory) Delete(ctx context.Context, fid ritual.UUID) error {
	return x.s.inTx(ctx, "delete folder", func(tx pgx.Tx) error {
		f, err := scanFolder(tx.QueryRow(ctx, `SELECT `+folderCols+` FROM inventory_folders WHERE id = $1`, id(fid)))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres: delete folder %s: %w", fid, store.ErrNotFound)
		}
		if err != nil {
			return x.s.fail("delete folder", err)
		}
		if f.Parent.IsZero() {
			return fmt.Errorf("postgres: delete folder %s: %w: it is the root of %s's inventory", fid, store.ErrInvalid, f.Owner)
		}
		// Children go with it: ON DELETE CASCADE on parent.
		if _, err := tx.Exec(ctx, `DELETE FROM inventory_folders WHERE id = $1`, id(fid)); err != nil {
			return x.s.fail("delete folder", err)
		}
		return bump(ctx, x.s, tx, f.Parent, nil)
	})
}

// BumpVersion implements store.InventoryFolders.
func (x *inventory) BumpVersion(ctx context.Context, fid ritual.UUID) (int32, error) {
	var v int32
	err := x.s.inTx(ctx, "bump folder version", func(tx pgx.Tx) error {
		return bump(ctx, x.s, tx, fid, &v)
	})
	return v, err
}

// bump increments a folder's version inside tx, storing the new value in
// v if v is not nil. The version wraps from the largest int32 to 1.
func bump(ctx context.Context, s *Store, tx pgx.Tx, fid ritual.UUID, v *int32) error {
	var nv int32
	err := tx.QueryRow(ctx, `UPDATE inventory_folders
		SET version = CASE WHEN version >= 2147483647 THEN 1 ELSE version + 1 END
		WHERE id = $1 RETURNING version`, id(fid)).Scan(&nv)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: folder %s: %w", fid, store.ErrNotFound)
	}
	if err != nil {
		return s.fail("bump folder version", err)
	}
	if v != nil {
		*v = nv
	}
	return nil
}
