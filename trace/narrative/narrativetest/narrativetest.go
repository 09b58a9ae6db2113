package narrativetest

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"ritual"
	"ritual/trace"
	"ritual/trace/cause"
)

// The values the streams carry, for tests to look for.
const (
	First       = "Test"
	Last        = "User"
	Agent       = "2e3fc297-1d6f-493e-aa23-d69777db3cbe"
	Session     = "19d83417-3dc6-4dd7-b6df-d55afff6d84d"
	SeedCap     = "http://127.0.0.1:9000/CAPS/fe6e667f-34d0-41c8-b862-def06fd07fed0000/"
	CircuitCode = 473293782
	Region      = "Default Region"
	LoginURI    = "http://127.0.0.1:9000/"
	SimIP       = "127.0.0.1"
	SimPort     = 9000
	ClientAddr  = "127.0.0.1:51234"
	Position    = "<128, 128, 26.03416>"
	LookAt      = "<0.99, 0.042, 0>"
)

// Start is the time of the first event of every stream.
var Start = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Only returns the events of one side, as a recorder on that side alone
// would have seen them.
func Only(events []trace.Event, side trace.Side) []trace.Event {
	var out []trace.Event
	for _, ev := range events {
		if ev.Head().Side == side {
			out = append(out, ev)
		}
	}
	return out
}

// script builds a stream; times are milliseconds after Start.
type script struct {
	evs []trace.Event
	seq map[trace.Side]uint32 // next sequence number each side sends
}

func newScript() *script {
	return &script{seq: map[trace.Side]uint32{}}
}

func (s *script) at(ms float64, ev trace.Event) {
	ev.Head().Time = Start.Add(time.Duration(math.Round(ms * float64(time.Millisecond))))
	s.evs = append(s.evs, ev)
}

// done returns the events in time order, as one recorder would hold them.
func (s *script) done() []trace.Event {
	slices.SortStableFunc(s.evs, func(a, b trace.Event) int { return a.Head().Time.Compare(b.Head().Time) })
	return s.evs
}

func hdr(side trace.Side, layer trace.Layer, from, to string) trace.Header {
	return trace.Header{Side: side, Layer: layer, From: from, To: to}
}

func other(side trace.Side) trace.Side {
	if side == trace.Client {
		return trace.Server
	}
	return trace.Client
}

// udpHeader is the header of a packet observed by side, sent by sender.
func udpHeader(side, sender trace.Side) trace.Header {
	if sender == trace.Client {
		return hdr(side, trace.UDP, trace.EndClient, trace.EndRegion)
	}
	return hdr(side, trace.UDP, trace.EndRegion, trace.EndClient)
}

// pk describes one packet.
type pk struct {
	msg       string
	reliable  bool
	zerocoded bool
	size      int
	fields    trace.Fields
}

func f(key, value string) trace.Field { return trace.Field{Key: key, Value: value} }
func secret(key, value string) trace.Field {
	return trace.Field{Key: key, Value: value, Secret: true}
}

// send records sender's SEND of p at ms, with the next sequence number.
func (s *script) send(ms float64, sender trace.Side, p pk) *trace.Packet {
	ev := &trace.Packet{
		Header: udpHeader(sender, sender), Dir: trace.Send, Message: p.msg, Seq: s.seq[sender],
		Reliable: p.reliable, Zerocoded: p.zerocoded, Size: p.size, Circuit: CircuitCode, Fields: p.fields,
	}
	s.seq[sender]++
	s.at(ms, ev)
	return ev
}

// resend records sender's SEND of a resent copy of sent at ms.
func (s *script) resend(ms float64, sent *trace.Packet) *trace.Packet {
	c := *sent
	c.Resent = true
	s.at(ms, &c)
	return &c
}

// recv records the other side's RECV of sent at ms.
func (s *script) recv(ms float64, sent *trace.Packet) *trace.Packet {
	c := *sent
	c.Header = udpHeader(other(sent.Side), sent.Side)
	c.Dir = trace.Recv
	c.Fields = slices.Clone(sent.Fields)
	s.at(ms, &c)
	return &c
}

// fly records a SEND at ms and its RECV latency ms later.
func (s *script) fly(ms, latency float64, sender trace.Side, p pk) *trace.Packet {
	sent := s.send(ms, sender, p)
	s.recv(ms+latency, sent)
	return sent
}

