package cause

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
)

// Step is a step of the ritual, numbered in the order a connection needs
// them (trace.Stall.Step carries the number).
type Step int

// The steps.
const (
	StepLoginAnswered    Step = iota + 1 // the login URI is reachable and answers
	StepLoginAccepted                    // the login service said yes
	StepCircuitAcked                     // the region acknowledged UseCircuitCode
	StepHandshake                        // RegionHandshake arrived
	StepMovementComplete                 // AgentMovementComplete arrived
	StepSeed                             // the seed capability answered
	StepEventQueue                       // the event queue delivered
	StepFirstObject                      // the first ObjectUpdate arrived
	StepTerrain                          // every terrain patch arrived
	StepComplete                         // the whole ritual
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

// String describes the step as what is expected of it ("RegionHandshake
// arrives").
func (s Step) String() string {
	if s <= 0 || int(s) >= len(stepNames) {
		return "step " + strconv.Itoa(int(s))
	}
	return stepNames[s]
}

// Side is the party at fault.
type Side string

// The sides. Unknown is for evidence that cannot tell (a client that never
// heard from the region cannot tell a silent region from a network that
// drops its datagrams).
const (
	Client       Side = "client"
	LoginService Side = "login service"
	Region       Side = "region"
	Capabilities Side = "capabilities"
	Network      Side = "network"
	Unknown      Side = "unknown"
)

// Kind identifies a cause for programs; the words are in Cause.Text.
type Kind string

// The kinds of cause.
const (
	LoginSilent        Kind = "login_silent"         // the login service did not answer in time
	LoginUnreachable   Kind = "login_unreachable"    // the login request could not be delivered
	LoginStatus        Kind = "login_status"         // an HTTP status other than 200
	LoginRefused       Kind = "login_refused"        // login failed with a reason
	LoginUnreadable    Kind = "login_unreadable"     // the reply is not a login reply
	SimAddress         Kind = "sim_address"          // the login reply's sim address cannot work
	ClientNoCircuit    Kind = "client_no_circuit"    // the client never sent UseCircuitCode
	CircuitUnanswered  Kind = "circuit_unanswered"   // UseCircuitCode never acknowledged
	NoHandshake        Kind = "no_handshake"         // no RegionHandshake
	NoMovement         Kind = "no_movement"          // no AgentMovementComplete
	NoHandshakeAnswer  Kind = "no_handshake_reply"   // the client never answered RegionHandshake
	NoMovementAsked    Kind = "no_complete_movement" // the client never sent CompleteAgentMovement
	EventQueueUnpolled Kind = "event_queue_unpolled" // the client never polled the event queue
	SeedBlank          Kind = "seed_blank"           // no seed capability in the login reply
	SeedStatus         Kind = "seed_status"          // the seed answered an HTTP error
	SeedSilent         Kind = "seed_silent"          // the seed did not answer in time
	SeedUnreachable    Kind = "seed_unreachable"     // the seed request could not be delivered
	SeedUnreadable     Kind = "seed_unreadable"      // the seed's answer is not a capability map
	SeedNotAsked       Kind = "seed_not_asked"       // the client never asked the seed
	EventQueueSilent   Kind = "event_queue_silent"   // polls held, nothing delivered
	EventQueueMissing  Kind = "event_queue_missing"  // no EventQueueGet granted
	EventQueueEnded    Kind = "event_queue_gone"     // the event queue answered 404 or 410
	NoObjects          Kind = "no_objects"           // no ObjectUpdate
	TerrainShort       Kind = "terrain_short"        // terrain stopped short
	ClientSilent       Kind = "client_silent"        // the client stopped acknowledging
	Kicked             Kind = "kicked"               // KickUser
	RegionSilent       Kind = "region_silent"        // nothing from the region until the circuit closed
	RegionUnacked      Kind = "region_unacked"       // the region stopped acknowledging
	Disabled           Kind = "disabled"             // DisableSimulator
	NotComplete        Kind = "not_complete"         // every step seen, no completion
)

// Cause is one named fault with the evidence for it.
type Cause struct {
	Step  Step `json:"step"`
	Kind  Kind `json:"kind"`
	Fault Side `json:"fault"`
	// Text says what happened, in plain words built from the evidence,
	// without a final full stop.
	Text string `json:"text"`
	// Means says what the fault takes away from the user (may be empty).
	Means string `json:"means,omitempty"`
	// Check lists what may be behind it, for the user to check.
	Check []string `json:"check,omitempty"`
}

// String is Text, followed by what it means.
func (c Cause) String() string {
	if c.Means == "" {
		return c.Text
	}
	return c.Text + "; " + c.Means
}

// Lines is the cause as trace.Stall.Causes lists it: String first, then
// what to check.
func (c Cause) Lines() []string {
	return append([]string{c.String()}, c.Check...)
}

// Blame returns c with another side at fault, for evidence that tells more
// (or less) than the constructor assumed.
func (c Cause) Blame(s Side) Cause {
	c.Fault = s
	return c
}

// At returns c placed at another step.
func (c Cause) At(s Step) Cause {
	c.Step = s
	return c
}

// Dur writes a duration as a person reads it: "75 ms", "1.2 s", "12 s",
// "2 min 5 s".
func Dur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + Dur(max(-d, 0))
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
	case d < time.Second:
		return strconv.Itoa(int(d.Round(time.Millisecond)/time.Millisecond)) + " ms"
	case d < 10*time.Second:
		s := strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64)
		return strings.TrimSuffix(s, ".0") + " s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " s"
	}
	d = d.Round(time.Second)
	m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
	if s == 0 {
		return strconv.Itoa(m) + " min"
	}
	return strconv.Itoa(m) + " min " + strconv.Itoa(s) + " s"
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return strconv.Itoa(n) + " times"
}

