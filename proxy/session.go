package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"ritual"
	"ritual/login"
	"ritual/trace"
)

// Why a session ends.
const (
	endLogout         = "logout"
	endLogoutNoReply  = "logout (the region sent no LogoutReply)"
	endCircuitTimeout = "circuit timeout"
	endStalled        = "stalled"
	endShutdown       = "shutdown"
	endClosed         = "circuit closed"
	endKicked         = "kicked"
)

// Session is one client's session through the proxy, from its login
// request to its end; it owns the session's relay sockets and capability
// URLs, and its story.
type Session struct {
	p       *Proxy
	First   string
	Last    string
	Started time.Time

	mem  trace.Memory
	sink trace.Recorder

	mu        sync.Mutex
	relays    map[netip.AddrPort]*relay
	tokens    []string
	code      uint32
	agent     ritual.UUID
	sessionID ritual.UUID
	loginSim  netip.AddrPort
	ended     bool
	reason    string
	ev        evidence
	lastProg  time.Time
	progress  int
	kept      int // events kept in mem
	untold    int // routine packets not kept (see routine)
}

// Reason returns why the session ended ("" while open).
func (s *Session) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// Events returns the session's events so far.
func (s *Session) Events() []trace.Event { return s.mem.Events() }

// newSession opens a session for a login request; nil when the proxy is
// closing.
func (p *Proxy) newSession(sum login.RequestSummary) *Session {
	now := time.Now()
	s := &Session{p: p, First: sum.First, Last: sum.Last, Started: now.UTC(),
		relays: map[netip.AddrPort]*relay{}, lastProg: now}
	s.mem.Limit = MaxEvents
	s.ev.loginAt = now
	s.ev.upstream, s.ev.upstreamHost = p.upstream.String(), p.upstream.Hostname()
	s.ev.patchesOf = 256
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.sessions[s] = struct{}{}
	p.mu.Unlock()
	if p.cfg.Recorder != nil {
		s.sink = p.cfg.Recorder(s)
	}
	return s
}

// routine are the messages a long session sends over and over; past
// StoryEvents events, a session's story keeps counting them but no longer
// keeps them (the live recorder still gets every one).
var routine = map[string]bool{
	"AgentUpdate": true, "PacketAck": true, "StartPingCheck": true, "CompletePingCheck": true,
	"SimStats": true, "SimulatorViewerTimeMessage": true, "CoarseLocationUpdate": true,
	"ImprovedTerseObjectUpdate": true, "AgentAnimation": true, "AvatarAnimation": true,
	"ViewerEffect": true, "AgentFOV": true, "AgentHeightWidth": true,
}

// record keeps ev in the session's story (until the session ends) and
// passes it to the live recorder.
func (s *Session) record(ev trace.Event) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.kept++
	if p, ok := ev.(*trace.Packet); ok && s.kept > StoryEvents && routine[p.Message] {
		s.untold++
		s.kept--
		s.mu.Unlock()
		if s.sink != nil {
			s.sink.Record(ev)
		}
		return
	}
	s.mu.Unlock()
	s.mem.Record(ev)
	if s.sink != nil {
		s.sink.Record(ev)
	}
}

func (s *Session) circuitCode() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code
}

// errTooManyRegions bounds the relays of one session.
var errTooManyRegions = errors.New("proxy: too many regions for one session")

// relayFor returns the session's relay for a region address the grid
// handed out, opening it on first use.
func (s *Session) relayFor(region netip.AddrPort) (*relay, error) {
	region = netip.AddrPortFrom(region.Addr().Unmap(), region.Port())
	if !region.IsValid() || region.Port() == 0 || region.Addr().IsUnspecified() {
		return nil, fmt.Errorf("proxy: region address %s cannot be relayed", region)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rl, ok := s.relays[region]; ok {
		return rl, nil
	}
	if s.ended {
		return nil, errors.New("proxy: session ended")
	}
	if len(s.relays) >= MaxRegions {
		return nil, errTooManyRegions
	}
	pc, err := s.p.cfg.ListenPacket()
	if err != nil {
		return nil, fmt.Errorf("proxy: opening a relay socket: %w", err)
	}
	host, _ := netip.ParseAddr(s.p.cfg.PublicHost)
	rl := newRelay(s, pc, region, host)
	s.relays[region] = rl
	s.p.wg.Add(1)
	go rl.run()
	return rl, nil
}

// loginFailed records a login that did not succeed and ends the session.
// err is the transport's error when no answer came ("" otherwise).
func (s *Session) loginFailed(lr *trace.LoginResponse, reason, err string) {
	s.record(lr)
	s.mu.Lock()
	s.ev.loginErr, s.ev.loginTook = err, lr.Elapsed
	s.ev.loginDone = true
	s.ev.loginStatus = lr.Status
	s.ev.loginReason, s.ev.loginMessage = lr.Reason, lr.Message
	s.mu.Unlock()
	s.end(reason, time.Now())
}

// seedStatus notes the seed capability's answer.
func (s *Session) seedStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev.seedStatus = status
	s.progressLocked(time.Now())
}

