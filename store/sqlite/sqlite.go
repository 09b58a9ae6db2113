package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"ritual"
	"ritual/store"
	schema "ritual/store/migrate"
)

// Errors of this backend, besides the store domain errors.
var (
	// ErrNewerSchema reports a database whose schema version is newer than
	// this program understands.
	ErrNewerSchema = errors.New("sqlite: database schema is newer than this program")
	// ErrCorrupt reports a stored record that cannot be read back (a UUID
	// of the wrong length, a heightmap of the wrong size).
	ErrCorrupt = errors.New("sqlite: corrupt record")
	// ErrBadPath reports a path Open cannot use.
	ErrBadPath = errors.New("sqlite: unusable database path")
)

// FileName is the database file Open uses inside a directory.
const FileName = "ritual.db"

// busyTimeout is how long a connection waits for another process's lock.
const busyTimeout = 10 * time.Second

// Store is a store.Store backed by one SQLite database file. Its methods
// are safe for concurrent use.
type Store struct {
	path string

	// w is the only connection that writes (MaxOpenConns 1): every
	// transaction runs on it, so writers queue in database/sql instead of
	// contending for SQLite's lock. Never query w while holding a
	// transaction from it: that would wait for itself.
	w *sql.DB
	// r is a pool of read-only connections (query_only).
	r *sql.DB

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed by Close: listeners end

	listen listeners

	accounts  accounts
	inventory inventory
	regions   regions
	terrain   terrain
	objects   objects
	messages  messages
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and migrates its
// schema. A new database file gets mode 0600. path names either a directory — created with mode 0700 if it does
// not exist; the database is FileName inside it — or a database file: an
// existing regular file, or a new name ending in ".db" whose directory
// exists or is created.
func Open(path string) (*Store, error) {
	return OpenContext(context.Background(), path)
}

// OpenContext is Open with a context bounding the migration.
func OpenContext(ctx context.Context, path string) (*Store, error) {
	file, err := resolve(path)
	if err != nil {
		return nil, err
	}
	// Password records live here: a new database (and the -wal and -shm
	// files SQLite derives from it) is readable by its owner only.
	if f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", file, err)
	}
	s := &Store{path: file, done: make(chan struct{})}
	s.accounts.s, s.inventory.s, s.regions.s, s.terrain.s, s.objects.s, s.messages.s = s, s, s, s, s, s

	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	s.w, err = sql.Open("sqlite", file+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", file, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.w.SetConnMaxLifetime(0)

	if err := s.setUp(ctx); err != nil {
		s.w.Close()
		return nil, err
	}

	s.r, err = sql.Open("sqlite", file+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", file, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := s.r.PingContext(ctx); err != nil {
		s.w.Close()
		s.r.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", file, err)
	}
	return s, nil
}

// resolve maps Open's argument to the database file, creating directories.
func resolve(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: empty path", ErrBadPath)
	}
	if strings.ContainsAny(path, "?\x00") {
		return "", fmt.Errorf("%w: %q contains '?' or NUL", ErrBadPath, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPath, path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case err == nil && fi.IsDir():
		return filepath.Join(abs, FileName), nil
	case err == nil && fi.Mode().IsRegular():
		return abs, nil
	case err == nil:
		return "", fmt.Errorf("%w: %s is neither a directory nor a regular file", ErrBadPath, abs)
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("sqlite: %w", err)
	case strings.HasSuffix(abs, ".db"):
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return "", fmt.Errorf("sqlite: %w", err)
		}
		return abs, nil
	default:
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", fmt.Errorf("sqlite: %w", err)
		}
		return filepath.Join(abs, FileName), nil
	}
}

// setUp checks the connection settings and migrates the schema.
func (s *Store) setUp(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: open %s: journal mode is %q, not WAL (is the file system local?)", s.path, mode)
	}
	var fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		return fmt.Errorf("sqlite: open %s: foreign keys are not enforced (%d, %v)", s.path, fk, err)
	}
	return migrate(ctx, s.w, s.path)
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// SchemaVersion returns the database's schema version: the highest
// version recorded in schema_version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM `+schema.Table).Scan(&v); err != nil {
		return 0, s.fail("schema version", err)
	}
	return v, nil
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

// Messages implements store.Store.
func (s *Store) Messages() store.OfflineMessages { return &s.messages }

// Close closes the database. Calls after the first return nil; other
// methods then return store.ErrClosed.
func (s *Store) Close() error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.closed.Store(true)
		close(s.done)
		errR := s.r.Close()
		errW := s.w.Close()
		if err := errors.Join(errR, errW); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close %s: %w", s.path, err)
		}
	})
	if first {
		return s.closeErr
	}
	return nil
}

// live returns ErrClosed after Close.
// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query on q and scans every row with scan; op names the
// operation in errors.
func queryAll[T any](ctx context.Context, s *Store, q querier, op string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
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

func (s *Store) live() error {
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %w", store.ErrClosed)
	}
	return nil
}

// fail wraps a driver error with the operation, mapping constraint
// violations to the store domain errors.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrClosed)
	}
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w (%v)", op, store.ErrExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sqlite: %s: %w (%v)", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// inTx runs f in a write transaction (BEGIN IMMEDIATE), committing if f
// returns nil. Errors from f are returned as they are.
func (s *Store) inTx(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	if err := s.live(); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(op, err)
	}
	return nil
}

// id is a UUID as the driver takes it.
func id(u ritual.UUID) []byte { return u[:] }

// nullID maps the zero UUID to NULL.
func nullID(u ritual.UUID) any {
	if u.IsZero() {
		return nil
	}
	return u[:]
}

// uuidCol scans a UUID column (a 16-byte BLOB, or NULL for the zero UUID).
type uuidCol struct{ u *ritual.UUID }

func (c uuidCol) Scan(v any) error {
	switch b := v.(type) {
	case nil:
		*c.u = ritual.UUID{}
		return nil
	case []byte:
		if len(b) != len(c.u) {
			return fmt.Errorf("%w: UUID of %d bytes", ErrCorrupt, len(b))
		}
		copy(c.u[:], b)
		return nil
	}
	return fmt.Errorf("%w: UUID stored as %T", ErrCorrupt, v)
}

// micros converts to and from the stored time.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
