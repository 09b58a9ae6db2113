package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"ritual/circuit"
	"ritual/client"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/trace"
)

func init() {
	register("load", "log in N bots, hold them in the region sending AgentUpdate, report latencies and failures", runLoad)
}

// loadOptions are the flags of ritual load.
type loadOptions struct {
	uri        string
	bots       int
	firstIndex int
	prefix     string
	last       string
	password   string
	ramp       float64
	duration   time.Duration
	timeout    time.Duration
	maxPending int
	format     login.Format
	jsonOut    bool
	update     time.Duration

	walk         bool
	chatEvery    time.Duration
	drawDistance float64
	world        *worldLoad

	// regions are the region names bots are spread over (round-robin by
	// start location); teleportEvery how often each bot teleports to the
	// next of them (0: never).
	regions       []string
	teleportEvery time.Duration
	// discover: a bare --regions; the regions are the ones the world map
	// lists within discoverReach of the region the first bot lands in.
	discover bool
	// discovered, set for the bot that discovers, takes what it found.
	discovered func(discovery)
}

// discoverReach is how far (in regions, each way) a bare --regions looks
// for regions around the one the first bot lands in.
const discoverReach = 32

// maxLoadBots bounds --bots: each bot holds a UDP socket, an event-queue
// connection and a world view.
const maxLoadBots = 20000

func runLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o loadOptions
	fs.StringVar(&o.uri, "login-uri", "", "the grid's login URI, e.g. http://127.0.0.1:9000/")
	fs.IntVar(&o.bots, "bots", 0, "how many bots (1 to "+strconv.Itoa(maxLoadBots)+")")
	fs.IntVar(&o.firstIndex, "first-index", 1, "number of the first bot: bots are PREFIX<first-index> ..")
	fs.StringVar(&o.prefix, "prefix", "Load", "first-name prefix: bots are PREFIX1 .. PREFIXN (as ritual user create-bots makes them)")
	fs.StringVar(&o.last, "last", "Bot", "last name of every bot")
	password := fs.String("password", "", "the bots' password (else $"+passwordEnv+", else one line of standard input)")
	fs.Float64Var(&o.ramp, "ramp", 20, "bots started per second (0: as fast as --max-pending allows)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long each bot stays after its ritual completes, sending AgentUpdate")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long one bot's login and ritual may take")
	fs.IntVar(&o.maxPending, "max-pending", 64, "bots logging in or in their ritual at once")
	fs.DurationVar(&o.update, "update-interval", 100*time.Millisecond, "AgentUpdate interval (10 Hz by default)")
	form := fs.String("login-form", "xmlrpc", "login wire form: xmlrpc or llsd")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object at the end instead of the table")
	fs.BoolVar(&o.walk, "walk", false, "bots wander about the region while they stay")
	fs.DurationVar(&o.chatEvery, "chat-every", 0, "each bot says a numbered line this often while it stays (0: never)")
	fs.Float64Var(&o.drawDistance, "draw-distance", 64, "the bots' draw distance (AgentUpdate Far), in metres")
	regions := fs.String("regions", "", "comma-separated region names to spread the bots over, round-robin by start location; a bare --regions (no value) discovers the regions running on the grid within "+strconv.Itoa(discoverReach)+" regions each way of the one the first bot lands in (the world map's MapBlockRequest), that region first")
	fs.DurationVar(&o.teleportEvery, "teleport-every", 0, "each bot teleports to the next of --regions this often while it stays (0: never)")
	args, o.discover = bareRegions(fs, args)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	for name := range strings.SplitSeq(*regions, ",") {
		if name = strings.TrimSpace(name); name != "" {
			o.regions = append(o.regions, name)
		}
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ritual load: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case o.uri == "":
		return bad("--login-uri is required")
	case o.bots < 1 || o.bots > maxLoadBots:
		return bad("--bots %d: want 1 to %d", o.bots, maxLoadBots)
	case o.firstIndex < 0:
		return bad("--first-index %d is negative", o.firstIndex)
	case o.prefix == "" || o.last == "":
		return bad("--prefix and --last must not be empty")
	case o.ramp < 0 || math.IsNaN(o.ramp) || math.IsInf(o.ramp, 0):
		return bad("--ramp %v: want bots per second, 0 or more", o.ramp)
	case o.duration < 0:
		return bad("--duration %v is negative", o.duration)
	case o.timeout <= 0:
		return bad("--timeout %v: want a positive duration", o.timeout)
	case o.maxPending < 1:
		return bad("--max-pending %d: want 1 or more", o.maxPending)
	case o.update == 0:
		return bad("--update-interval 0: want a positive interval, or negative to send none")
	case o.chatEvery < 0:
		return bad("--chat-every %v is negative", o.chatEvery)
	case !(o.drawDistance > 0) || o.drawDistance > 1024:
		return bad("--draw-distance %v: want 0 < metres <= 1024", o.drawDistance)
	case *regions != "" && len(o.regions) == 0:
		return bad("--regions %q names no region", *regions)
	case slices.ContainsFunc(o.regions, func(n string) bool { return !startable(n) }):
		return bad("--regions %q: a name is too long or holds & or /", *regions)
	case o.teleportEvery < 0:
		return bad("--teleport-every %v is negative", o.teleportEvery)
	case o.discover && *regions != "":
		return bad("--regions is given twice: bare (discover the regions) and as %q", *regions)
	case o.teleportEvery > 0 && len(o.regions) < 2 && !o.discover:
		return bad("--teleport-every needs --regions naming two regions or more")
	}
	switch *form {
	case "xmlrpc":
		o.format = login.FormatXMLRPC
	case "llsd":
		o.format = login.FormatLLSD
	default:
		return bad("--login-form %q: want xmlrpc or llsd", *form)
	}
	pw, err := passwordFrom(fs, *password, "the bots", stderr)
	if err != nil {
		return bad("%v", err)
	}
	o.password = pw

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := runLoadTest(ctx, o, stderr, isTerminal(stderr))
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "ritual load: %v\n", err)
			return 1
		}
	} else {
		rep.writeTable(stdout)
	}
	if rep.Failed > 0 {
		return 1
	}
	return 0
}

