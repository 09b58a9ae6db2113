package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/diagnose"
)

// evidence is what the relay saw of one session, from both sides, kept as
// it happens so a stall is told without replaying the events.
type evidence struct {
	loginAt      time.Time
	loginDone    bool
	loginOK      bool
	loginStatus  int
	loginReason  string
	loginMessage string
	sim          netip.AddrPort
	seedGiven    bool // the login reply had a seed capability
	seedBlank    bool

	seedStatus  int
	eqGranted   bool
	eqPolls     int
	eqHeld      int
	eqHeldSince time.Time
	eqAnswers   int
	eqDelivered int
	eqMaxHeld   time.Duration // longest poll that ended without an answer

	lastDatagram    time.Time
	lastClient      time.Time
	lastRegion      time.Time
	uccSends        int
	uccSeq          uint32
	uccAcked        bool
	regionDatagrams int
	camSends        int
	rhrSent         bool
	handshake       bool
	movement        bool
	objects         int
	patches         int
	patchesOf       int
	lastClientAck   uint32 // highest region sequence number the client acknowledged
	clientAcked     bool
	regionReliable  int // reliable region packets since the client's last datagram

	logoutAt      time.Time
	logoutReplied bool
	closed        bool
	kicked        string
}

// login notes a successful login reply.
func (e *evidence) login(sim netip.AddrPort, seed string) {
	e.loginDone, e.loginOK, e.loginStatus = true, true, 200
	e.sim = sim
	e.seedGiven = true
	e.seedBlank = strings.TrimSpace(seed) == ""
}

// udp notes one relayed datagram. fields is its summary (nil when it did
// not decode); dup marks a datagram the relay passed before.
func (e *evidence) udp(now time.Time, side trace.Side, name string, seq uint32, reliable, dup bool, acks []uint32, fields trace.Fields) {
	e.lastDatagram = now
	if side == trace.Client {
		e.lastClient = now
		e.regionReliable = 0
		for _, a := range acks {
			e.ack(a)
		}
		switch name {
		case "UseCircuitCode":
			if e.uccSends == 0 {
				e.uccSeq = seq
			}
			e.uccSends++
		case "CompleteAgentMovement":
			e.camSends++
		case "RegionHandshakeReply":
			e.rhrSent = true
		case "LogoutRequest":
			if e.logoutAt.IsZero() {
				e.logoutAt = now
			}
		case "CloseCircuit":
			e.closed = true
		case "PacketAck":
			if v, ok := fields.Get("ids"); ok {
				for id := range strings.SplitSeq(v, ",") {
					if n, err := strconv.ParseUint(id, 10, 32); err == nil {
						e.ack(uint32(n))
					}
				}
			}
		}
		return
	}
	e.lastRegion = now
	e.regionDatagrams++
	if reliable {
		e.regionReliable++
	}
	if e.uccSends > 0 {
		e.uccAcked = true
	}
	if dup {
		return
	}
	switch name {
	case "RegionHandshake":
		e.handshake = true
	case "AgentMovementComplete":
		e.movement = true
	case "ObjectUpdate", "ObjectUpdateCompressed", "ObjectUpdateCached", "ImprovedTerseObjectUpdate":
		n := 1
		if v, ok := fields.Get("objects"); ok {
			if k, err := strconv.Atoi(v); err == nil {
				n = k
			}
		}
		e.objects += n
	case "LayerData":
		if l, ok := fields.Get("layer"); ok && l != "land" {
			return
		}
		if v, ok := fields.Get("patches"); ok {
			if k, err := strconv.Atoi(v); err == nil && k > 0 && k <= 1024 {
				e.patches += k
			}
		}
	case "LogoutReply":
		e.logoutReplied = true
	case "KickUser":
		e.kicked, _ = fields.Get("Reason")
		if e.kicked == "" {
			e.kicked = "(no reason)"
		}
	case "CloseCircuit":
		e.closed = true
	}
}

func (e *evidence) ack(seq uint32) {
	if !e.clientAcked || seq > e.lastClientAck {
		e.lastClientAck = seq
	}
	e.clientAcked = true
}

// complete reports whether the ritual completed: movement complete, an
// object seen and every land patch relayed.
func (e *evidence) complete() bool {
	return e.movement && e.objects > 0 && e.patches >= e.patchesOf
}

// progress is a number that grows whenever the ritual gets further.
func (e *evidence) progress() int {
	n := 0
	for _, b := range []bool{e.loginDone, e.loginOK, e.uccSends > 0, e.uccAcked, e.handshake, e.movement, e.seedStatus != 0, e.eqAnswers > 0} {
		if b {
			n++
		}
	}
	return n<<20 + min(e.patches, 4095)<<8 + min(e.objects, 255)
}

// finding is a diagnosis: the step that stalled, the cause in plain words
// and the side at fault.
type finding struct {
	step  int
	cause string
	fault trace.Side
}

