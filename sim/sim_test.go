package sim_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/terrain"
	"ritual/sim"
	"ritual/store/sqlite"
	"ritual/trace"
	"ritual/trace/tracetest"
)

type rig struct {
	region *sim.Region
	addr   netip.AddrPort
	rec    *trace.Memory
	router *caps.Router
	store  *sqlite.Store
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigWith(t, nil)
}

// newRigWith is newRig with mod applied to the region's config.
func newRigWith(t *testing.T, mod func(*sim.Config)) *rig {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &trace.Memory{}
	router := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:9", Inventory: st.Inventory()})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{
		Store: st, Caps: router, SimIP: netip.MustParseAddr("127.0.0.1"),
		SimPort:  uint16(pc.LocalAddr().(*net.UDPAddr).Port),
		Recorder: rec, CircuitTTL: 5 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := sim.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	go r.Serve(pc)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return &rig{region: r, addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), rec: rec, router: router, store: st}
}

func (r *rig) provision(t *testing.T, code uint32) login.Circuit {
	t.Helper()
	c := login.Circuit{
		Code: code, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: "Test", Last: "User", Start: "last", Expiry: time.Now().Add(5 * time.Second),
	}
	d, err := r.region.Provision(t.Context(), c)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if d.SimPort != r.addr.Port() || d.SimIP.String() != "127.0.0.1" || !strings.HasPrefix(d.SeedCapability, "http://127.0.0.1:9/CAPS/") {
		t.Fatalf("destination = %+v", d)
	}
	if d.Handle != ritual.HandleFromGrid(1000, 1000) {
		t.Fatalf("handle = %v", d.Handle)
	}
	return c
}

// dial opens a client circuit to the region.
func (r *rig) dial(t *testing.T) *circuit.Conn {
	t.Helper()
	return r.dialWith(t, circuit.Config{Side: trace.Client, PingInterval: -1})
}

// dialWith opens a client circuit configured by cfg.
func (r *rig) dialWith(t *testing.T, cfg circuit.Config) *circuit.Conn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := circuit.NewTransport(pc, circuit.TransportConfig{})
	go tr.Serve()
	t.Cleanup(func() { tr.Close() })
	c, err := tr.Open(r.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ucc(c login.Circuit) *msg.UseCircuitCode {
	return &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{Code: c.Code, SessionID: c.Session, ID: c.Agent}}
}

// next returns the next message of type M from conn, skipping others.
func next[M msg.Message](t *testing.T, conn *circuit.Conn, within time.Duration) M {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case in, ok := <-conn.Inbox():
			if !ok {
				t.Fatalf("circuit closed waiting for %T: %v", *new(M), conn.Err())
			}
			if m, ok := in.Message.(M); ok {
				return m
			}
		case <-deadline:
			var zero M
			t.Fatalf("no %T within %v", zero, within)
			return zero
		}
	}
}

func TestRitual(t *testing.T) {
	r := newRig(t)
	c := r.provision(t, 473293782)
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatalf("UseCircuitCode not acked: %v", err)
	}
	cam := &msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}
	if err := conn.Send(cam, true); err != nil {
		t.Fatal(err)
	}
	// RegionHandshake comes first, then AgentMovementComplete, then the
	// agent's own avatar.
	var order []string
	var hs *msg.RegionHandshake
	var amc *msg.AgentMovementComplete
	var avatar *msg.ObjectUpdate
	for amc == nil || avatar == nil {
		in := <-conn.Inbox()
		order = append(order, in.Message.Name())
		switch m := in.Message.(type) {
		case *msg.RegionHandshake:
			hs = m
		case *msg.AgentMovementComplete:
			amc = m
		case *msg.ObjectUpdate:
			avatar = m
		}
	}
	if strings.Join(order, ",") != "RegionHandshake,AgentMovementComplete,ObjectUpdate" {
		t.Fatalf("order = %v", order)
	}
	if string(hs.RegionInfo.SimName) != "Ritual\x00" || hs.RegionInfo.WaterHeight != 20 {
		t.Fatalf("handshake %q water %v", hs.RegionInfo.SimName, hs.RegionInfo.WaterHeight)
	}
	if amc.Data.RegionHandle != uint64(ritual.HandleFromGrid(1000, 1000)) || amc.Data.Position.X != 128 {
		t.Fatalf("movement complete %+v", amc.Data)
	}
	if od := avatar.ObjectData[0]; od.FullID != c.Agent || od.PCode != 47 || !strings.Contains(string(od.NameValue), "FirstName STRING RW SV Test") {
		t.Fatalf("avatar update %+v", od)
	}
	// The reply brings the whole terrain and every prim.
	reply := &msg.RegionHandshakeReply{AgentData: msg.RegionHandshakeReplyAgentData{AgentID: c.Agent, SessionID: c.Session}}
	reply.RegionInfo.Flags = 5
	conn.Send(reply, true)
	hm, _ := terrain.NewHeightmap(256, 256)
	seen := map[[2]int]bool{}
	prims := map[uint32]bool{}
	timeout := time.After(5 * time.Second)
	for len(seen) < 256 || len(prims) < r.region.Objects() {
		select {
		case in := <-conn.Inbox():
			switch m := in.Message.(type) {
			case *msg.LayerData:
				ps, lt, err := terrain.DecodePatches(m.LayerData.Data, nil)
				if err != nil || lt != terrain.LayerLand {
					t.Fatalf("LayerData: %v %v", lt, err)
				}
				for i := range ps {
					seen[[2]int{ps[i].X, ps[i].Y}] = true
					hm.ApplyPatch(&ps[i])
				}
			case *msg.ObjectUpdate:
				for _, od := range m.ObjectData {
					if od.PCode == 9 {
						prims[od.ID] = true
					}
				}
			}
		case <-timeout:
			t.Fatalf("after 5 s: %d patches, %d of %d prims", len(seen), len(prims), r.region.Objects())
		}
	}
	if r.region.Objects() < 12 {
		t.Fatalf("scene has %d prims, want at least a dozen", r.region.Objects())
	}
	// The decoded terrain is the region's, within the codec's error.
	want := r.region.Heightmap()
	var lo, hi float32 = 1e9, -1e9
	for i, z := range want.Heights {
		if d := hm.Z[i] - z; d > 1 || d < -1 {
			t.Fatalf("height %d: got %v want %v", i, hm.Z[i], z)
		}
		lo, hi = min(lo, z), max(hi, z)
	}
	if lo >= sim.DefaultWaterHeight || hi <= sim.DefaultWaterHeight+5 {
		t.Fatalf("terrain %v..%v has no shoreline and hills", lo, hi)
	}
	// Logout is always answered.
	conn.Send(&msg.LogoutRequest{AgentData: msg.LogoutRequestAgentData{AgentID: c.Agent, SessionID: c.Session}}, true)
	lr := next[*msg.LogoutReply](t, conn, 3*time.Second)
	if lr.AgentData.AgentID != c.Agent {
		t.Fatalf("LogoutReply for %s", lr.AgentData.AgentID)
	}
	tracetest.ExpectOrder(t, r.rec.Events(),
		"[SERVER] [UDP] VALIDATE UseCircuitCode",
		"[SERVER] [UDP] RECV UseCircuitCode",
		"[SERVER] [UDP] RECV CompleteAgentMovement",
		"[SERVER] [UDP] SEND RegionHandshake",
		"[SERVER] [UDP] SEND AgentMovementComplete",
		"[SERVER] [UDP] RECV RegionHandshakeReply",
		"[SERVER] [UDP] SEND LayerData",
		"[SERVER] [UDP] RECV LogoutRequest",
		"[SERVER] [UDP] SEND LogoutReply",
	)
	// The region never appends acks (OpenSimulator does not, and
	// node-metaverse misreads them); it sends PacketAck instead.
	for _, p := range tracetest.All[*trace.Packet](r.rec.Events()) {
		if p.Side == trace.Server && p.Dir == trace.Send && p.Acks > 0 {
			t.Fatalf("region sent %s with %d appended acks", p.Message, p.Acks)
		}
	}
	if got := r.region.Counters(); got.Accepted != 1 || got.Logouts != 1 {
		t.Fatalf("counters %+v", got)
	}
}

