package client

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/protocol/msg"
	"ritual/trace"
)

// RegionRole says what a region is to the session.
type RegionRole uint8

// The roles.
const (
	// RoleMain is the region the agent is in (a root agent): its circuit
	// carries the agent's movement, chat and logout.
	RoleMain RegionRole = iota + 1
	// RoleChild is a neighbour the client sees into over a child circuit
	// (the agent is a child agent there).
	RoleChild
)

func (r RegionRole) String() string {
	switch r {
	case RoleMain:
		return "main"
	case RoleChild:
		return "child"
	}
	return "unknown"
}

// RegionState is how far a region's circuit has come.
type RegionState uint8

// The states.
const (
	// StateConnecting: the circuit is open, the region has not yet
	// answered with RegionHandshake.
	StateConnecting RegionState = iota + 1
	// StateReady: RegionHandshake arrived and was answered.
	StateReady
	// StateClosed: the circuit closed (DisableSimulator, or it died).
	StateClosed
)

func (s RegionState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateReady:
		return "ready"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// RegionView is one region of the session's view of the grid: the main
// region and each neighbour with a child circuit.
type RegionView struct {
	Region
	Role  RegionRole
	State RegionState
	// Objects is how many objects the region's world knows; Patches of
	// Of its terrain patches have arrived.
	Objects     int
	Patches, Of int
}

// maxChildren bounds the child circuits a session keeps open (a region
// has at most 8 neighbours in a grid of equal regions; var-regions can
// border more).
const maxChildren = 16

// link is a region's circuit beyond the login's: a child, or the main
// region after a crossing or teleport. Its fields are guarded by
// Session.mu, except conn, end, ctx and stop, which are set once.
type link struct {
	conn  *circuit.Conn
	end   string // the trace endpoint name of the region's circuit
	world *World
	ctx   context.Context // ends when the link closes or the session ends
	stop  context.CancelFunc

	region   Region
	state    RegionState
	seed     string
	eqActive bool // a seed request or event queue runs for this region
	opened   time.Time
	why      string        // why the session closed the circuit
	ready    chan struct{} // closed at the first RegionHandshake
	once     sync.Once
}

// gridState is the session's view of the regions beyond the first. Its
// fields are guarded by Session.mu, except evMu and evClosed.
type gridState struct {
	// switchMu serialises crossings and teleports.
	switchMu sync.Mutex
	children map[netip.AddrPort]*link
	// main is the link of the main region once a crossing or teleport
	// made a former child main (nil while the login's circuit is main).
	main      *link
	seeds     map[netip.AddrPort]string // seeds told before the circuit opened
	crossings int                       // completed

	evMu     sync.Mutex
	evClosed bool // Events is closed
}

// regionEnd is the trace endpoint name of a region's circuit: "region
// X,Y" in grid coordinates. The login region keeps trace.EndRegion.
func regionEnd(h ritual.RegionHandle) string {
	x, y := h.Grid()
	return fmt.Sprintf("region %d,%d", x, y)
}

// capsEnd is the endpoint name of a region's capabilities.
func capsEnd(h ritual.RegionHandle) string {
	x, y := h.Grid()
	return fmt.Sprintf("caps %d,%d", x, y)
}

// mainConn returns the main region's circuit.
func (s *Session) mainConn() *circuit.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// sendMain sends on the main region's circuit.
func (s *Session) sendMain(m msg.Message, reliable bool) error {
	c := s.mainConn()
	if c == nil {
		return ErrClosed
	}
	return c.Send(m, reliable)
}

// childOf returns the link of conn when conn is a child circuit, nil when
// it is the main one.
func (s *Session) childOf(conn *circuit.Conn) *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	if conn == s.conn {
		return nil
	}
	return s.grid.children[conn.RemoteAddr()]
}

