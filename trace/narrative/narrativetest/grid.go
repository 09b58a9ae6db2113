package narrativetest

import (
	"time"

	"ritual"
	"ritual/trace"
)

// The neighbour of the Grid stream.
const (
	EastRegion = "Ritual East"
	EastAddr   = "127.0.0.1:9001"
	EastSeed   = "http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/"
	eastEnd    = "region 1001,1000"
	eastCaps   = "caps 1001,1000"
)

// lanePacket records the client's SEND or RECV of p on the circuit to
// the region lane end.
func (s *script) lanePacket(ms float64, end string, dir trace.Direction, seq uint32, p pk) {
	h := hdr(trace.Client, trace.UDP, trace.EndClient, end)
	if dir == trace.Recv {
		h = hdr(trace.Client, trace.UDP, end, trace.EndClient)
	}
	s.at(ms, &trace.Packet{Header: h, Dir: dir, Message: p.msg, Seq: seq, Reliable: p.reliable,
		Zerocoded: p.zerocoded, Size: p.size, Circuit: CircuitCode, Fields: p.fields})
}

func (s *script) region(ms float64, rc trace.RegionChange) {
	rc.Header = hdr(trace.Client, trace.UDP, trace.EndClient, trace.EndClient)
	s.at(ms, &rc)
}

