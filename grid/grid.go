package grid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/grid/peer"
	"ritual/internal/connlimit"
	"ritual/login"
	"ritual/metrics"
	"ritual/sim"
	"ritual/store"
	"ritual/store/sqlite"
	"ritual/trace"
)

// Config configures a grid. Zero values take the defaults noted.
type Config struct {
	// DataDir holds the database (created with everything needed on
	// first start). Ignored when Store is set.
	DataDir string
	// Store, when set, is used instead of opening DataDir; the grid does
	// not close it.
	Store store.Store
	// Listen is the host:port for both HTTP and UDP (default
	// 127.0.0.1:9000; port 0 picks a free port that is free for both).
	Listen string
	// ExternalHost is the IP literal handed to clients as sim_ip (default:
	// the listen host, or 127.0.0.1 when that is unspecified).
	ExternalHost string
	// PacketConn, when set, is the socket the region serves UDP on in
	// place of one bound at Listen's port (HTTP still listens at Listen);
	// tests pass an endpoint of an in-memory network such as
	// circuit/simnet. The sim_ip and sim_port handed to clients are then
	// its LocalAddr's (ExternalHost, when set, gives the IP). The grid
	// closes it when it closes or fails to start.
	PacketConn net.PacketConn
	// RegionName names the region (default "Ritual") when Regions is
	// empty.
	RegionName string
	// Regions, when set, are the regions this process runs (in place of
	// the one named RegionName): the first on Listen's port (or
	// PacketConn), the others on UDP ports of their own on the same host.
	Regions []RegionSpec
	// NoRegion runs no region: a login service alone, placing agents in
	// the regions of other processes sharing the store.
	NoRegion bool
	// NoLogin serves no login service: a region process, reached through
	// the logins of another process sharing the store.
	NoLogin bool
	// Heartbeat is how often each region refreshes its record on the
	// grid's map (default 1 s); HeartbeatTimeout how long a region may miss
	// its heartbeats before it is taken off the map (default 3 s, at least
	// twice Heartbeat). They apply when the store is a store.GridStore.
	Heartbeat, HeartbeatTimeout time.Duration
	// HandOffTimeout bounds the wait for a region in another process to
	// answer a login's circuit, and each call to a region of another
	// process (default 5 s).
	HandOffTimeout time.Duration
	// ReleaseTimeout is how long a region keeps as a root agent an agent
	// that teleported or crossed away, waiting for the destination to
	// confirm its arrival; without it the agent is put back and told
	// (default sim.DefaultReleaseWait).
	ReleaseTimeout time.Duration
	// EQTimeout is how long an idle event-queue poll is held before the
	// 502 answer (default 50 s).
	EQTimeout time.Duration
	// Circuit tunes every agent's circuit.
	Circuit circuit.Config
	// MaxCircuits caps concurrent circuits (default 5000).
	MaxCircuits int
	// LoginMessage is the welcome text of a successful login.
	LoginMessage string
	// AccountThrottle, AccountAddressThrottle and AddressThrottle bound
	// failed logins per account, per account from one address and per
	// source address (zero values: login's defaults; a negative Burst
	// turns one off); AccountDelay is login.Config's.
	AccountThrottle, AddressThrottle login.Throttle
	AccountAddressThrottle           login.Throttle
	AccountDelay                     time.Duration
	// TrustedProxies are reverse proxies in front of the grid: the login
	// service takes a request's address from their X-Forwarded-For (see
	// login.Config.TrustedProxies), and their connections are not capped
	// by MaxConnsPerAddress.
	TrustedProxies []netip.Prefix
	// NoMetrics turns off the Prometheus endpoint at /metrics.
	NoMetrics bool
	// Observatory, when set, is served at /observatory/ and given every
	// probe event (package observatory's Live is one).
	Observatory Observatory

	// ReadHeaderTimeout bounds how long a request's headers may take to
	// arrive, ReadTimeout the whole request, body included (defaults
	// DefaultReadHeaderTimeout and DefaultReadTimeout). Once the body is
	// in, net/http lifts the read deadline, so a handler may take as long
	// as WriteTimeout allows: the event queue's polls are held for
	// EQTimeout.
	ReadHeaderTimeout, ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its answer; it must exceed EQTimeout, so that a held
	// event-queue poll is answered (default EQTimeout + 10 s).
	WriteTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection may wait for its
	// next request (default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxConnsPerAddress caps the HTTP connections one remote address
	// (an IPv6 address with its /64) holds open at once; a connection over
	// it is answered 503 and closed. Zero means
	// DefaultMaxConnsPerAddress, negative no cap.
	MaxConnsPerAddress int
	// SummaryInterval is how often the grid logs, at warning level, what
	// it refused and dropped since the last summary (nothing is logged for
	// an interval without any). Zero means DefaultSummaryInterval,
	// negative never.
	SummaryInterval time.Duration

	Recorder trace.Recorder
	Logger   *slog.Logger
}

