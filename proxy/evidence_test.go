package proxy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
)

// TestEvidenceFindsTheSideAtFault: what only an observer of both sides
// can tell, from the datagrams it relayed.
func TestEvidenceFindsTheSideAtFault(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	loggedIn := func() *evidence {
		e := &evidence{loginAt: t0, patchesOf: 256}
		e.login("127.0.0.1", 9001, "http://127.0.0.1:9000/CAPS/a/")
		return e
	}
	// handshaken: the circuit is up, the region placed the agent.
	handshaken := func() *evidence {
		e := loggedIn()
		e.udp(at(10), trace.Client, "UseCircuitCode", 1, true, false, nil, nil)
		e.udp(at(11), trace.Server, "PacketAck", 1, false, false, nil, trace.Fields{{Key: "ids", Value: "1"}})
		e.udp(at(12), trace.Client, "CompleteAgentMovement", 2, true, false, nil, nil)
		e.udp(at(13), trace.Server, "RegionHandshake", 2, true, false, nil, nil)
		e.udp(at(14), trace.Server, "AgentMovementComplete", 3, true, false, nil, nil)
		return e
	}
	for _, tc := range []struct {
		name  string
		e     func() *evidence
		now   time.Time
		kind  cause.Kind
		fault cause.Side
		text  string
	}{
		{"client never sent UseCircuitCode", loggedIn, at(5000), cause.ClientNoCircuit, cause.Client, "the client never sent UseCircuitCode; the login service gave sim 127.0.0.1:9001"},
		{"region never answered", func() *evidence {
			e := loggedIn()
			for i := range 3 {
				e.udp(at(10+i*1000), trace.Client, "UseCircuitCode", 1, true, false, nil, nil)
			}
			return e
		}, at(5000), cause.CircuitUnanswered, cause.Region, "the region never answered UseCircuitCode (sent 3 times); the login service gave sim 127.0.0.1:9001"},
		{"client stopped acknowledging", func() *evidence {
			e := handshaken()
			e.udp(at(20), trace.Client, "PacketAck", 3, false, false, nil, trace.Fields{{Key: "ids", Value: "2,3"}})
			e.udp(at(21), trace.Client, "RegionHandshakeReply", 4, true, false, []uint32{41}, nil)
			for i := range 5 {
				e.udp(at(100+i*500), trace.Server, "ObjectUpdate", 42, true, false, nil, trace.Fields{{Key: "objects", Value: "1"}})
			}
			return e
		}, at(5000), cause.ClientSilent, cause.Client, "the client stopped acknowledging after seq 41"},
		{"client never sent RegionHandshakeReply", func() *evidence {
			e := handshaken()
			e.udp(at(15), trace.Client, "PacketAck", 3, false, false, nil, trace.Fields{{Key: "ids", Value: "2,3"}})
			return e
		}, at(1500), cause.NoObjects, cause.Client, "the region sent no object in"},
		{"region kicked the agent", func() *evidence {
			e := handshaken()
			e.udp(at(30), trace.Server, "KickUser", 9, true, false, nil, trace.Fields{{Key: "Reason", Value: "bye"}})
			return e
		}, at(100), cause.Kicked, cause.Region, `the region disconnected the agent (KickUser): "bye"`},
		{"terrain cut short", func() *evidence {
			e := handshaken()
			e.udp(at(20), trace.Client, "RegionHandshakeReply", 4, true, false, nil, nil)
			e.udp(at(21), trace.Server, "ObjectUpdate", 5, true, false, nil, trace.Fields{{Key: "objects", Value: "3"}})
			e.udp(at(22), trace.Server, "LayerData", 6, true, false, nil, trace.Fields{{Key: "layer", Value: "land"}, {Key: "patches", Value: "17"}})
			e.udp(at(23), trace.Server, "LayerData", 6, true, true, nil, trace.Fields{{Key: "layer", Value: "land"}, {Key: "patches", Value: "17"}}) // a duplicate counts once
			e.udp(at(24), trace.Server, "LayerData", 7, true, false, nil, trace.Fields{{Key: "layer", Value: "wind"}, {Key: "patches", Value: "4"}})
			e.udp(at(900), trace.Client, "AgentUpdate", 9, false, false, []uint32{5, 6, 7}, nil)
			return e
		}, at(1000), cause.TerrainShort, cause.Region, "the region sent 17 of 256 terrain patches and nothing since"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := tc.e().find(tc.now, time.Second, time.Minute)
			if !ok || c.Kind != tc.kind || c.Fault != tc.fault || !strings.HasPrefix(c.Text, tc.text) {
				t.Errorf("found %v %+v; want %s at the %s's fault: %q", ok, c, tc.kind, tc.fault, tc.text)
			}
		})
	}
	// A complete ritual with a healthy event queue has nothing to tell.
	e := handshaken()
	e.udp(at(20), trace.Client, "RegionHandshakeReply", 4, true, false, nil, nil)
	e.udp(at(21), trace.Server, "ObjectUpdate", 5, true, false, nil, trace.Fields{{Key: "objects", Value: "3"}})
	e.udp(at(22), trace.Server, "LayerData", 6, true, false, nil, trace.Fields{{Key: "layer", Value: "land"}, {Key: "patches", Value: "256"}})
	if c, ok := e.find(at(5000), time.Second, time.Minute); ok || !e.complete() {
		t.Errorf("a complete ritual was diagnosed: %+v", c)
	}
	if e.sim != netip.MustParseAddrPort("127.0.0.1:9001") {
		t.Errorf("sim %v", e.sim)
	}
}
