package sim_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/llsd"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
)

// farDirectory admits every teleport to East at 1001,1000, a region of
// another process that the test never visits.
type farDirectory struct{}

func (farDirectory) Regions() []store.Region {
	return []store.Region{{ID: ritual.NewUUID(), Name: "East", GridX: 1001, GridY: 1000}}
}

func (farDirectory) Admit(_ context.Context, h ritual.RegionHandle, _ login.Circuit, pos, lookAt ritual.Vector3) (login.Destination, error) {
	if h != ritual.HandleFromGrid(1001, 1000) {
		return login.Destination{}, sim.ErrNoSuchRegion
	}
	return login.Destination{RegionName: "East", SimIP: netip.MustParseAddr("127.0.0.1"), SimPort: 9, Handle: h,
		SeedCapability: "http://127.0.0.1:9/CAPS/east/", Position: pos, LookAt: lookAt}, nil
}

// slowTeleportConn is a client's socket on a slow path: each datagram
// carrying TeleportStart or TeleportProgress reaches the client
// (ReadFrom) only after a delay, and is logged when it does.
type slowTeleportConn struct {
	net.PacketConn
	log func(string)
}

func (c *slowTeleportConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		return n, addr, err
	}
	var p msg.Packet
	if p.Parse(b[:n], nil) == nil && (p.ID == msg.IDTeleportStart || p.ID == msg.IDTeleportProgress) {
		time.Sleep(150 * time.Millisecond)
		c.log(p.ID.String())
	}
	return n, addr, err
}

// TestTeleportFinishAfterProgress: TeleportFinish goes on the event queue
// only once the client has TeleportStart and TeleportProgress (the last
// one acknowledged), though the destination answers at once and the UDP
// path to the client is slow: a client that leaves the old circuit at
// TeleportFinish, as node-metaverse does, hears every step.
func TestTeleportFinishAfterProgress(t *testing.T) {
	r := newRigWith(t, func(cfg *sim.Config) { cfg.Directory = farDirectory{} })
	var mu sync.Mutex
	var order []string
	log := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	c := login.Circuit{
		Code: 7301, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: "Slow", Last: "Path", Start: "last", Expiry: time.Now().Add(5 * time.Second),
	}
	d, err := r.region.Provision(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := circuit.NewTransport(&slowTeleportConn{PacketConn: pc, log: log}, circuit.TransportConfig{})
	go tr.Serve()
	t.Cleanup(func() { tr.Close() })
	conn, err := tr.Open(r.addr, circuit.Config{Side: trace.Client, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatal(err)
	}
	cam := &msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}
	if err := conn.Send(cam, true); err != nil {
		t.Fatal(err)
	}
	next[*msg.AgentMovementComplete](t, conn, 5*time.Second)
	go func() {
		for range conn.Inbox() { // the world, read and let go
		}
	}()

	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ack := int32(-1)
		for range 10 {
			evs, id := r.poll(t, d.SeedCapability, ack)
			ack = id
			for _, ev := range evs {
				if m, _ := llsd.AsMap(ev); m.String("message") == "TeleportFinish" {
					log("TeleportFinish")
					return
				}
			}
		}
	}()
	if err := conn.Send(&msg.TeleportLocationRequest{
		AgentData: msg.TeleportLocationRequestAgentData{AgentID: c.Agent, SessionID: c.Session},
		Info:      msg.TeleportLocationRequestInfo{RegionHandle: uint64(ritual.HandleFromGrid(1001, 1000)), Position: ritual.Vector3{X: 10, Y: 20, Z: 30}},
	}, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("no TeleportFinish on the event queue")
	}
	mu.Lock()
	defer mu.Unlock()
	i := slices.Index(order, "TeleportFinish")
	before := order[:max(i, 0)]
	if i < 0 || slices.Index(before, "TeleportStart") < 0 || len(slices.DeleteFunc(slices.Clone(before), func(s string) bool { return s != "TeleportProgress" })) < 2 {
		t.Errorf("the client had %v: TeleportFinish came before TeleportStart and both TeleportProgress", order)
	}
}
