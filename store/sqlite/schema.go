package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	schema "ritual/store/migrate"
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
	// 2: region hosts, pending circuits, agent locations.
	`
CREATE TABLE region_hosts (
	region    BLOB    NOT NULL PRIMARY KEY REFERENCES regions (id) ON DELETE CASCADE,
	instance  BLOB    NOT NULL CHECK (length(instance) = 16),
	sim_ip    TEXT    NOT NULL,
	sim_port  INTEGER NOT NULL,
	http_base TEXT    NOT NULL,
	started   INTEGER NOT NULL,
	heartbeat INTEGER NOT NULL
);

CREATE TABLE pending_circuits (
	region         BLOB    NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	code           INTEGER NOT NULL,
	agent          BLOB    NOT NULL CHECK (length(agent) = 16),
	session        BLOB    NOT NULL CHECK (length(session) = 16),
	secure_session BLOB    NOT NULL CHECK (length(secure_session) = 16),
	first          TEXT    NOT NULL,
	last           TEXT    NOT NULL,
	start          TEXT    NOT NULL,
	client_addr    TEXT    NOT NULL,
	expiry         INTEGER NOT NULL,
	created        INTEGER NOT NULL,
	answer         TEXT,
	PRIMARY KEY (region, code)
);

CREATE TABLE agent_locations (
	agent   BLOB    NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	region  BLOB    NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	pos_x   REAL    NOT NULL,
	pos_y   REAL    NOT NULL,
	pos_z   REAL    NOT NULL,
	updated INTEGER NOT NULL
);
`,
	// 3: instant messages kept for offline accounts.
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
	// 4: the grid's secret, agent presence.
	`
CREATE TABLE grid_secret (
	id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	secret  BLOB    NOT NULL CHECK (length(secret) = 32),
	created INTEGER NOT NULL
);

CREATE TABLE agent_presence (
	agent   BLOB    NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	session BLOB    NOT NULL CHECK (length(session) = 16),
	region  BLOB    NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	updated INTEGER NOT NULL
);
CREATE INDEX agent_presence_region ON agent_presence (region);
`,
	// 5: agent homes.
	`
CREATE TABLE agent_homes (
	agent   BLOB    NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	region  BLOB    NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
	pos_x   REAL    NOT NULL,
	pos_y   REAL    NOT NULL,
	pos_z   REAL    NOT NULL,
	look_x  REAL    NOT NULL,
	look_y  REAL    NOT NULL,
	look_z  REAL    NOT NULL,
	updated INTEGER NOT NULL
);
`,
}

// LatestSchema returns the schema version this package writes.
func LatestSchema() int { return len(migrations) }

// migrate brings the database at path up to LatestSchema (store/migrate),
// one transaction per step, refusing a database that is ahead of this
// program. Each BEGIN IMMEDIATE takes the write lock before the version is
// read, so two processes opening the same new file cannot both apply a
// step.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	begin := func(ctx context.Context) (schema.Tx, error) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return migrationTx{tx}, nil
	}
	_, _, err := schema.Run(ctx, path, begin, migrations)
	if errors.Is(err, schema.ErrNewerSchema) {
		return fmt.Errorf("sqlite: %w: %w", ErrNewerSchema, err)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// migrationTx is a store/migrate Tx on a database/sql transaction.
type migrationTx struct{ tx *sql.Tx }

// Version reads schema_version, creating it if needed. A database made
// before schema_version existed records its version only in PRAGMA
// user_version: those versions are recorded in the table, once.
func (t migrationTx) Version(ctx context.Context) (int, error) {
	if _, err := t.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+schema.Table+` (
		version INTEGER NOT NULL PRIMARY KEY,
		name    TEXT    NOT NULL,
		applied INTEGER NOT NULL)`); err != nil {
		return 0, err
	}
	var v int
	if err := t.tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+schema.Table).Scan(&v); err != nil {
		return 0, err
	}
	var uv int
	if err := t.tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil {
		return 0, err
	}
	if v != 0 || uv == 0 {
		// A newer program keeps both; either one ahead is refused.
		return max(v, uv), nil
	}
	if uv < 0 || uv > len(schema.Names) {
		return uv, nil // Run refuses it
	}
	now := micros(time.Now())
	for n := 1; n <= uv; n++ {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO `+schema.Table+` (version, name, applied) VALUES (?, ?, ?)`, n, schema.Names[n-1], now); err != nil {
			return 0, err
		}
	}
	return uv, nil
}

func (t migrationTx) Exec(ctx context.Context, q string) error {
	_, err := t.tx.ExecContext(ctx, q)
	return err
}

// Record notes the version in schema_version and in PRAGMA user_version,
// which programs from before schema_version read: they refuse a database
// newer than they know.
func (t migrationTx) Record(ctx context.Context, version int, name string, applied time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO `+schema.Table+` (version, name, applied) VALUES (?, ?, ?)`, version, name, micros(applied)); err != nil {
		return err
	}
	// PRAGMA takes no parameters; version is our own integer.
	_, err := t.tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version))
	return err
}

func (t migrationTx) Commit(context.Context) error   { return t.tx.Commit() }
func (t migrationTx) Rollback(context.Context) error { return t.tx.Rollback() }
