package diagnose

import (
	"net"
	"strconv"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
)

// The ritual as the server sees it, numbered as trace/cause's steps: what
// a grid can tell of an agent's progress from its own side alone.
const (
	ServerLoginReceived = int(cause.StepLoginAnswered)    // a login request read
	ServerLoginAccepted = int(cause.StepLoginAccepted)    // answered with success and a provisioned circuit
	ServerCircuitOpen   = int(cause.StepCircuitAcked)     // UseCircuitCode validated: the client reaches the region's UDP port
	ServerHandshake     = int(cause.StepHandshake)        // RegionHandshakeReply received: the client hears the region
	ServerMovement      = int(cause.StepMovementComplete) // CompleteAgentMovement received and answered
	ServerSeed          = int(cause.StepSeed)             // the seed capability answered
	ServerEventQueue    = int(cause.StepEventQueue)       // the event queue polled (or the scene went out without it)
	ServerFirstObject   = int(cause.StepFirstObject)      // the first object update sent
	ServerTerrain       = int(cause.StepTerrain)          // every land patch sent
	ServerComplete      = int(cause.StepComplete)         // all of the above
)

// ServerStepName describes server step n, in trace/cause's words.
func ServerStepName(n int) string { return cause.Step(n).String() }

// serverFacts is what the server's events say about one agent.
type serverFacts struct {
	request  *trace.LoginRequest
	response *trace.LoginResponse
	refused  *trace.LoginAuth
	open     bool
	reply    bool
	movement bool
	seed     bool
	seedBad  int
	polls    int
	objects  bool
	patches  int
	of       int
	closed   *trace.CircuitClosed
	logout   bool
}

func gatherServer(events []trace.Event) serverFacts {
	var p ServerProgress
	for _, ev := range events {
		p.Add(ev)
	}
	return p.facts()
}

// ServerProgress follows one agent's ritual from the server's events as
// they come, for an observer that cannot afford to read the whole stream
// again at each event. The zero value is ready to use.
type ServerProgress struct {
	f    serverFacts
	init bool
}

func (p *ServerProgress) facts() serverFacts {
	if !p.init {
		p.f.of, p.init = 256, true
	}
	return p.f
}

// Add takes one event into account; events of the client side are
// ignored.
func (p *ServerProgress) Add(ev trace.Event) {
	if !p.init {
		p.f.of, p.init = 256, true
	}
	f := &p.f
	if ev.Head().Side != trace.Server {
		return
	}
	switch e := ev.(type) {
	case *trace.LoginRequest:
		f.request = e
	case *trace.LoginAuth:
		if !e.OK {
			f.refused = e
		}
	case *trace.LoginResponse:
		f.response = e
	case *trace.CircuitCheck:
		f.open = f.open || e.OK
	case *trace.SeedGrant:
		if e.Status == 200 {
			f.seed = true
		} else {
			f.seedBad = e.Status
		}
	case *trace.EQPoll:
		f.polls++
	case *trace.CircuitClosed:
		f.closed = e
	case *trace.Packet:
		switch {
		case e.Dir == trace.Recv && e.Message == "RegionHandshakeReply":
			f.reply = true
		case e.Dir == trace.Recv && e.Message == "CompleteAgentMovement":
			f.movement = true
		case e.Dir == trace.Recv && e.Message == "LogoutRequest":
			f.logout = true
		case e.Dir == trace.Send && (e.Message == "ObjectUpdate" || e.Message == "ObjectUpdateCompressed" || e.Message == "ObjectUpdateCached"):
			f.objects = true
		case e.Dir == trace.Send && e.Message == "LayerData" && !e.Resent:
			if l, ok := e.Fields.Get("layer"); ok && l != "land" {
				return
			}
			if v, ok := e.Fields.Get("patches"); ok {
				if k, err := strconv.Atoi(v); err == nil {
					f.patches += k
				}
			}
		}
	}
}

// Reached returns the last server step seen (0 before any login).
func (p *ServerProgress) Reached() int {
	f := p.facts()
	return f.reached()
}

