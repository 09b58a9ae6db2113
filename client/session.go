package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/xmlrpc"
	"ritual/trace"
	"ritual/trace/cause"
)

// Region is what the client knows of the region it is in: its identity from
// the login reply and RegionHandshake.
type Region struct {
	Name string
	// Handle is the region's south-west corner (from the login reply, then
	// AgentMovementComplete).
	Handle ritual.RegionHandle
	// ID is RegionHandshake's RegionInfo2.RegionID; CacheID its cache id.
	ID, CacheID ritual.UUID
	Owner       ritual.UUID
	// Flags are the region flags (RegionFlagsExtended when the region sent
	// it); Protocols the RegionProtocols bits.
	Flags, Protocols uint64
	SimAccess        uint8
	WaterHeight      float32
	ProductName      string
	ProductSKU       string
	// SizeX, SizeY are the region's extent in metres.
	SizeX, SizeY int
	// Addr is the region's UDP address.
	Addr netip.AddrPort
}

// Movement is the agent's arrival as AgentMovementComplete told it.
type Movement struct {
	Position, LookAt ritual.Vector3
	RegionHandle     ritual.RegionHandle
	Timestamp        uint32
	ChannelVersion   string
	At               time.Time
}

// Stats counts what a session has carried.
type Stats struct {
	Circuit trace.CircuitStats
	// Messages counts the messages received from the region, by name
	// (acknowledgements and pings are the circuit's and not counted).
	Messages map[string]int
	// Events counts event-queue events; EventsDropped those Events had no
	// room for.
	Events, EventsDropped int
	World                 WorldStats
}

// LogoutResult tells how a logout went.
type LogoutResult struct {
	// ReplyReceived reports whether the region answered with LogoutReply
	// (OpenSimulator 0.9.2.2 often does not).
	ReplyReceived bool
	// Waited is how long the client waited for it.
	Waited time.Duration
}

// Session is one agent in one region: the login reply, the UDP circuit,
// the capabilities and event queue, and the world view. Its methods are
// safe for concurrent use.
type Session struct {
	cfg   Config
	resp  *login.Response
	log   *slog.Logger
	rec   trace.Recorder
	world *World
	// social keeps the other avatars, chat and IM (social.go).
	social *social

	tr        *circuit.Transport
	conn      *circuit.Conn
	serveDone chan struct{}
	// send queues a message to the region: conn.Send, or a test's.
	send func(m msg.Message, reliable bool) error

	ctx    context.Context // ends when the session ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // dispatch, event queue, updater

	handshakeCh   chan struct{} // closed at the first RegionHandshake
	handshakeOnce sync.Once
	logoutCh      chan struct{} // closed at LogoutReply
	logoutOnce    sync.Once

	events     chan caps.Event
	eventsOnce sync.Once
	// eqDelivered is closed at the event queue's first delivery; eqFailed
	// when the session has told that it will deliver nothing (blank or
	// failing seed, no EventQueueGet granted, held polls).
	eqDelivered, eqFailed         chan struct{}
	eqDeliveredOnce, eqFailedOnce sync.Once
	leaving                       atomic.Bool // Logout has begun
	eventsCount                   atomic.Int64
	eventsDropped                 atomic.Int64

	mu          sync.Mutex
	region      Region
	handshaken  bool
	movement    Movement
	moved       bool
	capsGranted map[string]string
	eqStarted   bool
	received    map[string]int
	alerts      []string      // the regions' AlertMessages, the last maxAlerts
	alertSeq    uint64        // AlertMessages received
	alertWake   chan struct{} // closed and replaced at each AlertMessage
	firstObject bool
	terrainDone bool
	complete    bool
	outOfOrder  map[string]bool
	faults      []cause.Cause // faults the ritual went on without
	eqFault     cause.Cause
	changed     chan struct{}
	err         error

	done      chan struct{}
	endOnce   sync.Once
	closeOnce sync.Once
	closeErr  error

	// The regions beyond the first: child circuits, crossings and
	// teleports (regions.go, teleport.go).
	grid gridState
	tele teleportState
}

// Login logs in with cfg and connects to the region the login service
// names (see Connect). Errors from the login itself wrap package login's
// (a refused login is a *login.Failure).
func Login(ctx context.Context, cfg Config) (*Session, error) {
	switch {
	case cfg.LoginURI == "":
		return nil, fmt.Errorf("%w: no login URI", ErrConfig)
	case cfg.First == "" || cfg.Last == "":
		return nil, fmt.Errorf("%w: first and last name are required", ErrConfig)
	case cfg.Password == "":
		return nil, fmt.Errorf("%w: no password", ErrConfig)
	}
	cfg, err := cfg.fill()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := login.Login(ctx, login.Params{
		URI: cfg.LoginURI, First: cfg.First, Last: cfg.Last, Password: cfg.Password,
		Format: cfg.Format, Channel: cfg.Channel, Version: cfg.Version, Start: cfg.Start,
		HTTPClient: cfg.HTTPClient, Recorder: cfg.Recorder,
	})
	if err != nil {
		if cfg.Recorder != nil && !errors.Is(err, login.ErrBadParams) && !errors.Is(ctx.Err(), context.Canceled) {
			trace.Emit(cfg.Recorder, loginStall(cfg.LoginURI, err, time.Since(start)))
		}
		return nil, fmt.Errorf("client: %w", err)
	}
	return Connect(ctx, cfg, resp)
}

