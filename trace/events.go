package trace

import (
	"time"

	"ritual"
)

func init() {
	register(func() Event { return new(LoginStart) })
	register(func() Event { return new(LoginRequest) })
	register(func() Event { return new(LoginAuth) })
	register(func() Event { return new(CircuitProvision) })
	register(func() Event { return new(LoginResponse) })
	register(func() Event { return new(LoginProgress) })
	register(func() Event { return new(Packet) })
	register(func() Event { return new(CircuitCheck) })
	register(func() Event { return new(Connected) })
	register(func() Event { return new(Anomaly) })
	register(func() Event { return new(CircuitClosed) })
	register(func() Event { return new(SeedRequest) })
	register(func() Event { return new(SeedGrant) })
	register(func() Event { return new(CapCall) })
	register(func() Event { return new(EQPoll) })
	register(func() Event { return new(EQDeliver) })
	register(func() Event { return new(EQTimeout) })
	register(func() Event { return new(Milestone) })
	register(func() Event { return new(Stall) })
	register(func() Event { return new(Chat) })
	register(func() Event { return new(InstantMessage) })
	register(func() Event { return new(WorldView) })
}

// LoginStart is [CLIENT] [LOGIN] START: the client begins a login.
type LoginStart struct {
	Header
	URI    string `json:"uri"`
	First  string `json:"first"`
	Last   string `json:"last"`
	Format string `json:"format"` // "xmlrpc" or "llsd"
}

// Name implements Event.
func (*LoginStart) Name() string { return "login.start" }

// LoginRequest is [SERVER] [LOGIN] RECV login_to_simulator: the login
// service has read a request.
type LoginRequest struct {
	Header
	Format   string `json:"format"` // "xmlrpc" or "llsd"
	First    string `json:"first"`
	Last     string `json:"last"`
	Channel  string `json:"channel,omitempty"`
	Version  string `json:"version,omitempty"`
	Platform string `json:"platform,omitempty"`
	Start    string `json:"start,omitempty"`
	Remote   string `json:"remote,omitempty"`
}

// Name implements Event.
func (*LoginRequest) Name() string { return "login.request" }

// LoginAuth is [SERVER] [LOGIN] AUTH SUCCESS or AUTH FAILURE.
type LoginAuth struct {
	Header
	OK      bool        `json:"ok"`
	Agent   ritual.UUID `json:"agent,omitzero"`
	First   string      `json:"first"`
	Last    string      `json:"last"`
	Reason  string      `json:"reason,omitempty"`  // the login failure reason key
	Message string      `json:"message,omitempty"` // the text the user is shown
}

// Name implements Event.
func (*LoginAuth) Name() string { return "login.auth" }

// CircuitProvision is [SERVER] [LOGIN] CIRCUIT PROVISION: the login service
// has registered a circuit with the region.
type CircuitProvision struct {
	Header
	Code    uint32      `json:"circuit_code"`
	Agent   ritual.UUID `json:"agent"`
	Session string      `json:"session"` // secret
	Region  string      `json:"region"`
	Expiry  time.Time   `json:"expiry"`
}

// Name implements Event.
func (*CircuitProvision) Name() string { return "login.provision" }

// Masked implements Masker.
func (e *CircuitProvision) Masked() Event {
	c := *e
	c.Session = Mask(c.Session)
	return &c
}

// LoginResponse is [SERVER] [LOGIN] SEND Response, or on the client side
// the response as received.
type LoginResponse struct {
	Header
	OK             bool          `json:"ok"`
	Reason         string        `json:"reason,omitempty"`
	Message        string        `json:"message,omitempty"`
	Agent          ritual.UUID   `json:"agent,omitzero"`
	Session        string        `json:"session,omitempty"` // secret
	CircuitCode    uint32        `json:"circuit_code,omitempty"`
	SimIP          string        `json:"sim_ip,omitempty"`
	SimPort        int           `json:"sim_port,omitempty"`
	RegionX        int           `json:"region_x,omitempty"`
	RegionY        int           `json:"region_y,omitempty"`
	SeedCapability string        `json:"seed_capability,omitempty"` // secret
	Status         int           `json:"status,omitempty"`          // HTTP status
	Elapsed        time.Duration `json:"elapsed_ns,omitempty"`      // request to response
}

// Name implements Event.
func (*LoginResponse) Name() string { return "login.response" }