func polls(n int) string {
	if n == 1 {
		return "1 poll"
	}
	return strconv.Itoa(n) + " polls"
}

// The login service.

// LoginNoAnswer: the login service did not answer within waited (the
// client gave up).
func LoginNoAnswer(waited time.Duration) Cause {
	return Cause{Step: StepLoginAnswered, Kind: LoginSilent, Fault: LoginService,
		Text: "the login service did not answer within " + Dur(waited),
		Check: []string{
			"the login service is overloaded or stuck, or a firewall swallows the request",
		}}
}

// LoginPending: the login service has not answered yet, after waited (an
// observer that is still waiting).
func LoginPending(waited time.Duration) Cause {
	c := LoginNoAnswer(waited)
	c.Text = "the login service has not answered in " + Dur(waited)
	return c
}

// LoginFailed explains a login request that got no HTTP answer: err is the
// HTTP client's error, uri the login URI, waited how long the request took.
// A timeout is LoginNoAnswer; anything else is LoginUnreachable in plain
// words (see Explain).
func LoginFailed(uri string, err error, waited time.Duration) Cause {
	if err == nil {
		return LoginNoAnswer(waited)
	}
	return loginFailed(uri, Explain(err, uri, waited))
}

// LoginFailedText is LoginFailed for an error known only by its text (a
// recorded event's detail).
func LoginFailedText(uri, detail string, waited time.Duration) Cause {
	return loginFailed(uri, ExplainText(detail, uri, waited))
}

func loginFailed(uri string, x Explanation) Cause {
	if x.Timeout {
		return LoginNoAnswer(x.Waited)
	}
	fault := x.Fault
	if fault == "" {
		fault = LoginService
	}
	c := Cause{Step: StepLoginAnswered, Kind: LoginUnreachable, Fault: fault,
		Text: "the login service at " + orUnknown(uri) + " could not be reached: " + x.Words}
	c.Check = append(c.Check, x.Check...)
	if fault != Client {
		c.Check = append(c.Check, "the login URI is wrong, or no grid is running there")
	}
	return c
}

// LoginHTTPStatus: the login service answered with an HTTP status other
// than 200.
func LoginHTTPStatus(status int) Cause {
	return Cause{Step: StepLoginAnswered, Kind: LoginStatus, Fault: LoginService,
		Text:  "the login service answered HTTP " + statusText(status),
		Check: []string{"the URI is not a grid's login URI, or the login service is failing"}}
}