// loginStall is the session's diagnosis of a login that failed after
// took.
func loginStall(uri string, err error, took time.Duration) *trace.Stall {
	if u, perr := url.Parse(uri); perr == nil {
		uri = u.Redacted()
	}
	h := trace.Header{Side: trace.Client, Layer: trace.Login, From: trace.EndClient, To: trace.EndLogin}
	lastSeen, expected := "[CLIENT] [LOGIN] START", "[CLIENT] [LOGIN] RECV Response"
	var c cause.Cause
	var (
		failure *login.Failure
		status  *login.StatusError
		fault   *xmlrpc.Fault
	)
	switch {
	case errors.As(err, &failure):
		c = cause.LoginRefusedBy(failure.Reason, failure.Message)
		lastSeen, expected = "[CLIENT] [LOGIN] RECV Response", "a successful login reply"
	case errors.As(err, &status):
		c = cause.LoginHTTPStatus(status.StatusCode)
	case errors.As(err, &fault):
		c = cause.LoginReplyUnreadable("it is an XML-RPC fault: " + strconv.Quote(fault.String))
	case errors.Is(err, login.ErrResponseTooLarge):
		c = cause.LoginReplyUnreadable("it is larger than any login reply")
	case errors.Is(err, login.ErrRedirect):
		c = cause.LoginReplyUnreadable("it redirects the login elsewhere, which this client does not follow")
	case errors.Is(err, login.ErrBadResponse):
		c = cause.LoginReplyUnreadable("it is not a login reply")
	default:
		c = cause.LoginFailed(uri, err, took)
	}
	return cause.Stall(h, lastSeen, expected, took, c)
}

// Connect opens the UDP circuit to the region of a successful login reply
// and runs the rest of the ritual: UseCircuitCode (waiting for its
// acknowledgement), CompleteAgentMovement, RegionHandshake and its reply,
// the seed capability and the event queue, AgentThrottle and the periodic
// AgentUpdate. It returns once the region has had everything it waits for
// before it sends the scene; AgentMovementComplete, objects and terrain
// follow (see the Wait methods). A seed capability that is blank or fails
// does not fail Connect: it is a fault (see Faults) and the UDP ritual
// goes on. cfg's login fields are not used.
func Connect(ctx context.Context, cfg Config, resp *login.Response) (*Session, error) {
	cfg, err := cfg.fill()
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("%w: no login response", ErrConfig)
	}
	addr, err := resp.SimAddr()
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if addr.Port() == 0 || addr.Addr().IsUnspecified() {
		return nil, fmt.Errorf("client: the login reply's sim address %s cannot be reached", addr)
	}
	sx, sy := memberInt(resp.Members, "region_size_x"), memberInt(resp.Members, "region_size_y")
	world, err := NewWorld(resp.Agent, sx, sy)
	if err != nil {
		return nil, fmt.Errorf("client: the login reply's region size: %w", err)
	}
	s := newSession(cfg, resp, world)
	s.region.Addr = addr

	var pc net.PacketConn
	if cfg.ListenPacket != nil {
		if pc, err = cfg.ListenPacket(); err == nil && pc == nil {
			err = fmt.Errorf("%w: ListenPacket returned no socket", ErrConfig)
		}
	} else {
		pc, err = listenUDP(addr.Addr())
	}
	if err != nil {
		return nil, fmt.Errorf("client: opening a UDP socket for %s: %w", addr, err)
	}
	s.tr = circuit.NewTransport(pc, circuit.TransportConfig{Side: trace.Client, Recorder: cfg.Recorder, Logger: cfg.Logger})
	s.serveDone = make(chan struct{})
	go func() {
		defer close(s.serveDone)
		if err := s.tr.Serve(); err != nil {
			s.log.Warn("client: UDP socket failed", "err", err)
		}
	}()
	cc := cfg.Circuit
	cc.Side, cc.LocalEnd, cc.RemoteEnd = trace.Client, trace.EndClient, trace.EndRegion
	cc.Code, cc.Recorder, cc.Logger = resp.CircuitCode, cfg.Recorder, cfg.Logger
	conn, err := s.tr.Open(addr, cc)
	if err != nil {
		s.tr.Close()
		<-s.serveDone
		return nil, fmt.Errorf("client: opening the circuit to %s: %w", addr, err)
	}
	s.conn = conn
	s.send = s.sendMain
	s.wg.Add(1)
	go s.dispatch(conn)

	if err := s.ritual(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// newSession makes a session without a circuit: Connect adds one; tests
// feed handle directly.
func newSession(cfg Config, resp *login.Response, world *World) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		cfg: cfg, resp: resp, log: cfg.Logger, rec: cfg.Recorder, world: world,
		social: newSocial(resp.Agent, cfg.WorldEventBuffer),
		ctx:    ctx, cancel: cancel,
		handshakeCh: make(chan struct{}),
		logoutCh:    make(chan struct{}),
		events:      make(chan caps.Event, cfg.EventBuffer),
		eqDelivered: make(chan struct{}),
		eqFailed:    make(chan struct{}),
		received:    make(map[string]int),
		outOfOrder:  make(map[string]bool),
		done:        make(chan struct{}),
	}
	s.region.Handle = resp.RegionHandle()
	s.region.SizeX, s.region.SizeY = world.height.W, world.height.H
	s.send = func(msg.Message, bool) error { return ErrClosed }
	return s
}