// Grid returns the client's view of Ritual (as Only(Ritual(), Client))
// followed by three rituals in other regions, as package client records
// them: the east neighbour's child circuit (EnableSimulator,
// EstablishAgentCommunication, its handshake, terrain and capabilities), a
// border crossing into it, a teleport back to the login region by name
// (the login circuit reused), and a teleport the region refuses.
func Grid() []trace.Event {
	s := newScript()
	s.evs = Only(Ritual(), trace.Client)
	east := uint64(ritual.HandleFromGrid(1001, 1000))
	home := uint64(ritual.HandleFromGrid(1000, 1000))
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

	// A neighbour.
	s.region(100, trace.RegionChange{Kind: trace.ChildOpen, Handle: east, Remote: EastAddr, End: eastEnd})
	s.lanePacket(100.2, eastEnd, trace.Send, 0, useCircuitCode())
	s.region(100.4, trace.RegionChange{Kind: trace.ChildSeed, Handle: east, Remote: EastAddr, End: eastEnd, Seed: EastSeed})
	s.lanePacket(100.9, eastEnd, trace.Recv, 0, pk{msg: "RegionHandshake", reliable: true, zerocoded: true, size: 214,
		fields: trace.Fields{f("RegionName", EastRegion), f("SimAccess", "Mature")}})
	s.region(101.0, trace.RegionChange{Kind: trace.ChildReady, Region: EastRegion, Handle: east, Remote: EastAddr, End: eastEnd, Elapsed: ms(1.0)})
	s.lanePacket(101.1, eastEnd, trace.Send, 1, regionHandshakeReply())
	s.at(101.3, &trace.SeedRequest{Header: hdr(trace.Client, trace.Caps, trace.EndClient, eastCaps), URL: EastSeed, Names: usedCaps})
	s.at(102.1, &trace.SeedGrant{Header: hdr(trace.Client, trace.Caps, eastCaps, trace.EndClient), Status: 200, Granted: grantedCaps})
	s.at(102.3, &trace.EQPoll{Header: hdr(trace.Client, trace.EQ, trace.EndClient, eastCaps)})
	for k, n := range []int{100, 100, 56} {
		s.lanePacket(103+float64(k), eastEnd, trace.Recv, uint32(1+k), layerData(n, 900, "land"))
	}
	s.lanePacket(106, eastEnd, trace.Recv, 4, objectUpdate(2, "prim:2", 600))

	// A crossing.
	pos := ritual.Vector3{X: 0.3, Y: 128, Z: 25}
	s.region(300, trace.RegionChange{Kind: trace.CrossStart, Handle: east, Remote: EastAddr, End: eastEnd, Seed: EastSeed, Position: &pos})
	s.lanePacket(300.2, eastEnd, trace.Send, 2, useCircuitCode())
	s.lanePacket(300.6, eastEnd, trace.Send, 3, completeAgentMovement())
	s.lanePacket(301.4, eastEnd, trace.Recv, 5, pk{msg: "AgentMovementComplete", reliable: true, size: 95,
		fields: trace.Fields{f("Position", "<0.3, 128, 25>"), f("RegionHandle", ritual.RegionHandle(east).String())}})
	s.region(301.5, trace.RegionChange{Kind: trace.CrossComplete, Region: EastRegion, Handle: east, Remote: EastAddr, End: eastEnd, Position: &pos, Elapsed: ms(1.5)})

	// A teleport back, by name.
	to := ritual.Vector3{X: 250, Y: 128, Z: 30}
	s.region(599.9, trace.RegionChange{Kind: trace.TeleportRequest, Region: Region, Position: &to})
	s.lanePacket(600, eastEnd, trace.Send, 4, pk{msg: "MapNameRequest", reliable: true, size: 60, fields: trace.Fields{f("Name", Region)}})
	s.lanePacket(600.8, eastEnd, trace.Recv, 6, pk{msg: "MapBlockReply", reliable: true, size: 90, fields: trace.Fields{f("blocks", "2")}})
	s.lanePacket(601.1, eastEnd, trace.Send, 5, pk{msg: "TeleportLocationRequest", reliable: true, size: 76})
	s.lanePacket(602.4, eastEnd, trace.Recv, 7, pk{msg: "TeleportStart", reliable: true, size: 14, fields: trace.Fields{f("TeleportFlags", "0x10")}})
	s.region(602.5, trace.RegionChange{Kind: trace.TeleportStart, Flags: 0x10, Elapsed: ms(1.5)})
	s.region(693, trace.RegionChange{Kind: trace.TeleportFinish, Handle: home, Remote: SimIP + ":9000", End: trace.EndRegion,
		Seed: SeedCap, Flags: 0x10, Elapsed: ms(92)})
	s.lanePacket(693.2, trace.EndRegion, trace.Send, 40, useCircuitCode())
	s.lanePacket(693.9, trace.EndRegion, trace.Send, 41, completeAgentMovement())
	s.lanePacket(694.6, trace.EndRegion, trace.Recv, 60, regionHandshake())
	s.lanePacket(694.7, trace.EndRegion, trace.Recv, 61, agentMovementComplete())
	s.lanePacket(694.9, trace.EndRegion, trace.Send, 42, regionHandshakeReply())
	back := ritual.Vector3{X: 250, Y: 128, Z: 30}
	s.region(695, trace.RegionChange{Kind: trace.TeleportArrived, Region: Region, Handle: home, Remote: SimIP + ":9000",
		End: trace.EndRegion, Position: &back, Elapsed: ms(94)})
	s.region(720, trace.RegionChange{Kind: trace.RegionComplete, Region: Region, Handle: home, Remote: SimIP + ":9000",
		End: trace.EndRegion, Objects: 15, Patches: 256, Of: 256, Elapsed: ms(120.1)})

	// A teleport refused.
	far := uint64(ritual.HandleFromGrid(5000, 5000))
	s.region(900, trace.RegionChange{Kind: trace.TeleportRequest, Handle: far, Position: &to})
	s.lanePacket(900.1, trace.EndRegion, trace.Send, 43, pk{msg: "TeleportLocationRequest", reliable: true, size: 76})
	s.lanePacket(901.3, trace.EndRegion, trace.Recv, 62, pk{msg: "TeleportFailed", reliable: true, size: 70,
		fields: trace.Fields{f("Reason", "The region you tried to teleport to does not exist.")}})
	s.region(901.4, trace.RegionChange{Kind: trace.TeleportFailed, Handle: far,
		Reason: "The region you tried to teleport to does not exist. (the agent stays in " + Region + ")", Elapsed: ms(1.4)})
	return s.done()
}
