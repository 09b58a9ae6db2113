package proxy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
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
	loginErr     string        // the transport's error when no answer came
	loginTook    time.Duration // request to answer (or failure)
	upstream     string        // the upstream login URI
	upstreamHost string
	sim          netip.AddrPort
	simIP        string
	simPort      uint16
	seedGiven    bool // the login reply had a seed capability
	seedBlank    bool

	seedStatus  int
	seedErr     string
	seedURL     string
	seedTook    time.Duration
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
	firstCAM        time.Time
	handshakeAt     time.Time
	movementAt      time.Time
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
func (e *evidence) login(simIP string, simPort uint16, seed string) {
	e.loginDone, e.loginOK, e.loginStatus = true, true, 200
	e.simIP, e.simPort = simIP, simPort
	if ip, err := netip.ParseAddr(simIP); err == nil && simPort != 0 && !ip.IsUnspecified() {
		e.sim = netip.AddrPortFrom(ip.Unmap(), simPort)
	}
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
			if e.camSends == 0 {
				e.firstCAM = now
			}
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
		if !e.handshake {
			e.handshakeAt = now
		}
		e.handshake = true
	case "AgentMovementComplete":
		if !e.movement {
			e.movementAt = now
		}
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

// find names the cause (from the one catalogue, trace/cause) of a ritual
// that has not completed, or of a fault on the way; ok is false when
// nothing is wrong. The evidence is both sides': the proxy can tell a
// client that never sent UseCircuitCode from a region that never answered
// it, and a client that stopped acknowledging from a region that stopped
// sending.
func (e *evidence) find(now time.Time, stallAfter, eqHold time.Duration) (cause.Cause, bool) {
	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			return now.Sub(e.loginAt)
		}
		return now.Sub(t)
	}
	switch {
	case !e.loginDone:
		return cause.LoginPending(now.Sub(e.loginAt)), true
	case !e.loginOK && e.loginReason != "":
		return cause.LoginRefusedBy(e.loginReason, e.loginMessage), true
	case !e.loginOK && e.loginErr != "":
		return cause.LoginFailedText(e.upstream, e.loginErr, e.loginTook), true
	case !e.loginOK && e.loginStatus != 200 && e.loginStatus != 0:
		return cause.LoginHTTPStatus(e.loginStatus), true
	case !e.loginOK:
		return cause.LoginReplyUnreadable(e.loginMessage), true
	case !e.sim.IsValid():
		if c, ok := cause.SimAddressUnusable(e.simIP, int(e.simPort), e.upstreamHost); ok {
			return c, true
		}
	}
	done := e.complete()
	silent := !done && !e.lastClient.IsZero() && e.lastRegion.After(e.lastClient) && now.Sub(e.lastClient) >= stallAfter && e.regionReliable > 0
	sim := e.sim.String()
	switch {
	case e.seedBlank:
		return cause.SeedCapabilityBlank(), true
	case e.seedErr != "":
		return cause.SeedFailedText(e.seedURL, e.seedErr, e.seedTook), true
	case e.seedStatus >= 400:
		return cause.SeedHTTPStatus(e.seedStatus), true
	case e.uccSends == 0:
		return cause.ClientNeverConnected(sim), true
	case !e.uccAcked:
		return cause.NoCircuitAnswer(sim, e.uccSends), true
	case e.kicked != "":
		return cause.KickedOut(e.nextUDPStep(), e.kicked), true
	case silent:
		return cause.ClientStoppedAcking(e.nextUDPStep(), e.lastClientAck), true
	case !e.handshake:
		c := cause.NoRegionHandshake(since(e.firstCAM))
		if e.camSends == 0 {
			c.Check = append([]string{"the client never sent CompleteAgentMovement, which OpenSimulator waits for before RegionHandshake"}, c.Check...)
		}
		return c, true
	case !e.movement && e.camSends == 0:
		return cause.NoMovementComplete(since(e.handshakeAt)).Blame(cause.Client), true
	case !e.movement:
		return cause.NoMovementComplete(since(e.handshakeAt)), true
	case e.objects == 0:
		c := cause.NoObject(since(e.movementAt), 0)
		if !e.rhrSent {
			c = c.Blame(cause.Client)
			c.Check = append([]string{"the client never sent RegionHandshakeReply, which the region waits for before the scene"}, c.Check...)
		}
		return c, true
	case e.patches < e.patchesOf:
		return cause.TerrainStopped(e.patches, e.patchesOf), true
	case e.eqGranted && e.eqAnswers == 0 && e.eqPolls > 0 && e.eqHeldFor(now) >= eqHold:
		return cause.EventQueueHeld(e.eqPolls, e.eqHeldFor(now)), true
	}
	return cause.Cause{}, false
}

// diagnose returns the Stall event for a session that ends without its
// ritual complete, or with a fault found on the way; nil otherwise.
func (e *evidence) diagnose(now time.Time, stallAfter, eqHold time.Duration) *trace.Stall {
	c, ok := e.find(now, stallAfter, eqHold)
	if !ok {
		return nil
	}
	last := "the login request was relayed"
	if c.Step > 1 {
		last = (c.Step - 1).String()
	}
	to, layer := trace.EndRegion, trace.UDP
	switch c.Step {
	case cause.StepLoginAnswered, cause.StepLoginAccepted:
		to, layer = trace.EndLogin, trace.Login
	case cause.StepSeed:
		to, layer = trace.EndCaps, trace.Caps
	case cause.StepEventQueue:
		to, layer = trace.EndCaps, trace.EQ
	}
	return cause.Stall(hdr(now, trace.Client, layer, trace.EndProxy, to), last, "", now.Sub(e.loginAt), c)
}

// nextUDPStep is the first step of the UDP stream not yet reached.
func (e *evidence) nextUDPStep() cause.Step {
	switch {
	case !e.handshake:
		return cause.StepHandshake
	case !e.movement:
		return cause.StepMovementComplete
	case e.objects == 0:
		return cause.StepFirstObject
	}
	return cause.StepTerrain
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