// bareRegions finds a bare --regions (or -regions) in args: one that is
// the last argument or followed by another flag (an argument beginning
// with "-"). It returns args without it, and whether there was one. The
// arguments are walked as package flag parses them: a non-boolean flag
// written without "=" takes the next argument as its value, and parsing
// ends at "--" or at the first argument that is not a flag. Any other
// --regions, --regions=A,B and --regions A,B among them, is left as it is.
func bareRegions(fs *flag.FlagSet, args []string) ([]string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return args, false
		}
		name := strings.TrimPrefix(a[1:], "-")
		if name == "" || name[0] == '-' || name[0] == '=' || strings.Contains(name, "=") {
			continue
		}
		if name == "regions" {
			if i+1 == len(args) || strings.HasPrefix(args[i+1], "-") {
				return append(slices.Clone(args[:i]), args[i+1:]...), true
			}
			i++
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			i++ // its value
		}
	}
	return args, false
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// The moments of one bot's ritual, in the order they come.
const (
	markLogin       = iota // the login reply received
	markUCC                // UseCircuitCode sent
	markHandshake          // RegionHandshake received
	markMovement           // AgentMovementComplete received
	markFirstObject        // the first object known
	markFirstLayer         // the first LayerData received
	markTerrain            // every terrain patch received
	markComplete           // the whole ritual
	numMarks
)

// phaseNames name the marks in reports, from the bot's start.
var phaseNames = [numMarks]string{
	markLogin:       "login",
	markUCC:         "use_circuit_code",
	markHandshake:   "handshake",
	markMovement:    "movement_complete",
	markFirstObject: "first_object",
	markFirstLayer:  "first_layer_data",
	markTerrain:     "full_terrain",
	markComplete:    "ritual_complete",
}

// marks keeps the times of one bot's marks: a trace.Recorder that looks
// only at the events naming them, and stops looking once the ritual is
// complete, so a bot holding in the region costs it nothing more.
type marks struct {
	mu   sync.Mutex
	at   [numMarks]time.Time
	done atomic.Bool
	// crossings are the border crossings' durations (CrossStart to
	// CrossComplete); crossFailed counts those that failed.
	crossings   []time.Duration
	crossFailed int
}

