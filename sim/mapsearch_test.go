package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/msg"
)

// TestMapNameRequest: a map search by name answers with the region's block
// when the query names it (prefix, any case) and always ends with the
// closing block (X=Y=0, Access 255, the query as Name). node-metaverse
// waits for a block naming its region before its region setup completes.
func TestMapNameRequest(t *testing.T) {
	r := newRig(t)
	c := r.provision(t, 6666)
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

	end := msg.MapBlockReplyData{Access: 255}
	region := msg.MapBlockReplyData{X: 1000, Y: 1000, Name: []byte("Ritual\x00"), Access: 13, RegionFlags: 1<<1 | 1<<2 | 1<<20, WaterHeight: 20, Agents: 1}
	tests := []struct {
		query string
		flags uint32
		want  []msg.MapBlockReplyData
	}{
		{"Ritual", 2, []msg.MapBlockReplyData{region, end}},
		{"rit", 0, []msg.MapBlockReplyData{region, end}},
		{"RITUAL", 0, []msg.MapBlockReplyData{region, end}},
		{"Ritual Two", 0, []msg.MapBlockReplyData{end}},
		{"Elsewhere", 0, []msg.MapBlockReplyData{end}},
		{"", 0, []msg.MapBlockReplyData{end}},
		{strings.Repeat("r", 254), 0, []msg.MapBlockReplyData{end}},
	}
	for _, tt := range tests {
		req := &msg.MapNameRequest{}
		req.AgentData.AgentID, req.AgentData.SessionID, req.AgentData.Flags = c.Agent, c.Session, tt.flags
		req.NameData.Name = append([]byte(tt.query), 0)
		if err := conn.Send(req, true); err != nil {
			t.Fatal(err)
		}
		got := next[*msg.MapBlockReply](t, conn, 3*time.Second)
		if got.AgentData.AgentID != c.Agent || got.AgentData.Flags != tt.flags {
			t.Errorf("%q: AgentData %+v", tt.query, got.AgentData)
		}
		if len(got.Data) != len(tt.want) {
			t.Fatalf("%q: %d blocks %+v, want %d", tt.query, len(got.Data), got.Data, len(tt.want))
		}
		for i, w := range tt.want {
			if i == len(tt.want)-1 {
				w.Name = append([]byte(tt.query), 0)
			}
			g := got.Data[i]
			if g.X != w.X || g.Y != w.Y || string(g.Name) != string(w.Name) || g.Access != w.Access ||
				g.RegionFlags != w.RegionFlags || g.WaterHeight != w.WaterHeight || g.Agents != w.Agents || g.MapImageID != ritual.ZeroUUID {
				t.Errorf("%q block %d = %+v, want %+v", tt.query, i, g, w)
			}
		}
	}

	// Another agent's ids are not answered.
	req := &msg.MapNameRequest{}
	req.AgentData.AgentID, req.AgentData.SessionID = ritual.NewUUID(), c.Session
	req.NameData.Name = []byte("Ritual\x00")
	conn.Send(req, true)
	quiet := time.After(300 * time.Millisecond)
	for {
		select {
		case in := <-conn.Inbox():
			if _, ok := in.Message.(*msg.MapBlockReply); ok {
				t.Fatal("answered a MapNameRequest with a foreign agent id")
			}
		case <-quiet:
			return
		}
	}
}
