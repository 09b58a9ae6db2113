package sim_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/store"
)

// mapDirectory is a grid's map as a Directory: regions to list, none to
// go to.
type mapDirectory []store.Region

func (d mapDirectory) Regions() []store.Region { return d }

func (d mapDirectory) Admit(context.Context, ritual.RegionHandle, login.Circuit, ritual.Vector3, ritual.Vector3) (login.Destination, error) {
	return login.Destination{}, sim.ErrNoSuchRegion
}

// fenceLayer is the map layer of the request that closes each case: its
// reply comes after every reply to the requests before it.
const fenceLayer = 0x7777

// mapReplies sends req, then a request for the region's own cell on
// fenceLayer, and returns the MapBlockReplies that came before the
// fence's.
func mapReplies(t *testing.T, conn *circuit.Conn, c login.Circuit, req *msg.MapBlockRequest) []*msg.MapBlockReply {
	t.Helper()
	fence := &msg.MapBlockRequest{
		AgentData:    msg.MapBlockRequestAgentData{AgentID: c.Agent, SessionID: c.Session, Flags: 0x10000 | fenceLayer},
		PositionData: msg.MapBlockRequestPositionData{MinX: 1000, MaxX: 1000, MinY: 1000, MaxY: 1000},
	}
	if err := conn.Send(req, true); err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(fence, true); err != nil {
		t.Fatal(err)
	}
	var got []*msg.MapBlockReply
	for {
		rep := next[*msg.MapBlockReply](t, conn, 3*time.Second)
		if rep.AgentData.Flags == fenceLayer {
			if len(rep.Data) != 1 || string(rep.Data[0].Name) != "Ritual\x00" {
				t.Fatalf("fence reply %+v", rep.Data)
			}
			return got
		}
		got = append(got, rep)
	}
}