// LoginRefusedBy: the login service refused the login with reason (the
// login reply's reason key) and message.
func LoginRefusedBy(reason, message string) Cause {
	c := Cause{Step: StepLoginAccepted, Kind: LoginRefused, Fault: LoginService}
	c.Text = "the login service refused the login (reason " + strconv.Quote(reason) + ")"
	if message != "" {
		c.Text += ": " + strconv.Quote(message)
	}
	switch reason {
	case "key":
		c.Fault = Client
		c.Check = []string{"the first name, last name or password is wrong, or the account does not exist"}
	case "presence":
		c.Check = []string{"the account is already logged in, or the region is full; try again in a minute"}
	case "update":
		c.Fault = Client
		c.Check = []string{"the grid requires a newer viewer version"}
	case "tos", "critical":
		c.Fault = Client
		c.Check = []string{"the grid requires the user to accept its terms or read a critical message first"}
	case "connect":
		c.Check = []string{"the login service could not reach the region to prepare the circuit"}
	}
	return c
}

// LoginReplyUnreadable: the login service answered 200 with something that
// is not a login reply; what says how (plain words).
func LoginReplyUnreadable(what string) Cause {
	return Cause{Step: StepLoginAnswered, Kind: LoginUnreadable, Fault: LoginService,
		Text: "the login service's reply could not be read: " + what}
}

// SimAddressUnusable checks the sim address a login reply gave against the host the login service was reached
// at, and returns the cause when no client there could use it.
func SimAddressUnusable(simIP string, simPort int, loginHost string) (Cause, bool) {
	sim := hostPort(simIP, simPort)
	c := Cause{Step: StepCircuitAcked, Kind: SimAddress, Fault: LoginService}
	ip, err := netip.ParseAddr(simIP)
	if err != nil {
		if simIP == "" {
			c.Text = "the login reply gave no sim address"
			return c, true
		}
		c.Text = "the login service gave sim_ip " + strconv.Quote(simIP) + ", which is not an IP address"
		c.Check = []string{"viewers such as LibreMetaverse refuse host names there"}
		return c, true
	}
	hostIP, herr := netip.ParseAddr(loginHost)
	switch {
	case ip.IsUnspecified():
		c.Text = "the login service gave sim " + sim + ", which no client can send to"
		c.Check = []string{"set the region's external host name to a real address"}
	case simPort == 0:
		c.Text = "the login service gave sim " + sim + " with no port"
	case ip.IsLoopback() && loginHost != "" && (herr != nil || !hostIP.IsLoopback()):
		c.Text = "the login service gave a loopback sim " + sim + " to a client that reached it at " + loginHost
		c.Check = []string{"set the region's external host name to the address clients use"}
	case ip.IsPrivate() && herr == nil && !hostIP.IsPrivate() && !hostIP.IsLoopback():
		c.Text = "the login service gave a private sim " + sim + " to a client that reached it at the public " + loginHost
		c.Check = []string{"set the region's external host name to the address clients use"}
	case ip.IsPrivate() && herr != nil && loginHost != "":
		c.Text = "the login service gave a private sim " + sim + ", which only clients inside the grid's network can reach, to a client that reached it at " + loginHost
		c.Check = []string{"set the region's external host name to the address clients use"}
	default:
		return Cause{}, false
	}
	return c, true
}

// The region's circuit.

// NoCircuitAnswer: UseCircuitCode was sent sends times to sim (the
// address the login reply gave) and never acknowledged. The region is at
// fault: use Blame when the evidence cannot tell it from the network.
func NoCircuitAnswer(sim string, sends int) Cause {
	return Cause{Step: StepCircuitAcked, Kind: CircuitUnanswered, Fault: Region,
		Text: "the region never answered UseCircuitCode (sent " + times(sends) + "); the login service gave sim " + orUnknown(sim),
		Check: []string{
			"a firewall blocks UDP to the region's port (the login's TCP port may be open while UDP is not)",
			"the region is not running, or listens on another port than the login service announced",
			"the region does not know the circuit code (expired, or prepared on another region) and answers it with silence",
		}}
}