// Refused reports whether the login was refused.
func (p *ServerProgress) Refused() bool {
	f := p.facts()
	return f.refused != nil || f.response != nil && !f.response.OK
}

// LoggedOut reports whether the agent asked to log out.
func (p *ServerProgress) LoggedOut() bool { return p.f.logout }

// Stall is Server's diagnosis of the events added so far.
func (p *ServerProgress) Stall(waited time.Duration) *trace.Stall {
	f := p.facts()
	return f.stall(waited)
}

func (f *serverFacts) reached() int {
	switch {
	case f.request == nil && f.response == nil:
		return 0
	case f.response == nil || !f.response.OK:
		return ServerLoginReceived
	case !f.open:
		return ServerLoginAccepted
	case !f.reply:
		return ServerCircuitOpen
	case !f.movement:
		return ServerHandshake
	case !f.seed:
		return ServerMovement
	case f.polls == 0 && !f.objects:
		return ServerSeed
	case !f.objects:
		return ServerEventQueue
	case f.patches < f.of:
		return ServerFirstObject
	}
	return ServerComplete
}

// ServerReached returns the last server step the events show (0 when no
// login was seen).
func ServerReached(events []trace.Event) int {
	f := gatherServer(events)
	return f.reached()
}

// Server explains, from the server's events of one agent, why its ritual
// stopped: the trace.Stall to record (Side Server), or nil when the ritual
// completed or the login was refused (a refusal is an answer, told by
// the login events). waited is how long the server has heard nothing
// new.
func Server(events []trace.Event, waited time.Duration) *trace.Stall {
	f := gatherServer(events)
	return f.stall(waited)
}

func (f *serverFacts) stall(waited time.Duration) *trace.Stall {
	reached := f.reached()
	if reached == ServerComplete || f.response != nil && !f.response.OK || f.refused != nil {
		return nil
	}
	next := reached + 1
	last := ServerStepName(reached)
	if reached == 0 {
		last = "nothing from this agent"
	}
	if f.closed != nil {
		reason := f.closed.Reason
		if reason == "" {
			reason = "no reason given"
		}
		last += "; then the circuit closed (" + reason + ")"
	}
	h := trace.Header{Side: trace.Server, Layer: serverLayer(next), From: trace.EndClient, To: serverEnd(next)}
	return cause.Stall(h, last, ServerStepName(next), waited, f.cause(next, waited))
}

func serverLayer(step int) trace.Layer {
	switch step {
	case ServerLoginReceived, ServerLoginAccepted:
		return trace.Login
	case ServerSeed:
		return trace.Caps
	case ServerEventQueue:
		return trace.EQ
	}
	return trace.UDP
}

func serverEnd(step int) string {
	switch step {
	case ServerLoginReceived, ServerLoginAccepted:
		return trace.EndLogin
	case ServerSeed, ServerEventQueue:
		return trace.EndCaps
	}
	return trace.EndRegion
}

// cause names, from the catalogue, why the server saw no more of step.
func (f *serverFacts) cause(step int, waited time.Duration) cause.Cause {
	switch step {
	case ServerLoginReceived, ServerLoginAccepted:
		return cause.LoginPending(waited)
	case ServerCircuitOpen:
		sim := ""
		if f.response != nil && f.response.SimIP != "" {
			sim = net.JoinHostPort(f.response.SimIP, strconv.Itoa(f.response.SimPort))
		}
		return cause.ClientNeverConnected(sim)
	case ServerHandshake:
		return cause.NoHandshakeReply(waited)
	case ServerMovement:
		return cause.NoCompleteMovement(waited)
	case ServerSeed:
		return cause.SeedNeverAsked()
	case ServerEventQueue:
		return cause.EventQueueNeverPolled()
	case ServerFirstObject:
		return cause.NoObject(waited, 0)
	case ServerTerrain:
		return cause.TerrainStopped(f.patches, f.of)
	}
	return cause.NeverComplete()
}