// Record implements trace.Recorder.
func (m *marks) Record(ev trace.Event) {
	if rc, ok := ev.(*trace.RegionChange); ok {
		switch rc.Kind {
		case trace.CrossComplete:
			m.mu.Lock()
			m.crossings = append(m.crossings, rc.Elapsed)
			m.mu.Unlock()
		case trace.CrossFailed:
			m.mu.Lock()
			m.crossFailed++
			m.mu.Unlock()
		}
		return
	}
	if m.done.Load() {
		return
	}
	k := -1
	switch e := ev.(type) {
	case *trace.LoginResponse:
		if e.Side == trace.Client {
			k = markLogin
		}
	case *trace.Packet:
		switch {
		case e.Dir == trace.Send && e.Message == "UseCircuitCode":
			k = markUCC
		case e.Dir == trace.Recv && e.Message == "LayerData":
			k = markFirstLayer
		}
	case *trace.Milestone:
		switch e.Step {
		case trace.MilestoneHandshake:
			k = markHandshake
		case trace.MilestoneMovementComplete:
			k = markMovement
		case trace.MilestoneFirstObject:
			k = markFirstObject
		case trace.MilestoneTerrainComplete:
			k = markTerrain
		case trace.MilestoneComplete:
			k = markComplete
		}
	}
	if k < 0 {
		return
	}
	t := ev.Head().Time
	if t.IsZero() {
		t = time.Now()
	}
	m.mu.Lock()
	if m.at[k].IsZero() {
		m.at[k] = t
	}
	m.mu.Unlock()
	if k == markComplete {
		m.done.Store(true)
	}
}

func (m *marks) times() [numMarks]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at
}

// botCircuit tunes each bot's circuit: no packet summaries, and queues
// sized for a bot rather than a viewer (a circuit's queues are allocated
// when it opens: with the defaults they are about half a megabyte).
var botCircuit = circuit.Config{
	Summarize:     noSummary,
	InboundQueue:  256,
	OutboundQueue: 64,
	Deliver:       512,
}

// noSummary leaves packet events without fields: the load test reads only
// their names and times.
func noSummary(msg.Message) trace.Fields { return nil }

// botResult is what one bot came back with.
type botResult struct {
	completed bool
	reason    string // why not, grouped
	start     time.Time
	at        [numMarks]time.Time
	stats     trace.CircuitStats
	events    int // event-queue events
	logoutOK  bool
	loggedIn  bool
	// region is where the ritual completed; crossings and crossFailed
	// the border crossings that followed.
	region      string
	crossings   []time.Duration
	crossFailed int
}

// loadState is the live state the progress display reads.
type loadState struct {
	started, pending, connected, completed, failed atomic.Int64

	mu        sync.Mutex
	peak      int64
	allSince  time.Time
	allFor    time.Duration
	allTarget int64
}

func (s *loadState) connect(delta int64) {
	n := s.connected.Add(delta)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak = max(s.peak, n)
	switch {
	case n == s.allTarget && s.allSince.IsZero() && s.allFor == 0:
		s.allSince = now
	case n < s.allTarget && !s.allSince.IsZero():
		s.allFor += now.Sub(s.allSince)
		s.allSince = time.Time{}
	}
}

// runLoadTest runs the bots and gathers the report.
func runLoadTest(ctx context.Context, o loadOptions, progress io.Writer, terminal bool) *loadReport {
	state := &loadState{allTarget: int64(o.bots)}
	start := time.Now()
	hc := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: o.bots + 16,
		IdleConnTimeout:     90 * time.Second,
	}}
	defer hc.CloseIdleConnections()
	logger := quietLogger()
	o.world = newWorldLoad(o.bots)
	rssCtx, stopRSS := context.WithCancel(ctx)
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		o.world.watchRSS(rssCtx, hc, o.uri)
	}()

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		showProgress(progress, terminal, o.bots, state, start, stopProgress)
	}()

	results := make([]botResult, o.bots)
	pending := make(chan struct{}, o.maxPending)
	// With a bare --regions the first bot finds the regions; the others
	// start once it has.
	var found chan discovery
	if o.discover {
		found = make(chan discovery, 1)
	}
	var discovered *discovery
	notStarted := "not started: interrupted"
	var wg sync.WaitGroup
	var tick *time.Ticker
	if o.ramp > 0 {
		tick = time.NewTicker(max(time.Duration(float64(time.Second)/o.ramp), time.Microsecond))
		defer tick.Stop()
	}
