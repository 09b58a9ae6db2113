package observatory

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/trace"
	"ritual/trace/diagnose"
	"ritual/trace/narrative"
)

// Defaults of LiveConfig.
const (
	DefaultMaxSessions = 256
	DefaultMaxEvents   = 512
	DefaultWindow      = time.Hour
	DefaultStallAfter  = 30 * time.Second
	DefaultMaxWatchers = 64
)

// The states of a live session.
const (
	StateLogin      = "login"      // a login under way
	StateRefused    = "refused"    // the login was refused
	StateConnecting = "connecting" // logged in, the circuit not yet open
	StateInRegion   = "in region"  // the circuit is open, the ritual under way
	StateComplete   = "complete"   // every step of the ritual reached
	StateStalled    = "stalled"    // no progress for StallAfter, or closed before completing
	StateLoggedOut  = "logged out" // logged out after its ritual
	StateClosed     = "closed"     // the circuit closed otherwise (timeout, kicked, ...)
)

// States lists the states in the order the list page offers them.
var States = []string{StateLogin, StateConnecting, StateInRegion, StateComplete, StateStalled, StateRefused, StateLoggedOut, StateClosed}

// LiveConfig configures a Live observatory. Zero values take the defaults.
type LiveConfig struct {
	// Prefix is the path the handler is mounted at (default
	// "/observatory/").
	Prefix string
	// MaxSessions bounds the sessions kept (default 256); past it the
	// oldest (ended first) are summarised by state.
	MaxSessions int
	// MaxEvents bounds the events kept per session (default 512); past
	// it packets are counted by message instead of kept, and other
	// events up to a quarter more.
	MaxEvents int
	// Window is how long a session stays listed after its last event
	// (default one hour).
	Window time.Duration
	// StallAfter is how long a session may go without progress before
	// it is diagnosed as stalled (default 30 s).
	StallAfter time.Duration
	// Token, when set, is required of every request: as a bearer token,
	// as ?token= (which sets a cookie) or in the cookie.
	Token string
	// MaxWatchers bounds the concurrent event streams (default 64).
	MaxWatchers int
	// Show reveals secrets on the pages; the default masks them.
	Show trace.Secrets
	// Narrative names the server and the client in the stories.
	Narrative narrative.Options
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Live is the live observatory: a trace.Recorder that files a server's
// events by session, and an http.Handler serving the sessions of the last
// hour and a page per session that grows as its events arrive. Create it
// with NewLive and Close it when done.
type Live struct {
	cfg LiveConfig

	mu       sync.RWMutex
	sessions []*session // oldest first
	byID     map[string]*session
	byCode   map[uint32]*session
	byAgent  map[ritual.UUID]*session
	byRemote map[string]*session // UDP address, and "login:" + the login's HTTP address
	pending  []*session          // logins awaiting their verdict
	client   *session            // the session of the client-side events without keys
	nextID   uint64
	older    map[string]int // sessions no longer kept, by their last state
	olderN   int
	listCh   chan struct{} // closed at the next change of the list

	unattributed atomic.Int64 // events that belong to no known session
	watchers     atomic.Int64

	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// session is one agent's ritual as observed.
type session struct {
	id      string
	created time.Time // wall clock, when first seen

	mu        sync.Mutex
	name      string
	agent     ritual.UUID
	code      uint32
	authed    bool // the login's verdict is in
	answered  bool // the login response is in
	events    []trace.Event
	folded    map[string]int // packets counted rather than kept, by message
	dropped   int            // other events not kept
	anomalies int
	progress  diagnose.ServerProgress
	clientOK  bool // the client's milestone "complete"
	clientStl bool // a client-side stall
	diagnosed bool // our own stall diagnosis recorded
	refused   bool
	closedWhy string
	state     string
	step      int
	stepName  string
	first     time.Time // first event's time
	last      time.Time // last event's time
	progAt    time.Time // wall clock of the last progress
	ended     bool
	version   uint64
	notify    chan struct{}

	// A relay's session (Live.Relay): filed by its recorder, not by keys.
	relay     bool
	relayUCC  bool // the client sent UseCircuitCode
	relayOpen bool // the region answered it
	relayOK   bool // the relay's end of the story says the ritual completed
	gone      bool // no longer kept (summarised)
}

// NewLive returns a Live observatory and starts its stall watch; Close
// stops it.
func NewLive(cfg LiveConfig) *Live {
	if cfg.Prefix == "" {
		cfg.Prefix = "/observatory/"
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultStallAfter
	}
	if cfg.MaxWatchers <= 0 {
		cfg.MaxWatchers = DefaultMaxWatchers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Live{
		cfg: cfg, byID: map[string]*session{}, byCode: map[uint32]*session{},
		byAgent: map[ritual.UUID]*session{}, byRemote: map[string]*session{},
		older: map[string]int{}, done: make(chan struct{}),
	}
	l.wg.Add(1)
	go l.watch()
	return l
}

// Close stops the stall watch and ends every event stream.
func (l *Live) Close() error {
	l.once.Do(func() { close(l.done) })
	l.wg.Wait()
	return nil
}

// Unattributed returns how many events belonged to no known session
// (stray datagrams, rejected circuits, sessions already summarised).
func (l *Live) Unattributed() int64 { return l.unattributed.Load() }

// Record implements trace.Recorder. It never blocks on a reader: it files
// the event under its session and wakes that session's watchers.
func (l *Live) Record(ev trace.Event) {
	if ev == nil {
		return
	}
	if p, ok := ev.(*trace.Packet); ok {
		// The hot path: most packets carry no secret and need no copy.
		if hasSecret(p.Fields) && l.cfg.Show == trace.HideSecrets {
			ev = p.Masked()
		}
		l.mu.RLock()
		s := l.byCode[p.Circuit]
		l.mu.RUnlock()
		if s == nil {
			l.unattributed.Add(1)
			return
		}
		if s.add(ev, l.cfg, l.cfg.Now()) {
			l.listChanged()
		}
		return
	}
	ev = trace.Visible(ev, l.cfg.Show)
	h := ev.Head()
	var s *session
	switch e := ev.(type) {
	case *trace.CircuitClosed:
		s = l.lookup(func() *session { return l.byCode[e.Code] })
	case *trace.SeedGrant:
		s = l.byAgentOrClient(e.Agent, h.Side)
	case *trace.CapCall:
		s = l.byAgentOrClient(e.Agent, h.Side)
	case *trace.EQPoll:
		s = l.byAgentOrClient(e.Agent, h.Side)
	case *trace.EQDeliver:
		s = l.byAgentOrClient(e.Agent, h.Side)
	case *trace.EQTimeout:
		s = l.byAgentOrClient(e.Agent, h.Side)
	case *trace.Anomaly:
		s = l.lookup(func() *session {
			if e.Remote == "" {
				if h.Side == trace.Client {
					return l.client
				}
				return nil
			}
			if s := l.byRemote[e.Remote]; s != nil {
				return s
			}
			return l.byRemote["login:"+e.Remote]
		})
	case *trace.LoginRequest:
		s = l.loginRequest(e.First+" "+e.Last, e.Remote, h.Side)
	case *trace.LoginStart:
		s = l.loginRequest(e.First+" "+e.Last, "", h.Side)
	case *trace.LoginAuth:
		s = l.loginAuth(e)
	case *trace.CircuitProvision:
		l.mu.Lock()
		if s = l.byAgent[e.Agent]; s != nil {
			l.byCode[e.Code] = s
			s.mu.Lock()
			s.code = e.Code
			s.mu.Unlock()
		}
		l.mu.Unlock()
	case *trace.LoginResponse:
		s = l.loginResponse(e)
	case *trace.CircuitCheck:
		l.mu.Lock()
		if s = l.byCode[e.Code]; s != nil && e.OK && e.Remote != "" {
			l.byRemote[e.Remote] = s
		}
		if s == nil && h.Side == trace.Client {
			s = l.client
		}
		l.mu.Unlock()
	default:
		if h.Side == trace.Client {
			s = l.lookup(func() *session { return l.client })
		}
	}
	if s == nil {
		l.unattributed.Add(1)
		return
	}
	if s.add(ev, l.cfg, l.cfg.Now()) {
		l.listChanged()
	}
}

func (l *Live) lookup(f func() *session) *session {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return f()
}

func (l *Live) byAgentOrClient(agent ritual.UUID, side trace.Side) *session {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !agent.IsZero() {
		if s := l.byAgent[agent]; s != nil {
			return s
		}
	}
	if side == trace.Client {
		return l.client
	}
	// A log recorded before events named their agent: the one session
	// under way, if there is only one.
	var only *session
	for _, s := range l.sessions {
		s.mu.Lock()
		ended := s.ended
		s.mu.Unlock()
		if !ended {
			if only != nil {
				return nil
			}
			only = s
		}
	}
	return only
}

// loginRequest starts a session, or joins the other side's view of the
// same login (both sides recorded, as a proxy does).
func (l *Live) loginRequest(name, remote string, side trace.Side) *session {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s *session
	for _, p := range l.pending {
		p.mu.Lock()
		same := p.name == name && !p.authed && len(p.events) > 0 && p.events[0].Head().Side != side
		p.mu.Unlock()
		if same {
			s = p
			break
		}
	}
	if s == nil {
		s = l.newSessionLocked(name)
		l.pending = append(l.pending, s)
	}
	if remote != "" {
		l.byRemote["login:"+remote] = s
	}
	if side == trace.Client {
		l.client = s
	}
	return s
}

func (l *Live) newSessionLocked(name string) *session {
	for len(l.sessions) >= l.cfg.MaxSessions {
		victim := 0
		for i, s := range l.sessions {
			s.mu.Lock()
			ended := s.ended
			s.mu.Unlock()
			if ended {
				victim = i
				break
			}
		}
		l.evictLocked(victim)
	}
	l.nextID++
	now := l.cfg.Now()
	s := &session{id: strconv.FormatUint(l.nextID, 10), created: now, name: name, state: StateLogin, progAt: now, stepName: "login under way"}
	l.sessions = append(l.sessions, s)
	l.byID[s.id] = s
	return s
}

// evictLocked drops sessions[i], keeping its state in the summary.
func (l *Live) evictLocked(i int) {
	s := l.sessions[i]
	l.sessions = append(l.sessions[:i:i], l.sessions[i+1:]...)
	delete(l.byID, s.id)
	s.mu.Lock()
	state, code, agent := s.state, s.code, s.agent
	s.ended = true
	s.gone = true
	s.wakeLocked()
	s.mu.Unlock()
	l.older[state]++
	l.olderN++
	if l.byCode[code] == s {
		delete(l.byCode, code)
	}
	if l.byAgent[agent] == s {
		delete(l.byAgent, agent)
	}
	for k, v := range l.byRemote {
		if v == s {
			delete(l.byRemote, k)
		}
	}
	for j, p := range l.pending {
		if p == s {
			l.pending = append(l.pending[:j:j], l.pending[j+1:]...)
			break
		}
	}
	if l.client == s {
		l.client = nil
	}
}

func (l *Live) loginAuth(e *trace.LoginAuth) *session {
	name := e.First + " " + e.Last
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.pending {
		p.mu.Lock()
		match := !p.authed && strings.EqualFold(p.name, name)
		if match {
			p.authed = true
			if e.OK {
				p.agent = e.Agent
				p.name = name // the account's own spelling
			}
		}
		p.mu.Unlock()
		if match {
			if e.OK {
				l.byAgent[e.Agent] = p
			}
			return p
		}
	}
	return nil
}

func (l *Live) loginResponse(e *trace.LoginResponse) *session {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s *session
	if e.Head().Side == trace.Client {
		s = l.client
	} else if e.OK {
		s = l.byAgent[e.Agent]
	} else {
		// A refusal names no one: it answers the oldest login still
		// waiting whose verdict was a refusal, else the oldest waiting.
		for pass := 0; pass < 2 && s == nil; pass++ {
			for _, p := range l.pending {
				p.mu.Lock()
				ok := !p.answered && (pass == 1 || p.authed && p.agent.IsZero())
				p.mu.Unlock()
				if ok {
					s = p
					break
				}
			}
		}
	}
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.answered = true
	if e.OK && !e.Agent.IsZero() {
		s.agent = e.Agent
		l.byAgent[e.Agent] = s
	}
	if e.OK && e.CircuitCode != 0 {
		s.code = e.CircuitCode
		l.byCode[e.CircuitCode] = s
	}
	s.mu.Unlock()
	for j, p := range l.pending {
		if p == s {
			l.pending = append(l.pending[:j:j], l.pending[j+1:]...)
			break
		}
	}
	return s
}

// backgroundMessages are the packets that tell nothing of the ritual's
// progress: counted once a session's buffer is full.
var progressMessages = map[string]bool{
	"UseCircuitCode": true, "RegionHandshake": true, "RegionHandshakeReply": true, "CompleteAgentMovement": true,
	"AgentMovementComplete": true, "ObjectUpdate": true, "ObjectUpdateCompressed": true, "ObjectUpdateCached": true,
	"LayerData": true, "LogoutRequest": true, "LogoutReply": true, "KickUser": true,
}

// add files ev and updates the session's state; it reports whether the
// state or step changed (the list needs redrawing).
func (s *session) add(ev trace.Event, cfg LiveConfig, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := ev.Head()
	if s.first.IsZero() || h.Time.Before(s.first) {
		s.first = h.Time
	}
	if h.Time.After(s.last) {
		s.last = h.Time
	}
	p, isPkt := ev.(*trace.Packet)
	switch {
	case len(s.events) < cfg.MaxEvents:
		s.events = append(s.events, ev)
	case isPkt && !progressMessages[p.Message]:
		if s.folded == nil {
			s.folded = map[string]int{}
		}
		if _, ok := s.folded[p.Message]; ok || len(s.folded) < 64 {
			s.folded[p.Message]++
		} else {
			s.dropped++
		}
	case len(s.events) < cfg.MaxEvents+cfg.MaxEvents/4:
		s.events = append(s.events, ev)
	default:
		s.dropped++
	}
	s.version++
	state, stepName := s.state, s.stepName
	if s.relay {
		for _, v := range s.relayView(ev) {
			s.progress.Add(v)
		}
	} else {
		s.progress.Add(ev)
	}
	switch e := ev.(type) {
	case *trace.Anomaly:
		s.anomalies++
	case *trace.Milestone:
		if e.Step == trace.MilestoneComplete && h.Side == trace.Client {
			s.clientOK = true
		}
	case *trace.Stall:
		if h.Side == trace.Client {
			s.clientStl = true
		}
	case *trace.LoginAuth:
		s.refused = s.refused || !e.OK
	case *trace.LoginResponse:
		s.refused = s.refused || !e.OK
	case *trace.CircuitClosed:
		if e.Reason == "" {
			s.closedWhy = "closed"
		} else {
			s.closedWhy = e.Reason
		}
	case *trace.SessionEnd:
		if s.relay {
			s.relayOK = s.relayOK || e.Complete
			s.closedWhy = e.Reason
			if s.closedWhy == "" {
				s.closedWhy = "ended"
			}
		}
	}
	if step := s.progress.Reached(); step > s.step {
		s.step, s.progAt = step, now
		s.stepName = strconv.Itoa(step) + ". " + diagnose.ServerStepName(step)
	}
	s.updateStateLocked()
	if s.closedWhy != "" && !s.ended {
		s.ended = true
		if !s.relay && s.state != StateComplete && s.state != StateLoggedOut && s.state != StateRefused && !s.diagnosed && !s.clientStl {
			// Closed before the ritual completed: say where it stopped.
			if st := s.progress.Stall(now.Sub(s.progAt)); st != nil {
				st.Time = h.Time
				s.diagnosed = true
				s.events = append(s.events, st)
				s.updateStateLocked()
			}
		}
	}
	s.wakeLocked()
	return s.state != state || s.stepName != stepName
}

func hasSecret(fs trace.Fields) bool {
	for _, f := range fs {
		if f.Secret {
			return true
		}
	}
	return false
}

func (s *session) updateStateLocked() {
	switch {
	case s.refused || s.progress.Refused():
		s.state, s.ended = StateRefused, true
	case s.diagnosed || s.clientStl:
		s.state = StateStalled
	case s.clientOK || s.relayOK || s.step == diagnose.ServerComplete:
		s.state = StateComplete
	case s.step >= diagnose.ServerCircuitOpen:
		s.state = StateInRegion
	case s.step >= diagnose.ServerLoginAccepted || s.answered:
		s.state = StateConnecting
	default:
		s.state = StateLogin
	}
	if s.closedWhy != "" && s.state != StateRefused && s.state != StateStalled {
		if s.progress.LoggedOut() || strings.Contains(s.closedWhy, "logout") {
			s.state = StateLoggedOut
		} else if s.state == StateComplete {
			s.state = StateClosed
		}
	}
	// A step reached names itself where it is reached (add).
	if s.step == 0 && s.clientOK {
		s.stepName = "the ritual completes"
	}
}

// wakeLocked wakes the session's watchers.
func (s *session) wakeLocked() {
	if s.notify != nil {
		close(s.notify)
		s.notify = nil
	}
}

// changed returns a channel closed at the session's next change.
func (s *session) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify == nil {
		s.notify = make(chan struct{})
	}
	return s.notify
}

func (l *Live) listChanged() {
	l.mu.Lock()
	ch := l.listCh
	l.listCh = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

func (l *Live) listChangedCh() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.listCh == nil {
		l.listCh = make(chan struct{})
	}
	return l.listCh
}

// watch diagnoses sessions that stopped making progress and forgets the
// ones older than the window.
func (l *Live) watch() {
	defer l.wg.Done()
	tick := min(l.cfg.StallAfter/4, time.Second)
	t := time.NewTicker(max(tick, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		l.sweep()
	}
}

// sweep is one round of watch.
func (l *Live) sweep() {
	now := l.cfg.Now()
	changed := false
	l.mu.Lock()
	for i := 0; i < len(l.sessions); {
		s := l.sessions[i]
		s.mu.Lock()
		lastSeen := s.progAt
		if !s.last.IsZero() && s.last.After(lastSeen) && s.last.Before(now) {
			lastSeen = s.last
		}
		old := now.Sub(lastSeen) > l.cfg.Window
		stalled := false
		if !s.relay && !s.ended && !s.diagnosed && !s.clientStl && s.state != StateComplete && now.Sub(s.progAt) >= l.cfg.StallAfter {
			if st := s.progress.Stall(now.Sub(s.progAt)); st != nil {
				st.Time = now
				s.diagnosed, stalled = true, true
				s.events = append(s.events, st)
				s.version++
				s.updateStateLocked()
				s.wakeLocked()
			}
		}
		s.mu.Unlock()
		changed = changed || stalled
		if old {
			l.evictLocked(i)
			changed = true
			continue
		}
		i++
	}
	l.mu.Unlock()
	if changed {
		l.listChanged()
	}
}

// Summary is one line of the session list.
type Summary struct {
	ID        string        `json:"id"`
	Agent     string        `json:"agent"`
	State     string        `json:"state"`
	Step      string        `json:"furthest_step"`
	Started   time.Time     `json:"started"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	Anomalies int           `json:"anomalies"`
	Events    int           `json:"events"` // kept
	Folded    int           `json:"folded"` // counted rather than kept
}

// Sessions returns the sessions kept, newest first.
func (l *Live) Sessions() []Summary {
	l.mu.RLock()
	ss := append([]*session(nil), l.sessions...)
	l.mu.RUnlock()
	now := l.cfg.Now()
	out := make([]Summary, 0, len(ss))
	for i := len(ss) - 1; i >= 0; i-- {
		out = append(out, ss[i].summary(now))
	}
	return out
}

func (s *session) summary(now time.Time) Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := Summary{ID: s.id, Agent: s.name, State: s.state, Step: s.stepName, Started: s.created,
		Anomalies: s.anomalies, Events: len(s.events), Folded: s.dropped}
	for _, n := range s.folded {
		sum.Folded += n
	}
	if s.ended || s.state == StateComplete {
		sum.Elapsed = s.last.Sub(s.first)
	} else {
		sum.Elapsed = now.Sub(s.created)
	}
	return sum
}

// Older returns how many sessions are no longer kept, by their last
// state, and in all.
func (l *Live) Older() (map[string]int, int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]int, len(l.older))
	for k, v := range l.older {
		out[k] = v
	}
	return out, l.olderN
}

// snapshot returns a copy of a session's events and its version.
// currentVersion is the session's version alone, without a snapshot's
// copies.
func (s *session) currentVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func (s *session) snapshot() ([]trace.Event, uint64, bool, map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	folded := make(map[string]int, len(s.folded))
	for k, v := range s.folded {
		folded[k] = v
	}
	return append([]trace.Event(nil), s.events...), s.version, s.ended, folded, s.dropped
}