// ClientNeverConnected: the client had the login reply's sim address
// but never sent UseCircuitCode there (an observer between both sides sees
// this; the client itself cannot).
func ClientNeverConnected(sim string) Cause {
	return Cause{Step: StepCircuitAcked, Kind: ClientNoCircuit, Fault: Client,
		Text: "the client never sent UseCircuitCode; the login service gave sim " + orUnknown(sim),
		Check: []string{
			"the client refused the login reply (a viewer refuses a sim_ip that is not an IP address)",
			"the client cannot send UDP from where it runs",
		}}
}

// NoRegionHandshake: the region acknowledged UseCircuitCode but sent no
// RegionHandshake within waited of CompleteAgentMovement.
func NoRegionHandshake(waited time.Duration) Cause {
	return Cause{Step: StepHandshake, Kind: NoHandshake, Fault: Region,
		Text: "the region acknowledged UseCircuitCode but sent no RegionHandshake within " + Dur(waited) + " of CompleteAgentMovement",
		Check: []string{
			"the region did not take CompleteAgentMovement: agent, session or circuit code do not match what the login service prepared",
			"the region is overloaded or stuck handling the new agent",
		}}
}

// NoMovementComplete: RegionHandshake arrived but AgentMovementComplete
// did not, within waited.
func NoMovementComplete(waited time.Duration) Cause {
	return Cause{Step: StepMovementComplete, Kind: NoMovement, Fault: Region,
		Text: "the region sent RegionHandshake but no AgentMovementComplete in " + Dur(waited),
		Check: []string{
			"the region did not finish placing the agent: CompleteAgentMovement was refused or its answer lost",
		}}
}

// NoHandshakeReply: the region sent RegionHandshake but the client had not
// answered it within waited (seen from the region's side, which cannot
// tell a client that never heard it from one that would not answer).
func NoHandshakeReply(waited time.Duration) Cause {
	return Cause{Step: StepHandshake, Kind: NoHandshakeAnswer, Fault: Unknown,
		Text: "the client had not answered RegionHandshake after " + Dur(waited),
		Check: []string{
			"UDP from the region back to the client is blocked or lost (an asymmetric firewall or NAT)",
			"the client received RegionHandshake but does not answer it (an incompatible viewer)",
		}}
}

// NoCompleteMovement: the client answered the handshake but had not sent
// CompleteAgentMovement within waited.
func NoCompleteMovement(waited time.Duration) Cause {
	return Cause{Step: StepMovementComplete, Kind: NoMovementAsked, Fault: Client,
		Text:  "the client answered the handshake but sent no CompleteAgentMovement in " + Dur(waited),
		Check: []string{"the client waits for something the region did not send, or gave up"}}
}

// EventQueueNeverPolled: the seed capability granted the event queue but
// the client never polled it.
func EventQueueNeverPolled() Cause {
	return Cause{Step: StepEventQueue, Kind: EventQueueUnpolled, Fault: Client,
		Text:  "the client never polled the event queue",
		Means: eqMeans}
}

// The capabilities.

const capsMeans = "the agent has no capabilities: no event queue, no inventory, textures or meshes over HTTP"

// SeedCapabilityBlank: the login reply carried no seed capability.
func SeedCapabilityBlank() Cause {
	return Cause{Step: StepSeed, Kind: SeedBlank, Fault: LoginService,
		Text:  "the login reply's seed capability is blank",
		Means: capsMeans,
		Check: []string{"OpenSimulator sends the scene only to an agent that has asked its seed capability, so objects may not come either"}}
}

// SeedHTTPStatus: the seed capability answered an HTTP error.
func SeedHTTPStatus(status int) Cause {
	return Cause{Step: StepSeed, Kind: SeedStatus, Fault: Capabilities,
		Text:  "the seed capability answered HTTP " + statusText(status),
		Means: capsMeans}
}

// SeedNoAnswer: the seed capability did not answer within waited.
func SeedNoAnswer(waited time.Duration) Cause {
	return Cause{Step: StepSeed, Kind: SeedSilent, Fault: Capabilities,
		Text:  "the seed capability did not answer within " + Dur(waited),
		Means: capsMeans,
		Check: []string{"the region's HTTP port is blocked, or not the one the login service announced"}}
}