// ack records sender's PacketAck of ids at ms, received 0.2 ms later
// unless lost.
func (s *script) ack(ms float64, sender trace.Side, lost bool, ids ...uint32) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.FormatUint(uint64(id), 10)
	}
	p := pk{msg: "PacketAck", size: 7 + 4*len(ids), fields: trace.Fields{f("ids", strings.Join(strs, ","))}}
	sent := s.send(ms, sender, p)
	if !lost {
		s.recv(ms+0.2, sent)
	}
}

func (s *script) milestone(ms float64, m trace.Milestone) {
	m.Header = hdr(trace.Client, trace.UDP, trace.EndClient, trace.EndClient)
	s.at(ms, &m)
}

// stats counts what side's circuit carried, as the circuit itself would.
func (s *script) stats(side trace.Side) trace.CircuitStats {
	var st trace.CircuitStats
	for _, ev := range s.evs {
		if ev.Head().Side != side {
			continue
		}
		switch e := ev.(type) {
		case *trace.Packet:
			acks := 0
			if e.Message == "PacketAck" {
				v, _ := e.Fields.Get("ids")
				acks = strings.Count(v, ",") + 1
			}
			if e.Dir == trace.Send {
				st.PacketsSent++
				st.BytesSent += e.Size
				st.AcksSent += acks
				if e.Resent {
					st.Resent++
				}
			} else {
				st.PacketsRecv++
				st.BytesRecv += e.Size
				st.AcksRecv += acks
			}
		case *trace.Anomaly:
			switch e.Kind {
			case trace.AnomalyDuplicate:
				st.Duplicates++
			case trace.AnomalyDropped:
				st.Dropped++
			}
		}
	}
	return st
}

func (s *script) closed(ms float64, side trace.Side, reason string) {
	s.at(ms, &trace.CircuitClosed{Header: udpHeader(side, side), Code: CircuitCode, Reason: reason, Stats: s.stats(side)})
}

func agent() ritual.UUID { return ritual.MustParseUUID(Agent) }

// login records a successful XML-RPC login on both sides, ending at about
// 3 ms.
func (s *script) login() {
	s.at(0, &trace.LoginStart{Header: hdr(trace.Client, trace.Login, trace.EndClient, trace.EndLogin),
		URI: LoginURI, First: First, Last: Last, Format: "xmlrpc"})
	s.at(0.85, &trace.LoginRequest{Header: hdr(trace.Server, trace.Login, trace.EndClient, trace.EndLogin),
		Format: "xmlrpc", First: First, Last: Last, Channel: "Ritual", Version: "0.1.0", Platform: "Lnx",
		Start: "last", Remote: "127.0.0.1:51230"})
	s.at(1.42, &trace.LoginAuth{Header: hdr(trace.Server, trace.Login, trace.EndLogin, trace.EndLogin),
		OK: true, Agent: agent(), First: First, Last: Last})
	s.at(1.61, &trace.CircuitProvision{Header: hdr(trace.Server, trace.Login, trace.EndLogin, trace.EndRegion),
		Code: CircuitCode, Agent: agent(), Session: Session, Region: Region, Expiry: Start.Add(1610*time.Microsecond + 60*time.Second)})
	resp := trace.LoginResponse{OK: true, Agent: agent(), Session: Session, CircuitCode: CircuitCode,
		SimIP: SimIP, SimPort: SimPort, RegionX: 256000, RegionY: 256000, SeedCapability: SeedCap, Status: 200}
	server, client := resp, resp
	server.Header = hdr(trace.Server, trace.Login, trace.EndLogin, trace.EndClient)
	server.Elapsed = 1530 * time.Microsecond
	client.Header = hdr(trace.Client, trace.Login, trace.EndLogin, trace.EndClient)
	client.Elapsed = 2910 * time.Microsecond
	s.at(2.38, &server)
	s.at(2.91, &client)
	s.at(3.05, &trace.LoginProgress{Header: hdr(trace.Client, trace.Login, trace.EndClient, trace.EndClient),
		Stage: "ConnectingToSim", Detail: SimIP + ":" + strconv.Itoa(SimPort)})
}

var (
	usedCaps    = []string{"EventQueueGet", "SimulatorFeatures", "FetchInventoryDescendents2", "FetchInventory2", "GetTexture", "GetMesh", "ViewerAsset", "UploadBakedTexture"}
	grantedCaps = []string{"EventQueueGet", "SimulatorFeatures", "FetchInventoryDescendents2", "FetchInventory2", "GetTexture", "GetMesh", "ViewerAsset"}
)