// Masked implements Masker.
func (e *LoginResponse) Masked() Event {
	c := *e
	c.Session = Mask(c.Session)
	c.SeedCapability = MaskURL(c.SeedCapability)
	return &c
}

// LoginProgress is [CLIENT] [LOGIN] PROGRESS: a stage of the client's login
// ("ConnectingToSim", "Failed", ...).
type LoginProgress struct {
	Header
	Stage  string `json:"stage"`
	Detail string `json:"detail,omitempty"`
}

// Name implements Event.
func (*LoginProgress) Name() string { return "login.progress" }

// Direction says whether a packet was sent or received by the observing
// side.
type Direction string

// The directions.
const (
	Send Direction = "SEND"
	Recv Direction = "RECV"
)

// Packet is [SIDE] [UDP] SEND or RECV of one message on a circuit. Fields
// summarise what a reader wants to see of it (the circuit code and session
// of a UseCircuitCode, the position of an AgentMovementComplete, the
// patches of a LayerData, ...).
type Packet struct {
	Header
	Dir       Direction `json:"dir"`
	Message   string    `json:"message"`
	Seq       uint32    `json:"seq"`
	Reliable  bool      `json:"reliable,omitempty"`
	Resent    bool      `json:"resent,omitempty"`
	Zerocoded bool      `json:"zerocoded,omitempty"`
	Size      int       `json:"size"`
	Acks      int       `json:"acks,omitempty"` // appended acks carried
	Circuit   uint32    `json:"circuit,omitempty"`
	Fields    Fields    `json:"fields,omitempty"`
}

// Name implements Event.
func (*Packet) Name() string { return "udp.packet" }

// Masked implements Masker.
func (e *Packet) Masked() Event {
	c := *e
	c.Fields = c.Fields.masked()
	return &c
}

// CircuitCheck is the server's verdict on a UseCircuitCode: validated
// against the provisioned circuit, or rejected with why.
type CircuitCheck struct {
	Header
	OK      bool        `json:"ok"`
	Code    uint32      `json:"circuit_code"`
	Agent   ritual.UUID `json:"agent,omitzero"`
	Session string      `json:"session,omitempty"` // secret
	Remote  string      `json:"remote,omitempty"`
	Reason  string      `json:"reason,omitempty"`
}

// Name implements Event.
func (*CircuitCheck) Name() string { return "udp.circuit_check" }

// Masked implements Masker.
func (e *CircuitCheck) Masked() Event {
	c := *e
	c.Session = Mask(c.Session)
	return &c
}

// Connected is [CLIENT] [UDP] CONNECTED: the client's circuit to the region
// is up and the agent is in the region.
type Connected struct {
	Header
	Local  string `json:"local"`
	Remote string `json:"remote"`
}

// Name implements Event.
func (*Connected) Name() string { return "udp.connected" }

// Anomaly kinds.
const (
	AnomalyResent     = "RESENT"       // a reliable packet was sent again
	AnomalyDuplicate  = "DUPLICATE"    // a retransmission arrived after the original
	AnomalyOutOfOrder = "OUT OF ORDER" // a step came before one it should follow
	AnomalyDropped    = "DROPPED"      // a datagram was malformed or a queue overflowed
	AnomalyReject     = "REJECT"       // unknown circuit, session mismatch, ...
	AnomalyTimeout    = "TIMEOUT"      // something expected did not come in time
	AnomalyFault      = "FAULT"        // a step failed and the ritual goes on without it (see trace/cause)
)

