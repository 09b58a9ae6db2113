package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"ritual"
	"ritual/store/migrate"

	"ritual/internal/pgtest"
	"ritual/store"
	"ritual/store/storetest"
)

func open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	pgtest.Server(t)
	dbs := map[string]string{}
	storetest.Run(t, func(t *testing.T, dir string) store.Store {
		dsn, ok := dbs[dir]
		if !ok {
			dsn = pgtest.Database(t, dir)
			dbs[dir] = dsn
		}
		return open(t, dsn)
	})
}

// TestUpgradeFromPreviousVersion makes a database of the version before the
// latest, writes the tables it has, and opens it with the store.
func TestUpgradeFromPreviousVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Database(t, "")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := &Store{pool: pool, what: "test"}
	prev := migrate.Latest() - 1
	if _, to, err := migrate.RunTo(ctx, "test", s.beginMigration, migrations, prev); err != nil || to != prev {
		t.Fatalf("RunTo %d: %d, %v", prev, to, err)
	}
	aid := ritual.NewUUID()
	if _, err := pool.Exec(ctx, `INSERT INTO accounts (id, first, last, first_fold, last_fold, password, created) VALUES ($1, 'Old', 'Timer', 'old', 'timer', 'h', now())`, id(aid)); err != nil {
		t.Fatal(err)
	}

	st := open(t, dsn)
	defer st.Close()
	if v, err := st.SchemaVersion(ctx); err != nil || v != migrate.Latest() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, migrate.Latest())
	}
	var names []string
	rows, _ := st.pool.Query(ctx, `SELECT name FROM schema_version ORDER BY version`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	if !slices.Equal(names, migrate.Names) {
		t.Errorf("schema_version names = %q", names)
	}
	if a, err := st.Accounts().ByName(ctx, "OLD", "timer"); err != nil || a.ID != aid {
		t.Errorf("account of the previous version: %+v, %v", a, err)
	}
}

func TestMigrationFromEmptyConcurrent(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Database(t, "")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := Open(context.Background(), dsn)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Open of a new database: %v", err)
	}
	s := open(t, dsn)
	defer s.Close()
	var n int
	s.pool.QueryRow(context.Background(), `SELECT count(*) FROM schema_version`).Scan(&n)
	if n != migrate.Latest() {
		t.Errorf("schema_version has %d rows, want %d", n, migrate.Latest())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Database(t, "")
	s := open(t, dsn)
	if _, err := s.pool.Exec(ctx, `INSERT INTO schema_version (version, name, applied) VALUES ($1, 'from the future', now())`, migrate.Latest()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, dsn); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open of a newer schema: %v", err)
	}
}

func TestCorruptRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, pgtest.Database(t, ""))
	defer s.Close()
	r := &store.Region{Name: "Home", GridX: 1, GridY: 1}
	if err := s.Regions().Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO terrain (region, width, height, heights) VALUES ($1, 4, 4, '\x010203')`, id(r.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Terrain().Load(ctx, r.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short heightmap: %v", err)
	}
	o := store.Object{ID: ritual.NewUUID(), LocalID: 1, Rotation: ritual.Quaternion{W: 1}}
	if err := s.Objects().Save(ctx, r.ID, o); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE objects SET pcode = 300`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Objects().Load(ctx, r.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("pcode out of range: %v", err)
	}
}

func TestOpenErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	_, err := Open(context.Background(), "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, err := Open(context.Background(), "postgres://u:s3cret@[bad"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad DSN: %v", err)
	}
}