launch:
	for i := range o.bots {
		if tick != nil && i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break launch
			}
		}
		select {
		case pending <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		state.started.Add(1)
		state.pending.Add(1)
		first := o.prefix + strconv.Itoa(o.firstIndex+i)
		bo := o
		var tell chan<- discovery
		if i == 0 {
			tell = found
		}
		wg.Go(func() {
			results[i] = runBot(ctx, bo, i, first, hc, logger, state, pending, tell)
		})
		if i == 0 && found != nil {
			select {
			case d := <-found:
				discovered = &d
			case <-ctx.Done():
				break launch
			}
			if discovered.err != nil {
				fmt.Fprintf(progress, "ritual load: region discovery failed: %v\n", discovered.err)
				notStarted = "not started: region discovery failed"
				break launch
			}
			o.regions = discovered.names()
			fmt.Fprintf(progress, "ritual load: discovered %d regions within %d of %s: %s\n",
				len(o.regions), discoverReach, o.regions[0], strings.Join(o.regions, ", "))
		}
	}
	wg.Wait()
	stopRSS()
	<-rssDone
	close(stopProgress)
	<-progressDone
	launched := int(state.started.Load())
	for i := launched; i < o.bots; i++ {
		results[i] = botResult{reason: notStarted}
	}
	rep := newLoadReport(o, results, time.Since(start))
	state.mu.Lock()
	rep.PeakConnected = int(state.peak)
	all := state.allFor
	if !state.allSince.IsZero() {
		all += time.Since(state.allSince)
	}
	state.mu.Unlock()
	rep.AllConnectedMS = ms(all)
	rep.Chat, rep.AvatarUpdatesHz, rep.RecvBytesPerBotPerS = o.world.report()
	rep.ServerRSSMaxBytes = o.world.rssMax.Load()
	rep.ByRegion = o.world.byRegion(o, results)
	rep.Walk, rep.ChatEveryMS, rep.DrawDistance = o.walk, ms(o.chatEvery), o.drawDistance
	rep.Teleport = o.world.teleportReport()
	rep.Teleport.EveryMS = ms(o.teleportEvery)
	if discovered != nil {
		rep.Discovered = discovered.report()
		if discovered.err != nil {
			rep.DiscoveryError = discovered.err.Error()
		}
	}
	return rep
}

// discovery is what the first bot found on the world map with a bare
// --regions: the regions, the one it landed in first, or why none.
type discovery struct {
	regions []client.MapRegion
	err     error
}

func (d *discovery) names() []string {
	names := make([]string, len(d.regions))
	for i, r := range d.regions {
		names[i] = r.Name
	}
	return names
}

// discoveredRegion is one region of the --json "discovered_regions".
type discoveredRegion struct {
	Name  string `json:"name"`
	GridX uint32 `json:"grid_x"`
	GridY uint32 `json:"grid_y"`
}

func (d *discovery) report() []discoveredRegion {
	out := []discoveredRegion{}
	for _, r := range d.regions {
		x, y := r.Handle.Grid()
		out = append(out, discoveredRegion{Name: r.Name, GridX: x, GridY: y})
	}
	return out
}

