package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from version i to version i+1. Append only:
// a released step is never edited.
var migrations = []string{
	// 1: accounts, inventory folders, regions, terrain, objects.
	`
CREATE TABLE accounts (
	id       BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
	first    TEXT    NOT NULL COLLATE NOCASE,
	last     TEXT    NOT NULL COLLATE NOCASE,
	password TEXT    NOT NULL,
	created  INTEGER NOT NULL,
	UNIQUE (first, last)
);

CREATE TABLE inventory_folders (
	id      BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
	owner   BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	parent  BLOB    REFERENCES inventory_folders (id) ON DELETE CASCADE,
	name    TEXT    NOT NULL,
	type    INTEGER NOT NULL,
	version INTEGER NOT NULL
);
CREATE INDEX inventory_folders_owner ON inventory_folders (owner);
CREATE INDEX inventory_folders_parent ON inventory_folders (parent);
CREATE UNIQUE INDEX inventory_folders_root ON inventory_folders (owner) WHERE parent IS NULL;

CREATE TABLE regions (
	id      BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
	name    TEXT    NOT NULL UNIQUE COLLATE NOCASE,
	grid_x  INTEGER NOT NULL,
	grid_y  INTEGER NOT NULL,
	size_x  INTEGER NOT NULL,
	size_y  INTEGER NOT NULL,
	created INTEGER NOT NULL
);

CREATE TABLE terrain (
	region  BLOB    NOT NULL PRIMARY KEY REFERENCES regions (id) ON DELETE CASCADE,
	width   INTEGER NOT NULL,
	height  INTEGER NOT NULL,
	heights BLOB    NOT NULL
);

CREATE TABLE objects (
	id                 BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 16),
	region             BLOB    NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	local_id           INTEGER NOT NULL,
	parent             BLOB,
	pcode              INTEGER NOT NULL,
	material           INTEGER NOT NULL,
	click_action       INTEGER NOT NULL,
	state              INTEGER NOT NULL,
	scale_x            REAL    NOT NULL,
	scale_y            REAL    NOT NULL,
	scale_z            REAL    NOT NULL,
	pos_x              REAL    NOT NULL,
	pos_y              REAL    NOT NULL,
	pos_z              REAL    NOT NULL,
	rot_x              REAL    NOT NULL,
	rot_y              REAL    NOT NULL,
	rot_z              REAL    NOT NULL,
	rot_w              REAL    NOT NULL,
	path_curve         INTEGER NOT NULL,
	profile_curve      INTEGER NOT NULL,
	path_begin         INTEGER NOT NULL,
	path_end           INTEGER NOT NULL,
	path_scale_x       INTEGER NOT NULL,
	path_scale_y       INTEGER NOT NULL,
	path_shear_x       INTEGER NOT NULL,
	path_shear_y       INTEGER NOT NULL,
	path_twist         INTEGER NOT NULL,
	path_twist_begin   INTEGER NOT NULL,
	path_radius_offset INTEGER NOT NULL,
	path_taper_x       INTEGER NOT NULL,
	path_taper_y       INTEGER NOT NULL,
	path_revolutions   INTEGER NOT NULL,
	path_skew          INTEGER NOT NULL,
	profile_begin      INTEGER NOT NULL,
	profile_end        INTEGER NOT NULL,
	profile_hollow     INTEGER NOT NULL,
	texture_entry      BLOB    NOT NULL,
	extra_params       BLOB    NOT NULL,
	name               TEXT    NOT NULL,
	description        TEXT    NOT NULL,
	text               TEXT    NOT NULL,
	text_color         BLOB    NOT NULL,
	owner              BLOB    NOT NULL,
	creator            BLOB    NOT NULL,
	flags              INTEGER NOT NULL,
	UNIQUE (region, local_id)
);
`,
	// 2: instant messages kept for offline accounts.
	`
CREATE TABLE offline_messages (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	id        BLOB    NOT NULL CHECK (length(id) = 16),
	recipient BLOB    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	sender    BLOB    NOT NULL,
	from_name TEXT    NOT NULL,
	dialog    INTEGER NOT NULL,
	text      TEXT    NOT NULL,
	bucket    BLOB    NOT NULL,
	region    BLOB    NOT NULL,
	pos_x     REAL    NOT NULL,
	pos_y     REAL    NOT NULL,
	pos_z     REAL    NOT NULL,
	sent      INTEGER NOT NULL
);
CREATE INDEX offline_messages_recipient ON offline_messages (recipient, seq);
`,
}

// LatestSchema returns the schema version this package writes.
func LatestSchema() int { return len(migrations) }

// migrate brings the database at path up to LatestSchema, one transaction
// per step, refusing a database that is ahead of this program.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	for {
		done, err := migrateStep(ctx, db, path)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next migration, if any, in one transaction. The
// version is read inside the transaction, so two processes opening the same
// new file cannot both apply a step.
func migrateStep(ctx context.Context, db *sql.DB, path string) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	switch {
	case v > len(migrations):
		return false, fmt.Errorf("%w: %s has version %d, this program knows up to %d", ErrNewerSchema, path, v, len(migrations))
	case v < 0:
		return false, fmt.Errorf("%w: %s has schema version %d", ErrCorrupt, path, v)
	case v == len(migrations):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("sqlite: migrate %s to version %d: %w", path, v+1, err)
	}
	// PRAGMA takes no parameters; v+1 is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, fmt.Errorf("sqlite: migrate %s to version %d: %w", path, v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migrate %s to version %d: %w", path, v+1, err)
	}
	return false, nil
}
