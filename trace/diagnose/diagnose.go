package diagnose

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
)

// Steps of the ritual, numbered as in the package documentation.
const (
	StepLoginAnswered = iota + 1
	StepLoginAccepted
	StepCircuitAcked
	StepHandshake
	StepMovementComplete
	StepSeed
	StepEventQueue
	StepFirstObject
	StepTerrain
	StepComplete
)

var stepNames = [...]string{
	StepLoginAnswered:    "the login service answers",
	StepLoginAccepted:    "the login is accepted",
	StepCircuitAcked:     "the region acknowledges UseCircuitCode",
	StepHandshake:        "RegionHandshake arrives",
	StepMovementComplete: "AgentMovementComplete arrives",
	StepSeed:             "the seed capability answers",
	StepEventQueue:       "the event queue answers a poll",
	StepFirstObject:      "the first ObjectUpdate arrives",
	StepTerrain:          "every terrain patch arrives",
	StepComplete:         "the ritual completes",
}

// StepName describes step n.
func StepName(n int) string {
	if n <= 0 || n >= len(stepNames) {
		return "step " + strconv.Itoa(n)
	}
	return stepNames[n]
}

// facts is what the events say about the connection.
type facts struct {
	start          *trace.LoginStart
	response       *trace.LoginResponse
	failed         *trace.LoginProgress
	uccSent        bool
	uccSeq         uint32
	uccSends       int
	acked          bool
	recvFromRegion int
	handshake      bool
	movement       bool
	seedRequested  bool
	seedGrant      *trace.SeedGrant
	seedError      string
	eqGranted      bool
	eqPolls        int
	eqAnswered     bool
	eqTimeouts     int
	objects        int
	patches        int
	patchesOf      int
	terrainDone    bool
	complete       bool
	kicked         string
}

func gather(events []trace.Event) facts {
	var f facts
	f.patchesOf = 256
	for _, ev := range events {
		if ev.Head().Side != trace.Client {
			continue
		}
		switch e := ev.(type) {
		case *trace.LoginStart:
			f.start = e
		case *trace.LoginResponse:
			f.response = e
		case *trace.LoginProgress:
			if e.Stage == "Failed" {
				f.failed = e
			}
		case *trace.Packet:
			f.packet(e)
		case *trace.SeedRequest:
			f.seedRequested = true
		case *trace.SeedGrant:
			f.seedGrant = e
			for _, g := range e.Granted {
				if g == "EventQueueGet" {
					f.eqGranted = true
				}
			}
		case *trace.CapCall:
			if e.Capability == "seed" && e.Status != 200 {
				f.seedError = e.Detail
			}
		case *trace.EQPoll:
			f.eqPolls++
		case *trace.EQDeliver:
			f.eqAnswered = true
		case *trace.EQTimeout:
			if e.Status == 502 {
				f.eqAnswered = true
			} else {
				f.eqTimeouts++
			}
		case *trace.Milestone:
			switch e.Step {
			case trace.MilestoneHandshake:
				f.handshake = true
			case trace.MilestoneMovementComplete:
				f.movement = true
			case trace.MilestoneFirstObject:
				f.objects = max(f.objects, max(e.Objects, 1))
			case trace.MilestoneTerrainComplete:
				f.terrainDone = true
				if e.Of > 0 {
					f.patchesOf = e.Of
				}
				f.patches = max(f.patches, e.Patches)
			case trace.MilestoneComplete:
				f.complete = true
			}
		case *trace.Anomaly:
			if e.Kind == trace.AnomalyReject && e.Message == "KickUser" {
				f.kicked = e.Reason
			}
		}
	}
	if f.uccSent && (f.handshake || f.movement) {
		f.acked = true
	}
	return f
}