// listenUDP opens a socket of the region address's family: on loopback for
// a loopback region, else on every interface.
func listenUDP(to netip.Addr) (net.PacketConn, error) {
	switch {
	case to.Is4() && to.IsLoopback():
		return net.ListenPacket("udp4", "127.0.0.1:0")
	case to.Is4():
		return net.ListenPacket("udp4", "0.0.0.0:0")
	case to.IsLoopback():
		return net.ListenPacket("udp6", "[::1]:0")
	}
	return net.ListenPacket("udp6", "[::]:0")
}

// memberInt reads an integer member of a login reply, 0 if absent.
func memberInt(m map[string]any, key string) int {
	switch v := m[key].(type) {
	case int:
		return v
	case int32:
		return int(v)
	case int64:
		if v >= 0 && v <= math.MaxInt32 {
			return int(v)
		}
	case float64:
		if v >= 0 && v <= math.MaxInt32 {
			return int(v)
		}
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

// ritual runs the steps Connect waits for.
func (s *Session) ritual(ctx context.Context) error {
	r := s.resp
	addr := s.region.Addr
	// UseCircuitCode, reliable, and its acknowledgement.
	timeout := s.cfg.Timeouts.UseCircuitCode
	sent := time.Now()
	uctx, cancel := context.WithTimeout(ctx, timeout)
	err := s.conn.SendAcked(uctx, &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{
		Code: r.CircuitCode, SessionID: r.Session, ID: r.Agent,
	}})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("client: waiting for the acknowledgement of UseCircuitCode: %w", ctx.Err())
		}
		if s.ended() {
			return fmt.Errorf("client: before UseCircuitCode was acknowledged: %w", s.Err())
		}
		waited := time.Since(sent)
		s.anomaly(trace.AnomalyTimeout, "PacketAck", "no acknowledgement of UseCircuitCode within "+cause.Dur(waited))
		s.stall(trace.UDP, "[CLIENT] [UDP] SEND UseCircuitCode", "[CLIENT] [UDP] RECV PacketAck of UseCircuitCode", waited, s.unreachableCauses()...)
		return fmt.Errorf("%w: no acknowledgement from %s within %v (%w)", ErrNotAcknowledged, addr, timeout, err)
	}

	// CompleteAgentMovement; OpenSimulator answers it with RegionHandshake
	// and AgentMovementComplete. The dispatch goroutine replies to the
	// handshake.
	if err := s.send(&msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{
		AgentID: r.Agent, SessionID: r.Session, CircuitCode: r.CircuitCode,
	}}, true); err != nil {
		return fmt.Errorf("client: sending CompleteAgentMovement: %w", err)
	}
	timeout = s.cfg.Timeouts.Handshake
	sent = time.Now()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.handshakeCh:
	case <-t.C:
		waited := time.Since(sent)
		s.anomaly(trace.AnomalyTimeout, "RegionHandshake", "no RegionHandshake within "+cause.Dur(waited)+" of CompleteAgentMovement")
		s.stall(trace.UDP, "[CLIENT] [UDP] SEND CompleteAgentMovement", "[CLIENT] [UDP] RECV RegionHandshake", waited, cause.NoRegionHandshake(waited))
		return fmt.Errorf("%w within %v of CompleteAgentMovement", ErrNoHandshake, timeout)
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for RegionHandshake: %w", ctx.Err())
	case <-s.done:
		return fmt.Errorf("client: waiting for RegionHandshake: %w", s.Err())
	}

	// The seed capability: OpenSimulator sends the scene only once it has
	// been asked. A viewer goes on without capabilities, and so does the
	// session: a blank or failing seed is a fault (see Faults), not the
	// end of the ritual.
	if err := s.requestSeed(ctx); err != nil {
		return err
	}

	if s.cfg.Throttle > 0 {
		s.sendLogged(&msg.AgentThrottle{
			AgentData: msg.AgentThrottleAgentData{AgentID: r.Agent, SessionID: r.Session, CircuitCode: r.CircuitCode},
			Throttle:  msg.AgentThrottleThrottle{Throttles: throttles(s.cfg.Throttle)},
		}, true)
	}
	if !s.cfg.SkipStartupRequests {
		s.sendLogged(&msg.AgentDataUpdateRequest{AgentData: msg.AgentDataUpdateRequestAgentData{AgentID: r.Agent, SessionID: r.Session}}, true)
		s.sendLogged(&msg.AgentWearablesRequest{AgentData: msg.AgentWearablesRequestAgentData{AgentID: r.Agent, SessionID: r.Session}}, true)
	}
	if s.cfg.AgentUpdateInterval > 0 {
		s.sendAgentUpdate()
		s.wg.Add(1)
		go s.updater(s.cfg.AgentUpdateInterval)
	}
	return nil
}

// unreachableCauses are the causes a client that never heard from the
// region can name: the address the login reply gave, when no client could
// use it, and the silence (the client cannot tell a silent region from a
// network that drops its datagrams).
func (s *Session) unreachableCauses() []cause.Cause {
	addr := s.region.Addr
	var cs []cause.Cause
	host := ""
	if u, err := url.Parse(s.cfg.LoginURI); err == nil {
		host = u.Hostname()
	}
	if bad, ok := cause.SimAddressUnusable(addr.Addr().String(), int(addr.Port()), host); ok {
		cs = append(cs, bad)
	}
	sends := 1
	if s.conn != nil {
		// Nothing but UseCircuitCode and its resends has been sent.
		sends = max(s.mainConn().Stats().PacketsSent, 1)
	}
	return append(cs, cause.NoCircuitAnswer(addr.String(), sends).Blame(cause.Unknown))
}

