package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/grid"
	"ritual/internal/gridtest"
	"ritual/login"
	"ritual/protocol/msg"
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

// TestMapBlocksOlderRegion: a region that answers in several replies,
// without Size blocks and without echoing the layer (its replies' Flags
// are 0, so the closing request's reply is not recognised) is waited on
// until it has been quiet: every region of the range is had, each once,
// and a block outside the range is left out.
func TestMapBlocksOlderRegion(t *testing.T) {
	var requests []msg.MapBlockRequestPositionData
	var mu sync.Mutex
	g := newTwoRegions(t, func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
		req, ok := m.(*msg.MapBlockRequest)
		if !ok {
			return
		}
		mu.Lock()
		requests = append(requests, req.PositionData)
		mu.Unlock()
		ad := msg.MapBlockReplyAgentData{AgentID: req.AgentData.AgentID}
		block := func(name string, x, y uint16) msg.MapBlockReplyData {
			return msg.MapBlockReplyData{X: x, Y: y, Name: []byte(name + "\x00"), Access: 13}
		}
		if p := req.PositionData; p.MinX == p.MaxX {
			f.send(conn, &msg.MapBlockReply{AgentData: ad, Data: []msg.MapBlockReplyData{block("Default Region", p.MinX, p.MinY)}})
			return
		}
		var first []msg.MapBlockReplyData
		first = append(first, block("Default Region", 1000, 1000))
		for i := range 9 {
			first = append(first, block(fmt.Sprintf("R%d", i), uint16(1002+i), 1000))
		}
		f.send(conn, &msg.MapBlockReply{AgentData: ad, Data: first})
		f.send(conn, &msg.MapBlockReply{AgentData: ad, Data: []msg.MapBlockReplyData{block("R9", 1011, 1000), block("Elsewhere", 5000, 5000)}})
	})
	cfg := g.west.config(login.FormatXMLRPC)
	cfg.AgentUpdateInterval = -1
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitMovementComplete(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.MapBlocks(ctx, 990, 1020, 990, 1020)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
		if r.SizeX != 256 || r.SizeY != 256 {
			t.Errorf("%s: size %d,%d without a Size block", r.Name, r.SizeX, r.SizeY)
		}
	}
	if want := "Default Region R0 R1 R2 R3 R4 R5 R6 R7 R8 R9"; strings.Join(names, " ") != want {
		t.Errorf("regions %q, want %q", strings.Join(names, " "), want)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []msg.MapBlockRequestPositionData{{MinX: 990, MaxX: 1020, MinY: 990, MaxY: 1020}, {MinX: 1000, MaxX: 1000, MinY: 1000, MaxY: 1000}}
	if !slices.Equal(requests, want) {
		t.Errorf("requests %+v, want the range then the region's own cell", requests)
	}
}