func TestRejects(t *testing.T) {
	r := newRig(t)
	good := r.provision(t, 1111)
	tests := []struct {
		name string
		m    *msg.UseCircuitCode
		why  string
	}{
		{"unknown code", ucc(login.Circuit{Code: 999, Agent: good.Agent, Session: good.Session}), "unknown circuit code"},
		{"wrong session", ucc(login.Circuit{Code: good.Code, Agent: good.Agent, Session: ritual.NewUUID()}), "session does not match"},
		{"wrong agent", ucc(login.Circuit{Code: good.Code, Agent: ritual.NewUUID(), Session: good.Session}), "agent does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := r.dial(t)
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			defer cancel()
			if err := conn.SendAcked(ctx, tt.m); err == nil {
				t.Fatal("a bad UseCircuitCode was acknowledged")
			}
			select {
			case in := <-conn.Inbox():
				t.Fatalf("got %s", in.Message.Name())
			default:
			}
			var found bool
			for _, c := range tracetest.All[*trace.CircuitCheck](r.rec.Events()) {
				found = found || (!c.OK && strings.Contains(c.Reason, tt.why))
			}
			if !found {
				t.Fatalf("no REJECT saying %q", tt.why)
			}
		})
	}
	// Garbage from a stranger is dropped and counted; the good circuit
	// still works afterwards.
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer pc.Close()
	for _, d := range [][]byte{{1, 2, 3}, {0x40, 0, 0, 0, 1, 0, 0xff, 0xff, 0, 3}, make([]byte, 1500)} {
		pc.WriteTo(d, net.UDPAddrFromAddrPort(r.addr))
	}
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(good)); err != nil {
		t.Fatalf("good circuit after bad input: %v", err)
	}
	if c := r.region.Counters(); c.Rejected < 4 || c.Stray < 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestSecondLoginEndsFirst(t *testing.T) {
	r := newRig(t)
	first := r.provision(t, 2222)
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(first)); err != nil {
		t.Fatal(err)
	}
	// The same agent logs in again.
	second := first
	second.Code, second.Session = 3333, ritual.NewUUID()
	if _, err := r.region.Provision(ctx, second); err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	k := next[*msg.KickUser](t, conn, 3*time.Second)
	if !strings.Contains(string(k.UserInfo.Reason), "another place") {
		t.Fatalf("kick reason %q", k.UserInfo.Reason)
	}
	conn2 := r.dial(t)
	if err := conn2.SendAcked(ctx, ucc(second)); err != nil {
		t.Fatalf("second circuit: %v", err)
	}
}

func TestCloseTellsAgents(t *testing.T) {
	r := newRig(t)
	c := r.provision(t, 4444)
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- r.region.Close(ctx) }()
	k := next[*msg.KickUser](t, conn, 3*time.Second)
	if !strings.Contains(string(k.UserInfo.Reason), "shutting down") {
		t.Fatalf("reason %q", k.UserInfo.Reason)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := r.region.Provision(ctx, login.Circuit{Code: 5, Agent: ritual.NewUUID()}); err == nil {
		t.Fatal("a closed region provisioned a circuit")
	}
}