func (f *facts) packet(p *trace.Packet) {
	if p.Dir == trace.Send {
		if p.Message == "UseCircuitCode" {
			if !f.uccSent {
				f.uccSeq = p.Seq
			}
			f.uccSent = true
			f.uccSends++
		}
		return
	}
	f.recvFromRegion++
	if f.uccSent && p.Acks > 0 {
		// Acks ride on the region's packets; the first thing it can ack
		// is the UseCircuitCode.
		f.acked = true
	}
	switch p.Message {
	case "PacketAck":
		if ids, ok := p.Fields.Get("ids"); ok && f.uccSent {
			for _, id := range strings.Split(ids, ",") {
				if id == strconv.FormatUint(uint64(f.uccSeq), 10) {
					f.acked = true
				}
			}
		}
	case "RegionHandshake":
		f.handshake = true
	case "AgentMovementComplete":
		f.movement = true
	case "ObjectUpdate", "ObjectUpdateCompressed", "ObjectUpdateCached", "ImprovedTerseObjectUpdate":
		n := 1
		if v, ok := p.Fields.Get("objects"); ok {
			if k, err := strconv.Atoi(v); err == nil {
				n = k
			}
		}
		f.objects += n
	case "LayerData":
		if l, ok := p.Fields.Get("layer"); ok && l != "land" {
			return
		}
		if v, ok := p.Fields.Get("patches"); ok {
			if k, err := strconv.Atoi(v); err == nil {
				f.patches += k
			}
		}
	case "KickUser":
		f.kicked, _ = p.Fields.Get("Reason")
	}
}

// Reached returns the last step of the ritual the events show completed
// (0 when not even the login was answered).
func Reached(events []trace.Event) int {
	f := gather(events)
	return f.reached()
}

func (f *facts) reached() int {
	switch {
	case f.response == nil || f.response.Status >= 400 && !f.response.OK:
		return 0
	case !f.response.OK:
		return StepLoginAnswered
	case !f.acked:
		return StepLoginAccepted
	case !f.handshake:
		return StepCircuitAcked
	case !f.movement:
		return StepHandshake
	case f.seedGrant == nil || f.seedGrant.Status != 200:
		return StepMovementComplete
	case f.eqGranted && !f.eqAnswered && f.eqPolls > 0 && f.eqTimeouts > 0:
		return StepSeed
	case f.objects == 0:
		return StepEventQueue
	case !f.terrainDone && f.patches < f.patchesOf:
		return StepFirstObject
	case !f.complete:
		return StepTerrain
	}
	return StepComplete
}

// Diagnose explains a stall: it returns the trace.Stall event to record
// (Side Client), or nil when the events show the ritual completed. waited
// is how long the client waited in all.
func Diagnose(events []trace.Event, waited time.Duration) *trace.Stall {
	f := gather(events)
	reached := f.reached()
	if reached == StepComplete {
		return nil
	}
	next := reached + 1
	st := &trace.Stall{
		Header:   trace.Header{Side: trace.Client, Layer: layerOf(next), From: trace.EndClient, To: endOf(next)},
		Step:     next,
		Expected: StepName(next),
		Waited:   waited,
	}
	if reached == 0 {
		st.LastSeen = "the login request was sent"
		if f.start == nil {
			st.LastSeen = "nothing: the client never started a login"
		}
	} else {
		st.LastSeen = StepName(reached)
	}
	st.Causes = f.causes(next, waited)
	return st
}

func layerOf(step int) trace.Layer {
	switch step {
	case StepLoginAnswered, StepLoginAccepted:
		return trace.Login
	case StepSeed:
		return trace.Caps
	case StepEventQueue:
		return trace.EQ
	}
	return trace.UDP
}

func endOf(step int) string {
	switch step {
	case StepLoginAnswered, StepLoginAccepted:
		return trace.EndLogin
	case StepSeed, StepEventQueue:
		return trace.EndCaps
	}
	return trace.EndRegion
}

