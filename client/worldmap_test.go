package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/grid"
	"ritual/internal/gridtest"
)

// TestMapBlocksAgainstGrid asks the real grid's map, three regions in one
// process, for ranges of grid cells: each region is found where it is,
// the agent's own region counts its avatar, and a range that holds none
// gives none.
func TestMapBlocksAgainstGrid(t *testing.T) {
	g := gridtest.Start(t, gridtest.WithConfig(func(c *grid.Config) {
		c.Regions = []grid.RegionSpec{{Name: "West", GridX: 3000, GridY: 3000}, {Name: "East", GridX: 3001, GridY: 3000}, {Name: "Far", GridX: 3020, GridY: 3010}}
	}))
	a := g.Accounts[0]
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := Login(ctx, Config{LoginURI: g.LoginURI, First: a.First, Last: a.Last, Password: a.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Region().Name; got != "West" {
		t.Fatalf("landed in %q, want West", got)
	}
	describe := func(rs []MapRegion) string {
		var out []string
		for _, r := range rs {
			x, y := r.Handle.Grid()
			out = append(out, fmt.Sprintf("%s@%d,%d", r.Name, x, y))
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		name                   string
		minX, maxX, minY, maxY uint16
		want                   string
	}{
		{"around West", 2968, 3032, 2968, 3032, "West@3000,3000 East@3001,3000 Far@3020,3010"},
		{"West's cell", 3000, 3000, 3000, 3000, "West@3000,3000"},
		{"east of West", 3001, 3100, 2990, 3005, "East@3001,3000"},
		{"nowhere", 100, 200, 100, 200, ""},
	}
	for _, tt := range tests {
		got, err := s.MapBlocks(ctx, tt.minX, tt.maxX, tt.minY, tt.maxY)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if d := describe(got); d != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, d, tt.want)
		}
		for _, r := range got {
			if r.Access != 13 || r.SizeX != 256 || r.SizeY != 256 {
				t.Errorf("%s: %+v", tt.name, r)
			}
			if wantAgents := map[string]int{"West": 1}[r.Name]; r.Agents != wantAgents {
				t.Errorf("%s: %s has %d agents, want %d", tt.name, r.Name, r.Agents, wantAgents)
			}
			if r.Handle == ritual.HandleFromGrid(3001, 3000) && r.Name != "East" {
				t.Errorf("%s: %+v at East's handle", tt.name, r)
			}
		}
	}
	if _, err := s.MapBlocks(ctx, 10, 9, 0, 0); !errors.Is(err, ErrConfig) {
		t.Errorf("a range with min beyond max: %v, want ErrConfig", err)
	}
	if _, err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}