// Regions returns the session's view of the grid: the main region first,
// then each child region by handle.
func (s *Session) Regions() []RegionView {
	s.mu.Lock()
	main := RegionView{Region: s.region, Role: RoleMain, State: StateConnecting}
	if s.handshaken {
		main.State = StateReady
	}
	type kid struct {
		v RegionView
		w *World
	}
	kids := make([]kid, 0, len(s.grid.children))
	for _, l := range s.grid.children {
		kids = append(kids, kid{RegionView{Region: l.region, Role: RoleChild, State: l.state}, l.world})
	}
	s.mu.Unlock()
	main.Objects = s.world.Len()
	main.Patches, main.Of = s.world.TerrainProgress()
	out := []RegionView{main}
	slices.SortFunc(kids, func(a, b kid) int {
		switch {
		case a.v.Handle < b.v.Handle:
			return -1
		case a.v.Handle > b.v.Handle:
			return 1
		}
		return strings.Compare(a.v.Addr.String(), b.v.Addr.String())
	})
	for _, k := range kids {
		k.v.Objects = k.w.Len()
		k.v.Patches, k.v.Of = k.w.TerrainProgress()
		out = append(out, k.v)
	}
	return out
}

// NeighbourWorld returns the world view of the child region with the
// given handle.
func (s *Session) NeighbourWorld(h ritual.RegionHandle) (*World, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.grid.children {
		if l.region.Handle == h {
			return l.world, true
		}
	}
	return nil, false
}

// WaitNeighbours waits until at least n child regions have answered
// their circuits with RegionHandshake.
func (s *Session) WaitNeighbours(ctx context.Context, n int) error {
	return s.wait(ctx, fmt.Sprintf("%d neighbour regions", n), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		ready := 0
		for _, l := range s.grid.children {
			if l.state == StateReady {
				ready++
			}
		}
		return ready >= n
	})
}

// onGridMessage follows the UDP messages of a grid that reach the main
// circuit: EnableSimulator, TeleportFinish and CrossedRegion (the UDP
// forms of the events), the teleport messages and the map's answers.
func (s *Session) onGridMessage(m msg.Message) {
	switch m := m.(type) {
	case *msg.EnableSimulator:
		si := m.SimulatorInfo
		s.enableSimulator(SimulatorInfo{
			Handle: ritual.RegionHandle(si.Handle),
			Addr:   netip.AddrPortFrom(netip.AddrFrom4(si.IP), si.Port),
		})
	case *msg.TeleportFinish:
		// The UDP form, which older regions send in place of the event.
		i := m.Info
		s.teleportFinished(TeleportDestination{
			Agent: i.AgentID, LocationID: i.LocationID,
			Addr:   netip.AddrPortFrom(netip.AddrFrom4(i.SimIP), i.SimPort),
			Handle: ritual.RegionHandle(i.RegionHandle), SeedCapability: cString(i.SeedCapability),
			SimAccess: i.SimAccess, Flags: i.TeleportFlags,
		})
	case *msg.CrossedRegion:
		rd := m.RegionData
		c := Crossing{
			Agent: m.AgentData.AgentID, Session: m.AgentData.SessionID,
			Position: m.Info.Position, LookAt: m.Info.LookAt,
			Handle: ritual.RegionHandle(rd.RegionHandle), Addr: netip.AddrPortFrom(netip.AddrFrom4(rd.SimIP), rd.SimPort),
			SeedCapability: cString(rd.SeedCapability),
		}
		s.goTracked(func() { s.cross(c) })
	default:
		s.onTeleportMessage(m)
	}
}

// onGridEvent follows the event-queue events that concern other regions.
// It runs on an event queue's goroutine and never blocks on the network:
// crossings and teleport arrivals run on their own goroutines.
func (s *Session) onGridEvent(ev caps.Event) {
	var err error
	switch ev.Message {
	case EventEnableSimulator:
		var infos []SimulatorInfo
		if infos, err = ParseEnableSimulator(ev.Body); err == nil {
			for _, si := range infos {
				s.enableSimulator(si)
			}
		}
	case EventEstablishAgentCommunication:
		var ac AgentCommunication
		if ac, err = ParseEstablishAgentCommunication(ev.Body); err == nil {
			s.establish(ac)
		}
	case EventCrossedRegion:
		var c Crossing
		if c, err = ParseCrossedRegion(ev.Body); err == nil {
			s.goTracked(func() { s.cross(c) })
		}
	case EventTeleportFinish:
		var d TeleportDestination
		if d, err = ParseTeleportFinish(ev.Body); err == nil {
			s.teleportFinished(d)
		}
	case EventTeleportFailed:
		var reason string
		if reason, err = ParseTeleportFailed(ev.Body); err == nil {
			s.teleportSignal(tpSignal{kind: trace.TeleportFailed, reason: reason})
		}
	}
	if err != nil {
		s.log.Warn("client: an event could not be used", "event", ev.Message, "err", err)
		if s.rec != nil {
			trace.Emit(s.rec, &trace.Anomaly{
				Header: trace.Header{Side: trace.Client, Layer: trace.EQ, From: trace.EndCaps, To: trace.EndClient},
				Kind:   trace.AnomalyDropped, Message: ev.Message, Reason: err.Error(),
			})
		}
	}
}

