package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ritual"
	"ritual/store"
	schema "ritual/store/migrate"
	"ritual/store/storetest"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) store.Store { return open(t, dir) })
}

func TestOpenPaths(t *testing.T) {
	dir := t.TempDir()
	// An existing directory.
	s := open(t, dir)
	if want := filepath.Join(dir, FileName); s.Path() != want {
		t.Errorf("Path = %q, want %q", s.Path(), want)
	}
	s.Close()
	// A directory to create, nested.
	nested := filepath.Join(dir, "a", "b")
	s = open(t, nested)
	if want := filepath.Join(nested, FileName); s.Path() != want {
		t.Errorf("Path = %q, want %q", s.Path(), want)
	}
	s.Close()
	if fi, err := os.Stat(nested); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, %v", fi.Mode(), err)
	}
	// A new file ending in .db, in a directory to create.
	file := filepath.Join(dir, "c", "grid.db")
	s = open(t, file)
	if s.Path() != file {
		t.Errorf("Path = %q, want %q", s.Path(), file)
	}
	s.Close()
	// The same file again, now existing, by a relative path.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, file)
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, rel)
	if s.Path() != file {
		t.Errorf("Path = %q, want %q", s.Path(), file)
	}
	s.Close()

	for _, bad := range []string{"", filepath.Join(dir, "what?.db"), "/dev/null"} {
		if _, err := Open(bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("Open(%q) = %v, want ErrBadPath", bad, err)
		}
	}
	// A file that is not a database.
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600)
	if s, err := Open(junk); err == nil {
		s.Close()
		t.Error("Open of a junk file succeeded")
	}
}

func TestFileModes(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	// Write something so that the WAL file exists.
	if err := s.Regions().Create(context.Background(), &store.Region{Name: "R", GridX: 1, GridY: 1}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group or other access", name, fi.Mode().Perm())
		}
	}
}