// discoverRegions asks the world map for the regions within
// discoverReach of the region sess is in: that region first, then the
// others by name. A name a start location cannot carry (& or /, or over
// 254 bytes) is left out. With teleports (every > 0) it takes two regions.
func discoverRegions(ctx context.Context, sess *client.Session, every time.Duration) ([]client.MapRegion, error) {
	here := sess.Region()
	gx, gy := here.Handle.Grid()
	lo := func(v uint32) uint16 { return uint16(min(max(int64(v)-discoverReach, 0), math.MaxUint16)) }
	hi := func(v uint32) uint16 { return uint16(min(int64(v)+discoverReach, math.MaxUint16)) }
	found, err := sess.MapBlocks(ctx, lo(gx), hi(gx), lo(gy), hi(gy))
	if err != nil {
		return nil, err
	}
	var regions []client.MapRegion
	for _, r := range found {
		if !startable(r.Name) {
			continue
		}
		regions = append(regions, r)
	}
	slices.SortStableFunc(regions, func(a, b client.MapRegion) int {
		ah, bh := a.Handle == here.Handle, b.Handle == here.Handle
		switch {
		case ah && !bh:
			return -1
		case bh && !ah:
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	switch {
	case len(regions) == 0:
		return nil, fmt.Errorf("the world map lists no region within %d of %s (%d,%d)", discoverReach, here.Name, gx, gy)
	case every > 0 && len(regions) < 2:
		return nil, fmt.Errorf("the world map lists only %s within %d of it; --teleport-every needs two regions or more", regions[0].Name, discoverReach)
	}
	return regions, nil
}

// runBot is one bot's life: login and ritual, the hold, the logout.
//
// With tell set (the first bot, with a bare --regions) the bot asks the
// world map for the grid's regions once its ritual is complete and tells
// what it found, or why it found nothing, on tell, exactly once.
func runBot(ctx context.Context, o loadOptions, idx int, first string, hc *http.Client, logger *slog.Logger, state *loadState, pending chan struct{}, tell chan<- discovery) (res botResult) {
	res.start = time.Now()
	if tell != nil {
		told := false
		tellOnce := func(d discovery) {
			if !told {
				told = true
				tell <- d
			}
		}
		defer func() { tellOnce(discovery{err: errors.New("the first bot " + res.reason)}) }()
		o.discovered = tellOnce
	}
	rec := &marks{}
	released := false
	release := func() {
		if !released {
			released = true
			state.pending.Add(-1)
			<-pending
		}
	}
	defer func() {
		release()
		res.at = rec.times()
		rec.mu.Lock()
		res.crossings, res.crossFailed = rec.crossings, rec.crossFailed
		rec.mu.Unlock()
		if res.completed {
			state.completed.Add(1)
		} else {
			state.failed.Add(1)
		}
	}()
	cfg := client.Config{
		LoginURI: o.uri, First: first, Last: o.last, Password: o.password, Format: o.format,
		Channel: "Ritual load", Recorder: rec, Logger: logger, HTTPClient: hc,
		Circuit:             botCircuit,
		AgentUpdateInterval: o.update,
		// Events are counted, not kept: a held bot never reads them.
		EventBuffer:  1,
		DrawDistance: float32(o.drawDistance),
	}
	if len(o.regions) > 0 {
		cfg.Start = "uri:" + o.regions[idx%len(o.regions)] + "&128&128&25"
	}
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	sess, err := client.Login(rctx, cfg)
	if err != nil {
		res.reason = "login: " + failureReason(err)
		return res
	}
	res.loggedIn = true
	defer sess.Close()
	if err := sess.WaitRitual(rctx); err != nil {
		res.reason = "ritual: " + ritualFailure(sess, err)
		res.stats = sess.Stats().Circuit
		return res
	}
	release()
	res.region = sess.Region().Name
	if o.discovered != nil {
		regions, err := discoverRegions(rctx, sess, o.teleportEvery)
		o.discovered(discovery{regions: regions, err: err})
		if err != nil {
			res.reason = "region discovery: " + failureReason(err)
			lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer lcancel()
			sess.Logout(lctx)
			return res
		}
		o.regions = (&discovery{regions: regions}).names()
	}
	state.connect(1)
	arrived := time.Now()
	lost := o.world.hold(ctx, o, idx, first, sess)
	state.connect(-1)
	st := sess.Stats()
	o.world.traffic(idx, st.Circuit.BytesRecv, time.Since(arrived))
	res.stats, res.events = st.Circuit, st.Events
	if lost != nil {
		res.reason = "while in the region: " + failureReason(lost)
		return res
	}
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	lr, err := sess.Logout(lctx)
	res.logoutOK = err == nil && lr.ReplyReceived
	res.completed = true
	return res
}

var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// failureReason names a failure so that failures of one kind group
// together: numbers (waits, addresses, counts) become N.
func failureReason(err error) string {
	if f, ok := errors.AsType[*login.Failure](err); ok {
		return "refused (" + f.Reason + "): " + digits.ReplaceAllString(f.Message, "N")
	}
	if k, ok := errors.AsType[*client.KickedError](err); ok {
		return "kicked: " + k.Reason
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (--timeout)"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, client.ErrNotAcknowledged):
		return "the region did not acknowledge UseCircuitCode"
	case errors.Is(err, client.ErrNoHandshake):
		return "no RegionHandshake after CompleteAgentMovement"
	case errors.Is(err, client.ErrDisabled):
		return "the region sent DisableSimulator"
	case errors.Is(err, circuit.ErrTimeout):
		return "circuit timed out: the region went silent"
	case errors.Is(err, client.ErrCircuit):
		return "the circuit closed"
	}
	s := digits.ReplaceAllString(err.Error(), "N")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// ritualFailure names what a bot was still waiting for when its ritual
// failed.
func ritualFailure(s *client.Session, err error) string {
	if !errors.Is(err, context.DeadlineExceeded) {
		return failureReason(err)
	}
	if _, ok := s.Movement(); !ok {
		return "timed out waiting for AgentMovementComplete"
	}
	if s.World().Len() == 0 {
		return "timed out waiting for the first object"
	}
	return "timed out waiting for the whole terrain"
}

// showProgress draws a bar on a terminal (redrawn in place) or writes a
// plain line every few seconds, until stop is closed.
func showProgress(w io.Writer, terminal bool, total int, s *loadState, start time.Time, stop <-chan struct{}) {
	every := 5 * time.Second
	if terminal {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	line := func() string {
		done := s.completed.Load() + s.failed.Load()
		return fmt.Sprintf("%d/%d started, %d in their ritual, %d in the region, %d done, %d failed, %s",
			s.started.Load(), total, s.pending.Load(), s.connected.Load(), done, s.failed.Load(),
			time.Since(start).Round(time.Second))
	}
	for {
		select {
		case <-stop:
			if terminal {
				fmt.Fprintf(w, "\r\x1b[K%s\n", bar(s, total)+" "+line())
			}
			return
		case <-t.C:
			if terminal {
				fmt.Fprintf(w, "\r\x1b[K%s", bar(s, total)+" "+line())
			} else {
				fmt.Fprintf(w, "ritual load: %s\n", line())
			}
		}
	}
}

// bar draws [###===...]: # bots done, = bots in the region.
func bar(s *loadState, total int) string {
	const width = 30
	done := int(s.completed.Load()+s.failed.Load()) * width / total
	in := int(s.connected.Load()) * width / total
	in = min(in, width-done)
	return "[" + strings.Repeat("#", done) + strings.Repeat("=", in) + strings.Repeat(".", width-done-in) + "]"
}

// loadReport is the end result, also the --json output.
type loadReport struct {
	Bots      int            `json:"bots"`
	LoginURI  string         `json:"login_uri"`
	Completed int            `json:"completed"`
	Failed    int            `json:"failed"`
	Failures  []failureCount `json:"failures"`
	// Phases are latencies from each bot's start (before its login
	// request) to each mark of its ritual, over the bots that reached it.
	Phases map[string]percentiles `json:"phases"`
	// FromUseCircuitCode are the terrain marks measured from the moment
	// the bot sent UseCircuitCode: the region's share of the ritual,
	// without the login (and its password check).
	FromUseCircuitCode map[string]percentiles `json:"from_use_circuit_code"`
	PacketsSent        int                    `json:"packets_sent"`
	PacketsReceived    int                    `json:"packets_received"`
	Resends            int                    `json:"resends"`
	ReliableLost       int                    `json:"reliable_lost"`
	Dropped            int                    `json:"dropped"`
	Duplicates         int                    `json:"duplicates"`
	Events             int                    `json:"eq_events"`
	LogoutReplies      int                    `json:"logout_replies"`
	PeakConnected      int                    `json:"peak_connected"`
	// AllConnectedMS is how long every bot was in the region at once.
	AllConnectedMS float64 `json:"all_connected_ms"`
	ElapsedMS      float64 `json:"elapsed_ms"`
	HoldMS         float64 `json:"hold_ms"`
	Ramp           float64 `json:"ramp_per_second"`

	// The shared world: chat delivery (said → heard by each bot clearly in
	// range), the avatar update rates each bot received, what each bot
	// received from the region a second, and the grid's largest resident
	// memory as its /metrics told it (0: not available).
	// Regions counts the bots by the region their ritual completed in
	// (with --regions); Teleport summarises the --teleport-every
	// teleports, Crossing the border crossings.
	Regions map[string]int `json:"regions"`
	// Discovered are the regions a bare --regions found on the world map,
	// the first bot's landing region first; DiscoveryError why it found
	// none.
	Discovered     []discoveredRegion `json:"discovered_regions,omitempty"`
	DiscoveryError string             `json:"discovery_error,omitempty"`
	Teleport       teleportReport     `json:"teleport"`
	Crossing       latencySummary     `json:"crossing"`

	Walk                bool        `json:"walk"`
	ChatEveryMS         float64     `json:"chat_every_ms"`
	DrawDistance        float64     `json:"draw_distance"`
	Chat                chatReport  `json:"chat"`
	AvatarUpdatesHz     avatarRates `json:"avatar_updates_hz"`
	RecvBytesPerBotPerS float64     `json:"recv_bytes_per_bot_per_s_p50"`
	ServerRSSMaxBytes   int64       `json:"server_rss_max_bytes"`

	// ByRegion splits the bots, their failures, chat and update rates
	// by region when they were spread over several.
	ByRegion map[string]regionCrowd `json:"by_region,omitempty"`
}

type failureCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// percentiles summarise one phase (milliseconds).
type percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// latencySummary is a count of attempts, failures and the percentiles of
// the successes (milliseconds).
type latencySummary struct {
	N      int     `json:"n"`
	Failed int     `json:"failed"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

func latencies(ds []time.Duration, failed int) latencySummary {
	p := summarize(ds)
	return latencySummary{N: p.N, Failed: failed, P50: p.P50, P95: p.P95, P99: p.P99, Max: p.Max}
}

// teleportReport is the --json "teleport" object: the latency from the
// request to TeleportFinish (the top-level figures, and to_finish) and to
// the arrival complete (AgentMovementComplete: arrival).
type teleportReport struct {
	latencySummary
	EveryMS  float64        `json:"every_ms"`
	ToFinish latencySummary `json:"to_finish"`
	Arrival  latencySummary `json:"arrival"`
	// Failures groups the failed teleports by reason.
	Failures []failureCount `json:"failures"`
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// summarize returns the nearest-rank percentiles of ds.
func summarize(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p/100*float64(len(ds)))) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return percentiles{N: len(ds), P50: ms(rank(50)), P95: ms(rank(95)), P99: ms(rank(99)), Max: ms(ds[len(ds)-1])}
}

func newLoadReport(o loadOptions, results []botResult, elapsed time.Duration) *loadReport {
	rep := &loadReport{
		Bots: o.bots, LoginURI: o.uri, Phases: map[string]percentiles{}, FromUseCircuitCode: map[string]percentiles{},
		ElapsedMS: ms(elapsed), HoldMS: ms(o.duration), Ramp: o.ramp,
	}
	var fromStart [numMarks][]time.Duration
	var fromUCC [numMarks][]time.Duration
	failures := map[string]int{}
	rep.Regions = map[string]int{}
	var crossings []time.Duration
	crossFailed := 0
	for _, r := range results {
		if r.region != "" {
			rep.Regions[r.region]++
		}
		crossings = append(crossings, r.crossings...)
		crossFailed += r.crossFailed
		if r.completed {
			rep.Completed++
		} else {
			rep.Failed++
			failures[r.reason]++
		}
		if r.logoutOK {
			rep.LogoutReplies++
		}
		st := r.stats
		rep.PacketsSent += st.PacketsSent
		rep.PacketsReceived += st.PacketsRecv
		rep.Resends += st.Resent
		rep.ReliableLost += st.ReliableLost
		rep.Dropped += st.Dropped
		rep.Duplicates += st.Duplicates
		rep.Events += r.events
		for k, t := range r.at {
			if t.IsZero() || r.start.IsZero() {
				continue
			}
			fromStart[k] = append(fromStart[k], t.Sub(r.start))
			if u := r.at[markUCC]; !u.IsZero() && k > markUCC {
				fromUCC[k] = append(fromUCC[k], t.Sub(u))
			}
		}
	}
	for k := range numMarks {
		if k == markUCC {
			continue
		}
		rep.Phases[phaseNames[k]] = summarize(fromStart[k])
		if k > markUCC {
			rep.FromUseCircuitCode[phaseNames[k]] = summarize(fromUCC[k])
		}
	}
	rep.Failures = countFailures(failures)
	rep.Crossing = latencies(crossings, crossFailed)
	return rep
}

// countFailures lists failures by reason, most frequent first.
func countFailures(failures map[string]int) []failureCount {
	out := []failureCount{}
	for reason, n := range failures {
		out = append(out, failureCount{reason, n})
	}
	slices.SortFunc(out, func(a, b failureCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return out
}

// tableOrder is the phases in the table, in ritual order.
var tableOrder = []int{markLogin, markHandshake, markMovement, markFirstObject, markFirstLayer, markTerrain, markComplete}

func (r *loadReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "ritual load: %d bots at %s (ramp %g/s, %v each in the region) in %v\n\n",
		r.Bots, r.LoginURI, r.Ramp, time.Duration(r.HoldMS*1e6), time.Duration(r.ElapsedMS*1e6).Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "completed\t%d\t\n", r.Completed)
	fmt.Fprintf(tw, "failed\t%d\t\n", r.Failed)
	tw.Flush()
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  %6d  %s\n", f.Count, f.Reason)
	}
	fmt.Fprintf(w, "\npeak in the region %d; all %d at once for %v\n\n", r.PeakConnected, r.Bots, time.Duration(r.AllConnectedMS*1e6).Round(time.Millisecond))

	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "from the bot's start\tn\tp50\tp95\tp99\tmax\t")
	row := func(name string, p percentiles) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", name, p.N, msText(p.P50), msText(p.P95), msText(p.P99), msText(p.Max))
	}
	for _, k := range tableOrder {
		row(strings.ReplaceAll(phaseNames[k], "_", " "), r.Phases[phaseNames[k]])
	}
	fmt.Fprintln(tw, "from UseCircuitCode\t\t\t\t\t\t")
	for _, k := range []int{markHandshake, markFirstLayer, markTerrain, markComplete} {
		row(strings.ReplaceAll(phaseNames[k], "_", " "), r.FromUseCircuitCode[phaseNames[k]])
	}
	tw.Flush()
	fmt.Fprintf(w, "\npackets sent %d, received %d; resends %d, reliable lost %d, dropped %d, duplicates %d\n",
		r.PacketsSent, r.PacketsReceived, r.Resends, r.ReliableLost, r.Dropped, r.Duplicates)
	fmt.Fprintf(w, "LogoutReply received by %d of %d completed bots\n", r.LogoutReplies, r.Completed)
	if len(r.Discovered) > 0 {
		fmt.Fprintf(w, "\nregions discovered on the world map (within %d of %s):", discoverReach, r.Discovered[0].Name)
		for _, d := range r.Discovered {
			fmt.Fprintf(w, " %s (%d,%d)", d.Name, d.GridX, d.GridY)
		}
		fmt.Fprintln(w)
	}
	if r.DiscoveryError != "" {
		fmt.Fprintf(w, "\nregion discovery failed: %s\n", r.DiscoveryError)
	}
	if len(r.Regions) > 0 {
		names := slices.Sorted(maps.Keys(r.Regions))
		fmt.Fprintf(w, "\nbots by region at arrival:")
		for _, n := range names {
			fmt.Fprintf(w, " %s %d", n, r.Regions[n])
		}
		fmt.Fprintln(w)
	}
	if t := r.Teleport; t.N > 0 || t.Failed > 0 {
		fmt.Fprintf(w, "teleports: %d, failed %d; to TeleportFinish p50 %s p95 %s p99 %s max %s; to arrival p50 %s p95 %s p99 %s max %s\n",
			t.N, t.Failed, msText(t.P50), msText(t.P95), msText(t.P99), msText(t.Max),
			msText(t.Arrival.P50), msText(t.Arrival.P95), msText(t.Arrival.P99), msText(t.Arrival.Max))
		for _, f := range t.Failures {
			fmt.Fprintf(w, "  %6d  %s\n", f.Count, f.Reason)
		}
	}
	if c := r.Crossing; c.N > 0 || c.Failed > 0 || r.Walk && len(r.Regions) > 1 {
		fmt.Fprintf(w, "border crossings: %d, failed %d; p50 %s p95 %s p99 %s max %s\n",
			c.N, c.Failed, msText(c.P50), msText(c.P95), msText(c.P99), msText(c.Max))
	}
	if c := r.Chat; c.N > 0 {
		fmt.Fprintf(w, "\nchat: %d lines, heard %d of %d times expected (missed %d); latency p50 %s p95 %s p99 %s max %s\n",
			c.N, c.Heard, c.Expected, c.Missed, msText(c.P50), msText(c.P95), msText(c.P99), msText(c.Max))
	}
	if a := r.AvatarUpdatesHz; a.Bots > 0 {
		fmt.Fprintf(w, "avatar updates received per bot (median over %d bots): nearest 10 %.2f Hz, all %.2f Hz\n", a.Bots, a.Nearest10P50, a.AllP50)
	}
	if r.RecvBytesPerBotPerS > 0 {
		fmt.Fprintf(w, "received from the region per bot: %.1f KiB/s (median)\n", r.RecvBytesPerBotPerS/1024)
	}
	if r.ServerRSSMaxBytes > 0 {
		fmt.Fprintf(w, "grid resident memory (largest seen in /metrics): %.0f MiB\n", float64(r.ServerRSSMaxBytes)/(1<<20))
	}
	r.writeRegions(w)
}

// writeRegions writes the figures of each region, when there were several.
func (r *loadReport) writeRegions(w io.Writer) {
	if len(r.ByRegion) == 0 {
		return
	}
	fmt.Fprintf(w, "\nby region (where each bot was last; chat where it was said):\n")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "region\tbots\tcompleted\tfailed\tlines\theard\texpected\tmissed\tchat p50\tp99\tnearest 10\tall\treceived\t")
	for _, name := range slices.Sorted(maps.Keys(r.ByRegion)) {
		c := r.ByRegion[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%.2f Hz\t%.2f Hz\t%.1f KiB/s\t\n", name, c.Bots, c.Completed, c.Failed,
			c.Chat.N, c.Chat.Heard, c.Chat.Expected, c.Chat.Missed, msText(c.Chat.P50), msText(c.Chat.P99),
			c.AvatarUpdatesHz.Nearest10P50, c.AvatarUpdatesHz.AllP50, c.RecvBytesPerBotPerS/1024)
	}
	tw.Flush()
	for _, name := range slices.Sorted(maps.Keys(r.ByRegion)) {
		for _, f := range r.ByRegion[name].Failures {
			fmt.Fprintf(w, "  %s %6d  %s\n", name, f.Count, f.Reason)
		}
	}
}

func msText(v float64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
}

// startable reports whether a bot's start location (uri:Region&x&y&z) can
// name the region.
func startable(name string) bool {
	return name != "" && len(name) <= 254 && !strings.ContainsAny(name, "&/")
}