// Observatory is a page server fed by the grid's probe events.
type Observatory interface {
	http.Handler
	trace.Recorder
}

// Defaults of the HTTP server's limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 20 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	// DefaultMaxConnsPerAddress leaves room for dozens of viewers behind
	// one address (each holds an event-queue poll and a few more
	// connections), not for one host to hold thousands. Load tests that
	// run every bot from one address need it raised or turned off.
	DefaultMaxConnsPerAddress = 128
	// writeMargin is how much longer than an event-queue poll is held an
	// answer may take by default.
	writeMargin = 10 * time.Second
)

// Server is a running grid.
type Server struct {
	// Region is the first region this process runs (nil with NoRegion),
	// Regions all of them.
	Region  *sim.Region
	Regions []*sim.Region
	Caps    *caps.Router
	// Login is the login service (nil with NoLogin).
	Login *login.Server
	Store store.Store

	cfg       Config
	ownsStore bool
	http      *http.Server
	tcp       net.Listener
	conns     *connlimit.Listener // tcp, capped per address; nil without a cap
	udp       net.PacketConn
	extraUDP  []net.PacketConn // the sockets of Regions[1:]
	loginURI  string
	httpBase  string

	hosting *hosting // the regions' records on the grid's map, when the store keeps one
	router  *router
	msgr    *messenger // who is online where; instant messages to other regions
	dir     *directory // the regions' view of the grid

	events *metrics.Events // counts the capabilities' and event queue's events
	phases *metrics.Phases // times each agent's ritual; nil with NoMetrics

	wg       sync.WaitGroup
	errMu    sync.Mutex
	serveErr error
	closed   chan struct{}
	once     sync.Once
}