// SeedFailed explains a seed request that got no HTTP answer (err is the
// HTTP client's error; url the seed capability, whose secret path is not
// shown).
func SeedFailed(url string, err error, waited time.Duration) Cause {
	return seedFailed(Explain(err, url, waited))
}

// SeedFailedText is SeedFailed for an error known only by its text.
func SeedFailedText(url, detail string, waited time.Duration) Cause {
	return seedFailed(ExplainText(detail, url, waited))
}

func seedFailed(x Explanation) Cause {
	if x.Timeout {
		return SeedNoAnswer(x.Waited)
	}
	fault := x.Fault
	if fault == "" {
		fault = Capabilities
	}
	return Cause{Step: StepSeed, Kind: SeedUnreachable, Fault: fault,
		Text:  "the seed capability could not be reached: " + x.Words,
		Means: capsMeans,
		Check: append(x.Check, "the seed capability's address is stale, or the region's HTTP port is blocked")}
}

// SeedAnswerUnreadable: the seed capability answered 200 with something
// that is not a map of capabilities.
func SeedAnswerUnreadable() Cause {
	return Cause{Step: StepSeed, Kind: SeedUnreadable, Fault: Capabilities,
		Text:  "the seed capability's answer is not a map of capabilities",
		Means: capsMeans}
}

// SeedNeverAsked: the client never asked the seed capability.
func SeedNeverAsked() Cause {
	return Cause{Step: StepSeed, Kind: SeedNotAsked, Fault: Client,
		Text:  "the client never asked the seed capability",
		Check: []string{"OpenSimulator sends the scene only to an agent that has asked its seed capability"}}
}

const eqMeans = "the agent gets no EstablishAgentCommunication, no parcel information, no teleports or region crossings"

// EventQueueHeld: the event queue held n polls for held and delivered
// nothing (OpenSimulator answers the first poll within milliseconds).
func EventQueueHeld(n int, held time.Duration) Cause {
	return Cause{Step: StepEventQueue, Kind: EventQueueSilent, Fault: Capabilities,
		Text:  "the event queue held " + polls(n) + " for " + Dur(held) + " and delivered nothing",
		Means: eqMeans,
		Check: []string{"a proxy between client and region cuts long HTTP requests"}}
}

// EventQueueGone: the event queue answered status (404 or 410): the
// region has no queue for the agent.
func EventQueueGone(status int) Cause {
	return Cause{Step: StepEventQueue, Kind: EventQueueEnded, Fault: Capabilities,
		Text:  "the event queue answered HTTP " + statusText(status) + ": the region has no event queue for the agent",
		Means: eqMeans}
}

// EventQueueNotGranted: the seed capability granted no EventQueueGet.
func EventQueueNotGranted() Cause {
	return Cause{Step: StepEventQueue, Kind: EventQueueMissing, Fault: Capabilities,
		Text:  "the seed capability granted no EventQueueGet",
		Means: eqMeans}
}

// The scene.

// NoObject: no ObjectUpdate arrived within waited; cachedOnly counts the
// objects announced only by ObjectUpdateCached.
func NoObject(waited time.Duration, cachedOnly int) Cause {
	c := Cause{Step: StepFirstObject, Kind: NoObjects, Fault: Region,
		Text: "the region sent no object in " + Dur(waited),
		Check: []string{
			"the region sends the scene only after RegionHandshakeReply and (OpenSimulator) the seed capability request, and a few heartbeats later",
			"the region is empty and did not send the agent's own avatar",
		}}
	if cachedOnly > 0 {
		c.Check = append(c.Check, fmt.Sprintf("%d objects were announced only by ObjectUpdateCached and the region has not answered RequestMultipleObjects", cachedOnly))
	}
	return c
}

// TerrainStopped: got of the region's of terrain patches arrived and
// nothing since.
func TerrainStopped(got, of int) Cause {
	return Cause{Step: StepTerrain, Kind: TerrainShort, Fault: Region,
		Text: fmt.Sprintf("the region sent %d of %d terrain patches and nothing since", got, of),
		Check: []string{
			"LayerData packets were lost and the region gave up resending them",
			"the client's throttle (AgentThrottle) starves the land category",
			"the region sends terrain only for patches near the agent (draw distance)",
		}}
}