func useCircuitCode() pk {
	return pk{msg: "UseCircuitCode", reliable: true, size: 60, fields: trace.Fields{
		f("CircuitCode", strconv.Itoa(CircuitCode)), secret("SessionID", Session), f("ID", Agent)}}
}

func completeAgentMovement() pk {
	return pk{msg: "CompleteAgentMovement", reliable: true, size: 52, fields: trace.Fields{
		f("AgentID", Agent), secret("SessionID", Session), f("CircuitCode", strconv.Itoa(CircuitCode))}}
}

func regionHandshake() pk {
	return pk{msg: "RegionHandshake", reliable: true, zerocoded: true, size: 214, fields: trace.Fields{
		f("RegionName", Region), f("SimAccess", "Mature"), f("RegionFlags", "0x00000000"), f("WaterHeight", "20")}}
}

func agentMovementComplete() pk {
	return pk{msg: "AgentMovementComplete", reliable: true, size: 95, fields: trace.Fields{
		f("Position", Position), f("LookAt", LookAt),
		f("RegionHandle", ritual.HandleFromGrid(1000, 1000).String()), f("ChannelVersion", "Ritual 0.1.0")}}
}

func regionHandshakeReply() pk {
	return pk{msg: "RegionHandshakeReply", reliable: true, zerocoded: true, size: 40, fields: trace.Fields{
		f("Flags", "0x00000005")}}
}

// landPatches is how the 256 patches of the region split over seven
// LayerData packets, centre first, as OpenSimulator fills them.
var landPatches = []int{12, 24, 36, 44, 48, 52, 40}
var landSizes = []int{640, 880, 930, 960, 967, 950, 617}

func layerData(patches, size int, layer string) pk {
	return pk{msg: "LayerData", reliable: true, size: size, fields: trace.Fields{
		f("layer", layer), f("patches", strconv.Itoa(patches))}}
}

func objectUpdate(objects int, kinds string, size int) pk {
	return pk{msg: "ObjectUpdate", reliable: true, zerocoded: true, size: size, fields: trace.Fields{
		f("objects", strconv.Itoa(objects)), f("kinds", kinds)}}
}