// find explains why the ritual has not completed, or returns ok false when
// nothing is wrong.
func (e *evidence) find(now time.Time, stallAfter, eqHold time.Duration) (finding, bool) {
	switch {
	case !e.loginDone:
		return finding{diagnose.StepLoginAnswered, fmt.Sprintf("the login service has not answered in %s", round(now.Sub(e.loginAt))), trace.Server}, true
	case !e.loginOK && e.loginReason != "":
		fault := trace.Server
		if e.loginReason == "key" || e.loginReason == "update" {
			fault = trace.Client
		}
		c := fmt.Sprintf("the login service refused the login: reason %q", e.loginReason)
		if e.loginMessage != "" {
			c += fmt.Sprintf(", %q", e.loginMessage)
		}
		return finding{diagnose.StepLoginAccepted, c, fault}, true
	case !e.loginOK && e.loginStatus != 200 && e.loginStatus != 0:
		return finding{diagnose.StepLoginAnswered, fmt.Sprintf("the login service answered HTTP %d: %s", e.loginStatus, e.loginMessage), trace.Server}, true
	case !e.loginOK:
		return finding{diagnose.StepLoginAnswered, "the login failed: " + e.loginMessage, trace.Server}, true
	}
	done := e.complete()
	silent := !done && !e.lastClient.IsZero() && e.lastRegion.After(e.lastClient) && now.Sub(e.lastClient) >= stallAfter && e.regionReliable > 0
	switch {
	case e.seedBlank:
		return finding{diagnose.StepSeed, "the login reply's seed capability is blank", trace.Server}, true
	case e.seedStatus >= 400:
		return finding{diagnose.StepSeed, fmt.Sprintf("the seed capability answered HTTP %d", e.seedStatus), trace.Server}, true
	case e.uccSends == 0:
		return finding{diagnose.StepCircuitAcked, fmt.Sprintf("the client never sent UseCircuitCode to the relay; the login service gave sim %s", e.sim), trace.Client}, true
	case !e.uccAcked:
		return finding{diagnose.StepCircuitAcked, fmt.Sprintf("the region never answered UseCircuitCode (sent %d times); the login service gave sim %s", e.uccSends, e.sim), trace.Server}, true
	case silent:
		return finding{e.nextUDPStep(), fmt.Sprintf("the client stopped acknowledging after seq %d", e.lastClientAck), trace.Client}, true
	case !e.handshake && e.camSends == 0 && !e.movement:
		return finding{diagnose.StepHandshake, "the region never sent RegionHandshake, and the client never sent CompleteAgentMovement (OpenSimulator waits for it)", trace.Server}, true
	case !e.handshake:
		return finding{diagnose.StepHandshake, fmt.Sprintf("the region never sent RegionHandshake (CompleteAgentMovement sent %d times)", e.camSends), trace.Server}, true
	case !e.movement && e.camSends == 0:
		return finding{diagnose.StepMovementComplete, "the client never sent CompleteAgentMovement", trace.Client}, true
	case !e.movement:
		return finding{diagnose.StepMovementComplete, fmt.Sprintf("the region never sent AgentMovementComplete (CompleteAgentMovement sent %d times)", e.camSends), trace.Server}, true
	case e.objects == 0 && !e.rhrSent:
		return finding{diagnose.StepFirstObject, "the client never sent RegionHandshakeReply (the region waits for it before the scene)", trace.Client}, true
	case e.objects == 0:
		return finding{diagnose.StepFirstObject, "the region sent no ObjectUpdate since AgentMovementComplete", trace.Server}, true
	case e.patches < e.patchesOf:
		return finding{diagnose.StepTerrain, fmt.Sprintf("the region sent %d of %d terrain patches and nothing since", e.patches, e.patchesOf), trace.Server}, true
	case e.eqGranted && e.eqAnswers == 0 && e.eqPolls > 0 && e.eqHeldFor(now) >= eqHold:
		return finding{diagnose.StepEventQueue, fmt.Sprintf("the event queue held %d polls for %s and delivered nothing", e.eqPolls, round(e.eqHeldFor(now))), trace.Server}, true
	}
	return finding{}, false
}

func round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// diagnose returns the Stall event for a session that ends without its
// ritual complete, or with a fault found on the way; nil otherwise.
func (e *evidence) diagnose(now time.Time, stallAfter, eqHold time.Duration) *trace.Stall {
	f, ok := e.find(now, stallAfter, eqHold)
	if !ok {
		return nil
	}
	reached := f.step - 1
	last := "the login request was relayed"
	if reached > 0 {
		last = diagnose.StepName(reached)
	}
	to := trace.EndRegion
	layer := trace.UDP
	switch f.step {
	case diagnose.StepLoginAnswered, diagnose.StepLoginAccepted:
		to, layer = trace.EndLogin, trace.Login
	case diagnose.StepSeed:
		to, layer = trace.EndCaps, trace.Caps
	case diagnose.StepEventQueue:
		to, layer = trace.EndCaps, trace.EQ
	}
	return &trace.Stall{
		Header:   hdr(now, trace.Client, layer, trace.EndProxy, to),
		Step:     f.step,
		LastSeen: last,
		Expected: diagnose.StepName(f.step),
		Causes:   []string{sentence(f.cause) + " At fault: the " + faultName(f.fault) + " side."},
		Waited:   now.Sub(e.loginAt),
		Fault:    f.fault,
	}
}

func faultName(s trace.Side) string {
	if s == trace.Client {
		return "client"
	}
	return "server"
}

// sentence capitalises the first letter and ends with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// nextUDPStep is the first step of the UDP stream not yet reached.
func (e *evidence) nextUDPStep() int {
	switch {
	case !e.handshake:
		return diagnose.StepHandshake
	case !e.movement:
		return diagnose.StepMovementComplete
	case e.objects == 0:
		return diagnose.StepFirstObject
	}
	return diagnose.StepTerrain
}

// eqHeldFor is the longest the event queue has held a poll without
// answering, counting the polls still held.
func (e *evidence) eqHeldFor(now time.Time) time.Duration {
	d := e.eqMaxHeld
	if e.eqHeld > 0 {
		d = max(d, now.Sub(e.eqHeldSince))
	}
	return d
}