// goTracked runs f on a goroutine the session waits for at Close.
func (s *Session) goTracked(f func()) {
	s.mu.Lock()
	if s.ended() {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// regionEvent records a RegionChange.
func (s *Session) regionEvent(ev *trace.RegionChange) {
	if s.rec == nil {
		return
	}
	ev.Header = trace.Header{Side: trace.Client, Layer: trace.UDP, From: trace.EndClient, To: trace.EndClient}
	trace.Emit(s.rec, ev)
}

// enableSimulator opens a child circuit to a neighbour (once per
// address): UseCircuitCode with the login's circuit code, session and
// agent, and no CompleteAgentMovement; the region answers with
// RegionHandshake, and sends its terrain and objects.
func (s *Session) enableSimulator(si SimulatorInfo) {
	_, err := s.openChild(si.Addr, si.Handle, si.SizeX, si.SizeY, true)
	if err != nil && !errors.Is(err, errLinkExists) {
		s.log.Warn("client: opening a child circuit", "region", si.Addr, "err", err)
		s.regionEvent(&trace.RegionChange{Kind: trace.ChildClosed, Handle: uint64(si.Handle), Remote: si.Addr.String(), Reason: err.Error()})
	}
}

var errLinkExists = errors.New("client: a circuit to that region is open")

// openChild opens a circuit to addr as a child region. With handshake it
// sends UseCircuitCode (on its own goroutine, waiting for the
// acknowledgement); without, the caller does.
func (s *Session) openChild(addr netip.AddrPort, h ritual.RegionHandle, sizeX, sizeY int, handshake bool) (*link, error) {
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	if s.tr == nil {
		return nil, fmt.Errorf("client: no UDP transport for a circuit to %s", addr)
	}
	world, err := NewWorld(s.resp.Agent, sizeX, sizeY)
	if err != nil {
		return nil, fmt.Errorf("client: region %s: %w", addr, err)
	}
	s.mu.Lock()
	switch {
	case s.ended():
		s.mu.Unlock()
		return nil, ErrClosed
	case s.region.Addr == addr:
		s.mu.Unlock()
		return nil, errLinkExists
	case s.grid.children[addr] != nil:
		l := s.grid.children[addr]
		s.mu.Unlock()
		return l, errLinkExists
	case len(s.grid.children) >= maxChildren:
		s.mu.Unlock()
		return nil, fmt.Errorf("client: %d child circuits open already", maxChildren)
	}
	end := regionEnd(h)
	cc := s.cfg.Circuit
	cc.Side, cc.LocalEnd, cc.RemoteEnd = trace.Client, trace.EndClient, end
	cc.Code, cc.Recorder, cc.Logger = s.resp.CircuitCode, s.cfg.Recorder, s.cfg.Logger
	conn, err := s.tr.Open(addr, cc)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("client: opening a circuit to %s: %w", addr, err)
	}
	ctx, stop := context.WithCancel(s.ctx)
	l := &link{
		conn: conn, end: end, world: world, ctx: ctx, stop: stop,
		region: Region{Handle: h, Addr: addr, SizeX: world.height.W, SizeY: world.height.H},
		state:  StateConnecting, opened: time.Now(), ready: make(chan struct{}),
	}
	if s.grid.children == nil {
		s.grid.children = make(map[netip.AddrPort]*link)
	}
	s.grid.children[addr] = l
	if seed, ok := s.grid.seeds[addr]; ok {
		l.seed = seed
		delete(s.grid.seeds, addr)
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.dispatch(conn)
	s.regionEvent(&trace.RegionChange{Kind: trace.ChildOpen, Handle: uint64(h), Remote: addr.String(), End: end})
	if handshake {
		s.goTracked(func() {
			if err := s.useCircuit(l); err != nil {
				s.log.Warn("client: child circuit", "region", addr, "err", err)
				s.mu.Lock()
				l.why = err.Error()
				s.mu.Unlock()
				conn.Close(err.Error())
			}
		})
	}
	return l, nil
}

// useCircuit sends UseCircuitCode on l's circuit and waits for its
// acknowledgement.
func (s *Session) useCircuit(l *link) error {
	ctx, cancel := context.WithTimeout(l.ctx, s.cfg.Timeouts.UseCircuitCode)
	defer cancel()
	err := l.conn.SendAcked(ctx, &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{
		Code: s.resp.CircuitCode, SessionID: s.resp.Session, ID: s.resp.Agent,
	}})
	if err != nil {
		return fmt.Errorf("%w: %s did not acknowledge UseCircuitCode: %w", ErrNotAcknowledged, l.conn.RemoteAddr(), err)
	}
	return nil
}

// establish takes a neighbour's seed capability
// (EstablishAgentCommunication) and, once the circuit is ready, asks it
// for the capabilities and starts the neighbour's event queue, as
// viewers do: a region that becomes main speaks on its own queue.
func (s *Session) establish(ac AgentCommunication) {
	s.mu.Lock()
	l := s.grid.children[ac.Addr]
	if l == nil {
		if s.region.Addr != ac.Addr {
			if s.grid.seeds == nil {
				s.grid.seeds = make(map[netip.AddrPort]string)
			}
			if len(s.grid.seeds) < maxChildren {
				s.grid.seeds[ac.Addr] = ac.SeedCapability
			}
		}
		s.mu.Unlock()
		return
	}
	l.seed = ac.SeedCapability
	h := l.region.Handle
	s.mu.Unlock()
	s.regionEvent(&trace.RegionChange{Kind: trace.ChildSeed, Handle: uint64(h), Remote: ac.Addr.String(), End: l.end, Seed: ac.SeedCapability})
	s.startLinkCaps(l)
}

// startLinkCaps requests l's seed capability and runs its event queue,
// once, when the seed is known and the circuit is ready.
func (s *Session) startLinkCaps(l *link) {
	s.mu.Lock()
	if l.eqActive || l.seed == "" || l.state != StateReady {
		s.mu.Unlock()
		return
	}
	l.eqActive = true
	seed, h := l.seed, l.region.Handle
	s.mu.Unlock()
	rec := endRenamer(s.rec, trace.EndCaps, capsEnd(h))
	s.goTracked(func() {
		sctx, cancel := context.WithTimeout(l.ctx, s.cfg.Timeouts.Seed)
		granted, err := caps.RequestSeed(sctx, s.cfg.HTTPClient, seed, s.cfg.Capabilities, rec)
		cancel()
		if err != nil {
			s.log.Warn("client: a neighbour's seed capability failed", "region", l.conn.RemoteAddr(), "err", err)
			return
		}
		eq, ok := granted[caps.EventQueueGet]
		if !ok {
			return
		}
		q := &caps.EventQueueClient{URL: eq, HTTPClient: s.cfg.HTTPClient, Recorder: rec, Logger: s.log}
		if err := q.Run(l.ctx, s.deliverEvent); err != nil && l.ctx.Err() == nil {
			s.log.Warn("client: a neighbour's event queue stopped", "region", l.conn.RemoteAddr(), "err", err)
		}
	})
}

// endRenamer passes events to next with the endpoint from renamed to.
type renamer struct {
	next     trace.Recorder
	from, to string
}

func endRenamer(next trace.Recorder, from, to string) trace.Recorder {
	if next == nil {
		return nil
	}
	return &renamer{next: next, from: from, to: to}
}

// Record implements trace.Recorder.
func (r *renamer) Record(ev trace.Event) {
	h := ev.Head()
	if h.From == r.from {
		h.From = r.to
	}
	if h.To == r.from {
		h.To = r.to
	}
	r.next.Record(ev)
}

// handleChild applies one message from a child region.
func (s *Session) handleChild(l *link, m msg.Message) error {
	switch m := m.(type) {
	case *msg.RegionHandshake:
		s.mu.Lock()
		fillRegion(&l.region, m)
		first := l.state == StateConnecting
		l.state = StateReady
		name, h, seed := l.region.Name, l.region.Handle, l.seed
		s.mu.Unlock()
		if err := l.conn.Send(&msg.RegionHandshakeReply{
			AgentData:  msg.RegionHandshakeReplyAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
			RegionInfo: msg.RegionHandshakeReplyRegionInfo{Flags: s.cfg.ReplyFlags},
		}, true); err != nil {
			s.log.Warn("client: sending RegionHandshakeReply to a neighbour", "err", err)
		}
		if first {
			l.once.Do(func() { close(l.ready) })
			s.regionEvent(&trace.RegionChange{Kind: trace.ChildReady, Region: name, Handle: uint64(h),
				Remote: l.conn.RemoteAddr().String(), End: l.end, Elapsed: time.Since(l.opened)})
			if seed != "" {
				s.startLinkCaps(l)
			}
		}
		s.notify()
	case *msg.AvatarAnimation:
		s.social.observe(s.childSource(l), m, time.Now())
	case *msg.ObjectUpdate, *msg.ObjectUpdateCompressed, *msg.ImprovedTerseObjectUpdate,
		*msg.ObjectUpdateCached, *msg.KillObject, *msg.LayerData:
		s.social.observe(s.childSource(l), m, time.Now())
		s.mu.Lock()
		w := l.world // promote may trade it
		s.mu.Unlock()
		res, err := w.Apply(m)
		// Asked on the child's circuit.
		s.requestObjectsBy(res.CacheMisses, func(m msg.Message) { l.conn.Send(m, true) })
		s.notify()
		return err
	case *msg.DisableSimulator:
		s.mu.Lock()
		l.why = "the region sent DisableSimulator"
		s.mu.Unlock()
		l.conn.Close("DisableSimulator")
	}
	return nil
}

// childSource names a child region's circuit for the social view.
func (s *Session) childSource(l *link) source {
	s.mu.Lock()
	defer s.mu.Unlock()
	return source{from: l.conn.RemoteAddr(), region: l.region.Handle, child: true, others: true}
}

// fillRegion copies a RegionHandshake's identity of the region into rg.
func fillRegion(rg *Region, m *msg.RegionHandshake) {
	ri := &m.RegionInfo
	rg.Name = cString(ri.SimName)
	rg.ID, rg.CacheID, rg.Owner = m.RegionInfo2.RegionID, ri.CacheID, ri.SimOwner
	rg.Flags = uint64(ri.RegionFlags)
	if len(m.RegionInfo4) > 0 {
		rg.Flags, rg.Protocols = m.RegionInfo4[0].RegionFlagsExtended, m.RegionInfo4[0].RegionProtocols
	}
	rg.SimAccess, rg.WaterHeight = ri.SimAccess, ri.WaterHeight
	rg.ProductName, rg.ProductSKU = cString(m.RegionInfo3.ProductName), cString(m.RegionInfo3.ProductSKU)
}

// childGone forgets a child circuit that closed.
func (s *Session) childGone(l *link, err error) {
	l.stop()
	s.mu.Lock()
	if s.grid.children[l.conn.RemoteAddr()] == l {
		delete(s.grid.children, l.conn.RemoteAddr())
	}
	l.state = StateClosed
	name, h, reason := l.region.Name, l.region.Handle, l.why
	s.mu.Unlock()
	// The avatars it told of are seen no more (unless another region
	// tells of them).
	s.social.forget(l.conn.RemoteAddr(), time.Now())
	if s.ended() {
		return
	}
	switch {
	case reason != "":
	case err != nil:
		reason = err.Error()
	default:
		reason = "closed"
	}
	s.regionEvent(&trace.RegionChange{Kind: trace.ChildClosed, Region: name, Handle: uint64(h),
		Remote: l.conn.RemoteAddr().String(), End: l.end, Reason: reason})
	s.notify()
}

// mainLink is the main region as a link: the login circuit's own, made
// when it first stops being main.
func (s *Session) mainLinkLocked() *link {
	if s.grid.main != nil {
		return s.grid.main
	}
	ctx, stop := context.WithCancel(s.ctx)
	l := &link{conn: s.conn, end: trace.EndRegion, world: nil, ctx: ctx, stop: stop,
		state: StateReady, seed: s.resp.SeedCapability, eqActive: true, opened: time.Now(), ready: make(chan struct{})}
	l.once.Do(func() { close(l.ready) })
	s.grid.main = l
	return l
}

// promote makes child l the main region and the main region a child:
// circuits, identities and world views trade places (Session.World then
// shows the new region). It returns the former main link.
func (s *Session) promote(l *link) *link {
	s.mu.Lock()
	old := s.mainLinkLocked()
	delete(s.grid.children, l.conn.RemoteAddr())
	if old.world == nil {
		w, _ := NewWorld(s.resp.Agent, 0, 0)
		old.world = w
	}
	// s.world keeps its identity: its contents go to the old link's
	// world, the new region's come in.
	s.world.exchange(l.world)
	old.world, l.world = l.world, s.world
	old.region, s.region = s.region, l.region
	old.state = StateReady
	s.conn = l.conn
	s.grid.main = l
	s.grid.children[old.conn.RemoteAddr()] = old
	s.mu.Unlock()
	return old
}

// demote undoes promote: l (the main region now) becomes a child again
// and old main again.
func (s *Session) demote(l, old *link) {
	s.mu.Lock()
	delete(s.grid.children, old.conn.RemoteAddr())
	s.world.exchange(old.world)
	l.world, old.world = old.world, s.world
	l.region, s.region = s.region, old.region
	s.conn = old.conn
	s.grid.main = old
	if l.state != StateClosed {
		s.grid.children[l.conn.RemoteAddr()] = l
	}
	s.mu.Unlock()
}

// exchange trades the contents of two worlds (every field but the lock,
// the agent and Apply's scratch). Callers serialise exchanges
// (gridState.switchMu), so the lock order cannot cross.
func (w *World) exchange(o *World) {
	if w == o {
		return
	}
	w.mu.Lock()
	o.mu.Lock()
	w.objects, o.objects = o.objects, w.objects
	w.byID, o.byID = o.byID, w.byID
	w.cached, o.cached = o.cached, w.cached
	w.requested, o.requested = o.requested, w.requested
	w.avatar, o.avatar = o.avatar, w.avatar
	w.height, o.height = o.height, w.height
	w.got, o.got = o.got, w.got
	w.patches, o.patches = o.patches, w.patches
	w.stats, o.stats = o.stats, w.stats
	o.mu.Unlock()
	w.mu.Unlock()
}

// moveKind names what moves the agent to another region.
type moveKind uint8

const (
	moveCross moveKind = iota + 1
	moveTeleport
)

// moveTo makes the region at addr the main one: it reuses the child
// circuit there or opens one, sends UseCircuitCode on it (again, for a
// child, as viewers do when the agent becomes root there), then
// CompleteAgentMovement, and waits for AgentMovementComplete. When the
// region does not answer, the agent stays where it was (the old region is
// main again) and the error says why.
func (s *Session) moveTo(ctx context.Context, addr netip.AddrPort, h ritual.RegionHandle, seed string, sizeX, sizeY int) (Movement, error) {
	s.grid.switchMu.Lock()
	defer s.grid.switchMu.Unlock()
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	s.mu.Lock()
	isMain := s.region.Addr == addr
	s.mu.Unlock()
	start := time.Now()
	var l, old *link
	if !isMain {
		var err error
		l, err = s.openChild(addr, h, sizeX, sizeY, false)
		if err != nil && !errors.Is(err, errLinkExists) {
			return Movement{}, err
		}
		if l == nil {
			return Movement{}, fmt.Errorf("client: no circuit to %s", addr)
		}
		s.mu.Lock()
		if seed != "" && seed != l.seed {
			// A new grant (a teleport back into a region the agent was
			// a child of): its capabilities and event queue are new.
			l.seed, l.eqActive = seed, false
		}
		if l.region.Handle == 0 {
			l.region.Handle = h
		}
		s.mu.Unlock()
		fresh := err == nil
		if err := s.useCircuit(l); err != nil {
			if fresh {
				// A circuit opened for this move and never answered goes.
				s.mu.Lock()
				l.why = err.Error()
				s.mu.Unlock()
				l.conn.Close(err.Error())
			}
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return Movement{}, err
		}
		old = s.promote(l)
	}
	if err := s.send(&msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{
		AgentID: s.resp.Agent, SessionID: s.resp.Session, CircuitCode: s.resp.CircuitCode,
	}}, true); err != nil {
		if l != nil {
			s.demote(l, old)
		}
		return Movement{}, fmt.Errorf("client: sending CompleteAgentMovement: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Handshake)
	defer cancel()
	var mv Movement
	err := s.waitQuiet(wctx, func() bool {
		m, ok := s.Movement()
		mv = m
		return ok && !m.At.Before(start)
	})
	if err != nil {
		if l != nil {
			s.demote(l, old)
		}
		return Movement{}, fmt.Errorf("client: no AgentMovementComplete from %s: %w", addr, err)
	}
	if l != nil {
		s.mu.Lock()
		if mv.RegionHandle != 0 {
			s.region.Handle = mv.RegionHandle
		}
		s.grid.main = l
		// The region answered CompleteAgentMovement: its circuit is
		// ready. Its RegionHandshake may not have been seen as the
		// child's (it goes to the main circuit's handling once l is
		// promoted, and a region sends it to a root agent only after
		// CompleteAgentMovement), so the state is set here; otherwise
		// the destination's seed capability would never be asked for.
		if l.state == StateConnecting {
			l.state = StateReady
		}
		s.mu.Unlock()
		l.once.Do(func() { close(l.ready) })
		s.startLinkCaps(l)
	}
	return mv, nil
}

// waitQuiet is wait without the diagnosis: it blocks until ready holds,
// ctx ends or the session ends.
func (s *Session) waitQuiet(ctx context.Context, ready func() bool) error {
	for {
		ch := s.changedChan()
		if ready() {
			return nil
		}
		select {
		case <-ch:
		case <-s.done:
			if ready() {
				return nil
			}
			return s.Err()
		case <-ctx.Done():
			if ready() {
				return nil
			}
			return ctx.Err()
		}
	}
}

// cross follows CrossedRegion: the agent is handed to the neighbour.
func (s *Session) cross(c Crossing) {
	start := time.Now()
	pos := c.Position
	s.regionEvent(&trace.RegionChange{Kind: trace.CrossStart, Handle: uint64(c.Handle), Remote: c.Addr.String(),
		End: s.endFor(c.Addr, c.Handle), Seed: c.SeedCapability, Position: &pos})
	mv, err := s.moveTo(s.ctx, c.Addr, c.Handle, c.SeedCapability, c.SizeX, c.SizeY)
	if err != nil {
		s.log.Warn("client: crossing into a neighbour failed", "region", c.Addr, "err", err)
		s.regionEvent(&trace.RegionChange{Kind: trace.CrossFailed, Handle: uint64(c.Handle), Remote: c.Addr.String(),
			Reason: err.Error() + " (the agent stays where it was)", Elapsed: time.Since(start)})
		return
	}
	rg := s.Region()
	p := mv.Position
	s.regionEvent(&trace.RegionChange{Kind: trace.CrossComplete, Region: rg.Name, Handle: uint64(rg.Handle),
		Remote: rg.Addr.String(), End: s.endFor(rg.Addr, rg.Handle), Position: &p, Elapsed: time.Since(start)})
	s.mu.Lock()
	s.grid.crossings++
	s.mu.Unlock()
	s.notify()
}

// endFor is the trace endpoint of the region at addr: its circuit's when
// one is open, else the name one would get.
func (s *Session) endFor(addr netip.AddrPort, h ritual.RegionHandle) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if addr == s.region.Addr {
		if s.grid.main != nil {
			return s.grid.main.end
		}
		return trace.EndRegion
	}
	if l := s.grid.children[addr]; l != nil {
		return l.end
	}
	return regionEnd(h)
}

// Crossings returns how many border crossings the session has completed.
func (s *Session) Crossings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grid.crossings
}

// WaitCrossings waits until at least n border crossings have completed.
func (s *Session) WaitCrossings(ctx context.Context, n int) error {
	return s.wait(ctx, fmt.Sprintf("%d border crossings", n), func() bool { return s.Crossings() >= n })
}
