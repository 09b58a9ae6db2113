package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ritual/store/postgres"
)

// openDB opens the PostgreSQL database named by a --db value, migrating
// its schema.
func openDB(ctx context.Context, dsn string) (*postgres.Store, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") && !strings.Contains(dsn, "=") {
		return nil, usagef("--db %q: want a PostgreSQL connection string (postgres://user@host/database)", dsn)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	return st, nil
}