// requestSeed asks the seed capability for cfg.Capabilities and starts the
// event queue when it is granted. A blank, failing or unreadable seed, or
// one that grants no event queue, is told as a fault and the ritual goes
// on; only ctx ending is an error.
func (s *Session) requestSeed(ctx context.Context) error {
	seed := s.resp.SeedCapability
	if seed == "" {
		s.fault(trace.Caps, "", cause.SeedCapabilityBlank())
		return nil
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Seed)
	granted, err := caps.RequestSeed(sctx, s.cfg.HTTPClient, seed, s.cfg.Capabilities, s.rec)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("client: seed capability: %w", ctx.Err())
		}
		s.fault(trace.Caps, "", seedCause(seed, err, time.Since(start)))
		return nil
	}
	s.mu.Lock()
	s.capsGranted = granted
	eq, ok := granted[caps.EventQueueGet]
	startEQ := ok && !s.ended()
	if startEQ {
		s.eqStarted = true
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if startEQ {
		go s.eventQueue(eq)
	} else if !ok {
		s.fault(trace.Caps, caps.EventQueueGet, cause.EventQueueNotGranted())
	}
	return nil
}

// seedCause names why a seed request that took took failed.
func seedCause(seed string, err error, took time.Duration) cause.Cause {
	var status *caps.StatusError
	switch {
	case errors.As(err, &status):
		return cause.SeedHTTPStatus(status.Status)
	case errors.Is(err, caps.ErrBadResponse):
		return cause.SeedAnswerUnreadable()
	}
	return cause.SeedFailed(seed, err, took)
}

// eventQueue runs the EventQueueGet loop until the session ends.
func (s *Session) eventQueue(url string) {
	defer s.wg.Done()
	defer s.closeEvents()
	w := &eqWatch{next: s.rec}
	if limit := s.cfg.Timeouts.EventQueue; limit > 0 {
		s.wg.Add(1)
		go s.watchEventQueue(w, limit)
	}
	eq := &caps.EventQueueClient{URL: url, HTTPClient: s.cfg.HTTPClient, Recorder: w, Logger: s.log}
	err := eq.Run(s.ctx, s.deliverEvent)
	var status *caps.StatusError
	switch {
	case errors.Is(err, caps.ErrQueueGone) && errors.As(err, &status) && !s.delivered() && !s.leaving.Load() && !s.ended():
		// A region drops the queue when the agent leaves; before that,
		// a queue that is gone before it delivered anything is a fault.
		s.fault(trace.EQ, caps.EventQueueGet, cause.EventQueueGone(status.Status))
	case err != nil:
		s.log.Warn("client: event queue stopped", "err", err)
	}
}

// delivered reports whether the event queue has delivered.
func (s *Session) delivered() bool {
	select {
	case <-s.eqDelivered:
		return true
	default:
		return false
	}
}

// eqWatch counts the event queue's polls on their way to the session's
// recorder (next, nil for none).
type eqWatch struct {
	next  trace.Recorder
	polls atomic.Int64
}

// Record implements trace.Recorder.
func (w *eqWatch) Record(ev trace.Event) {
	if p, ok := ev.(*trace.EQPoll); ok && !p.Done {
		w.polls.Add(1)
	}
	if w.next != nil {
		w.next.Record(ev)
	}
}

// watchEventQueue tells an event queue that delivers nothing within limit
// of its first poll as a fault. OpenSimulator answers the first poll
// within milliseconds (ParcelProperties); an event queue that holds every
// poll leaves the agent without EstablishAgentCommunication and parcel
// information, even when the UDP ritual completes.
func (s *Session) watchEventQueue(w *eqWatch, limit time.Duration) {
	defer s.wg.Done()
	start := time.Now()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-s.eqDelivered:
		return
	case <-s.eqFailed: // told otherwise (the queue is gone)
		return
	case <-s.ctx.Done():
		return
	case <-t.C:
	}
	select {
	case <-s.eqDelivered: // in the same instant
		return
	default:
	}
	s.fault(trace.EQ, caps.EventQueueGet, cause.EventQueueHeld(int(w.polls.Load()), time.Since(start)))
}

// fault records c, a fault the ritual goes on without: a FAULT anomaly
// naming the cause and the side at fault, and an entry of Faults. A fault
// of the capabilities or the event queue also settles WaitEventQueue.
func (s *Session) fault(layer trace.Layer, message string, c cause.Cause) {
	s.log.Warn("client: "+c.String(), "fault", c.Fault)
	if s.rec != nil {
		from := trace.EndCaps
		if c.Fault == cause.LoginService {
			from = trace.EndLogin
		}
		trace.Emit(s.rec, cause.Anomaly(trace.Header{Side: trace.Client, Layer: layer, From: from, To: trace.EndClient},
			trace.AnomalyFault, message, "", c))
	}
	eq := c.Step >= cause.StepSeed && c.Step <= cause.StepEventQueue
	s.mu.Lock()
	s.faults = append(s.faults, c)
	if eq && s.eqFault.Kind == "" {
		s.eqFault = c
	}
	s.mu.Unlock()
	if eq {
		s.eqFailedOnce.Do(func() { close(s.eqFailed) })
	}
	s.notify()
}