func (f *facts) causes(step int, waited time.Duration) []string {
	var c []string
	if f.kicked != "" {
		c = append(c, fmt.Sprintf("The region disconnected the agent: %q.", f.kicked))
	}
	switch step {
	case StepLoginAnswered:
		uri := ""
		if f.start != nil {
			uri = f.start.URI
		}
		if f.failed != nil && f.failed.Detail != "" {
			c = append(c, "The login request failed: "+f.failed.Detail+".")
		}
		if f.response != nil && f.response.Status >= 400 {
			c = append(c, fmt.Sprintf("The login service answered HTTP %d: the URI is not a login service, or it is failing.", f.response.Status))
		}
		c = append(c,
			fmt.Sprintf("The login URI %s is wrong, or no grid is running there.", orUnknown(uri)),
			"A firewall or proxy blocks TCP to the login port.",
		)
	case StepLoginAccepted:
		r := f.response
		c = append(c, refusal(r.Reason, r.Message)...)
	case StepCircuitAcked:
		r := f.response
		addr := net(r.SimIP, r.SimPort)
		c = append(c, fmt.Sprintf("The region's UDP address %s is unreachable from this client: UseCircuitCode was sent %d time(s) and never acknowledged.", addr, f.uccSends))
		if ip, err := netip.ParseAddr(r.SimIP); err == nil {
			host := loginHost(f.start)
			hostIP, herr := netip.ParseAddr(host)
			switch {
			case ip.IsUnspecified():
				c = append(c, "The grid hands out sim_ip "+r.SimIP+", which no client can send to: set the region's external host to a real address.")
			case ip.IsLoopback() && (herr != nil || !hostIP.IsLoopback()):
				c = append(c, "The grid hands out a loopback sim_ip ("+r.SimIP+") although it was reached at "+host+": set the region's external host to the address clients use.")
			case ip.IsPrivate() && herr == nil && !hostIP.IsPrivate() && !hostIP.IsLoopback():
				c = append(c, "The grid hands out a private sim_ip ("+r.SimIP+") to a client that reached it at a public address: set the external host.")
			}
		} else if r.SimIP != "" {
			c = append(c, "sim_ip "+strconv.Quote(r.SimIP)+" is not an IP literal; viewers such as LibreMetaverse refuse host names there.")
		}
		c = append(c,
			"A firewall blocks UDP to the region's port (the login's TCP port may be open while UDP is not).",
			"The region is not running, or listens on another port than the login service announced.",
		)
	case StepHandshake:
		c = append(c,
			"The region acknowledged UseCircuitCode but never sent RegionHandshake: it may not know the circuit (a login service and region out of step), or it refused the session.",
			"The region sends RegionHandshake only after CompleteAgentMovement: check that it was sent and acknowledged.",
			"The region is overloaded or stuck handling the new agent.",
		)
	case StepMovementComplete:
		c = append(c,
			"RegionHandshake arrived but AgentMovementComplete did not: the region did not finish placing the agent (CompleteAgentMovement lost or refused).",
		)
	case StepSeed:
		r := f.response
		switch {
		case r == nil || r.SeedCapability == "":
			c = append(c, "The login response carried a blank seed_capability: the grid did not give the client its capabilities.")
		case f.seedGrant != nil && f.seedGrant.Status != 200:
			c = append(c, fmt.Sprintf("The seed capability answered HTTP %d.", f.seedGrant.Status))
		case !f.seedRequested:
			c = append(c, "The client never requested the seed capability.")
		default:
			c = append(c, "The seed capability never answered: its URL ("+r.SeedCapability+") may point at an address or port the client cannot reach.")
		}
		if f.seedError != "" {
			c = append(c, "The seed request failed: "+f.seedError+".")
		}
		c = append(c, "The region's HTTP port is blocked or not the one the login service announced.")
	case StepEventQueue:
		c = append(c, fmt.Sprintf("The event queue never answered: %d poll(s) without a reply in %v. A long poll is held up to about a minute, then answered 502; none came back.", f.eqPolls, waited.Round(time.Millisecond)))
		c = append(c, "A proxy between client and region cuts long HTTP requests.")
	case StepFirstObject:
		c = append(c,
			"No ObjectUpdate arrived: the region sends the scene after RegionHandshakeReply (and, on OpenSimulator, after the seed capability request).",
			"The region may be empty: an empty region sends only the agent's own avatar.",
		)
	case StepTerrain:
		c = append(c, fmt.Sprintf("Terrain incomplete: %d of %d patches arrived.", f.patches, f.patchesOf))
		c = append(c, "LayerData packets were lost and not resent, or the client's throttle starves the land category.")
	case StepComplete:
		c = append(c, "Every step arrived but the ritual was not marked complete in time.")
	}
	return c
}

func refusal(reason, message string) []string {
	var c []string
	if message != "" {
		c = append(c, fmt.Sprintf("The login service refused the login: reason %q, %q.", reason, message))
	} else {
		c = append(c, fmt.Sprintf("The login service refused the login: reason %q.", reason))
	}
	switch reason {
	case "key":
		c = append(c, "The first name, last name or password is wrong, or the account does not exist.")
	case "presence":
		c = append(c, "The account is already logged in, or the region is full; try again in a minute.")
	case "update":
		c = append(c, "The grid requires a newer viewer version.")
	case "tos", "critical":
		c = append(c, "The grid requires the user to accept its terms or read a critical message first.")
	case "connect":
		c = append(c, "The login service could not reach the region to provision the circuit.")
	}
	return c
}

func net(ip string, port int) string {
	if ip == "" {
		return "(none given)"
	}
	return ip + ":" + strconv.Itoa(port)
}

func loginHost(s *trace.LoginStart) string {
	if s == nil {
		return ""
	}
	u, err := url.Parse(s.URI)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