// ClientStoppedAcking: the client stopped acknowledging the region's
// reliable packets after the one numbered seq (at step).
func ClientStoppedAcking(step Step, seq uint32) Cause {
	return Cause{Step: step, Kind: ClientSilent, Fault: Client,
		Text: "the client stopped acknowledging after seq " + strconv.FormatUint(uint64(seq), 10)}
}

// RegionWentSilent: nothing came from the region for silent, and the
// circuit was closed (at step). The region is at fault: use Blame when the
// evidence cannot tell it from the network.
func RegionWentSilent(step Step, silent time.Duration) Cause {
	return Cause{Step: step, Kind: RegionSilent, Fault: Region,
		Text: "the region sent nothing for " + Dur(silent) + " and the circuit was closed",
		Check: []string{
			"the region crashed, restarted or dropped the agent",
			"UDP between client and region is blocked or lost on the way",
		}}
}

// RegionStoppedAcking: a reliable packet to the region went unacknowledged
// through every one of its sends, and the circuit was closed (at step).
func RegionStoppedAcking(step Step, sends int) Cause {
	return Cause{Step: step, Kind: RegionUnacked, Fault: Region,
		Text: "the region stopped acknowledging: a reliable packet went unacknowledged though sent " + times(sends) + ", and the circuit was closed",
		Check: []string{
			"the region crashed, restarted or dropped the agent",
			"UDP between client and region is blocked or lost on the way",
		}}
}

// RegionDisabled: the region sent DisableSimulator (at step).
func RegionDisabled(step Step) Cause {
	return Cause{Step: step, Kind: Disabled, Fault: Region,
		Text: "the region sent DisableSimulator and closed the circuit"}
}

// KickedOut: the region sent KickUser with reason.
func KickedOut(step Step, reason string) Cause {
	c := Cause{Step: step, Kind: Kicked, Fault: Region, Text: "the region disconnected the agent (KickUser)"}
	if reason != "" {
		c.Text += ": " + strconv.Quote(reason)
	}
	return c
}

// NeverComplete: every step arrived but the ritual was not marked complete.
func NeverComplete() Cause {
	return Cause{Step: StepComplete, Kind: NotComplete, Fault: Unknown,
		Text: "every step arrived but the ritual was not marked complete in time"}
}

func statusText(status int) string {
	return strconv.Itoa(status)
}

func hostPort(ip string, port int) string {
	if ip == "" {
		return ""
	}
	if port == 0 {
		return ip
	}
	return joinHostPort(ip, port)
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

func orUnknown(s string) string {
	if s == "" {
		return "(none given)"
	}
	return s
}

// Stall makes the trace.Stall event of a stalled ritual: h is its header
// (Side, Layer, From, To), lastSeen the last signal seen, expected the one
// waited for (empty: the step's name), waited how long the observer really
// waited. The first cause sets Step, Cause and Fault; every cause adds its
// lines (Cause.Lines) to Causes.
func Stall(h trace.Header, lastSeen, expected string, waited time.Duration, causes ...Cause) *trace.Stall {
	st := &trace.Stall{Header: h, LastSeen: lastSeen, Expected: expected, Waited: waited}
	if len(causes) > 0 {
		c := causes[0]
		st.Step, st.Cause, st.Fault = int(c.Step), string(c.Kind), string(c.Fault)
		if st.Expected == "" {
			st.Expected = c.Step.String()
		}
	}
	for _, c := range causes {
		st.Causes = append(st.Causes, c.Lines()...)
	}
	return st
}

// Anomaly makes the trace.Anomaly event telling c: h is its header, kind
// an anomaly kind (trace.AnomalyTimeout, ...), message the message it is
// about (may be empty), remote the other party's address (may be empty).
func Anomaly(h trace.Header, kind, message, remote string, c Cause) *trace.Anomaly {
	return &trace.Anomaly{Header: h, Kind: kind, Message: message, Remote: remote,
		Reason: c.String(), Cause: string(c.Kind), Fault: string(c.Fault)}
}
