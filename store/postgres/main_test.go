package postgres_test

import (
	"os"
	"testing"

	"ritual/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