// TestMapBlockRequest: the world map's request for a range of grid cells
// is answered as OpenSimulator answers it: every region whose area meets
// the range (both ends included), south to north and west to east, ten
// to a reply, with each region's size; the reply's Flags are the
// request's layer; an empty range gets no answer unless it is a single
// cell flagged 0x10000, which gets one block of Access 255 there.
func TestMapBlockRequest(t *testing.T) {
	dir := mapDirectory{
		{ID: ritual.NewUUID(), Name: "East", GridX: 1001, GridY: 1000},
		{ID: ritual.NewUUID(), Name: "North", GridX: 1000, GridY: 1001},
		{ID: ritual.NewUUID(), Name: "Big", GridX: 1004, GridY: 1004, SizeX: 512, SizeY: 512},
		{ID: ritual.NewUUID(), Name: "Far", GridX: 2000, GridY: 2000},
	}
	for i := range 12 {
		dir = append(dir, store.Region{ID: ritual.NewUUID(), Name: fmt.Sprintf("Row%02d", 11-i), GridX: uint32(1011 - i), GridY: 1100})
	}
	r := newRigWith(t, func(cfg *sim.Config) { cfg.Directory = dir })
	c := r.provision(t, 7001)
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatal(err)
	}
	cam := &msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}
	if err := conn.Send(cam, true); err != nil {
		t.Fatal(err)
	}
	next[*msg.AgentMovementComplete](t, conn, 3*time.Second)

	var rows []string
	for i := range 12 {
		rows = append(rows, fmt.Sprintf("Row%02d@%d,1100", i, 1000+i))
	}
	tests := []struct {
		name                   string
		flags                  uint32
		minX, maxX, minY, maxY uint16
		// want lists each reply's blocks as name@x,y[/sizeX,sizeY]; an
		// empty name is a block of Access 255.
		want [][]string
		// layer is the Flags of the replies.
		layer uint32
	}{
		{"around the region", 0, 999, 1001, 999, 1001, [][]string{{"Ritual@1000,1000", "East@1001,1000", "North@1000,1001"}}, 0},
		{"the region's own cell", 2, 1000, 1000, 1000, 1000, [][]string{{"Ritual@1000,1000"}}, 2},
		{"a cell a large region covers", 0x10002, 1005, 1005, 1005, 1005, [][]string{{"Big@1004,1004/512,512"}}, 2},
		{"a range meeting a large region's far corner", 0, 1005, 1010, 1005, 1010, [][]string{{"Big@1004,1004/512,512"}}, 0},
		{"an empty cell, clicked", 0x10000, 1003, 1003, 1003, 1003, [][]string{{"@1003,1003"}}, 0},
		{"an empty cell, not clicked", 0, 1003, 1003, 1003, 1003, nil, 0},
		{"an empty range, clicked", 0x10000, 1002, 1003, 1002, 1003, nil, 0},
		{"min beyond max", 0, 1001, 999, 999, 1001, nil, 0},
		{"twelve in a row", 0, 990, 1020, 1100, 1100, [][]string{rows[:10], rows[10:]}, 0},
		{"the whole map", 0, 0, 65535, 0, 65535, [][]string{
			{"Ritual@1000,1000", "East@1001,1000", "North@1000,1001", "Big@1004,1004/512,512", rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]},
			{rows[6], rows[7], rows[8], rows[9], rows[10], rows[11], "Far@2000,2000"},
		}, 0},
	}
	for _, tt := range tests {
		req := &msg.MapBlockRequest{
			AgentData:    msg.MapBlockRequestAgentData{AgentID: c.Agent, SessionID: c.Session, Flags: tt.flags},
			PositionData: msg.MapBlockRequestPositionData{MinX: tt.minX, MaxX: tt.maxX, MinY: tt.minY, MaxY: tt.maxY},
		}
		got := mapReplies(t, conn, c, req)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d replies, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		for i, rep := range got {
			if rep.AgentData.AgentID != c.Agent || rep.AgentData.Flags != tt.layer {
				t.Errorf("%s: reply %d AgentData %+v", tt.name, i, rep.AgentData)
			}
			if len(rep.Size) != len(rep.Data) {
				t.Errorf("%s: reply %d has %d Size blocks for %d Data blocks", tt.name, i, len(rep.Size), len(rep.Data))
				continue
			}
			var blocks []string
			for j, d := range rep.Data {
				b := fmt.Sprintf("%s@%d,%d", strings.TrimRight(string(d.Name), "\x00"), d.X, d.Y)
				if s := rep.Size[j]; s.SizeX != 256 || s.SizeY != 256 {
					b += fmt.Sprintf("/%d,%d", s.SizeX, s.SizeY)
				}
				blocks = append(blocks, b)
				wantAccess := uint8(13)
				if len(d.Name) <= 1 {
					wantAccess = 255
				}
				if d.Access != wantAccess || d.MapImageID != ritual.ZeroUUID {
					t.Errorf("%s: block %s Access %d MapImageID %v", tt.name, b, d.Access, d.MapImageID)
				}
			}
			if strings.Join(blocks, " ") != strings.Join(tt.want[i], " ") {
				t.Errorf("%s: reply %d = %v, want %v", tt.name, i, blocks, tt.want[i])
			}
		}
	}

	// The wire form of the first case's reply (the agent id zeroed):
	// AgentData, three Data blocks (X, Y, Name, Access 13, RegionFlags,
	// WaterHeight 20, Agents, MapImageID), three Size blocks.
	got := mapReplies(t, conn, c, &msg.MapBlockRequest{
		AgentData:    msg.MapBlockRequestAgentData{AgentID: c.Agent, SessionID: c.Session},
		PositionData: msg.MapBlockRequestPositionData{MinX: 999, MaxX: 1001, MinY: 999, MaxY: 1001},
	})
	if len(got) != 1 {
		t.Fatalf("%d replies", len(got))
	}
	got[0].AgentData.AgentID = ritual.ZeroUUID
	zero := strings.Repeat("00", 16)
	want := zero + "00000000" + "03" +
		"e803" + "e803" + "07" + hex.EncodeToString([]byte("Ritual\x00")) + "0d" + "06001000" + "14" + "01" + zero +
		"e903" + "e803" + "05" + hex.EncodeToString([]byte("East\x00")) + "0d" + "06001000" + "14" + "00" + zero +
		"e803" + "e903" + "06" + hex.EncodeToString([]byte("North\x00")) + "0d" + "06001000" + "14" + "00" + zero +
		"03" + "00010001" + "00010001" + "00010001"
	if h := hex.EncodeToString(got[0].AppendTo(nil)); h != want {
		t.Errorf("reply body\n got %s\nwant %s", h, want)
	}

	// Another agent's ids are not answered.
	req := &msg.MapBlockRequest{
		AgentData:    msg.MapBlockRequestAgentData{AgentID: ritual.NewUUID(), SessionID: c.Session},
		PositionData: msg.MapBlockRequestPositionData{MinX: 999, MaxX: 1001, MinY: 999, MaxY: 1001},
	}
	if got := mapReplies(t, conn, c, req); len(got) != 0 {
		t.Errorf("answered a MapBlockRequest with a foreign agent id: %+v", got)
	}
}
