package sim

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/store"
	"ritual/trace"
)

// Region handshake constants.
const (
	regionFlags = 1<<1 | 1<<2 | 1<<20 // AllowLandmark, AllowSetHome, AllowDirectTeleport
	simAccessPG = 13
	// logoutWait bounds how long a circuit that is closing (logout, kick)
	// waits for what it still owes to be acknowledged.
	logoutWait = 2 * time.Second
	// logoutReplyWait bounds how long the LogoutReply is resent until
	// acknowledged: longer than a client waits for it (node-metaverse and
	// ours wait 5 s), so the circuit never closes under a resend.
	logoutReplyWait = 8 * time.Second
)

// The terrain textures viewers know by id (OpenSimulator's defaults).
var terrainDetail = [4]ritual.UUID{
	ritual.MustParseUUID("b8d3965a-ad78-bf43-699b-bff8eca6c975"),
	ritual.MustParseUUID("abb783e6-3e93-26c0-248a-247666855da3"),
	ritual.MustParseUUID("179cdabd-398a-9b6b-1391-4dc333ba321f"),
	ritual.MustParseUUID("beb169c7-11ea-fff2-efe5-0f24dc881df2"),
}

var avatarLocalIDs atomic.Uint32

// agent is one avatar's presence: its circuit and the goroutine that
// handles its messages in order.
type agent struct {
	r       *Region
	conn    *circuit.Conn
	c       login.Circuit
	localID uint32

	av *avatar

	kickOnce sync.Once
	kicked   atomic.Bool
	// arriving is where the agent arrives when it teleports back into
	// this region while still here as a child (set by Region.Admit).
	arriving atomic.Pointer[ritual.Vector3]
	// carried is the motion an agent crossing in from a neighbour keeps
	// (set by Region.AdmitCrossing).
	carried atomic.Pointer[crossingMotion]
	// crossed is set when the agent crossed into a neighbour and is here
	// as a child.
	crossed atomic.Bool
	// departing is set while the agent, told where to go (TeleportFinish,
	// CrossedRegion), waits for the destination to release it.
	departing atomic.Pointer[departure]
	// departures counts the agent's departures from this region: what
	// was begun for it as a root agent here (telling it of neighbours)
	// ends when it changes.
	departures atomic.Uint64
	// origin is the handle of the region the agent is arriving from, to
	// release once it completes its movement here (0: none).
	origin atomic.Uint64
	// ctl carries work for the agent's goroutine from others (post).
	ctl chan func()
	// root is set while the agent's avatar is in this region's world (it
	// arrived and has not left by teleport or crossing).
	root atomic.Bool
	// neighbours are the regions that took the agent as a child when it
	// arrived here (enableNeighbours): those told where it stands.
	neighbours atomic.Pointer[[]ritual.RegionHandle]
	// mail brings messages relayed from other regions; loggingOut is set
	// once the agent asked to log out (it takes no more of them).
	mail       mail
	loggingOut atomic.Bool

	// Owned by run.
	moved, handshaken, sceneSent, loggedOut bool
	joined, offlineTaken                    bool
	away                                    bool // teleported to another region; here as a child
	teleported                              bool // arrived by teleport (Region.Admit)
	handshakeSent                           bool // RegionHandshake sent before CompleteAgentMovement
	position                                ritual.Vector3
	wearableSerial                          uint32
}

func newAgent(r *Region, conn *circuit.Conn, c login.Circuit) *agent {
	a := &agent{
		r: r, conn: conn, c: c,
		localID:  firstAvatarLocalID + avatarLocalIDs.Add(1),
		position: r.scene.arrival(c.Start, r.info.Name),
		ctl:      make(chan func(), 4),
	}
	a.av = newAvatar(a)
	a.mail = mail{wake: make(chan struct{}, 1), typing: make(chan *store.OfflineMessage, typingQueue)}
	return a
}

// run handles the agent's messages, and those relayed to it from other
// regions, until its circuit closes.
func (a *agent) run() {
	inbox := a.conn.Inbox()
	for {
		select {
		case in, ok := <-inbox:
			if !ok {
				return
			}
			a.r.counts.countIn(in.Message)
			a.handle(in.Message)
		case f := <-a.ctl:
			f()
		case <-a.mail.wake:
			if a.isRoot() {
				a.takeStored(false)
			}
		case m := <-a.mail.typing:
			if a.isRoot() {
				a.deliverRelayed(m)
			}
		}
	}
}