// Faults returns the faults the ritual went on without, in the order they
// were found: a blank or failing seed capability, no event queue granted,
// an event queue that holds its polls and delivers nothing. A session
// whose ritual completed with faults is not whole.
func (s *Session) Faults() []cause.Cause {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.faults)
}

// WaitEventQueue waits until the event queue has delivered its first
// events (nil), or the session has found that it will not (an error
// wrapping ErrEventQueue that names the cause: a blank or failing seed, no
// event queue granted, or polls held and nothing delivered for
// Timeouts.EventQueue), or ctx or the session ends.
func (s *Session) WaitEventQueue(ctx context.Context) error {
	select {
	case <-s.eqDelivered:
		return nil
	case <-s.eqFailed:
		s.mu.Lock()
		c := s.eqFault
		s.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrEventQueue, c.Text)
	case <-s.done:
		return fmt.Errorf("client: waiting for the event queue: %w", s.Err())
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for the event queue: %w", ctx.Err())
	}
}

func (s *Session) closeEvents() {
	s.eventsOnce.Do(func() {
		s.grid.evMu.Lock()
		s.grid.evClosed = true
		close(s.events)
		s.grid.evMu.Unlock()
	})
}

// deliverEvent hands an event of any region's queue to Events and
// Config.OnEvent, and follows the ones that move the agent between
// regions.
func (s *Session) deliverEvent(ev caps.Event) {
	s.eqDeliveredOnce.Do(func() { close(s.eqDelivered) })
	s.eventsCount.Add(1)
	s.grid.evMu.Lock()
	if !s.grid.evClosed {
		select {
		case s.events <- ev:
		default:
			s.eventsDropped.Add(1)
		}
	}
	s.grid.evMu.Unlock()
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
	s.onGridEvent(ev)
}

// updater sends AgentUpdate every interval, as viewers do; regions take a
// silent agent for a lost one.
func (s *Session) updater(interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.sendAgentUpdate()
		}
	}
}

func (s *Session) sendAgentUpdate() {
	s.mu.Lock()
	mv := s.movement
	s.mu.Unlock()
	at := mv.LookAt
	n := float32(math.Hypot(float64(at.X), float64(at.Y)))
	if n < 1e-6 {
		at = ritual.Vector3{X: 1}
	} else {
		at = ritual.Vector3{X: at.X / n, Y: at.Y / n}
	}
	half := math.Atan2(float64(at.Y), float64(at.X)) / 2
	rot := ritual.Quaternion{Z: float32(math.Sin(half)), W: float32(math.Cos(half))}
	flags, steer, steering := s.controls()
	if steering {
		rot = steer
		at = ritual.Vector3{X: 1 - 2*rot.Z*rot.Z, Y: 2 * rot.Z * rot.W}
		mv.Position = s.Position()
	}
	err := s.send(&msg.AgentUpdate{AgentData: msg.AgentUpdateAgentData{
		AgentID: s.resp.Agent, SessionID: s.resp.Session,
		BodyRotation: rot, HeadRotation: rot,
		CameraCenter:   mv.Position,
		CameraAtAxis:   at,
		CameraLeftAxis: ritual.Vector3{X: -at.Y, Y: at.X},
		CameraUpAxis:   ritual.Vector3{Z: 1},
		Far:            cmp.Or(s.cfg.DrawDistance, DefaultDrawDistance),
		ControlFlags:   flags,
	}}, false)
	if err != nil && !errors.Is(err, circuit.ErrQueueFull) && !errors.Is(err, circuit.ErrClosed) {
		s.log.Warn("client: sending AgentUpdate", "err", err)
	}
}

func (s *Session) sendLogged(m msg.Message, reliable bool) {
	if err := s.send(m, reliable); err != nil {
		s.log.Warn("client: sending "+m.Name(), "err", err)
	}
}

// dispatch hands each message from a region's circuit to handle (the
// main region's) or handleChild (a neighbour's) until the circuit closes.
// The main circuit's closing ends the session; a child's closing is told
// and forgotten.
func (s *Session) dispatch(conn *circuit.Conn) {
	defer s.wg.Done()
	for in := range conn.Inbox() {
		var err error
		if l := s.childOf(conn); l != nil {
			err = s.handleChild(l, in.Message)
		} else {
			err = s.handleFrom(conn.RemoteAddr(), in.Message)
		}
		if err != nil {
			s.log.Warn("client: a message from the region could not be used", "message", in.Message.Name(), "err", err)
			if s.rec != nil {
				trace.Emit(s.rec, &trace.Anomaly{
					Header: s.header(trace.EndRegion, trace.EndClient),
					Kind:   trace.AnomalyDropped, Message: in.Message.Name(), Seq: in.Seq,
					Reason: err.Error(), Remote: conn.RemoteAddr().String(),
				})
			}
		}
	}
	if l := s.childOf(conn); l != nil {
		s.childGone(l, conn.Err())
		return
	}
	err := conn.Err()
	if err == nil || errors.Is(err, circuit.ErrClosed) {
		s.end(ErrClosed)
		return
	}
	s.end(fmt.Errorf("%w: %w", ErrCircuit, err))
}

// handle applies one message from the main region's circuit.
func (s *Session) handle(m msg.Message) error { return s.handleFrom(netip.AddrPort{}, m) }

