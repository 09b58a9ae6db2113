package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/store"
	"ritual/trace"
)

// Config configures a Region. The zero value of every field but Store,
// Caps and SimIP works.
type Config struct {
	Store store.Store
	// Caps grants and revokes the agents' capabilities.
	Caps *caps.Router

	// RegionName names the region (default "Ritual"); GridX, GridY place a
	// new one (default 1000, 1000).
	RegionName   string
	GridX, GridY uint32

	// SimIP and SimPort are what clients are told to send UDP to (SimIP
	// must be an IP literal). SimPort 0 means the port of the socket
	// given to Serve.
	SimIP   netip.Addr
	SimPort uint16

	// ChannelVersion is the server version AgentMovementComplete reports.
	ChannelVersion string

	// CircuitTTL is how long a provisioned circuit waits for its
	// UseCircuitCode (default 60 s). MaxCircuits caps provisioned and
	// active circuits together (default 5000).
	CircuitTTL  time.Duration
	MaxCircuits int
	// Circuit is the template for every agent's circuit.Config.
	Circuit circuit.Config

	// FrameRate is how many times a second the shared world steps its
	// avatars and chooses what each agent is sent (default
	// DefaultFrameRate).
	FrameRate int

	// Directory is the rest of the grid, for map searches and teleports
	// (nil: this region alone).
	Directory Directory
	// ReleaseWait is how long an agent that teleported or crossed away
	// stays a root agent here, waiting for the destination to confirm its
	// arrival (a Directory that is a Releaser); without it the agent is
	// put back and told (default DefaultReleaseWait).
	ReleaseWait time.Duration

	Recorder trace.Recorder
	Logger   *slog.Logger
}