// owns reports whether a message's agent and session ids are this
// circuit's; others are dropped as the protocol requires.
func (a *agent) owns(agent, session ritual.UUID) bool {
	if agent == a.c.Agent && session == a.c.Session {
		return true
	}
	if a.r.cfg.Recorder != nil {
		trace.Emit(a.r.cfg.Recorder, &trace.Anomaly{
			Header: trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndClient, To: trace.EndRegion},
			Kind:   trace.AnomalyReject, Reason: "agent or session does not match the circuit",
			Remote: a.conn.RemoteAddr().String(),
		})
	}
	return false
}

func (a *agent) send(m msg.Message) {
	if err := a.conn.SendWait(context.Background(), m, true); err != nil {
		a.r.cfg.Logger.Debug("sim: send failed", "agent", a.c.Agent, "message", m.Name(), "err", err)
		return
	}
	a.r.counts.countOut(m.ID())
}

func (a *agent) handle(m msg.Message) {
	switch m := m.(type) {
	case *msg.UseCircuitCode:
		// Validated when the circuit opened; resends are acked by the
		// circuit and need nothing more. An agent teleporting in is
		// greeted at once, as a neighbour's child agent is.
		if a.teleported && !a.moved && !a.handshakeSent {
			a.handshakeSent = true
			a.handshake()
		}
	case *msg.CompleteAgentMovement:
		d := m.AgentData
		if !a.owns(d.AgentID, d.SessionID) || d.CircuitCode != a.c.Code {
			return
		}
		a.completeMovement()
	case *msg.RegionHandshakeReply:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.handshaken = true
		a.sendScene()
	case *msg.AgentThrottle:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.throttle(m.Throttle.Throttles)
	case *msg.AgentUpdate:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.av.input(&m.AgentData)
	case *msg.SetAlwaysRun:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.av.setAlwaysRun(m.AgentData.AlwaysRun)
	case *msg.ChatFromViewer:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.chat(m)
	case *msg.ImprovedInstantMessage:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.instantMessage(m)
	case *msg.RetrieveInstantMessages:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.deliverOffline()
	case *msg.AgentWearablesRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.wearableSerial++
		a.send(&msg.AgentWearablesUpdate{AgentData: msg.AgentWearablesUpdateAgentData{
			AgentID: a.c.Agent, SessionID: a.c.Session, SerialNum: a.wearableSerial,
		}})
	case *msg.AgentDataUpdateRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.send(&msg.AgentDataUpdate{AgentData: msg.AgentDataUpdateAgentData{
			AgentID:   a.c.Agent,
			FirstName: cstr(a.c.First), LastName: cstr(a.c.Last),
			GroupTitle: cstr(""), GroupName: cstr(""),
		}})
	case *msg.RequestRegionInfo:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.send(a.regionInfo())
	case *msg.MapNameRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.send(a.mapNameReply(m))
	case *msg.MapBlockRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		for _, reply := range a.r.mapBlockReplies(a.c.Agent, m) {
			a.send(reply)
		}
	case *msg.EconomyDataRequest:
		a.send(&msg.EconomyData{Info: msg.EconomyDataInfo{
			ObjectCapacity: 15000, PriceUpload: 0, PriceGroupCreate: 0,
			EnergyEfficiency: 1, PriceObjectScaleFactor: 1, TeleportPriceExponent: 2,
		}})
	case *msg.TeleportLocationRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.teleport(ritual.RegionHandle(m.Info.RegionHandle), m.Info.Position, m.Info.LookAt, teleportViaLocation)
	case *msg.TeleportLandmarkRequest:
		if !a.owns(m.Info.AgentID, m.Info.SessionID) {
			return
		}
		if m.Info.LandmarkID.IsZero() {
			a.teleportHome()
			return
		}
		a.teleportFail(0, "This grid keeps no landmarks: teleport to a location, or home.", time.Now())
	case *msg.SetStartLocationRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.setHome(m)
	case *msg.ParcelPropertiesRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		// The region is one parcel: whatever the rectangle, it is the one.
		a.sendParcelProperties(m.ParcelData.SequenceID, m.ParcelData.SnapSelection)
	case *msg.ParcelPropertiesRequestByID:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		if m.ParcelData.LocalID != parcelLocalID {
			return // no such parcel; OpenSimulator answers nothing either
		}
		a.sendParcelProperties(m.ParcelData.SequenceID, false)
	case *msg.LogoutRequest:
		if !a.owns(m.AgentData.AgentID, m.AgentData.SessionID) {
			return
		}
		a.logout()
	case *msg.CloseCircuit:
		a.conn.Close("client closed the circuit")
	}
}

func cstr(s string) []byte { return append([]byte(s), 0) }