// handleFrom applies one message from the main region, whose circuit's
// remote address is from (zero: the main circuit's). It is the one place
// every message of the main region goes through, in order.
func (s *Session) handleFrom(from netip.AddrPort, m msg.Message) error {
	defer s.notify()
	s.mu.Lock()
	s.received[m.Name()]++
	if !from.IsValid() {
		from = s.region.Addr
		if s.conn != nil {
			from = s.conn.RemoteAddr()
		}
	}
	src := source{from: from, region: s.region.Handle, others: len(s.grid.children) > 0}
	s.mu.Unlock()
	s.social.observe(src, m, time.Now())
	switch m := m.(type) {
	case *msg.RegionHandshake:
		s.onHandshake(m)
	case *msg.AgentMovementComplete:
		s.onMovementComplete(m)
	case *msg.ObjectUpdate, *msg.ObjectUpdateCompressed, *msg.ImprovedTerseObjectUpdate,
		*msg.ObjectUpdateCached, *msg.KillObject, *msg.LayerData:
		return s.onScene(m)
	case *msg.LogoutReply:
		s.logoutOnce.Do(func() { close(s.logoutCh) })
	case *msg.KickUser:
		s.end(&KickedError{Reason: cString(m.UserInfo.Reason)})
	case *msg.AlertMessage:
		s.onAlert(cString(m.AlertData.Message))
	case *msg.DisableSimulator:
		s.end(ErrDisabled)
	case *msg.EnableSimulator, *msg.TeleportStart, *msg.TeleportProgress, *msg.TeleportFailed,
		*msg.TeleportLocal, *msg.TeleportFinish, *msg.CrossedRegion, *msg.MapBlockReply:
		s.onGridMessage(m)
	}
	return nil
}

func (s *Session) onHandshake(m *msg.RegionHandshake) {
	s.mu.Lock()
	first := !s.handshaken
	s.handshaken = true
	fillRegion(&s.region, m)
	name := s.region.Name
	s.mu.Unlock()
	if first {
		s.milestone(trace.Milestone{Step: trace.MilestoneHandshake, Detail: name})
	}
	// Every handshake is answered: a region that sends another (after a
	// restart) waits for the reply again.
	s.sendLogged(&msg.RegionHandshakeReply{
		AgentData:  msg.RegionHandshakeReplyAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
		RegionInfo: msg.RegionHandshakeReplyRegionInfo{Flags: s.cfg.ReplyFlags},
	}, true)
	s.handshakeOnce.Do(func() { close(s.handshakeCh) })
}

func (s *Session) onMovementComplete(m *msg.AgentMovementComplete) {
	s.mu.Lock()
	early := !s.handshaken
	first := !s.moved
	s.moved = true
	s.movement = Movement{
		Position: m.Data.Position, LookAt: m.Data.LookAt,
		RegionHandle: ritual.RegionHandle(m.Data.RegionHandle), Timestamp: m.Data.Timestamp,
		ChannelVersion: cString(m.SimData.ChannelVersion), At: time.Now(),
	}
	if m.Data.RegionHandle != 0 {
		s.region.Handle = ritual.RegionHandle(m.Data.RegionHandle)
	}
	s.mu.Unlock()
	if early {
		s.outOfOrderOnce("AgentMovementComplete", "arrived before RegionHandshake")
	}
	if !first {
		return
	}
	if s.rec != nil {
		ev := &trace.Connected{Header: s.header(trace.EndClient, trace.EndRegion), Remote: s.Region().Addr.String()}
		if c := s.mainConn(); c != nil {
			ev.Local = c.LocalAddr()
		}
		trace.Emit(s.rec, ev)
	}
	s.milestone(trace.Milestone{Step: trace.MilestoneMovementComplete})
	s.checkComplete()
}

func (s *Session) onScene(m msg.Message) error {
	s.mu.Lock()
	early := !s.handshaken
	s.mu.Unlock()
	if early {
		s.outOfOrderOnce(m.Name(), "arrived before RegionHandshake")
	}
	res, err := s.world.Apply(m)
	if len(res.CacheMisses) > 0 {
		s.requestObjects(res.CacheMisses)
	}
	s.mu.Lock()
	var first, terrain bool
	objects := s.world.Len()
	if !s.firstObject && objects > 0 {
		s.firstObject, first = true, true
	}
	patches, of := s.world.TerrainProgress()
	if !s.terrainDone && patches == of {
		s.terrainDone, terrain = true, true
	}
	s.mu.Unlock()
	if first {
		s.milestone(trace.Milestone{Step: trace.MilestoneFirstObject, Objects: objects})
	}
	if terrain {
		s.milestone(trace.Milestone{Step: trace.MilestoneTerrainComplete, Patches: patches, Of: of})
	}
	if first || terrain {
		s.checkComplete()
	}
	return err
}

// requestObjects asks the region to describe objects in full
// (RequestMultipleObjects, CacheMissType 0), in messages of at most
// requestBatch objects.
func (s *Session) requestObjects(ids []uint32) {
	s.requestObjectsBy(ids, func(m msg.Message) { s.sendLogged(m, true) })
}

// requestObjectsBy asks for the objects with the given local ids in
// RequestMultipleObjects of requestBatch ids each, handed to send.
func (s *Session) requestObjectsBy(ids []uint32, send func(msg.Message)) {
	for len(ids) > 0 {
		n := min(len(ids), requestBatch)
		m := &msg.RequestMultipleObjects{
			AgentData:  msg.RequestMultipleObjectsAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
			ObjectData: make([]msg.RequestMultipleObjectsObjectData, n),
		}
		for i, id := range ids[:n] {
			m.ObjectData[i] = msg.RequestMultipleObjectsObjectData{CacheMissType: cacheMissFull, ID: id}
		}
		send(m)
		ids = ids[n:]
	}
}

