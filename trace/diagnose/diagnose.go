package diagnose

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
)

// Steps of the ritual, numbered as in the package documentation (the
// numbers of package trace/cause's steps).
const (
	StepLoginAnswered    = int(cause.StepLoginAnswered)
	StepLoginAccepted    = int(cause.StepLoginAccepted)
	StepCircuitAcked     = int(cause.StepCircuitAcked)
	StepHandshake        = int(cause.StepHandshake)
	StepMovementComplete = int(cause.StepMovementComplete)
	StepSeed             = int(cause.StepSeed)
	StepEventQueue       = int(cause.StepEventQueue)
	StepFirstObject      = int(cause.StepFirstObject)
	StepTerrain          = int(cause.StepTerrain)
	StepComplete         = int(cause.StepComplete)
)

// StepName describes step n.
func StepName(n int) string { return cause.Step(n).String() }

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

	// When the signals were seen, for the waits the causes name.
	first, lastStep               time.Time
	failedAt, uccAt, handshakeAt  time.Time
	movementAt, seedAt, firstPoll time.Time
	eqSilent                      *trace.Anomaly
}

func gather(events []trace.Event) facts {
	var f facts
	f.patchesOf = 256
	for _, ev := range events {
		if ev.Head().Side != trace.Client {
			continue
		}
		if f.first.IsZero() {
			f.first = ev.Head().Time
		}
		switch e := ev.(type) {
		case *trace.LoginStart:
			f.start = e
		case *trace.LoginResponse:
			f.response = e
		case *trace.LoginProgress:
			if e.Stage == "Failed" {
				f.failed, f.failedAt = e, e.Time
			}
		case *trace.Packet:
			f.packet(e)
		case *trace.SeedRequest:
			f.seedRequested = true
			f.seedAt = e.Time
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
			if !e.Done {
				if f.eqPolls == 0 {
					f.firstPoll = e.Time
				}
				f.eqPolls++
			}
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
				f.seenHandshake(e.Time)
			case trace.MilestoneMovementComplete:
				f.seenMovement(e.Time)
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
			if e.Cause == string(cause.EventQueueSilent) {
				f.eqSilent = e
			}
		}
	}
	if f.uccSent && (f.handshake || f.movement) {
		f.acked = true
	}
	return f
}

func (f *facts) seenHandshake(at time.Time) {
	if !f.handshake {
		f.handshakeAt = at
	}
	f.handshake = true
}

func (f *facts) seenMovement(at time.Time) {
	if !f.movement {
		f.movementAt = at
	}
	f.movement = true
}

func (f *facts) packet(p *trace.Packet) {
	if p.Dir == trace.Send {
		if p.Message == "UseCircuitCode" {
			if !f.uccSent {
				f.uccSeq, f.uccAt = p.Seq, p.Time
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
		f.seenHandshake(p.Time)
	case "AgentMovementComplete":
		f.seenMovement(p.Time)
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
	case f.complete:
		// The UDP ritual completed: faults of the capabilities are
		// anomalies then, told where they happened, not a stall.
		return StepComplete
	case !f.acked:
		return StepLoginAccepted
	case !f.handshake:
		return StepCircuitAcked
	case !f.movement:
		return StepHandshake
	case f.seedGrant == nil || f.seedGrant.Status != 200:
		return StepMovementComplete
	case f.eqGranted && !f.eqAnswered && f.eqPolls > 0 && (f.eqTimeouts > 0 || f.eqSilent != nil):
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
// is how long the client waited in all. The causes come from package
// trace/cause, picked by what the events show.
func Diagnose(events []trace.Event, waited time.Duration) *trace.Stall {
	f := gather(events)
	reached := f.reached()
	if reached == StepComplete {
		return nil
	}
	next := reached + 1
	lastSeen := StepName(reached)
	if reached == 0 {
		lastSeen = "the login request was sent"
		if f.start == nil {
			lastSeen = "nothing: the client never started a login"
		}
	}
	h := trace.Header{Side: trace.Client, Layer: layerOf(next), From: trace.EndClient, To: endOf(next)}
	st := cause.Stall(h, lastSeen, StepName(next), waited, f.causes(next, waited)...)
	st.Step = next
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

// since is how long before the end of the wait t was (the whole wait when
// t is unknown).
func (f *facts) since(t time.Time, waited time.Duration) time.Duration {
	if t.IsZero() || f.first.IsZero() {
		return waited
	}
	return max(f.first.Add(waited).Sub(t), 0)
}

// causes picks the catalogue's causes the events support for a stall
// before step, the most certain first.
func (f *facts) causes(step int, waited time.Duration) []cause.Cause {
	var c []cause.Cause
	switch step {
	case StepLoginAnswered:
		uri := ""
		var startAt time.Time
		if f.start != nil {
			uri, startAt = f.start.URI, f.start.Time
		}
		switch {
		case f.response != nil && f.response.Status >= 400:
			c = append(c, cause.LoginHTTPStatus(f.response.Status))
		case f.failed != nil && f.failed.Detail != "":
			took := waited
			if !startAt.IsZero() && !f.failedAt.IsZero() {
				took = f.failedAt.Sub(startAt)
			}
			c = append(c, cause.LoginFailedText(uri, f.failed.Detail, took))
		case f.start != nil:
			c = append(c, cause.LoginPending(f.since(startAt, waited)))
		}
	case StepLoginAccepted:
		r := f.response
		c = append(c, cause.LoginRefusedBy(r.Reason, r.Message))
	case StepCircuitAcked:
		r := f.response
		if bad, ok := cause.SimAddressUnusable(r.SimIP, r.SimPort, loginHost(f.start)); ok {
			c = append(c, bad)
		}
		// The client cannot tell a silent region from a network that
		// drops its datagrams.
		c = append(c, cause.NoCircuitAnswer(hostPort(r.SimIP, r.SimPort), f.uccSends).Blame(cause.Unknown))
	case StepHandshake:
		c = append(c, cause.NoRegionHandshake(f.since(f.uccAt, waited)))
	case StepMovementComplete:
		c = append(c, cause.NoMovementComplete(f.since(f.handshakeAt, waited)))
	case StepSeed:
		r := f.response
		switch {
		case r == nil || r.SeedCapability == "":
			c = append(c, cause.SeedCapabilityBlank())
		case f.seedGrant != nil && f.seedGrant.Status != 200:
			c = append(c, cause.SeedHTTPStatus(f.seedGrant.Status))
		case f.seedError != "":
			c = append(c, cause.SeedFailedText(r.SeedCapability, f.seedError, f.since(f.seedAt, waited)))
		case !f.seedRequested:
			c = append(c, cause.SeedNeverAsked())
		default:
			c = append(c, cause.SeedNoAnswer(f.since(f.seedAt, waited)))
		}
	case StepEventQueue:
		c = append(c, cause.EventQueueHeld(f.eqPolls, f.since(f.firstPoll, waited)))
	case StepFirstObject:
		c = append(c, cause.NoObject(f.since(f.movementAt, waited), 0))
	case StepTerrain:
		c = append(c, cause.TerrainStopped(f.patches, f.patchesOf))
	case StepComplete:
		c = append(c, cause.NeverComplete())
	}
	if f.kicked != "" {
		c = append([]cause.Cause{cause.KickedOut(cause.Step(step), f.kicked)}, c...)
	}
	return c
}

func hostPort(ip string, port int) string {
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
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
