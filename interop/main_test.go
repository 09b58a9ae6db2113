package interop

import (
	"os"
	"testing"

	"ritual/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL a test may have started (the
// teleport across processes needs one).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
