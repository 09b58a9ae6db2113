package sim_test

import (
	"context"
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/terrain"
	"ritual/sim"
	"ritual/store"
	"ritual/store/sqlite"
	"ritual/trace"
)

// sceneOf returns n prims: the generated scene, repeated with shifted
// copies.
func sceneOf(hm store.Heightmap, n int) []store.Object {
	base := sim.GenerateScene(hm, ritual.ZeroUUID, 1000)
	objs := make([]store.Object, 0, n)
	for k := 0; len(objs) < n; k++ {
		for _, o := range base {
			if len(objs) == n {
				break
			}
			if k > 0 {
				o.ID = ritual.NewUUID()
				o.Position.X = float32(math.Mod(float64(o.Position.X)+float64(k)*3, 250)) + 3
			}
			o.LocalID = uint32(1000 + len(objs))
			objs = append(objs, o)
		}
	}
	return objs
}

// sceneRegion serves a region of n prims on loopback.
func sceneRegion(tb testing.TB, n int) (*sim.Region, netip.AddrPort) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	info := store.Region{ID: ritual.NewUUID(), Name: "Ritual", GridX: 1000, GridY: 1000, SizeX: ritual.RegionSize, SizeY: ritual.RegionSize}
	if err := st.Regions().Create(ctx, &info); err != nil {
		tb.Fatal(err)
	}
	hm := sim.GenerateTerrain(int(info.SizeX), int(info.SizeY))
	if err := st.Terrain().Save(ctx, info.ID, hm); err != nil {
		tb.Fatal(err)
	}
	if err := st.Objects().Save(ctx, info.ID, sceneOf(hm, n)...); err != nil {
		tb.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	router := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:9", Inventory: st.Inventory()})
	r, err := sim.Open(ctx, sim.Config{Store: st, Caps: router, SimIP: netip.MustParseAddr("127.0.0.1"), SimPort: uint16(pc.LocalAddr().(*net.UDPAddr).Port)})
	if err != nil {
		tb.Fatal(err)
	}
	if r.Objects() != n {
		tb.Fatalf("region has %d prims, want %d", r.Objects(), n)
	}
	go r.Serve(pc)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		r.Close(ctx)
	})
	return r, pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// streamScene runs one agent's ritual against the region and returns when
// every prim and every terrain patch has arrived, after logging out.
func streamScene(tb testing.TB, r *sim.Region, addr netip.AddrPort, code uint32, prims int) {
	c := login.Circuit{
		Code: code, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: "Bench", Last: "Bot", Expiry: time.Now().Add(time.Minute),
	}
	if _, err := r.Provision(context.Background(), c); err != nil {
		tb.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tr := circuit.NewTransport(pc, circuit.TransportConfig{})
	go tr.Serve()
	defer tr.Close()
	conn, err := tr.Open(addr, circuit.Config{Side: trace.Client, PingInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		tb.Fatal(err)
	}
	conn.Send(&msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}, true)
	seen, patches := 0, 0
	var dec terrain.Decoder
	count := func(*terrain.Patch) error { patches++; return nil }
	for seen < prims || patches < 256 {
		var in circuit.Inbound
		select {
		case in = <-conn.Inbox():
		case <-ctx.Done():
			tb.Fatalf("after 20 s: %d of %d prims, %d patches", seen, prims, patches)
		}
		switch m := in.Message.(type) {
		case *msg.RegionHandshake:
			conn.Send(&msg.RegionHandshakeReply{AgentData: msg.RegionHandshakeReplyAgentData{AgentID: c.Agent, SessionID: c.Session}}, true)
		case *msg.LayerData:
			if _, err := dec.Decode(m.LayerData.Data, count); err != nil {
				tb.Fatal(err)
			}
		case *msg.ObjectUpdate:
			for _, od := range m.ObjectData {
				if od.PCode == 9 {
					seen++
				}
			}
		}
	}
	conn.Send(&msg.LogoutRequest{AgentData: msg.LogoutRequestAgentData{AgentID: c.Agent, SessionID: c.Session}}, true)
	for {
		select {
		case in, ok := <-conn.Inbox():
			if !ok {
				return
			}
			if _, ok := in.Message.(*msg.LogoutReply); ok {
				return
			}
		case <-ctx.Done():
			tb.Fatal("no LogoutReply")
		}
	}
}

// BenchmarkStreamScene sends a region of 1,000 prims (and its 256 terrain
// patches) to one agent over loopback: provisioning, UseCircuitCode,
// handshake, every LayerData and ObjectUpdate, logout. Time and
// allocations are both sides' (the client decodes every message).
func BenchmarkStreamScene(b *testing.B) {
	const prims = 1000
	r, addr := sceneRegion(b, prims)
	code := uint32(1)
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		streamScene(b, r, addr, code, prims)
		code++
	}
	b.ReportMetric(float64(prims)*float64(code-1)/time.Since(start).Seconds(), "prims/s")
	var out uint64
	for _, m := range r.Messages() {
		if m.Name == "ObjectUpdate" {
			out = m.Out
		}
	}
	b.ReportMetric(float64(out)/float64(code-1), "ObjectUpdates/op")
}

// TestStreamScene checks what the benchmark measures: every one of 1,000
// prims and 256 patches reaches the agent.
func TestStreamScene(t *testing.T) {
	r, addr := sceneRegion(t, 1000)
	streamScene(t, r, addr, 1, 1000)
	if got := slices.IndexFunc(r.Messages(), func(m sim.MessageCount) bool { return m.Name == "ObjectUpdate" && m.Out > 1 }); got < 0 {
		t.Fatal("no ObjectUpdates counted")
	}
}