// Start opens the storage, creates the region on first start, binds the
// HTTP and UDP sockets and starts serving. It returns once logins are
// accepted.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.PacketConn != nil {
		defer func() {
			if err != nil {
				cfg.PacketConn.Close()
			}
		}()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:9000"
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = 3 * time.Second
	}
	cfg.HeartbeatTimeout = max(cfg.HeartbeatTimeout, 2*cfg.Heartbeat)
	if cfg.HandOffTimeout <= 0 {
		cfg.HandOffTimeout = 5 * time.Second
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("grid: --listen %q: %w", cfg.Listen, err)
	}
	ext := cfg.ExternalHost
	if ext == "" {
		ext = host
		if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
			ext = "127.0.0.1"
		}
	}
	simIP, err := netip.ParseAddr(ext)
	if err != nil {
		return nil, fmt.Errorf("grid: external host %q must be an IP literal (viewers refuse host names as sim_ip): %w", ext, err)
	}

	if err := cfg.httpLimits(); err != nil {
		return nil, err
	}

	s := &Server{cfg: cfg, closed: make(chan struct{}), events: &metrics.Events{}}
	if cfg.Store != nil {
		s.Store = cfg.Store
	} else {
		if cfg.DataDir == "" {
			return nil, errors.New("grid: no data directory or store")
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("grid: creating data directory: %w", err)
		}
		st, err := sqlite.OpenContext(ctx, cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("grid: opening storage in %s: %w", cfg.DataDir, err)
		}
		s.Store, s.ownsStore = st, true
	}
	fail := func(err error) (*Server, error) {
		if s.msgr != nil {
			s.msgr.stop()
		}
		if s.dir != nil && s.dir.borders != nil {
			s.dir.borders.close()
		}
		s.closeSockets()
		if s.ownsStore {
			s.Store.Close()
		}
		return nil, err
	}

	if err := s.bind(cfg.Listen, cfg.PacketConn); err != nil {
		return fail(err)
	}
	port := s.tcp.Addr().(*net.TCPAddr).Port
	base := "http://" + net.JoinHostPort(simIP.String(), strconv.Itoa(port))
	s.loginURI = base + "/"
	regionIP, regionPort := simIP, uint16(port)
	if cfg.PacketConn != nil {
		ap, err := netip.ParseAddrPort(cfg.PacketConn.LocalAddr().String())
		if err != nil || ap.Port() == 0 {
			return fail(fmt.Errorf("grid: the UDP socket's address %q cannot be handed to clients as sim_ip and sim_port", cfg.PacketConn.LocalAddr()))
		}
		regionPort = ap.Port()
		if cfg.ExternalHost == "" {
			regionIP = ap.Addr().Unmap()
		}
	}

	s.httpBase = base
	// The phase histograms follow every agent's events; with the metrics
	// off nothing but cfg.Recorder is given the events.
	rec := cfg.Recorder
	if cfg.Observatory != nil {
		rec = trace.Tee(rec, cfg.Observatory)
	}
	if !cfg.NoMetrics {
		s.phases = metrics.NewPhases()
		rec = trace.Tee(rec, s.phases)
	}
	s.Caps = caps.NewRouter(caps.Config{
		BaseURL:   base,
		EQTimeout: cfg.EQTimeout,
		Recorder:  trace.Tee(rec, s.events),
		Logger:    cfg.Logger,
		Inventory: s.Store.Inventory(),
	})
	specs, err := cfg.regionSpecs()
	if err != nil {
		return fail(err)
	}
	var addrs []netip.AddrPort
	dir := &directory{cfg: cfg}
	s.dir = dir
	// Regions of other processes are reached through the region-to-region
	// API, signed with the grid's secret; without a secret in the store
	// there is no API.
	var secret []byte
	if gs, ok := s.Store.(store.GridStore); ok {
		if secret, err = gs.Secret(ctx); err != nil {
			return fail(fmt.Errorf("grid: reading the grid's secret: %w", err))
		}
		if dir.peer, err = peer.NewClient(secret); err != nil {
			return fail(fmt.Errorf("grid: the grid's secret: %w", err))
		}
		dir.gs = gs
		dir.borders = newBorders(dir)
	}
	s.msgr = newMessenger(s.Store, dir, cfg.Logger)
	for i, spec := range specs {
		ip, port := regionIP, regionPort
		if i > 0 {
			pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
			if err != nil {
				return fail(fmt.Errorf("grid: listening for region %q (UDP): %w", spec.Name, err))
			}
			s.extraUDP = append(s.extraUDP, pc)
			port = uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		}
		if err := placeRegion(ctx, s.Store, spec); err != nil {
			return fail(err)
		}
		r, err := sim.Open(ctx, sim.Config{
			Store:       s.Store,
			Caps:        s.Caps,
			RegionName:  spec.Name,
			GridX:       spec.GridX,
			GridY:       spec.GridY,
			SimIP:       ip,
			SimPort:     port,
			Circuit:     cfg.Circuit,
			MaxCircuits: cfg.MaxCircuits,
			Directory:   regionDirectory{dir, s.msgr},
			ReleaseWait: cfg.ReleaseTimeout,
			Recorder:    rec,
			Logger:      cfg.Logger,
		})
		if err != nil {
			return fail(err)
		}
		s.Regions = append(s.Regions, r)
		addrs = append(addrs, netip.AddrPortFrom(ip, port))
	}
	dir.set(s.Regions)
	var api http.Handler = http.HandlerFunc(noRegionAPI)
	if secret != nil {
		ra, err := newRegionAPI(secret, s.Regions, cfg.Logger)
		if err != nil {
			return fail(fmt.Errorf("grid: the grid's secret: %w", err))
		}
		api = ra
	}
	if len(s.Regions) > 0 {
		s.Region = s.Regions[0]
	}
	s.router = newRouter(s.Store, s.Regions, cfg)
	if len(s.Regions) > 0 {
		if err := s.msgr.start(); err != nil {
			s.msgr.stop()
			return fail(err)
		}
	}
	if !cfg.NoLogin {
		s.Login, err = login.NewServer(login.Config{
			Accounts:  s.Store.Accounts(),
			Inventory: s.Store.Inventory(),
			Region:    s.router,
			Recorder:  rec,
			Logger:    cfg.Logger,
			Message:   cfg.LoginMessage,
			// OpenSimulator sends the names bare, and node-metaverse strips quotes
			// from first_name only.
			PlainNames:             true,
			AccountThrottle:        cfg.AccountThrottle,
			AccountAddressThrottle: cfg.AccountAddressThrottle,
			AddressThrottle:        cfg.AddressThrottle,
			AccountDelay:           cfg.AccountDelay,
			TrustedProxies:         cfg.TrustedProxies,
		})
		if err != nil {
			return fail(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/CAPS/", s.Caps)
	mux.Handle(peer.PathPrefix, api)
	if !cfg.NoMetrics {
		reg, err := metrics.NewRegistry(collector{s}, s.phases)
		if err != nil {
			return fail(fmt.Errorf("grid: metrics: %w", err))
		}
		mux.Handle("/metrics", metrics.Handler(reg))
	}
	if cfg.Observatory != nil {
		mux.Handle("/observatory/", cfg.Observatory)
	}
	if s.Login != nil {
		mux.Handle("/", s.Login)
	}
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	var ln net.Listener = s.tcp
	if cfg.MaxConnsPerAddress > 0 {
		s.conns = connlimit.New(s.tcp, cfg.MaxConnsPerAddress, tooManyConns)
		s.conns.Exempt = cfg.TrustedProxies
		ln = s.conns
	}

	if cfg.SummaryInterval == 0 {
		cfg.SummaryInterval = DefaultSummaryInterval
	}
	if cfg.SummaryInterval > 0 {
		s.wg.Go(func() { s.summarise(cfg.SummaryInterval) })
	}
	for i, r := range s.Regions {
		pc := s.udp
		if i > 0 {
			pc = s.extraUDP[i-1]
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := r.Serve(pc); err != nil {
				s.setErr(fmt.Errorf("grid: region %q UDP: %w", r.Info().Name, err))
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.setErr(fmt.Errorf("grid: HTTP: %w", err))
		}
	}()
	// On the map last: a region is announced once it accepts agents.
	if gs, ok := s.Store.(store.GridStore); ok {
		s.hosting, err = startHosting(ctx, gs, s.Regions, addrs, base, cfg, s.msgr)
		if err != nil {
			s.Close(context.Background())
			return nil, err
		}
	} else if len(s.Regions) > 1 {
		cfg.Logger.Warn("grid: the store keeps no map of running regions; logins reach these regions in this process only")
	}
	return s, nil
}

// httpLimits fills in the HTTP server's limits and checks them.
func (c *Config) httpLimits() error {
	eq := c.EQTimeout
	if eq <= 0 {
		eq = caps.DefaultEQTimeout
	}
	switch {
	case c.ReadHeaderTimeout < 0, c.ReadTimeout < 0, c.WriteTimeout < 0, c.IdleTimeout < 0:
		return errors.New("grid: a negative HTTP timeout")
	case c.WriteTimeout > 0 && c.WriteTimeout <= eq:
		return fmt.Errorf("grid: the HTTP write timeout %v must exceed the event-queue timeout %v, or held polls could not be answered", c.WriteTimeout, eq)
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = max(DefaultReadTimeout, c.ReadHeaderTimeout)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = eq + writeMargin
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConnsPerAddress == 0 {
		c.MaxConnsPerAddress = DefaultMaxConnsPerAddress
	}
	return nil
}

// tooManyConns answers a connection over Config.MaxConnsPerAddress.
var tooManyConns = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nRetry-After: 10\r\nContent-Length: 40\r\n\r\ntoo many connections from your address\r\n")

// bind listens on TCP and UDP at the same port, or on TCP only when the
// UDP socket is given.
func (s *Server) bind(listen string, udp net.PacketConn) error {
	host, portStr, _ := net.SplitHostPort(listen)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("grid: bad port in %q", listen)
	}
	if udp != nil {
		s.udp = udp
		tl, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("grid: listening on %s (HTTP): %w", listen, err)
		}
		s.tcp = tl
		return nil
	}
	for attempt := 0; ; attempt++ {
		tl, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("grid: listening on %s (HTTP): %w", listen, err)
		}
		p := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			s.tcp, s.udp = tl, ul
			return nil
		}
		tl.Close()
		if port != 0 || attempt >= 20 {
			return fmt.Errorf("grid: listening on %s (UDP): %w", net.JoinHostPort(host, strconv.Itoa(p)), err)
		}
	}
}