func TestPragmas(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var fk, busy int
		db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk)
		db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy)
		if mode != "wal" || fk != 1 || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("journal_mode %q, foreign_keys %d, busy_timeout %d", mode, fk, busy)
		}
	}
	if _, err := s.r.ExecContext(ctx, "CREATE TABLE x (y)"); err == nil {
		t.Error("the read pool can write")
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != LatestSchema() || v < 1 {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, LatestSchema())
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.w.Exec(`INSERT INTO schema_version (version, name, applied) VALUES (?, 'from the future', 0)`, LatestSchema()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(dir)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestMigrationFromEmptyFileIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	// Two stores on one file, as `ritual user` alongside `ritual serve`.
	a := open(t, dir)
	defer a.Close()
	b := open(t, dir)
	defer b.Close()
	ctx := context.Background()
	acc := &store.Account{First: "Shared", Last: "File", PasswordHash: "h"}
	if err := a.Accounts().Create(ctx, acc); err != nil {
		t.Fatal(err)
	}
	got, err := b.Accounts().ByName(ctx, "shared", "file")
	if err != nil || got.ID != acc.ID {
		t.Errorf("second store sees %+v, %v", got, err)
	}
	if err := b.Accounts().Create(ctx, &store.Account{First: "Shared", Last: "File", PasswordHash: "h"}); !errors.Is(err, store.ErrExists) {
		t.Errorf("second store duplicate: %v", err)
	}
}

func TestCorruptRecords(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	r := &store.Region{Name: "Home", GridX: 1, GridY: 1}
	if err := s.Regions().Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO terrain (region, width, height, heights) VALUES (?, 4, 4, ?)`, id(r.ID), []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Terrain().Load(ctx, r.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short heightmap: %v", err)
	}
	if _, err := s.w.Exec(`UPDATE terrain SET width = 100000, height = 100000`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Terrain().Load(ctx, r.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge heightmap: %v", err)
	}
	// A UUID of the wrong length (the CHECK constraint does not cover
	// referencing columns).
	if _, err := s.w.Exec(`PRAGMA foreign_keys = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO accounts (id, first, last, password, created) VALUES (?, 'A', 'B', 'h', 0)`, make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO inventory_folders (id, owner, parent, name, type, version) VALUES (?, ?, X'0102', 'bad', 1, 1)`, make([]byte, 16), make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Inventory().Get(ctx, [16]byte{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short parent UUID: %v", err)
	}
}

func FuzzDecodeHeights(f *testing.F) {
	f.Add(2, 2, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40})
	f.Add(1, 1, []byte{1, 2, 3})
	f.Add(100000, 100000, []byte{})
	f.Fuzz(func(t *testing.T, w, h int, blob []byte) {
		hm, err := decodeHeights(w, h, blob)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if hm.W != w || hm.H != h || len(hm.Heights) != w*h || 4*len(hm.Heights) != len(blob) {
			t.Fatalf("decoded %d×%d with %d heights from %d bytes", hm.W, hm.H, len(hm.Heights), len(blob))
		}
	})
}

// testdata/schema-v1.db was written by the store of schema version 1 (the
// version before schema_version existed, when PRAGMA user_version alone
// held it): an account, a region with terrain and one object.
func TestUpgradeFromVersion1(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "schema-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(file, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, file)
	defer s.Close()
	ctx := context.Background()
	if v, err := s.SchemaVersion(ctx); err != nil || v != LatestSchema() {
		t.Fatalf("SchemaVersion after upgrade = %d, %v; want %d", v, err, LatestSchema())
	}
	rows, err := s.r.QueryContext(ctx, `SELECT version, name FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var v int
		var name string
		rows.Scan(&v, &name)
		got = append(got, fmt.Sprintf("%d %s", v, name))
	}
	rows.Close()
	var want []string
	for i, n := range schema.Names {
		want = append(want, fmt.Sprintf("%d %s", i+1, n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema_version = %q, want %q", got, want)
	}
	var uv int
	s.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv)
	if uv != LatestSchema() {
		t.Errorf("user_version = %d, want %d", uv, LatestSchema())
	}
	// The version-1 data reads back.
	a, err := s.Accounts().ByName(ctx, "fixture", "resident")
	if err != nil || a.ID != ritual.MustParseUUID("11111111-2222-3333-4444-555555555555") {
		t.Errorf("account = %+v, %v", a, err)
	}
	if sk, err := s.Inventory().Skeleton(ctx, a.ID); err != nil || len(sk) != len(store.DefaultSkeleton(a.ID)) {
		t.Errorf("skeleton: %d folders, %v", len(sk), err)
	}
	r, err := s.Regions().ByName(ctx, "Fixture Region")
	if err != nil || r.GridX != 1000 {
		t.Fatalf("region = %+v, %v", r, err)
	}
	if hm, err := s.Terrain().Load(ctx, r.ID); err != nil || !slices.Equal(hm.Heights, []float32{1, 2, 3, 4}) {
		t.Errorf("terrain = %+v, %v", hm, err)
	}
	if objs, err := s.Objects().Load(ctx, r.ID); err != nil || len(objs) != 1 || objs[0].LocalID != 7 || objs[0].Name != "Box" {
		t.Errorf("objects = %+v, %v", objs, err)
	}
	// The tables of version 2 are there and usable.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO region_hosts (region, instance, sim_ip, sim_port, http_base, started, heartbeat) VALUES (?, ?, '127.0.0.1', 9000, 'http://127.0.0.1:9000', 0, 0)`, id(r.ID), make([]byte, 16)); err != nil {
		t.Errorf("version 2 table: %v", err)
	}
	// And reopening changes nothing.
	s.Close()
	s = open(t, file)
	if v, err := s.SchemaVersion(ctx); err != nil || v != LatestSchema() {
		t.Errorf("SchemaVersion after reopen = %d, %v", v, err)
	}
}