// Anomaly is a signal that did not go as the ritual expects, told where it
// happened.
type Anomaly struct {
	Header
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
	Seq     uint32 `json:"seq,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Remote  string `json:"remote,omitempty"`
	// Cause and Fault, when the anomaly is a catalogued fault (see
	// trace/cause), are its kind and the side at fault.
	Cause string `json:"cause,omitempty"`
	Fault string `json:"fault,omitempty"`
}

// Name implements Event.
func (*Anomaly) Name() string { return "anomaly" }

// CircuitStats counts what one circuit carried.
type CircuitStats struct {
	PacketsSent  int `json:"packets_sent"`
	PacketsRecv  int `json:"packets_recv"`
	BytesSent    int `json:"bytes_sent"`
	BytesRecv    int `json:"bytes_recv"`
	Resent       int `json:"resent"`
	AcksSent     int `json:"acks_sent"`
	AcksRecv     int `json:"acks_recv"`
	Duplicates   int `json:"duplicates"`
	Dropped      int `json:"dropped"`
	ReliableLost int `json:"reliable_lost"` // given up after the last resend
}

// CircuitClosed is the end of a circuit, with why and what it carried.
type CircuitClosed struct {
	Header
	Code   uint32       `json:"circuit_code,omitempty"`
	Reason string       `json:"reason"`
	Stats  CircuitStats `json:"stats"`
}

// Name implements Event.
func (*CircuitClosed) Name() string { return "udp.closed" }

// SeedRequest is [CLIENT] [CAPS] SEED REQUEST: the client asks the seed
// capability for the capabilities it wants.
type SeedRequest struct {
	Header
	URL   string   `json:"url"` // secret
	Names []string `json:"names"`
}

// Name implements Event.
func (*SeedRequest) Name() string { return "caps.seed_request" }

// Masked implements Masker.
func (e *SeedRequest) Masked() Event {
	c := *e
	c.URL = MaskURL(c.URL)
	return &c
}

// SeedGrant is [SERVER] [CAPS] SEED GRANT (or the client's view of the
// answer): which capabilities were granted and which were not.
type SeedGrant struct {
	Header
	// Agent is whom the server answered, when the server side recorded it
	// (a grid-wide observer tells agents apart by it).
	Agent   ritual.UUID `json:"agent,omitzero"`
	Status  int         `json:"status"`
	Granted []string    `json:"granted"`
	Denied  []string    `json:"denied,omitempty"`
}

// Name implements Event.
func (*SeedGrant) Name() string { return "caps.seed_grant" }

// CapCall is one request to a capability other than the seed and the event
// queue (SimulatorFeatures, FetchInventoryDescendents2, ...).
type CapCall struct {
	Header
	// Agent is whom the server answered, when the server side recorded it
	// (a grid-wide observer tells agents apart by it).
	Agent      ritual.UUID   `json:"agent,omitzero"`
	Capability string        `json:"capability"`
	Status     int           `json:"status"`
	Elapsed    time.Duration `json:"elapsed_ns,omitempty"`
	Detail     string        `json:"detail,omitempty"`
}

// Name implements Event.
func (*CapCall) Name() string { return "caps.call" }

// EQPoll is [CLIENT] [EQ] POLL (or the server's receipt of one): one
// EventQueueGet long poll, acknowledging the id of the last answer.
type EQPoll struct {
	Header
	// Agent is whom the server answered, when the server side recorded it
	// (a grid-wide observer tells agents apart by it).
	Agent ritual.UUID `json:"agent,omitzero"`
	Ack   int         `json:"ack"`
	Done  bool        `json:"done,omitempty"`
}

// Name implements Event.
func (*EQPoll) Name() string { return "eq.poll" }

// EQDeliver is [SERVER] [EQ] DELIVER (or the client's receipt): an answer
// carrying events.
type EQDeliver struct {
	Header
	// Agent is whom the server answered, when the server side recorded it
	// (a grid-wide observer tells agents apart by it).
	Agent  ritual.UUID `json:"agent,omitzero"`
	ID     int         `json:"id"`
	Events []string    `json:"events"`
}

// Name implements Event.
func (*EQDeliver) Name() string { return "eq.deliver" }

// EQTimeout is [SERVER] [EQ] TIMEOUT: a poll with nothing to say, answered
// 502 as Second Life and OpenSimulator do.
type EQTimeout struct {
	Header
	// Agent is whom the server answered, when the server side recorded it
	// (a grid-wide observer tells agents apart by it).
	Agent  ritual.UUID   `json:"agent,omitzero"`
	Status int           `json:"status"`
	Waited time.Duration `json:"waited_ns"`
}

// Name implements Event.
func (*EQTimeout) Name() string { return "eq.timeout" }

// Milestones of the ritual, as a client counts them.
const (
	MilestoneHandshake        = "handshake"         // RegionHandshake received
	MilestoneMovementComplete = "movement_complete" // AgentMovementComplete received
	MilestoneFirstObject      = "first_object"      // the first ObjectUpdate
	MilestoneTerrainComplete  = "terrain_complete"  // every terrain patch received
	MilestoneComplete         = "complete"          // the whole ritual
	MilestoneLogout           = "logout"            // logged out (or gave up waiting)
)

// Milestone marks a step of the ritual reached, with the counts that prove
// it.
type Milestone struct {
	Header
	Step    string `json:"step"`
	Objects int    `json:"objects,omitempty"`
	Patches int    `json:"patches,omitempty"`
	Of      int    `json:"of,omitempty"` // patches expected
	Detail  string `json:"detail,omitempty"`
}

// Name implements Event.
func (*Milestone) Name() string { return "ritual.milestone" }

// Stall is the diagnosis when the ritual did not complete in time: the last
// step seen, the step expected next, and the likely causes in plain words.
type Stall struct {
	Header
	Step     int           `json:"step"`
	LastSeen string        `json:"last_seen"`
	Expected string        `json:"expected"`
	Causes   []string      `json:"causes"`
	Waited   time.Duration `json:"waited_ns"`
	// Cause is the kind of the cause the evidence names (see trace/cause)
	// and Fault the side at fault ("client", "login service", "region",
	// "capabilities", "network" or "unknown"); both are empty when no
	// catalogued cause was named.
	Cause string `json:"cause,omitempty"`
	Fault string `json:"fault,omitempty"`
}

// Name implements Event.
func (*Stall) Name() string { return "ritual.stall" }

// Chat is [SERVER] [UDP] CHAT: an agent said something (ChatFromViewer)
// and the region handed it to the avatars in range. Text carries at most
// the first 80 bytes of the line.
type Chat struct {
	Header
	Agent    ritual.UUID    `json:"agent"`
	FromName string         `json:"from_name"`
	Type     uint8          `json:"type"` // 0 whisper, 1 say, 2 shout, 4/5 typing
	Channel  int32          `json:"channel"`
	Position ritual.Vector3 `json:"position"`
	Text     string         `json:"text,omitempty"`
	Length   int            `json:"length"`
	// Heard is how many avatars (the speaker among them) were sent the
	// line; Delivered is false for a line no avatar could hear (another
	// channel, an agent not yet in the world).
	Heard     int  `json:"heard"`
	Delivered bool `json:"delivered"`
	// FromRegion is set when the line was spoken in a neighbouring region
	// and heard here across the border: the speaker's region handle
	// (Position is then in this region's coordinates, Heard this region's
	// hearers).
	FromRegion uint64 `json:"from_region,omitempty"`
}

// Name implements Event.
func (*Chat) Name() string { return "world.chat" }

// InstantMessage is [SERVER] [UDP] IM: an ImprovedInstantMessage between
// two agents and what became of it (delivered, relayed to the region of
// another process or of this one holding the recipient, stored for an
// offline recipient, delivered at login, refused). Its text is not
// recorded.
type InstantMessage struct {
	Header
	From     ritual.UUID `json:"from"`
	FromName string      `json:"from_name"`
	To       ritual.UUID `json:"to"`
	Dialog   uint8       `json:"dialog"`
	Length   int         `json:"length"`
	Outcome  string      `json:"outcome"`
}

// Name implements Event.
func (*InstantMessage) Name() string { return "world.im" }

// WorldView is [CLIENT] [UDP] WORLD VIEW: what the client's view of the
// region held when its ritual ended — the terrain it decoded, coarsened to
// a grid of heights, and where the objects it was sent stand — so that a
// report can draw the ground and the scene from the event log alone. The
// story does not tell it (it is background); the observatory draws it.
type WorldView struct {
	Header
	Region string  `json:"region,omitempty"`
	SizeX  int     `json:"size_x"` // metres east
	SizeY  int     `json:"size_y"` // metres north
	Water  float32 `json:"water"`  // water height, metres
	// W×H heights in metres, row by row from the south edge, each the
	// height at the centre of its cell; unreceived patches read as 0.
	W       int           `json:"w"`
	H       int           `json:"h"`
	Heights []float32     `json:"heights"`
	Patches int           `json:"patches"` // land patches received
	Of      int           `json:"of"`      // land patches expected
	Objects []WorldObject `json:"objects,omitempty"`
}

// Name implements Event.
func (*WorldView) Name() string { return "world.view" }

// WorldObject is one object of a WorldView: its kind ("prim", "avatar",
// "tree", ...), its position in region metres and its footprint.
type WorldObject struct {
	Kind  string  `json:"kind"`
	X     float32 `json:"x"`
	Y     float32 `json:"y"`
	Z     float32 `json:"z"`
	SizeX float32 `json:"sx,omitempty"`
	SizeY float32 `json:"sy,omitempty"`
}