func (s *Server) setErr(err error) {
	s.errMu.Lock()
	if s.serveErr == nil {
		s.serveErr = err
	}
	s.errMu.Unlock()
	s.cfg.Logger.Error("grid stopped serving", "err", err)
}

// Err returns the first error that stopped a part of the grid, if any.
func (s *Server) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.serveErr
}

// LoginURI is the URL clients log in at.
func (s *Server) LoginURI() string { return s.loginURI }

// Addr is the host:port of both sockets (of the HTTP one when
// Config.PacketConn gave the UDP one).
func (s *Server) Addr() string { return s.tcp.Addr().String() }

func (s *Server) closeSockets() {
	if s.tcp != nil {
		s.tcp.Close()
	}
	if s.udp != nil {
		s.udp.Close()
	}
	for _, pc := range s.extraUDP {
		pc.Close()
	}
}

// Close shuts the grid down: the regions leave the grid's map, every
// agent is told it is being disconnected, the HTTP side stops (waiting
// event-queue polls end), the storage is flushed and closed. ctx bounds
// the wait for agents.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		err = s.closeAll(ctx)
	})
	return err
}

func (s *Server) closeAll(ctx context.Context) error {
	var errs []error
	if s.hosting != nil {
		errs = append(errs, s.hosting.stop())
	}
	for _, r := range s.Regions {
		errs = append(errs, r.Close(ctx))
	}
	if s.dir != nil && s.dir.borders != nil {
		s.dir.borders.close()
	}
	if s.msgr != nil && !s.msgr.abandoned {
		// The agents' leaving written, the regions' presence goes.
		s.msgr.stop()
		ids := make([]ritual.UUID, 0, len(s.Regions))
		for _, r := range s.Regions {
			ids = append(ids, r.Info().ID)
		}
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, s.msgr.clearRegions(pctx, ids...))
		cancel()
	}
	if s.router != nil {
		s.router.close()
	}
	hctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if herr := s.http.Shutdown(hctx); herr != nil {
		s.http.Close()
	}
	for _, pc := range s.extraUDP {
		pc.Close()
	}
	s.wg.Wait()
	if s.ownsStore {
		errs = append(errs, s.Store.Close())
	}
	return errors.Join(errs...)
}

// BorderNews returns how many pieces of border news (child views, chat
// near a border) for regions of other processes were taken there, and how
// many were dropped (a queue full, the region not running, the call
// refused or unanswered).
func (s *Server) BorderNews() (sent, dropped uint64) {
	if s.dir == nil || s.dir.borders == nil {
		return 0, 0
	}
	return s.dir.borders.sent.Load(), s.dir.borders.dropped.Load()
}

// ConnsRefused returns how many HTTP connections were refused for being
// over Config.MaxConnsPerAddress.
func (s *Server) ConnsRefused() uint64 {
	if s.conns == nil {
		return 0
	}
	return s.conns.Refused()
}
