package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"ritual"
	"ritual/internal/pgtest"
	"ritual/store"
	"ritual/store/postgres"
	"ritual/store/sqlite"
)

// seedPresence gives st three accounts, two regions and the presence of
// Ann (West) and Bob (East); Cid's came and went.
func seedPresence(t *testing.T, st store.GridStore) {
	t.Helper()
	ctx := context.Background()
	var ids []ritual.UUID
	for _, n := range []string{"Ann", "Bob", "Cid"} {
		a := store.Account{First: n, Last: "Online", PasswordHash: "x"}
		if err := st.Accounts().Create(ctx, &a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	var regions []store.Region
	for i, n := range []string{"West", "East"} {
		r := store.Region{ID: ritual.NewUUID(), Name: n, GridX: 1000 + uint32(i), GridY: 1000, SizeX: 256, SizeY: 256}
		if err := st.Regions().Create(ctx, &r); err != nil {
			t.Fatal(err)
		}
		regions = append(regions, r)
	}
	for i, id := range ids {
		p := store.AgentPresence{Agent: id, Session: ritual.NewUUID(), Region: regions[i%2].ID}
		if err := st.Presence().Set(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if i == 2 { // Cid left
			if err := st.Presence().Clear(ctx, id, p.Session, p.Region); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkWho checks ritual who's listing of seedPresence's grid.
func checkWho(t *testing.T, args ...string) {
	t.Helper()
	r := userMustRun(t, append([]string{"who"}, args...)...)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^NAME\s+REGION\s+SINCE$`).MatchString(lines[0]) {
		t.Fatalf("ritual who:\n%s", r.out)
	}
	rows := strings.Join(lines[1:], "\n")
	for _, want := range []string{`Ann Online\s+West\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`, `Bob Online\s+East\s+\d{4}-`} {
		if !regexp.MustCompile(want).MatchString(rows) {
			t.Errorf("ritual who: no row matching %s:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "Cid") {
		t.Errorf("ritual who lists an agent that left:\n%s", r.out)
	}
}

// TestWho: ritual who lists the online agents of a data directory by name
// and region, with the time of their arrival; an agent that left is not
// listed.
func TestWho(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	seedPresence(t, st)
	st.Close()
	checkWho(t, "--data", dir)
}

// TestWhoDB: the same from a PostgreSQL database (--db).
func TestWhoDB(t *testing.T) {
	dsn := pgtest.Database(t, "")
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	seedPresence(t, st)
	st.Close()
	checkWho(t, "--db", dsn)
}

func TestWhoUsage(t *testing.T) {
	userWantExit(t, 2, "unexpected argument", "who", "stray")
	userWantExit(t, 2, "exclude each other", "who", "--data", t.TempDir(), "--db", "postgres://x@y/z")
	userWantExit(t, 1, "no Ritual data there", "who", "--data", t.TempDir())
	if r := userRun("help"); !strings.Contains(r.errout, "who") {
		t.Errorf("ritual help lacks who: %q", r.errout)
	}
	if r := userRun("who", "--help"); r.code != 0 || !strings.Contains(r.errout, "usage: ritual who") {
		t.Errorf("ritual who --help: %v", r)
	}
}