const (
	// requestBatch keeps a RequestMultipleObjects well inside one datagram
	// (5 bytes per object).
	requestBatch = 100
	// cacheMissFull is CacheMissType "no such object here".
	cacheMissFull = 0
)

func (s *Session) checkComplete() {
	s.mu.Lock()
	if s.complete || !s.moved || !s.firstObject || !s.terrainDone {
		s.mu.Unlock()
		return
	}
	s.complete = true
	s.mu.Unlock()
	patches, of := s.world.TerrainProgress()
	s.milestone(trace.Milestone{Step: trace.MilestoneComplete, Objects: s.world.Len(), Patches: patches, Of: of})
}

func (s *Session) outOfOrderOnce(message, reason string) {
	s.mu.Lock()
	seen := s.outOfOrder[message]
	s.outOfOrder[message] = true
	s.mu.Unlock()
	if !seen {
		s.anomaly(trace.AnomalyOutOfOrder, message, reason)
	}
}

// header is the header of the session's UDP-layer events.
func (s *Session) header(from, to string) trace.Header {
	return trace.Header{Side: trace.Client, Layer: trace.UDP, From: from, To: to}
}

func (s *Session) milestone(m trace.Milestone) {
	if s.rec == nil {
		return
	}
	m.Header = s.header(trace.EndClient, trace.EndClient)
	trace.Emit(s.rec, &m)
}

// anomaly records something the region did (or did not do).
func (s *Session) anomaly(kind, message, reason string) {
	if s.rec == nil {
		return
	}
	trace.Emit(s.rec, &trace.Anomaly{
		Header: s.header(trace.EndRegion, trace.EndClient),
		Kind:   kind, Message: message, Reason: reason, Remote: s.Region().Addr.String(),
	})
}

// stall records the session's diagnosis: the first cause sets the step,
// the kind of cause and the side at fault. waited is how long the session
// really waited.
func (s *Session) stall(layer trace.Layer, lastSeen, expected string, waited time.Duration, causes ...cause.Cause) {
	if s.rec == nil {
		return
	}
	h := s.header(trace.EndClient, trace.EndClient)
	h.Layer = layer
	trace.Emit(s.rec, cause.Stall(h, lastSeen, expected, waited, causes...))
}

// notify wakes the waiters.
func (s *Session) notify() {
	s.mu.Lock()
	ch := s.changed
	s.changed = nil
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// changedChan returns a channel closed at the next change.
func (s *Session) changedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// end ends the session with err (the first reason wins): the event queue
// and the updater stop and the circuit closes. Close releases the rest.
func (s *Session) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		s.cancel()
		if c := s.mainConn(); c != nil {
			c.Close(err.Error())
		}
		close(s.done)
		s.notify()
	})
}

func (s *Session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Done is closed when the session has ended: logged out, closed, kicked
// (KickUser), disabled (DisableSimulator), or its circuit died.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended (nil while it lasts): ErrLoggedOut,
// ErrClosed, a *KickedError with the region's reason, ErrDisabled, or an
// error wrapping ErrCircuit.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the session at once, without logging out, and releases the
// socket and every goroutine. It is safe to call more than once and after
// Logout.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.end(ErrClosed)
		if s.tr != nil {
			s.closeErr = s.tr.Close()
			<-s.serveDone
		}
		s.wg.Wait()
		s.mu.Lock()
		eq := s.eqStarted
		s.mu.Unlock()
		if !eq {
			s.closeEvents()
		}
	})
	return s.closeErr
}

// Logout sends LogoutRequest and waits for LogoutReply, at most
// Timeouts.Logout or until ctx ends, then closes the session. A region that
// never answers (OpenSimulator 0.9.2.2 often does not) is not an error:
// ReplyReceived says so, and a TIMEOUT anomaly is recorded. The error is
// for a session that had already ended, or ended otherwise meanwhile.
func (s *Session) Logout(ctx context.Context) (LogoutResult, error) {
	var res LogoutResult
	if s.ended() {
		return res, fmt.Errorf("client: logout: the session had ended: %w", s.Err())
	}
	start := time.Now()
	s.leaving.Store(true)
	err := s.send(&msg.LogoutRequest{AgentData: msg.LogoutRequestAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session}}, true)
	if err != nil {
		s.Close()
		return res, fmt.Errorf("client: sending LogoutRequest: %w", err)
	}
	timeout := s.cfg.Timeouts.Logout
	t := time.NewTimer(timeout)
	defer t.Stop()
	var ended error
	select {
	case <-s.logoutCh:
		res.ReplyReceived = true
	case <-t.C:
	case <-ctx.Done():
	case <-s.done:
		select {
		case <-s.logoutCh:
			res.ReplyReceived = true
		default:
			ended = s.Err()
		}
	}
	res.Waited = time.Since(start)
	if res.ReplyReceived {
		s.milestone(trace.Milestone{Step: trace.MilestoneLogout, Detail: "LogoutReply received"})
	} else {
		why := fmt.Sprintf("no LogoutReply within %v; leaving anyway", timeout)
		if ended != nil {
			why = "the session ended first: " + ended.Error()
		} else if ctx.Err() != nil {
			why = fmt.Sprintf("no LogoutReply before the caller gave up after %v; leaving anyway", res.Waited.Round(time.Millisecond))
		}
		s.anomaly(trace.AnomalyTimeout, "LogoutReply", why)
		s.milestone(trace.Milestone{Step: trace.MilestoneLogout, Detail: "gave up waiting for LogoutReply"})
	}
	s.end(ErrLoggedOut)
	s.Close()
	if ended != nil {
		return res, fmt.Errorf("client: logout: %w", ended)
	}
	return res, nil
}

