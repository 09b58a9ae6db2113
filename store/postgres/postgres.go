package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"ritual"
	"ritual/store"
	"ritual/store/migrate"
)

// Errors of this backend, besides the store domain errors.
var (
	// ErrCorrupt reports a stored record that cannot be read back (a
	// heightmap of the wrong size, a value out of its Go type's range).
	ErrCorrupt = errors.New("postgres: corrupt record")
	// ErrNewerSchema reports a database whose schema version is newer than
	// this program understands.
	ErrNewerSchema = migrate.ErrNewerSchema
)

// migrationLock is the advisory lock key migrations hold ("ritual" in
// ASCII), so that processes opening a new database at once apply each step
// once.
const migrationLock = 0x72697475616c

// regionLock is the advisory lock key region writes hold, so that two
// concurrent writers cannot both find an area free.
const regionLock = 0x72697475616c + 1

// Store is a store.Store backed by a PostgreSQL database. Its methods are
// safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	what string // the database, for errors: host and name, no password

	closed    atomic.Bool
	closeOnce sync.Once
	// done ends with Close: listeners stop.
	done context.Context
	stop context.CancelFunc

	accounts  accounts
	inventory inventory
	regions   regions
	terrain   terrain
	objects   objects
	messages  messages
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn and migrates its schema to
// the latest version. dsn is a PostgreSQL connection string, URL
// (postgres://user:password@host:port/database?sslmode=...) or key=value
// form.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The error may quote the DSN, password included.
		return nil, errors.New("postgres: cannot parse the connection string")
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	s := &Store{what: Describe(cfg.ConnConfig)}
	s.done, s.stop = context.WithCancel(context.Background())
	s.accounts.s, s.inventory.s, s.regions.s, s.terrain.s, s.objects.s, s.messages.s = s, s, s, s, s, s
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("postgres: connect to %s: %w", s.what, err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", s.what, err)
	}
	if _, _, err := migrate.Run(ctx, s.what, s.beginMigration, migrations); err != nil {
		s.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}

// Describe names a database for messages: user, host, port and database,
// never the password.
func Describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Pool returns the connection pool, for the parts of a grid that talk to
// the database beyond package store's interfaces (region hosts, pending
// circuits, LISTEN/NOTIFY).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// String names the database (without the password).
func (s *Store) String() string { return s.what }

// SchemaVersion returns the highest version recorded in schema_version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+migrate.Table).Scan(&v); err != nil {
		return 0, s.fail("schema version", err)
	}
	return v, nil
}

// migrationTx is a migrate.Tx on a pgx transaction.
type migrationTx struct{ pgx.Tx }

func (s *Store) beginMigration(ctx context.Context) (migrate.Tx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		tx.Rollback(ctx)
		return nil, err
	}
	return migrationTx{tx}, nil
}

func (t migrationTx) Version(ctx context.Context) (int, error) {
	if _, err := t.Tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+migrate.Table+` (
		version integer     NOT NULL PRIMARY KEY,
		name    text        NOT NULL,
		applied timestamptz NOT NULL)`); err != nil {
		return 0, err
	}
	var v int
	err := t.Tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+migrate.Table).Scan(&v)
	return v, err
}

func (t migrationTx) Exec(ctx context.Context, sql string) error {
	_, err := t.Tx.Exec(ctx, sql)
	return err
}

func (t migrationTx) Record(ctx context.Context, version int, name string, applied time.Time) error {
	_, err := t.Tx.Exec(ctx, `INSERT INTO `+migrate.Table+` (version, name, applied) VALUES ($1, $2, $3)`, version, name, applied)
	return err
}

// Accounts implements store.Store.
func (s *Store) Accounts() store.Accounts { return &s.accounts }

// Inventory implements store.Store.
func (s *Store) Inventory() store.InventoryFolders { return &s.inventory }

// Regions implements store.Store.
func (s *Store) Regions() store.Regions { return &s.regions }

// Terrain implements store.Store.
func (s *Store) Terrain() store.Terrain { return &s.terrain }

// Objects implements store.Store.
func (s *Store) Objects() store.Objects { return &s.objects }

// Close closes the connections. Calls after the first return nil; other
// methods then return store.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		s.pool.Close()
	})
	return nil
}

// live returns ErrClosed after Close.
func (s *Store) live() error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %w", store.ErrClosed)
	}
	return nil
}

// fail wraps a driver error with the operation, mapping constraint
// violations to the store domain errors.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrClosed)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s: %w (%v)", op, store.ErrExists, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s: %w (%v)", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// inTx runs f in a transaction, committing if f returns nil. Errors from f
// are returned as they are.
func (s *Store) inTx(ctx context.Context, op string, f func(tx pgx.Tx) error) error {
	if err := s.live(); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.fail(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// queryAll runs query on q and scans every row with scan.
func queryAll[T any](ctx context.Context, s *Store, q querier, op string, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.fail(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// id is a UUID as pgx encodes it.
func id(u ritual.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: true} }

// nullID maps the zero UUID to NULL.
func nullID(u ritual.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: !u.IsZero()} }

// uuidCol scans a uuid column, NULL as the zero UUID.
type uuidCol struct{ u *ritual.UUID }

func (c uuidCol) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		*c.u = ritual.UUID{}
		return nil
	}
	*c.u = v.Bytes
	return nil
}

// fold is the ASCII case fold that carries uniqueness and order of names.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// utc converts a scanned timestamptz to UTC.
func utc(t time.Time) time.Time { return t.UTC() }

// affected turns "no row changed" into ErrNotFound.
func affected(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

// regionExists fails with ErrNotFound unless the region exists.
func regionExists(ctx context.Context, s *Store, q querier, rid ritual.UUID) error {
	var one int
	switch err := q.QueryRow(ctx, `SELECT 1 FROM regions WHERE id = $1`, id(rid)).Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: region %s: %w", rid, store.ErrNotFound)
	case err != nil:
		return s.fail("region "+rid.String(), err)
	}
	return nil
}