func (a *agent) completeMovement() {
	sc := a.r.scene
	if p := a.arriving.Swap(nil); p != nil {
		// Back from a teleport: the whole ritual again, at the new place.
		// Still on its way out (the region it went to never confirmed
		// it): that departure is over.
		if d := a.departing.Swap(nil); d != nil {
			a.released(d)
		}
		a.position = *p
		a.away, a.moved, a.handshaken, a.sceneSent = false, false, false, false
		if a.crossed.Swap(false) {
			a.joined = false
		}
	}
	if !a.moved && !a.handshakeSent {
		a.handshake()
	}
	a.handshakeSent = false
	a.moved = true
	amc := &msg.AgentMovementComplete{}
	amc.AgentData.AgentID, amc.AgentData.SessionID = a.c.Agent, a.c.Session
	amc.Data = msg.AgentMovementCompleteData{
		Position:     a.position,
		LookAt:       ritual.Vector3{X: 1},
		RegionHandle: uint64(sc.handle),
		Timestamp:    uint32(time.Now().Unix()),
	}
	amc.SimData.ChannelVersion = cstr(a.r.cfg.ChannelVersion)
	a.send(amc)
	if from := a.origin.Swap(0); from != 0 {
		go a.releaseOrigin(ritual.RegionHandle(from))
	}
	pos := a.position
	if a.joined {
		if p, ok := a.r.world.position(a.av); ok {
			pos = p
		}
	}
	a.send(sc.avatarUpdate(a.localID, a.c.Agent, a.c.First, a.c.Last, pos))
	if !a.joined {
		a.joined = true
		a.root.Store(true)
		if m := a.carried.Swap(nil); m != nil {
			a.r.world.joinMoving(a.av, a.position, m.velocity, m.rotation)
		} else {
			a.r.world.join(a.av, a.position)
		}
		a.sendParcelProperties(parcelSequenceArrival, false)
		if m := a.r.messenger(); m != nil {
			m.Arrived(a.c.Agent, a.c.Session, a.r.info.ID)
		}
		// The messages that waited: at the login's arrival those sent
		// while the agent was offline; at a later arrival (a teleport,
		// a crossing) those relayed to it on its way, delivered live.
		if !a.offlineTaken && !a.teleported {
			a.deliverOffline()
		} else {
			a.takeStored(false)
		}
		if a.r.cfg.Directory != nil {
			go a.enableNeighbours()
		}
	}
}

// handshake sends RegionHandshake.
func (a *agent) handshake() {
	info := a.r.info
	hs := &msg.RegionHandshake{}
	ri := &hs.RegionInfo
	ri.RegionFlags = regionFlags
	ri.SimAccess = simAccessPG
	ri.SimName = cstr(info.Name)
	ri.WaterHeight = DefaultWaterHeight
	ri.BillableFactor = 1
	ri.CacheID = info.ID
	ri.TerrainDetail0, ri.TerrainDetail1, ri.TerrainDetail2, ri.TerrainDetail3 = terrainDetail[0], terrainDetail[1], terrainDetail[2], terrainDetail[3]
	ri.TerrainStartHeight00, ri.TerrainStartHeight01, ri.TerrainStartHeight10, ri.TerrainStartHeight11 = 10, 10, 10, 10
	ri.TerrainHeightRange00, ri.TerrainHeightRange01, ri.TerrainHeightRange10, ri.TerrainHeightRange11 = 40, 40, 40, 40
	hs.RegionInfo2.RegionID = info.ID
	hs.RegionInfo3 = msg.RegionHandshakeRegionInfo3{CPUClassID: 9, CPURatio: 1, ProductName: cstr("Ritual")}
	hs.RegionInfo4 = []msg.RegionHandshakeRegionInfo4{{RegionFlagsExtended: regionFlags}}
	a.send(hs)
}

// sendScene sends the world once: terrain first (what a viewer draws
// first), then every prim.
func (a *agent) sendScene() {
	if a.sceneSent {
		return
	}
	a.sceneSent = true
	for _, l := range a.r.scene.layers {
		a.send(l)
	}
	for _, u := range a.r.scene.updates {
		a.send(u)
	}
}

// throttle applies the client's AgentThrottle coarsely: the sum of its
// seven rates (bits per second) caps the circuit's outgoing bytes.
func (a *agent) throttle(b []byte) {
	var bps float64
	for i := 0; i+4 <= len(b) && i < 28; i += 4 {
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
		if v > 0 && !math.IsInf(v, 0) {
			bps += v
		}
	}
	if bps <= 0 {
		return
	}
	// Never below what the initial scene needs in a reasonable time.
	a.conn.SetThrottle(max(bps/8, 64*1024))
	a.av.setThrottle(bps)
}

