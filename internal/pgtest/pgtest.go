// Package pgtest gives tests a PostgreSQL database of their own on the
// server named by RITUAL_TEST_POSTGRES (scripts/with-postgres, which
// scripts/test runs the tests under, starts a throwaway one and sets it).
//
// Without the variable, a test binary whose TestMain is Main starts a
// throwaway cluster of its own when PostgreSQL's server programs are
// installed. When no server can be had a test is skipped with a message
// saying why, except under CI=true, where it fails: CI always has one.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the variable naming the test server: a connection string with
// the rights to create databases.
const Env = "RITUAL_TEST_POSTGRES"

// Server returns the connection string of the test server, or skips the
// test (fails it under CI=true) when there is none.
func Server(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(Env)
	if dsn == "" && mainRuns {
		var err error
		if dsn, err = own(); err != nil {
			dsn = ""
			t.Logf("pgtest: starting a throwaway PostgreSQL: %v", err)
		}
	}
	if dsn == "" {
		msg := Env + " is not set and no PostgreSQL could be started: no server for this test (scripts/with-postgres starts one)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true requires the PostgreSQL tests to run")
		}
		t.Skip(msg)
	}
	return dsn
}

// Database creates a fresh database for the test, dropped when the test
// ends, and returns its connection string. key, when not empty, names it
// (the same key gives the same database, so a test can reopen it);
// otherwise the test's name does.
func Database(t testing.TB, key string) string {
	t.Helper()
	server := Server(t)
	if key == "" {
		key = t.Name()
	}
	sum := sha256.Sum256([]byte(key))
	name := "ritual_test_" + hex.EncodeToString(sum[:12])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: connect to the test server: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		t.Fatalf("pgtest: drop database %s: %v", name, err)
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: connect to drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// withDatabase returns the connection string server with its database
// replaced by name.
func withDatabase(server, name string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid URL", Env)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	// key=value form: a later dbname wins.
	return server + " dbname=" + name, nil
}