// Ritual returns a full successful ritual recorded on both sides into one
// recorder, as `ritual demo` does: login, handshake, capabilities and the
// event queue, 14 ObjectUpdate packets bringing 15 objects (13 prims, an
// avatar and a tree), 7 land LayerData packets carrying 256 patches and a
// wind packet, background acks, pings and agent updates, then logout and
// the closing of both circuits.
func Ritual() []trace.Event {
	s := newScript()
	s.login()

	// Part II and the movement, in the order OpenSimulator answers.
	ucc := s.fly(3.42, 0.19, trace.Client, useCircuitCode())
	s.ack(3.70, trace.Server, false, ucc.Seq)
	s.at(3.88, &trace.CircuitCheck{Header: udpHeader(trace.Server, trace.Client), OK: true, Code: CircuitCode,
		Agent: agent(), Session: Session, Remote: ClientAddr})
	cam := s.fly(4.02, 0.18, trace.Client, completeAgentMovement())
	rh := s.fly(4.51, 0.19, trace.Server, regionHandshake())
	amc := s.fly(4.56, 0.39, trace.Server, agentMovementComplete())
	s.milestone(4.73, trace.Milestone{Step: trace.MilestoneHandshake})
	rhr := s.fly(4.91, 0.19, trace.Client, regionHandshakeReply())
	s.milestone(4.98, trace.Milestone{Step: trace.MilestoneMovementComplete})
	s.at(5.02, &trace.Connected{Header: hdr(trace.Client, trace.UDP, trace.EndClient, trace.EndRegion), Local: ClientAddr, Remote: SimIP + ":" + strconv.Itoa(SimPort)})
	s.ack(5.20, trace.Client, false, rh.Seq, amc.Seq)
	s.ack(5.30, trace.Server, false, cam.Seq, rhr.Seq)

	s.caps()

	// Part IV: throttle, then the scene and the terrain, interleaved.
	thr := s.fly(5.60, 0.2, trace.Client, pk{msg: "AgentThrottle", reliable: true, zerocoded: true, size: 63,
		fields: trace.Fields{f("GenCounter", "0"), f("Total", "1536000 bps")}})
	s.ack(6.10, trace.Server, false, thr.Seq)
	for k := range 6 {
		s.fly(6.0+250*float64(k), 0.2, trace.Client, pk{msg: "AgentUpdate", zerocoded: true, size: 64})
	}
	var reliable []uint32
	av := s.fly(20.1, 0.25, trace.Server, objectUpdate(1, "avatar:1", 380))
	reliable = append(reliable, av.Seq)
	s.milestone(20.40, trace.Milestone{Step: trace.MilestoneFirstObject, Objects: 1})
	for k, n := range landPatches {
		p := s.fly(21.0+1.5*float64(k), 0.25, trace.Server, layerData(n, landSizes[k], "land"))
		reliable = append(reliable, p.Seq)
	}
	s.milestone(30.50, trace.Milestone{Step: trace.MilestoneTerrainComplete, Patches: 256, Of: 256})
	for k := range 13 {
		u := objectUpdate(1, "prim:1", 310+7*k)
		if k == 6 {
			u = objectUpdate(2, "prim:1,tree:1", 702)
		}
		p := s.fly(22.33+1.6*float64(k), 0.25, trace.Server, u)
		reliable = append(reliable, p.Seq)
	}
	wind := s.fly(31.8, 0.25, trace.Server, layerData(2, 120, "wind"))
	reliable = append(reliable, wind.Seq)
	s.milestone(41.80, trace.Milestone{Step: trace.MilestoneComplete, Objects: 15, Patches: 256, Of: 256})
	slices.Sort(reliable)
	s.ack(26.0, trace.Client, false, reliable[:6]...)
	s.ack(36.0, trace.Client, false, reliable[6:14]...)
	s.ack(46.0, trace.Client, false, reliable[14:]...)
	for k := range 2 {
		s.fly(520+500*float64(k), 0.2, trace.Server, pk{msg: "CoarseLocationUpdate", size: 31,
			fields: trace.Fields{f("agents", "1")}})
	}
	s.fly(1018, 0.2, trace.Server, pk{msg: "SimStats", size: 182, fields: trace.Fields{f("TimeDilation", "1"), f("FPS", "55")}})
	ping := s.fly(1000, 0.2, trace.Server, pk{msg: "StartPingCheck", size: 11, fields: trace.Fields{f("PingID", "1")}})
	_ = ping
	s.fly(1000.4, 0.2, trace.Client, pk{msg: "CompletePingCheck", size: 7, fields: trace.Fields{f("PingID", "1")}})

	// Epilogue.
	lr := s.fly(1500.0, 0.2, trace.Client, pk{msg: "LogoutRequest", reliable: true, size: 42, fields: trace.Fields{f("AgentID", Agent), secret("SessionID", Session)}})
	s.ack(1500.4, trace.Server, false, lr.Seq)
	reply := s.fly(1500.9, 0.2, trace.Server, pk{msg: "LogoutReply", reliable: true, zerocoded: true, size: 60, fields: trace.Fields{f("AgentID", Agent), secret("SessionID", Session)}})
	s.ack(1501.2, trace.Client, false, reply.Seq)
	s.at(1501.3, &trace.EQPoll{Header: hdr(trace.Client, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 1, Done: true})
	s.at(1501.45, &trace.EQPoll{Header: hdr(trace.Server, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 1, Done: true})
	s.closed(1501.6, trace.Server, "logout")
	s.closed(1501.8, trace.Client, "logout")
	s.milestone(1501.9, trace.Milestone{Step: trace.MilestoneLogout, Detail: "LogoutReply received"})
	return s.done()
}

// caps records Part III: the seed capability, SimulatorFeatures and the
// event queue's first answer.
func (s *script) caps() {
	s.at(5.35, &trace.SeedRequest{Header: hdr(trace.Client, trace.Caps, trace.EndClient, trace.EndCaps), URL: SeedCap, Names: usedCaps})
	s.at(5.90, &trace.SeedGrant{Header: hdr(trace.Server, trace.Caps, trace.EndCaps, trace.EndClient), Status: 200,
		Granted: grantedCaps, Denied: []string{"UploadBakedTexture"}})
	s.at(6.25, &trace.SeedGrant{Header: hdr(trace.Client, trace.Caps, trace.EndCaps, trace.EndClient), Status: 200,
		Granted: grantedCaps, Denied: []string{"UploadBakedTexture"}})
	s.at(6.40, &trace.EQPoll{Header: hdr(trace.Client, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 0})
	s.at(6.52, &trace.EQPoll{Header: hdr(trace.Server, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 0})
	s.at(6.80, &trace.CapCall{Header: hdr(trace.Client, trace.Caps, trace.EndClient, trace.EndCaps), Capability: "SimulatorFeatures",
		Status: 200, Elapsed: 900 * time.Microsecond, Detail: "12 features"})
	s.at(7.30, &trace.EQDeliver{Header: hdr(trace.Server, trace.EQ, trace.EndCaps, trace.EndClient), ID: 1, Events: []string{"ParcelProperties"}})
	s.at(7.48, &trace.EQDeliver{Header: hdr(trace.Client, trace.EQ, trace.EndCaps, trace.EndClient), ID: 1, Events: []string{"ParcelProperties"}})
	s.at(7.60, &trace.EQPoll{Header: hdr(trace.Client, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 1})
	s.at(7.72, &trace.EQPoll{Header: hdr(trace.Server, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 1})
}

// StalledSimIP is the private address the stalled login hands out.
const StalledSimIP = "10.0.0.5"

// Stalled returns a client-only ritual against a grid whose login answers
// with a private sim address: UseCircuitCode is sent and resent three
// times, never acknowledged, and the client gives up after 10 s with a
// stall diagnosis.
func Stalled() []trace.Event {
	s := newScript()
	s.at(0, &trace.LoginStart{Header: hdr(trace.Client, trace.Login, trace.EndClient, trace.EndLogin),
		URI: "http://grid.example.org:8002/", First: First, Last: Last, Format: "llsd"})
	s.at(182.4, &trace.LoginResponse{Header: hdr(trace.Client, trace.Login, trace.EndLogin, trace.EndClient),
		OK: true, Agent: agent(), Session: Session, CircuitCode: CircuitCode, SimIP: StalledSimIP, SimPort: SimPort,
		RegionX: 256000, RegionY: 256000, SeedCapability: "http://10.0.0.5:9000/CAPS/0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5/",
		Status: 200, Elapsed: 182400 * time.Microsecond})
	s.at(182.6, &trace.LoginProgress{Header: hdr(trace.Client, trace.Login, trace.EndClient, trace.EndClient),
		Stage: "ConnectingToSim", Detail: StalledSimIP + ":9000"})
	ucc := s.send(183.0, trace.Client, useCircuitCode())
	for k := 1; k <= 3; k++ {
		s.resend(183.0+1000*float64(k), ucc)
	}
	s.at(10183.0, &trace.Anomaly{Header: udpHeader(trace.Client, trace.Server), Kind: trace.AnomalyTimeout,
		Message: "PacketAck", Reason: "no acknowledgement of UseCircuitCode (seq 0) within 10 s"})
	bad, _ := cause.SimAddressUnusable(StalledSimIP, SimPort, "grid.example.org")
	s.at(10183.2, cause.Stall(udpHeader(trace.Client, trace.Client),
		"[CLIENT] [UDP] SEND UseCircuitCode", "[CLIENT] [UDP] RECV PacketAck of UseCircuitCode", 10*time.Second,
		bad, cause.NoCircuitAnswer(StalledSimIP+":9000", 4).Blame(cause.Unknown)))
	s.closed(10183.5, trace.Client, "stalled: no answer from the region")
	return s.done()
}

// Troubled returns a ritual recorded on both sides in which things go
// wrong and are mended: a stray UseCircuitCode rejected, the first
// RegionHandshake lost and resent (arriving after AgentMovementComplete,
// out of order), its acknowledgement lost and a second resend arriving as
// a duplicate, three LayerData packets resent and received twice, an
// undecodable ObjectUpdate dropped, an event-queue poll answered 502, and
// a logout the server never answers.
func Troubled() []trace.Event {
	s := newScript()
	s.login()
	stray := "203.0.113.7:40000"
	s.at(2.0, &trace.CircuitCheck{Header: udpHeader(trace.Server, trace.Client), OK: false, Code: 12345,
		Remote: stray, Reason: "unknown circuit code"})
	s.at(2.0, &trace.Anomaly{Header: udpHeader(trace.Server, trace.Client), Kind: trace.AnomalyReject,
		Message: "UseCircuitCode", Remote: stray, Reason: "unknown circuit code"})
	s.at(2.4, &trace.Anomaly{Header: udpHeader(trace.Server, trace.Client), Kind: trace.AnomalyDropped,
		Remote: stray, Reason: "a datagram from an unknown endpoint that is not UseCircuitCode"})

	ucc := s.fly(3.42, 0.19, trace.Client, useCircuitCode())
	s.ack(3.70, trace.Server, false, ucc.Seq)
	s.at(3.88, &trace.CircuitCheck{Header: udpHeader(trace.Server, trace.Client), OK: true, Code: CircuitCode,
		Agent: agent(), Session: Session, Remote: ClientAddr})
	cam := s.fly(4.02, 0.18, trace.Client, completeAgentMovement())
	rh := s.send(4.51, trace.Server, regionHandshake()) // lost
	amc := s.fly(4.56, 0.39, trace.Server, agentMovementComplete())
	s.milestone(4.98, trace.Milestone{Step: trace.MilestoneMovementComplete})
	s.at(5.02, &trace.Connected{Header: hdr(trace.Client, trace.UDP, trace.EndClient, trace.EndRegion), Local: ClientAddr, Remote: SimIP + ":" + strconv.Itoa(SimPort)})
	s.ack(5.20, trace.Client, false, amc.Seq)
	s.ack(5.30, trace.Server, false, cam.Seq)
	s.caps()

	// The first resend arrives, after AgentMovementComplete.
	s.recv(1004.7, s.resend(1004.5, rh))
	s.at(1004.75, &trace.Anomaly{Header: udpHeader(trace.Client, trace.Server), Kind: trace.AnomalyOutOfOrder,
		Message: "RegionHandshake", Seq: rh.Seq, Reason: "arrived after AgentMovementComplete"})
	s.milestone(1004.8, trace.Milestone{Step: trace.MilestoneHandshake})
	rhr := s.send(1005.0, trace.Client, regionHandshakeReply()) // lost as well
	s.ack(1005.1, trace.Client, true, rh.Seq)                   // lost
	// The second resend arrives too: a duplicate.
	s.recv(2004.7, s.resend(2004.5, rh))
	s.at(2004.72, &trace.Anomaly{Header: udpHeader(trace.Client, trace.Server), Kind: trace.AnomalyDuplicate,
		Message: "RegionHandshake", Seq: rh.Seq})
	s.ack(2004.9, trace.Client, false, rh.Seq)
	s.recv(2005.2, s.resend(2005.0, rhr))
	s.at(2005.0, &trace.Anomaly{Header: udpHeader(trace.Client, trace.Client), Kind: trace.AnomalyResent,
		Message: "RegionHandshakeReply", Seq: rhr.Seq, Reason: "no acknowledgement within 1 s"})
	s.ack(2005.4, trace.Server, false, rhr.Seq)

	// The scene and the terrain.
	var lands []*trace.Packet
	for k, n := range landPatches {
		lands = append(lands, s.fly(2030.0+1.5*float64(k), 0.25, trace.Server, layerData(n, landSizes[k], "land")))
	}
	s.milestone(2039.5, trace.Milestone{Step: trace.MilestoneTerrainComplete, Patches: 256, Of: 256})
	s.fly(2031.1, 0.25, trace.Server, objectUpdate(1, "avatar:1", 380))
	s.milestone(2031.40, trace.Milestone{Step: trace.MilestoneFirstObject, Objects: 1})
	for k := range 4 {
		p := s.send(2032.3+1.6*float64(k), trace.Server, objectUpdate(1, "prim:1", 320))
		if k == 2 {
			s.at(2032.3+1.6*float64(k)+0.25, &trace.Anomaly{Header: udpHeader(trace.Client, trace.Server), Kind: trace.AnomalyDropped,
				Message: "ObjectUpdate", Seq: p.Seq, Remote: SimIP + ":9000",
				Reason: "msg: ObjectUpdate block ObjectData field TextureEntry: short buffer at offset 312"})
			continue
		}
		s.recv(2032.3+1.6*float64(k)+0.25, p)
	}
	// The client's acks of three land packets are lost; they come again.
	for _, k := range []int{1, 3, 5} {
		c := s.resend(3040.0+float64(k), lands[k])
		s.recv(3040.2+float64(k), c)
		s.at(3040.25+float64(k), &trace.Anomaly{Header: udpHeader(trace.Client, trace.Server), Kind: trace.AnomalyDuplicate,
			Message: "LayerData", Seq: c.Seq})
	}
	s.milestone(3050.0, trace.Milestone{Step: trace.MilestoneComplete, Objects: 4, Patches: 256, Of: 256,
		Detail: "one ObjectUpdate could not be read"})

	// A quiet event queue.
	s.at(30007.7, &trace.EQTimeout{Header: hdr(trace.Server, trace.EQ, trace.EndCaps, trace.EndClient), Status: 502, Waited: 30 * time.Second})
	s.at(30008.0, &trace.EQPoll{Header: hdr(trace.Client, trace.EQ, trace.EndClient, trace.EndCaps), Ack: 1})

	// A logout the server never answers.
	lr := s.fly(31000.0, 0.2, trace.Client, pk{msg: "LogoutRequest", reliable: true, size: 42, fields: trace.Fields{f("AgentID", Agent), secret("SessionID", Session)}})
	_ = lr
	s.closed(31000.5, trace.Server, "logout")
	s.at(36000.0, &trace.Anomaly{Header: udpHeader(trace.Client, trace.Server), Kind: trace.AnomalyTimeout,
		Message: "LogoutReply", Reason: "no LogoutReply within 5 s; leaving anyway"})
	s.closed(36000.2, trace.Client, "logout without LogoutReply")
	s.milestone(36000.3, trace.Milestone{Step: trace.MilestoneLogout, Detail: "gave up waiting for LogoutReply"})
	return s.done()
}

// LoginRefused returns a login refused for a wrong password, seen on both
// sides.
func LoginRefused() []trace.Event {
	s := newScript()
	const msg = "Could not authenticate your avatar. Please check your username and password, and check the grid if problems persist."
	s.at(0, &trace.LoginStart{Header: hdr(trace.Client, trace.Login, trace.EndClient, trace.EndLogin),
		URI: LoginURI, First: First, Last: Last, Format: "xmlrpc"})
	s.at(0.85, &trace.LoginRequest{Header: hdr(trace.Server, trace.Login, trace.EndClient, trace.EndLogin),
		Format: "xmlrpc", First: First, Last: Last, Channel: "Ritual", Version: "0.1.0", Platform: "Lnx",
		Start: "last", Remote: "127.0.0.1:51230"})
	s.at(1.90, &trace.LoginAuth{Header: hdr(trace.Server, trace.Login, trace.EndLogin, trace.EndLogin),
		OK: false, First: First, Last: Last, Reason: "key", Message: msg})
	s.at(2.10, &trace.LoginResponse{Header: hdr(trace.Server, trace.Login, trace.EndLogin, trace.EndClient),
		OK: false, Reason: "key", Message: msg, Status: 200, Elapsed: 1250 * time.Microsecond})
	s.at(2.60, &trace.LoginResponse{Header: hdr(trace.Client, trace.Login, trace.EndLogin, trace.EndClient),
		OK: false, Reason: "key", Message: msg, Status: 200, Elapsed: 2600 * time.Microsecond})
	s.at(2.70, &trace.LoginProgress{Header: hdr(trace.Client, trace.Login, trace.EndClient, trace.EndClient),
		Stage: "Failed", Detail: "key"})
	return s.done()
}

// Unwhole returns a client-only ritual whose UDP part completes while the
// capabilities fail: the seed capability answers HTTP 500, the client
// tells the fault and goes on, and the ritual completes without them.
func Unwhole() []trace.Event {
	s := newScript()
	for _, ev := range Only(Ritual(), trace.Client) {
		switch ev.Head().Layer {
		case trace.Caps, trace.EQ:
			continue
		}
		s.evs = append(s.evs, ev)
	}
	s.at(5.35, &trace.SeedRequest{Header: hdr(trace.Client, trace.Caps, trace.EndClient, trace.EndCaps), URL: SeedCap, Names: usedCaps})
	s.at(6.25, &trace.SeedGrant{Header: hdr(trace.Client, trace.Caps, trace.EndCaps, trace.EndClient), Status: 500})
	s.at(6.30, cause.Anomaly(hdr(trace.Client, trace.Caps, trace.EndCaps, trace.EndClient), trace.AnomalyFault, "", "",
		cause.SeedHTTPStatus(500)))
	return s.done()
}