// Send sends a message to the region on the session's circuit, reliably
// or not (see circuit.Conn.Send).
func (s *Session) Send(m msg.Message, reliable bool) error {
	if s.ended() {
		return fmt.Errorf("client: sending %s: %w", m.Name(), s.Err())
	}
	return s.send(m, reliable)
}

// AgentID returns the agent's id.
func (s *Session) AgentID() ritual.UUID { return s.resp.Agent }

// SessionID returns the session id.
func (s *Session) SessionID() ritual.UUID { return s.resp.Session }

// SecureSessionID returns the secure session id.
func (s *Session) SecureSessionID() ritual.UUID { return s.resp.SecureSession }

// CircuitCode returns the circuit code.
func (s *Session) CircuitCode() uint32 { return s.resp.CircuitCode }

// LoginResponse returns the login reply the session was made from.
func (s *Session) LoginResponse() *login.Response { return s.resp }

// Region returns what the client knows of the region.
func (s *Session) Region() Region {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.region
}

// Handshaken reports whether RegionHandshake has arrived.
func (s *Session) Handshaken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handshaken
}

// Movement returns the agent's arrival, and whether AgentMovementComplete
// has arrived.
func (s *Session) Movement() (Movement, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.movement, s.moved
}

// World returns the session's view of the region's objects and terrain.
func (s *Session) World() *World { return s.world }

// Terrain returns a snapshot of the terrain (see World.Terrain).
func (s *Session) Terrain() Terrain { return s.world.Terrain() }

// Capabilities returns the capabilities the seed granted, name → URL.
func (s *Session) Capabilities() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.capsGranted)
}

// Events returns the event-queue events, in order. It is closed when the
// event queue stops (at the end of the session). Events that find it full
// are dropped (see Stats); Config.OnEvent sees every one.
func (s *Session) Events() <-chan caps.Event { return s.events }

// Stats returns what the session has carried.
func (s *Session) Stats() Stats {
	st := Stats{
		Events:        int(s.eventsCount.Load()),
		EventsDropped: int(s.eventsDropped.Load()),
		World:         s.world.Stats(),
	}
	if c := s.mainConn(); c != nil {
		st.Circuit = c.Stats()
	}
	s.mu.Lock()
	st.Messages = maps.Clone(s.received)
	s.mu.Unlock()
	return st
}

// maxAlerts is how many of the regions' alerts a session keeps.
const maxAlerts = 16

// onAlert keeps a region's AlertMessage (a teleport or crossing that did
// not complete, a region going down) and logs it.
func (s *Session) onAlert(text string) {
	s.log.Warn("client: the region says", "alert", text)
	s.mu.Lock()
	if len(s.alerts) == maxAlerts {
		s.alerts = append(s.alerts[:0], s.alerts[1:]...)
	}
	s.alerts = append(s.alerts, text)
	s.alertSeq++
	if s.alertWake != nil {
		close(s.alertWake)
		s.alertWake = nil
	}
	s.mu.Unlock()
}

// nextAlert waits for the first AlertMessage after the seq-th and returns
// its text.
func (s *Session) nextAlert(ctx context.Context, seq uint64) (string, error) {
	for {
		s.mu.Lock()
		if s.alertSeq > seq {
			// The newest of those kept that came after seq.
			i := len(s.alerts) - int(s.alertSeq-seq)
			text := s.alerts[max(i, 0)]
			s.mu.Unlock()
			return text, nil
		}
		if s.alertWake == nil {
			s.alertWake = make(chan struct{})
		}
		wake := s.alertWake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-s.done:
			return "", s.Err()
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// SetHome makes where the avatar stands its home ("Set Home to Here":
// SetStartLocationRequest with LocationID 1), where TeleportLandmark with
// the zero id and a login with start "home" go, and returns the region's
// answer (its AlertMessage, "Home position set." from OpenSimulator and
// Ritual alike).
func (s *Session) SetHome(ctx context.Context) (string, error) {
	s.mu.Lock()
	seq := s.alertSeq
	name := s.region.Name
	s.mu.Unlock()
	req := &msg.SetStartLocationRequest{
		AgentData: msg.SetStartLocationRequestAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
		StartLocationData: msg.SetStartLocationRequestStartLocationData{
			SimName: append([]byte(name), 0), LocationID: 1,
			LocationPos: s.Position(), LocationLookAt: ritual.Vector3{X: 1},
		},
	}
	if err := s.send(req, true); err != nil {
		return "", fmt.Errorf("client: set home: %w", err)
	}
	text, err := s.nextAlert(ctx, seq)
	if err != nil {
		return "", fmt.Errorf("client: set home: no answer from the region: %w", err)
	}
	return text, nil
}

// Alerts returns the texts of the AlertMessages the region the agent is
// in sent (the last 16), oldest first.
func (s *Session) Alerts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.alerts...)
}