// seedFailed notes a seed request that got no answer.
func (s *Session) seedFailed(url, err string, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev.seedErr, s.ev.seedURL, s.ev.seedTook = err, url, took
	s.ev.seedStatus = 502
}

func (s *Session) eqGranted() {
	s.mu.Lock()
	s.ev.eqGranted = true
	s.mu.Unlock()
}

func (s *Session) eqPollStart(t time.Time) {
	s.mu.Lock()
	s.ev.eqHeld++
	s.ev.eqPolls++
	if s.ev.eqHeld == 1 {
		s.ev.eqHeldSince = t
	}
	s.mu.Unlock()
}

// eqPollEnd notes the end of a poll begun at start; answered is false when
// it ended without an answer from the event queue.
func (s *Session) eqPollEnd(start time.Time, answered bool) {
	s.mu.Lock()
	s.ev.eqHeld--
	if !answered {
		s.ev.eqMaxHeld = max(s.ev.eqMaxHeld, time.Since(start))
	}
	s.mu.Unlock()
}

func (s *Session) eqAnswered(delivered bool) {
	s.mu.Lock()
	s.ev.eqAnswers++
	if delivered {
		s.ev.eqDelivered++
	}
	s.mu.Unlock()
}

// progressLocked marks the ritual's progress; s.mu is held.
func (s *Session) progressLocked(now time.Time) {
	if p := s.ev.progress(); p != s.progress {
		s.progress = p
		s.lastProg = now
	}
}

// datagram updates the evidence with a relayed datagram (m nil when it
// did not decode).
func (s *Session) datagram(now time.Time, side trace.Side, name string, seq uint32, reliable, dup bool, acks []uint32, fields trace.Fields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev.udp(now, side, name, seq, reliable, dup, acks, fields)
	s.progressLocked(now)
}

// end finishes the session's story once: the diagnosis when the ritual did
// not complete, the end event, and the story handed to Config.Ended. The
// relay sockets and capabilities stay open for Config.Linger.
func (s *Session) end(reason string, now time.Time) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	e := s.ev
	s.mu.Unlock()

	complete := e.complete()
	if d := e.diagnose(now, s.p.cfg.StallAfter, s.p.cfg.EQHold); d != nil {
		s.record(d)
	}
	s.mu.Lock()
	untold := s.untold
	s.mu.Unlock()
	s.record(&trace.SessionEnd{Header: hdr(now, trace.Client, trace.UDP, trace.EndProxy, trace.EndProxy), Reason: reason, Complete: complete, Untold: untold})
	s.mu.Lock()
	s.ended = true
	s.reason = reason
	s.mu.Unlock()
	s.p.mu.Lock()
	delete(s.p.sessions, s)
	s.p.mu.Unlock()
	if f, ok := s.sink.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	if s.p.cfg.Ended != nil {
		s.p.cfg.Ended(s, s.mem.Events())
	}
	time.AfterFunc(s.p.cfg.Linger, s.closeNow)
}

// closeNow closes the session's relay sockets and forgets its capability
// URLs.
func (s *Session) closeNow() {
	s.mu.Lock()
	relays := make([]*relay, 0, len(s.relays))
	for _, rl := range s.relays {
		relays = append(relays, rl)
	}
	tokens := slices.Clone(s.tokens)
	s.mu.Unlock()
	for _, rl := range relays {
		rl.close()
	}
	s.p.mu.Lock()
	for _, t := range tokens {
		delete(s.p.caps, t)
	}
	s.p.mu.Unlock()
}

// watch ends sessions that stalled, whose circuits went silent, or whose
// logout went unanswered.
func (p *Proxy) watch() {
	defer p.wg.Done()
	tick := min(p.cfg.StallAfter/4, 250*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			open := make([]*Session, 0, len(p.sessions))
			for s := range p.sessions {
				open = append(open, s)
			}
			p.mu.Unlock()
			for _, s := range open {
				if why := s.due(now); why != "" {
					s.end(why, now)
				}
			}
		}
	}
}

// due says why the session should end now, or "".
func (s *Session) due(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &s.ev
	switch {
	case e.logoutReplied:
		return endLogout
	case e.closed:
		return endClosed
	case e.kicked != "":
		return endKicked
	case !e.logoutAt.IsZero() && now.Sub(e.logoutAt) > s.p.cfg.LogoutWait:
		return endLogoutNoReply
	case !e.lastClient.IsZero() && now.Sub(e.lastClient) > s.p.cfg.CircuitTimeout,
		!e.lastRegion.IsZero() && now.Sub(e.lastRegion) > s.p.cfg.CircuitTimeout:
		// Either side has not been heard for a circuit's timeout: the
		// other side closes the circuit (or should).
		return endCircuitTimeout
	case !e.complete() && now.Sub(s.lastProg) > s.p.cfg.StallAfter:
		return endStalled
	}
	return ""
}

// loginSucceeded notes a successful login reply.
func (s *Session) loginSucceeded(simIP string, simPort uint16, seed string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ev.login(simIP, simPort, seed)
	s.progressLocked(time.Now())
}
