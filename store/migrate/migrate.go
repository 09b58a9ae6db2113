package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Names names the schema versions in order: Names[n-1] is version n. Every
// backend implements every version.
var Names = []string{
	1: "accounts, inventory folders, regions, terrain, objects",
	2: "region hosts, pending circuits, agent locations",
	3: "instant messages kept for offline accounts",
	4: "the grid's secret, agent presence",
	5: "agent homes",
}[1:]

// Latest is the schema version this program writes.
func Latest() int { return len(Names) }

// ErrNewerSchema reports a database whose schema version is newer than this
// program knows.
var ErrNewerSchema = errors.New("database schema is newer than this program")

// Table is the name of the table recording applied versions. Its columns
// are version (integer primary key), name (text) and applied (microseconds
// since the Unix epoch, UTC).
const Table = "schema_version"

// Tx is one migration transaction on a backend.
type Tx interface {
	// Version returns the highest version recorded, creating the
	// schema_version table if needed; 0 for an empty database.
	Version(ctx context.Context) (int, error)
	// Exec runs a step's SQL.
	Exec(ctx context.Context, sql string) error
	// Record notes version as applied at the given time.
	Record(ctx context.Context, version int, name string, applied time.Time) error
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Begin starts a migration transaction. A backend that several processes
// may migrate at once makes the transaction exclusive (a lock held until it
// ends), so that no step is applied twice.
type Begin func(ctx context.Context) (Tx, error)

// Run brings a database up to len(steps), which must equal Latest(): steps[n-1]
// is the backend's SQL for version n. It returns the versions before and
// after. what names the database in errors.
func Run(ctx context.Context, what string, begin Begin, steps []string) (from, to int, err error) {
	return RunTo(ctx, what, begin, steps, len(Names))
}

// RunTo is Run stopping at version target (at most Latest()): tests use it
// to make a database of an earlier version.
func RunTo(ctx context.Context, what string, begin Begin, steps []string, target int) (from, to int, err error) {
	if len(steps) != len(Names) {
		return 0, 0, fmt.Errorf("migrate %s: %d steps for %d schema versions", what, len(steps), len(Names))
	}
	if target < 0 || target > len(steps) {
		return 0, 0, fmt.Errorf("migrate %s: no schema version %d", what, target)
	}
	from = -1
	for {
		v, done, err := step(ctx, what, begin, steps, target)
		if from < 0 {
			from = v
		}
		if err != nil {
			return from, v, err
		}
		if done {
			return from, v, nil
		}
	}
}

// step applies the next version, if any, in one transaction and returns the
// version found before it.
func step(ctx context.Context, what string, begin Begin, steps []string, target int) (int, bool, error) {
	tx, err := begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("migrate %s: %w", what, err)
	}
	defer tx.Rollback(ctx)
	v, err := tx.Version(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("migrate %s: schema version: %w", what, err)
	}
	switch {
	case v < 0:
		return v, false, fmt.Errorf("migrate %s: schema version %d", what, v)
	case v > len(steps):
		return v, false, fmt.Errorf("%w: %s has version %d, this program knows up to %d", ErrNewerSchema, what, v, len(steps))
	case v >= target:
		return v, true, nil
	}
	n := v + 1
	if err := tx.Exec(ctx, steps[v]); err != nil {
		return v, false, fmt.Errorf("migrate %s to version %d (%s): %w", what, n, Names[v], err)
	}
	if err := tx.Record(ctx, n, Names[v], time.Now().UTC().Truncate(time.Microsecond)); err != nil {
		return v, false, fmt.Errorf("migrate %s to version %d: %w", what, n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return v, false, fmt.Errorf("migrate %s to version %d: %w", what, n, err)
	}
	return v, false, nil
}
