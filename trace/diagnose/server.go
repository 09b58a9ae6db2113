package diagnose

import (
	"fmt"
	"strconv"
	"time"

	"ritual/trace"
)

// The ritual as the server sees it: what a grid can tell of an agent's
// progress from its own side alone.
const (
	ServerLoginReceived = iota + 1 // a login request read
	ServerLoginAccepted            // answered with success and a provisioned circuit
	ServerCircuitOpen              // UseCircuitCode validated: the client reaches the region's UDP port
	ServerHandshake                // RegionHandshakeReply received: the client hears the region
	ServerMovement                 // CompleteAgentMovement received and answered
	ServerSeed                     // the seed capability answered
	ServerFirstObject              // the first object update sent
	ServerTerrain                  // every land patch sent
	ServerComplete                 // all of the above
)

var serverStepNames = [...]string{
	ServerLoginReceived: "the login request arrives",
	ServerLoginAccepted: "the login is accepted",
	ServerCircuitOpen:   "UseCircuitCode arrives",
	ServerHandshake:     "RegionHandshakeReply arrives",
	ServerMovement:      "CompleteAgentMovement arrives",
	ServerSeed:          "the seed capability is asked",
	ServerFirstObject:   "the first object is sent",
	ServerTerrain:       "every terrain patch is sent",
	ServerComplete:      "the ritual completes",
}

// ServerStepName describes server step n.
func ServerStepName(n int) string {
	if n <= 0 || n >= len(serverStepNames) {
		return "step " + strconv.Itoa(n)
	}
	return serverStepNames[n]
}

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
	case !f.objects:
		return ServerSeed
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
	st := &trace.Stall{
		Header:   trace.Header{Side: trace.Server, Layer: serverLayer(next), From: trace.EndClient, To: serverEnd(next)},
		Step:     next,
		Expected: ServerStepName(next),
		LastSeen: ServerStepName(reached),
		Waited:   waited,
	}
	if reached == 0 {
		st.LastSeen = "nothing from this agent"
	}
	st.Causes = f.causes(next)
	return st
}

func serverLayer(step int) trace.Layer {
	switch step {
	case ServerLoginReceived, ServerLoginAccepted:
		return trace.Login
	case ServerSeed:
		return trace.Caps
	}
	return trace.UDP
}

func serverEnd(step int) string {
	switch step {
	case ServerLoginReceived, ServerLoginAccepted:
		return trace.EndLogin
	case ServerSeed:
		return trace.EndCaps
	}
	return trace.EndRegion
}

func (f *serverFacts) causes(step int) []string {
	var c []string
	if f.closed != nil {
		c = append(c, fmt.Sprintf("The circuit closed (%s) before the ritual completed.", orUnknown(f.closed.Reason)))
	}
	sim := "the region's UDP address"
	if f.response != nil && f.response.SimIP != "" {
		sim = net(f.response.SimIP, f.response.SimPort)
	}
	switch step {
	case ServerLoginAccepted:
		c = append(c, "The login service has not answered yet: password hashing or storage is slow, or the request is stuck.")
	case ServerCircuitOpen:
		c = append(c,
			fmt.Sprintf("The client cannot reach %s handed out at login: a wrong --external-host, NAT or a private address.", sim),
			"A firewall drops UDP to the region's port on the way in.",
			"The client gave up after the login, or speaks a protocol that never sends UseCircuitCode.")
	case ServerHandshake:
		c = append(c,
			"The client does not hear the region: UDP from the region back to the client is blocked (an asymmetric firewall or NAT).",
			"The client received RegionHandshake but never answered it (an incompatible viewer).")
	case ServerMovement:
		c = append(c, "The client has not sent CompleteAgentMovement: it may be waiting for something the region did not send.")
	case ServerSeed:
		c = append(c, "The client has not asked the seed capability: HTTP to the capability URL's host and port is blocked, or the seed URL was not reachable from the client.")
		if f.seedBad != 0 {
			c = append(c, fmt.Sprintf("The seed capability answered HTTP %d.", f.seedBad))
		}
	case ServerFirstObject, ServerTerrain:
		c = append(c, "The region has not sent the scene: its queues are behind, or the circuit closed.")
	}
	if step > ServerSeed && f.polls == 0 {
		c = append(c, "The event queue was never polled.")
	}
	return c
}