func (a *agent) regionInfo() *msg.RegionInfo {
	ri := &msg.RegionInfo{}
	ri.AgentData.AgentID, ri.AgentData.SessionID = a.c.Agent, a.c.Session
	ri.RegionInfo = msg.RegionInfoRegionInfo{
		SimName: cstr(a.r.info.Name), EstateID: 1, ParentEstateID: 1,
		RegionFlags: regionFlags, SimAccess: simAccessPG, MaxAgents: 100,
		BillableFactor: 1, ObjectBonusFactor: 1, WaterHeight: DefaultWaterHeight,
		TerrainRaiseLimit: 100, TerrainLowerLimit: -100, UseEstateSun: true,
	}
	ri.RegionInfo2 = msg.RegionInfoRegionInfo2{ProductSKU: cstr(""), ProductName: cstr("Ritual"), MaxAgents32: 100, HardMaxAgents: 100, HardMaxObjects: 15000}
	ri.RegionInfo3 = []msg.RegionInfoRegionInfo3{{RegionFlagsExtended: regionFlags}}
	return ri
}

// mapAccessEnd is the Access value of the block that closes a map search
// result (SimAccess "down/non-existent").
const mapAccessEnd = 255

// mapNameReply answers a map search by name: the region's own block when
// the query is a prefix of its name (ignoring case), then the block that
// closes the result (X=Y=0, Access 255, the query as Name), as
// OpenSimulator does. node-metaverse's region setup waits for a reply block
// naming its region (Region.handshake, 30 s), and its
// waitForHandshake() fails without it.
func (a *agent) mapNameReply(m *msg.MapNameRequest) *msg.MapBlockReply {
	query := strings.TrimRight(string(m.NameData.Name), "\x00")
	if len(query) > 254 { // room for the NUL in a Variable 1 field
		query = query[:254]
	}
	reply := &msg.MapBlockReply{AgentData: msg.MapBlockReplyAgentData{AgentID: a.c.Agent, Flags: m.AgentData.Flags}}
	for _, info := range a.r.mapRegions() {
		if query == "" || len(query) > len(info.Name) || !strings.EqualFold(info.Name[:len(query)], query) || len(reply.Data) >= 20 {
			continue
		}
		reply.Data = append(reply.Data, a.r.mapBlock(info))
	}
	reply.Data = append(reply.Data, msg.MapBlockReplyData{Name: cstr(query), Access: mapAccessEnd})
	return reply
}

// logout answers LogoutRequest, every time, then closes the circuit once
// the reply is acknowledged (or after logoutWait).
func (a *agent) logout() {
	if a.loggedOut {
		return
	}
	a.loggedOut = true
	a.loggingOut.Store(true)
	a.r.logouts.Add(1)
	reply := &msg.LogoutReply{
		AgentData:     msg.LogoutReplyAgentData{AgentID: a.c.Agent, SessionID: a.c.Session},
		InventoryData: []msg.LogoutReplyInventoryData{{}},
	}
	a.leftGrid()
	// The avatar leaves the world at once: nothing more is queued for the
	// agent behind its LogoutReply, and the others see it go.
	if a.joined {
		a.r.world.leave(a.av)
		a.joined = false
	}
	go func() {
		// The reply is waited for on its own (a lost copy is resent
		// while the client waits for it), then what else is owed.
		ctx, cancel := context.WithTimeout(context.Background(), logoutReplyWait)
		defer cancel()
		if err := a.conn.SendAcked(ctx, reply); err != nil {
			a.r.cfg.Logger.Debug("sim: LogoutReply not acknowledged", "agent", a.c.Agent, "err", err)
		} else {
			a.r.counts.countOut(reply.ID())
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), logoutWait)
		defer cancel2()
		a.conn.CloseGracefully(ctx2, "logout")
	}()
}

// kick tells the agent why it is being disconnected and closes its
// circuit once that is acknowledged (or after a short wait).
func (a *agent) kick(reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), logoutWait)
	defer cancel()
	a.disconnect(ctx, reason)
}

func (a *agent) disconnect(ctx context.Context, reason string) {
	a.kickOnce.Do(func() {
		// A client that vanished never acknowledges: wait for it no
		// longer than a logout would.
		ctx, cancel := context.WithTimeout(ctx, logoutWait)
		defer cancel()
		a.kicked.Store(true)
		k := &msg.KickUser{}
		k.UserInfo.AgentID, k.UserInfo.SessionID = a.c.Agent, a.c.Session
		k.UserInfo.Reason = cstr(reason)
		if err := a.conn.SendAcked(ctx, k); err != nil {
			a.r.cfg.Logger.Debug("sim: kick not acknowledged", "agent", a.c.Agent, "err", err)
		} else {
			a.r.counts.countOut(k.ID())
		}
		a.conn.CloseGracefully(ctx, reason)
	})
}
