package sim_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/store/sqlite"
)

// eventually polls cond until it holds or a generous deadline passes; it
// asserts what happened, never how fast.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func count(cs []sim.Count, name string) uint64 {
	for _, c := range cs {
		if c.Name == name {
			return c.Count
		}
	}
	return 0
}

func messages(r *sim.Region) map[string][2]uint64 {
	out := map[string][2]uint64{}
	for _, m := range r.Messages() {
		out[m.Name] = [2]uint64{m.In, m.Out}
	}
	return out
}

func TestCountersRitual(t *testing.T) {
	r := newRig(t)
	c := r.provision(t, 5555)
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatal(err)
	}
	conn.Send(&msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}, true)
	next[*msg.AgentMovementComplete](t, conn, 3*time.Second)
	conn.Send(&msg.RegionHandshakeReply{AgentData: msg.RegionHandshakeReplyAgentData{AgentID: c.Agent, SessionID: c.Session}}, true)
	for range 5 {
		conn.Send(&msg.AgentUpdate{AgentData: msg.AgentUpdateAgentData{AgentID: c.Agent, SessionID: c.Session, BodyRotation: ritual.IdentityQuaternion, HeadRotation: ritual.IdentityQuaternion}}, false)
	}
	layers := 0
	for layers < 1 {
		if _, ok := (<-conn.Inbox()).Message.(*msg.LayerData); ok {
			layers++
		}
	}
	// Every message the agent handled and sent is counted by name.
	eventually(t, "5 AgentUpdates counted", func() bool { return messages(r.region)["AgentUpdate"][0] == 5 })
	m := messages(r.region)
	for name, want := range map[string][2]uint64{
		"UseCircuitCode": {1, 0}, "CompleteAgentMovement": {1, 0}, "RegionHandshakeReply": {1, 0},
		"RegionHandshake": {0, 1}, "AgentMovementComplete": {0, 1},
	} {
		if m[name] != want {
			t.Errorf("%s in/out = %v, want %v", name, m[name], want)
		}
	}
	if m["LayerData"][1] < 1 || m["ObjectUpdate"][1] < 1 {
		t.Errorf("LayerData %v, ObjectUpdate %v: the scene was not counted", m["LayerData"], m["ObjectUpdate"])
	}
	if _, ok := m["PacketAck"]; ok {
		t.Errorf("PacketAck counted as an application message: %v", m["PacketAck"])
	}
	open := r.region.Traffic()
	if open.Circuits.PacketsRecv < 9 || open.Circuits.PacketsSent < 3 || open.Circuits.BytesSent == 0 {
		t.Errorf("open circuit traffic %+v", open.Circuits)
	}
	if cs := r.region.Counters(); cs.Circuits != 1 || cs.AgentsInWorld != 1 {
		t.Errorf("counters %+v, want 1 circuit and 1 agent", cs)
	}

	// After logout the circuit's counts stay in the totals.
	conn.Send(&msg.LogoutRequest{AgentData: msg.LogoutRequestAgentData{AgentID: c.Agent, SessionID: c.Session}}, true)
	next[*msg.LogoutReply](t, conn, 3*time.Second)
	eventually(t, "the circuit closed by logout", func() bool { return count(r.region.Counters().Closed, sim.ClosedLogout) == 1 })
	closed := r.region.Traffic()
	if closed.Circuits.PacketsRecv < open.Circuits.PacketsRecv || closed.Circuits.PacketsSent < open.Circuits.PacketsSent {
		t.Errorf("traffic went down after the circuit closed: %+v then %+v", open.Circuits, closed.Circuits)
	}
	cs := r.region.Counters()
	if cs.Circuits != 0 || cs.AgentsInWorld != 0 || count(cs.Closed, sim.ClosedTimeout) != 0 {
		t.Errorf("counters after logout %+v", cs)
	}
	if messages(r.region)["LogoutReply"] != [2]uint64{0, 1} {
		t.Errorf("LogoutReply not counted: %v", messages(r.region)["LogoutReply"])
	}
}

func TestCountersRefusals(t *testing.T) {
	r := newRigWith(t, func(c *sim.Config) { c.MaxCircuits = 1 })
	good := r.provision(t, 6666)
	// The region is full: the login is refused with ErrRegionFull, which
	// the login service turns into reason "presence".
	_, err := r.region.Provision(t.Context(), login.Circuit{
		Code: 6667, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), Expiry: time.Now().Add(time.Minute),
	})
	if !errors.Is(err, login.ErrRegionFull) {
		t.Fatalf("second Provision with MaxCircuits 1: %v, want ErrRegionFull", err)
	}
	// An unknown code and a wrong session are rejected and counted by
	// reason.
	for _, bad := range []login.Circuit{
		{Code: 1, Agent: good.Agent, Session: good.Session},
		{Code: good.Code, Agent: good.Agent, Session: ritual.NewUUID()},
	} {
		conn := r.dial(t)
		ctx, cancel := context.WithTimeout(t.Context(), 1200*time.Millisecond)
		if err := conn.SendAcked(ctx, ucc(bad)); err == nil {
			t.Fatal("a bad UseCircuitCode was acknowledged")
		}
		cancel()
	}
	cs := r.region.Counters()
	if cs.Full != 1 || count(cs.Rejects, sim.RejectUnknown) == 0 || count(cs.Rejects, sim.RejectMismatch) == 0 {
		t.Errorf("counters %+v, want 1 full and unknown and mismatch rejects", cs)
	}
	var sum uint64
	for _, c := range cs.Rejects {
		sum += c.Count
	}
	if sum != cs.Rejected {
		t.Errorf("rejects by reason sum to %d, Rejected is %d", sum, cs.Rejected)
	}
}

func TestCountersTimeout(t *testing.T) {
	r := newRigWith(t, func(c *sim.Config) {
		c.Circuit = circuit.Config{Timeout: 300 * time.Millisecond, PingInterval: -1}
	})
	c := r.provision(t, 7777)
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatal(err)
	}
	conn.Close("going silent")
	eventually(t, "the silent circuit closed by timeout", func() bool {
		return count(r.region.Counters().Closed, sim.ClosedTimeout) == 1
	})
}

// TestCloseBeforeServe: a region closed before its Serve has started still
// stops serving (Serve returns at once).
func TestCloseBeforeServe(t *testing.T) {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	router := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:9", Inventory: st.Inventory()})
	r, err := sim.Open(t.Context(), sim.Config{Store: st, Caps: router, SimIP: netip.MustParseAddr("127.0.0.1"), SimPort: 9})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(pc) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		pc.Close()
		t.Fatal("Serve after Close kept serving")
	}
}