func (c *Config) fill() error {
	if c.Store == nil {
		return errors.New("sim: Config.Store is required")
	}
	if c.Caps == nil {
		return errors.New("sim: Config.Caps is required")
	}
	if c.RegionName == "" {
		c.RegionName = "Ritual"
	}
	if c.GridX == 0 && c.GridY == 0 {
		c.GridX, c.GridY = 1000, 1000
	}
	if c.ChannelVersion == "" {
		c.ChannelVersion = "Ritual Server"
	}
	if c.CircuitTTL <= 0 {
		c.CircuitTTL = 60 * time.Second
	}
	if c.MaxCircuits <= 0 {
		c.MaxCircuits = 5000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.FrameRate <= 0 {
		c.FrameRate = DefaultFrameRate
	}
	if c.ReleaseWait <= 0 {
		c.ReleaseWait = DefaultReleaseWait
	}
	return nil
}

// Counters are the region's running counts.
type Counters struct {
	Provisioned uint64 // circuits provisioned by logins
	Accepted    uint64 // UseCircuitCode validated
	Rejected    uint64 // UseCircuitCode refused (unknown, expired, mismatched)
	Stray       uint64 // datagrams from unknown addresses that were not UseCircuitCode
	Logouts     uint64 // LogoutRequest answered
	// AgentsInWorld are the agents with a circuit here, root and child
	// alike (the avatars present are WorldStats.Avatars).
	AgentsInWorld int
	// Pending are circuits provisioned and waiting for UseCircuitCode;
	// Circuits the circuits open on the socket.
	Pending, Circuits int
	// Full counts logins refused because MaxCircuits was reached (the
	// client is told the region is full).
	Full uint64
	// Rejects splits Rejected by reason (RejectUnknown, ...); Closed
	// counts the agents' circuits closed, by reason (ClosedLogout, ...).
	Rejects []Count
	Closed  []Count
}

// Region is one running region.
type Region struct {
	cfg    Config
	info   store.Region
	scene  *scene
	handle ritual.RegionHandle

	transport atomic.Pointer[circuit.Transport]
	simPort   atomic.Uint32

	mu      sync.Mutex
	pending map[uint32]*pendingCircuit // by circuit code
	agents  map[ritual.UUID]*agent     // by agent id, once the circuit is up
	byAddr  map[netip.AddrPort]*agent  // by client address
	closing bool

	provisioned, accepted, rejected, stray, logouts atomic.Uint64
	wg                                              sync.WaitGroup

	world        *world
	worldStarted atomic.Bool
	// borders carries child views and chat to the neighbours (the
	// Directory, when it is Borders); neighbours are those learnt of.
	borders    Borders
	neighbours neighbourSet

	counts      *counters
	live        map[*agent]struct{} // agents whose goroutine runs (r.mu)
	closedStats trace.CircuitStats  // the closed circuits' final counts (r.mu)
}

type pendingCircuit struct {
	login.Circuit
	used     bool
	teleport bool                // provisioned by Admit
	child    bool                // provisioned by AdmitChild: a neighbour's agent
	origin   ritual.RegionHandle // the region a teleport or crossing comes from
	// view is a child view told before the circuit opened.
	view *ChildView
}

// Open loads the region named cfg.RegionName from the store, creating it
// with generated terrain and scene on first start.
func Open(ctx context.Context, cfg Config) (*Region, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	info, err := cfg.Store.Regions().ByName(ctx, cfg.RegionName)
	if errors.Is(err, store.ErrNotFound) {
		info, err = create(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("sim: opening region %q: %w", cfg.RegionName, err)
	}
	sc, err := loadScene(ctx, cfg.Store, info)
	if err != nil {
		return nil, fmt.Errorf("sim: loading region %q: %w", info.Name, err)
	}
	r := &Region{
		cfg:     cfg,
		info:    info,
		scene:   sc,
		handle:  info.Handle(),
		pending: map[uint32]*pendingCircuit{},
		agents:  map[ritual.UUID]*agent{},
		byAddr:  map[netip.AddrPort]*agent{},
		counts:  newCounters(),
		live:    map[*agent]struct{}{},
	}
	r.borders, _ = cfg.Directory.(Borders)
	r.world = newWorld(r, cfg.FrameRate)
	r.simPort.Store(uint32(cfg.SimPort))
	return r, nil
}

func create(ctx context.Context, cfg Config) (store.Region, error) {
	info := store.Region{
		ID: ritual.NewUUID(), Name: cfg.RegionName,
		GridX: cfg.GridX, GridY: cfg.GridY,
		SizeX: ritual.RegionSize, SizeY: ritual.RegionSize,
	}
	if err := cfg.Store.Regions().Create(ctx, &info); err != nil {
		return info, err
	}
	hm := GenerateTerrain(int(info.SizeX), int(info.SizeY))
	if err := cfg.Store.Terrain().Save(ctx, info.ID, hm); err != nil {
		return info, err
	}
	if err := cfg.Store.Objects().Save(ctx, info.ID, GenerateScene(hm, ritual.ZeroUUID, firstPrimLocalID)...); err != nil {
		return info, err
	}
	cfg.Logger.Info("created region", "name", info.Name, "grid_x", info.GridX, "grid_y", info.GridY)
	return info, nil
}

// Info returns the region's record.
func (r *Region) Info() store.Region { return r.info }

// Handle returns the region handle.
func (r *Region) Handle() ritual.RegionHandle { return r.handle }

// Counters returns the running counts.
func (r *Region) Counters() Counters {
	r.mu.Lock()
	n, pending := len(r.agents), len(r.pending)
	r.mu.Unlock()
	c := Counters{
		Provisioned: r.provisioned.Load(), Accepted: r.accepted.Load(), Rejected: r.rejected.Load(),
		Stray: r.stray.Load(), Logouts: r.logouts.Load(), AgentsInWorld: n,
		Pending: pending, Full: r.counts.full.Load(),
	}
	if t := r.transport.Load(); t != nil {
		c.Circuits = len(t.Conns())
	}
	for i, name := range rejectReasons {
		c.Rejects = append(c.Rejects, Count{name, r.counts.rejects[i].Load()})
	}
	for i, name := range closeReasons {
		c.Closed = append(c.Closed, Count{name, r.counts.closed[i].Load()})
	}
	return c
}

// World returns the shared world's running counts.
func (r *Region) World() WorldStats { return r.world.stats() }

// Heightmap returns a copy of the region's terrain.
func (r *Region) Heightmap() store.Heightmap {
	hm := r.scene.terrain
	hm.Heights = append([]float32(nil), hm.Heights...)
	return hm
}

// Objects returns the number of prims in the scene.
func (r *Region) Objects() int { return len(r.scene.objects) }

// ErrClosing refuses new circuits while the region shuts down.
var ErrClosing = errors.New("sim: region is shutting down")

// Provision implements login.Region: it registers the circuit, ends any
// earlier presence of the same agent, grants the agent's capabilities and
// says where the client goes next.
func (r *Region) Provision(ctx context.Context, c login.Circuit) (login.Destination, error) {
	if c.Code == 0 {
		return login.Destination{}, errCodeZero
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return login.Destination{}, ErrClosing
	}
	// A second login of the same agent ends the first cleanly.
	old := r.agents[c.Agent]
	if err := r.reserveLocked(&pendingCircuit{Circuit: c}); err != nil {
		r.mu.Unlock()
		return login.Destination{}, err
	}
	r.mu.Unlock()
	if old != nil {
		old.kick("You have logged in from another place.")
	}
	seed, err := r.cfg.Caps.Grant(caps.Agent{
		ID: c.Agent, Session: c.Session, First: c.First, Last: c.Last,
		RegionID: r.info.ID, RegionName: r.info.Name,
	})
	if err != nil {
		r.unreserve(c, func(*pendingCircuit) bool { return true })
		return login.Destination{}, fmt.Errorf("sim: granting capabilities: %w", err)
	}
	r.provisioned.Add(1)
	return r.destination(seed, r.scene.arrival(c.Start, r.info.Name), ritual.Vector3{X: 1}), nil
}

// errCodeZero refuses a circuit without a code.
var errCodeZero = errors.New("sim: circuit code 0 is not valid")

// reserveLocked records p as a circuit waiting for its UseCircuitCode;
// r.mu is held. The agent's earlier waiting circuits go, and expired ones;
// a region at MaxCircuits refuses it (login.ErrRegionFull), and so does a
// code already waiting.
func (r *Region) reserveLocked(p *pendingCircuit) error {
	now := time.Now()
	for code, q := range r.pending {
		if q.Agent == p.Agent || now.After(q.Expiry) {
			delete(r.pending, code)
		}
	}
	if len(r.pending)+len(r.agents) >= r.cfg.MaxCircuits {
		r.counts.full.Add(1)
		return fmt.Errorf("%w: %d circuits", login.ErrRegionFull, r.cfg.MaxCircuits)
	}
	if _, taken := r.pending[p.Code]; taken {
		return errors.New("sim: circuit code already provisioned")
	}
	if p.Expiry.IsZero() {
		p.Expiry = now.Add(r.cfg.CircuitTTL)
	}
	r.pending[p.Code] = p
	return nil
}

// unreserve takes back c's waiting circuit after its capabilities could
// not be granted, when it is still c's agent's and mine says it is the
// one reserved.
func (r *Region) unreserve(c login.Circuit, mine func(*pendingCircuit) bool) {
	r.mu.Lock()
	if p := r.pending[c.Code]; p != nil && p.Agent == c.Agent && mine(p) {
		delete(r.pending, c.Code)
	}
	r.mu.Unlock()
}

// destination is where a client is sent to reach this region.
func (r *Region) destination(seed string, pos, lookAt ritual.Vector3) login.Destination {
	return login.Destination{
		RegionName: r.info.Name, RegionID: r.info.ID,
		SimIP: r.cfg.SimIP, SimPort: uint16(r.simPort.Load()), Handle: r.handle,
		SizeX: r.info.SizeX, SizeY: r.info.SizeY,
		SeedCapability: seed, Position: pos, LookAt: lookAt,
	}
}

// Serve runs the region's UDP side on pc until Close; it returns nil after
// Close.
func (r *Region) Serve(pc net.PacketConn) error {
	if r.simPort.Load() == 0 {
		if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok {
			r.simPort.Store(uint32(ua.Port))
		}
	}
	t := circuit.NewTransport(pc, circuit.TransportConfig{
		Accept:   r.accept,
		Side:     trace.Server,
		Recorder: r.cfg.Recorder,
		Logger:   r.cfg.Logger,
		MaxConns: r.cfg.MaxCircuits,
	})
	if !r.transport.CompareAndSwap(nil, t) {
		return errors.New("sim: region already serving")
	}
	// A Close that ran before the transport was stored could not close
	// it: close it here. (A Close after this check sees the transport.)
	r.mu.Lock()
	closing := r.closing
	r.mu.Unlock()
	if closing {
		t.Close()
		return nil
	}
	if r.worldStarted.CompareAndSwap(false, true) {
		go r.world.run()
	}
	return t.Serve()
}

// accept handles a datagram from an address with no circuit: only a
// UseCircuitCode for a provisioned circuit opens one.
func (r *Region) accept(from netip.AddrPort, d []byte) {
	var p msg.Packet
	var scratch [msg.MaxBody]byte
	reject := func(code uint32, kind, reason string, ucc *msg.UseCircuitCode) {
		r.rejected.Add(1)
		r.counts.reject(kind)
		if r.cfg.Recorder == nil {
			return
		}
		ev := &trace.CircuitCheck{
			Header: trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndClient, To: trace.EndRegion},
			OK:     false, Code: code, Remote: from.String(), Reason: reason,
		}
		if ucc != nil {
			ev.Agent = ucc.CircuitCode.ID
			ev.Session = ucc.CircuitCode.SessionID.String()
		}
		trace.Emit(r.cfg.Recorder, ev)
	}
	if err := p.Parse(d, scratch[:0]); err != nil {
		r.stray.Add(1)
		r.anomaly(from, fmt.Sprintf("malformed datagram from an address with no circuit: %v", err))
		return
	}
	if p.ID != msg.IDUseCircuitCode {
		r.stray.Add(1)
		r.anomaly(from, fmt.Sprintf("%s from an address with no circuit", p.ID))
		return
	}
	var u msg.UseCircuitCode
	if err := u.Decode(p.Body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
		reject(0, RejectMalformed, fmt.Sprintf("malformed UseCircuitCode: %v", err), nil)
		return
	}
	code := u.CircuitCode.Code
	r.mu.Lock()
	pc := r.pending[code]
	var why, kind string
	switch {
	case pc == nil:
		why, kind = "unknown circuit code", RejectUnknown
	case pc.used:
		why, kind = "circuit already in use from another address", RejectInUse
	case time.Now().After(pc.Expiry):
		why, kind = "circuit expired before UseCircuitCode arrived", RejectExpired
		delete(r.pending, code)
	case pc.Session != u.CircuitCode.SessionID:
		why, kind = "session does not match the provisioned circuit", RejectMismatch
	case pc.Agent != u.CircuitCode.ID:
		why, kind = "agent does not match the provisioned circuit", RejectMismatch
	case r.closing:
		why, kind = "region is shutting down", RejectClosing
	}
	if why != "" {
		r.mu.Unlock()
		reject(code, kind, why, &u)
		return
	}
	pc.used = true
	circ, teleported, child, origin, view := pc.Circuit, pc.teleport || pc.child, pc.child, pc.origin, pc.view
	r.mu.Unlock()

	t := r.transport.Load()
	ccfg := r.cfg.Circuit
	ccfg.Side = trace.Server
	ccfg.LocalEnd, ccfg.RemoteEnd = trace.EndRegion, trace.EndClient
	ccfg.Recorder = r.cfg.Recorder
	ccfg.Logger = r.cfg.Logger
	ccfg.Code = code
	ccfg.NoAppendedAcks = true
	ccfg.Summarize = noteShort(ccfg.Summarize)
	conn, err := t.Open(from, ccfg)
	if err != nil {
		r.mu.Lock()
		pc.used = false
		r.mu.Unlock()
		reject(code, RejectNoCircuit, fmt.Sprintf("cannot open circuit: %v", err), &u)
		return
	}
	r.accepted.Add(1)
	if r.cfg.Recorder != nil {
		trace.Emit(r.cfg.Recorder, &trace.CircuitCheck{
			Header: trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndClient, To: trace.EndRegion},
			OK:     true, Code: code, Agent: circ.Agent, Session: circ.Session.String(), Remote: from.String(),
		})
	}
	a := newAgent(r, conn, circ)
	a.teleported = teleported
	a.away = child
	a.origin.Store(uint64(origin))
	r.mu.Lock()
	if np := r.pending[code]; np != nil && np != pc && np.teleport && np.Agent == circ.Agent && np.Session == circ.Session {
		// Admit came for this circuit while it was being accepted (a
		// neighbour's child teleporting in at once): the agent arrives.
		p := r.scene.arrival(np.Start, r.info.Name)
		a.arriving.Store(&p)
		a.origin.Store(uint64(np.origin))
	}
	delete(r.pending, code)
	if old := r.agents[circ.Agent]; old != nil && old != a {
		go old.kick("You have logged in from another place.")
	}
	r.agents[circ.Agent] = a
	r.byAddr[from] = a
	r.live[a] = struct{}{}
	r.mu.Unlock()
	if child && view != nil {
		r.world.observe(a.av, view.Position, view.Far)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		a.run()
		if a.joined {
			r.world.leave(a.av)
		}
		r.counts.close(closeReason(a))
		a.leftGrid() // a root agent's circuit closed (a timeout, a kick)
		st := a.conn.Stats()
		r.mu.Lock()
		if r.agents[circ.Agent] == a {
			delete(r.agents, circ.Agent)
		}
		if r.byAddr[from] == a {
			delete(r.byAddr, from)
		}
		delete(r.live, a)
		addStats(&r.closedStats, st)
		// The agent's capabilities go with it, unless a newer login of the
		// same agent has been provisioned or is in the region: its grant
		// replaced this one, and revoking by agent would take it away.
		superseded := r.agents[circ.Agent] != nil
		for _, p := range r.pending {
			superseded = superseded || p.Agent == circ.Agent
		}
		r.mu.Unlock()
		// An agent that teleported away may hold the destination's grant
		// (a region of this process): only this region's grants go.
		if !superseded && (a.away || a.crossed.Load()) {
			r.cfg.Caps.RevokeRegion(circ.Agent, r.info.ID)
		} else if !superseded {
			r.cfg.Caps.Revoke(circ.Agent)
		}
	}()
	// The circuit processes the UseCircuitCode itself: it acknowledges it
	// and delivers it to the agent.
	conn.Inject(d)
}

