package grid_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"ritual/grid"
)

func start(t *testing.T, cfg grid.Config) *grid.Server {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := grid.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func stop(t *testing.T, srv *grid.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRestartKeepsTheRegion: the region, its terrain and its objects
// survive a restart.
func TestRestartKeepsTheRegion(t *testing.T) {
	dir := t.TempDir()
	a := start(t, grid.Config{DataDir: dir, Listen: "127.0.0.1:0"})
	info, hm, n := a.Region.Info(), a.Region.Heightmap(), a.Region.Objects()
	stop(t, a)

	b := start(t, grid.Config{DataDir: dir, Listen: "127.0.0.1:0"})
	defer stop(t, b)
	if b.Region.Info().ID != info.ID {
		t.Fatalf("region id %s after restart, was %s", b.Region.Info().ID, info.ID)
	}
	if b.Region.Objects() != n || n < 12 {
		t.Fatalf("%d objects after restart, was %d", b.Region.Objects(), n)
	}
	if !slices.Equal(b.Region.Heightmap().Heights, hm.Heights) {
		t.Fatal("terrain changed across a restart")
	}
}

func TestSamePortForHTTPAndUDP(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	defer stop(t, srv)
	host, port, _ := net.SplitHostPort(srv.Addr())
	if host != "127.0.0.1" || port == "0" {
		t.Fatalf("addr %s", srv.Addr())
	}
	if !strings.HasSuffix(srv.LoginURI(), ":"+port+"/") {
		t.Fatalf("login URI %s not on port %s", srv.LoginURI(), port)
	}
	// The UDP port is taken by the region.
	if pc, err := net.ListenPacket("udp", srv.Addr()); err == nil {
		pc.Close()
		t.Fatal("UDP port is free: the region is not listening on it")
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		cfg  grid.Config
		want string
	}{
		{grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ExternalHost: "grid.example.org"}, "IP literal"},
		{grid.Config{DataDir: t.TempDir(), Listen: "nonsense"}, "--listen"},
		{grid.Config{Listen: "127.0.0.1:0"}, "no data directory"},
	}
	for _, tt := range tests {
		_, err := grid.Start(t.Context(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Start(%+v) = %v, want an error saying %q", tt.cfg, err, tt.want)
		}
	}
	// A port in use is a clear error.
	busy := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	defer stop(t, busy)
	if _, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: busy.Addr()}); err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Errorf("second grid on %s: %v", busy.Addr(), err)
	}
}