func (r *Region) anomaly(from netip.AddrPort, reason string) {
	if r.cfg.Recorder == nil {
		return
	}
	trace.Emit(r.cfg.Recorder, &trace.Anomaly{
		Header: trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndClient, To: trace.EndRegion},
		Kind:   trace.AnomalyDropped, Reason: reason, Remote: from.String(),
	})
}

// Close tells every agent it is being disconnected, waits (bounded by ctx)
// for them to acknowledge, closes their circuits and the socket.
func (r *Region) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	agents := make([]*agent, 0, len(r.agents))
	for _, a := range r.agents {
		agents = append(agents, a)
	}
	r.pending = map[uint32]*pendingCircuit{}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.disconnect(ctx, "The region is shutting down.")
		}()
	}
	wg.Wait()
	var err error
	if t := r.transport.Load(); t != nil {
		err = t.Close()
	}
	r.wg.Wait()
	r.world.close()
	if r.worldStarted.Load() {
		<-r.world.done
	}
	return err
}

// ShortField is the key of the field a received packet's trace event
// carries when its message lacked trailing blocks (a sender with an older
// template): their names, then "absent", e.g. "EstateBlock, MetaData
// absent".
const ShortField = "short"

// noteShort wraps a circuit's summary (nil: circuit.DefaultSummary) so that
// a message received without its trailing blocks says so in its packet's
// trace event. Called only when the circuit has a recorder.
func noteShort(sum func(msg.Message) trace.Fields) func(msg.Message) trace.Fields {
	if sum == nil {
		sum = circuit.DefaultSummary
	}
	return func(m msg.Message) trace.Fields {
		f := sum(m)
		if m.Absent() == 0 {
			return f
		}
		if names := msg.AbsentBlocks(m); len(names) > 0 {
			f = append(f, trace.Field{Key: ShortField, Value: strings.Join(names, ", ") + " absent"})
		}
		return f
	}
}
