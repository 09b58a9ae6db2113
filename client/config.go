package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"time"

	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/trace"
)

// Defaults of Config.
const (
	DefaultUseCircuitCodeTimeout = 10 * time.Second
	DefaultHandshakeTimeout      = 10 * time.Second
	DefaultSeedTimeout           = 30 * time.Second
	DefaultLogoutTimeout         = 5 * time.Second
	// DefaultEventQueueSilence is how long an event queue may hold its
	// polls and deliver nothing before that is told as a fault
	// (OpenSimulator delivers ParcelProperties within milliseconds of the
	// first poll).
	DefaultEventQueueSilence   = 20 * time.Second
	DefaultAgentUpdateInterval = 500 * time.Millisecond
	// DefaultThrottle is the total bandwidth announced in AgentThrottle,
	// in bits per second (1.5 Mbit/s).
	DefaultThrottle = 1_500_000
	// DefaultDrawDistance is the Far of AgentUpdate, in metres.
	DefaultDrawDistance = 128
	// DefaultEventBuffer is how many event-queue events Session.Events
	// holds for a slow reader before it drops them.
	DefaultEventBuffer = 256
)

// RegionHandshakeReply flags (RegionInfo.Flags).
const (
	// ReplyAppearanceService says the client uses server-side baking.
	ReplyAppearanceService = 0x01
	// ReplyNoCacheProbes asks the region not to probe the client's object
	// cache with ObjectUpdateCached (OpenSimulator honours it).
	ReplyNoCacheProbes = 0x02
	// ReplySelfAppearance says the client supports self appearance.
	ReplySelfAppearance = 0x04

	// ReplyFlagsNMV is what node-metaverse sends (0x5).
	ReplyFlagsNMV = ReplyAppearanceService | ReplySelfAppearance
	// ReplyFlagsLMV is what LibreMetaverse sends (0x7).
	ReplyFlagsLMV = ReplyFlagsNMV | ReplyNoCacheProbes
)

// DefaultCapabilities are the capability names the seed request asks for
// when Config.Capabilities is nil: what a current viewer asks for, without
// the names that merely switch features on.
var DefaultCapabilities = []string{
	caps.EventQueueGet,
	"SimulatorFeatures",
	"FetchInventoryDescendents2",
	"FetchInventory2",
	"FetchLibDescendents2",
	"FetchLib2",
	"GetTexture",
	"GetMesh",
	"GetMesh2",
	"ViewerAsset",
	"AgentPreferences",
	"ChatSessionRequest",
	"CopyInventoryFromNotecard",
	"DispatchRegionInfo",
	"GetDisplayNames",
	"GetObjectCost",
	"GetObjectPhysicsData",
	"MapLayer",
	"MeshUploadFlag",
	"NewFileAgentInventory",
	"ObjectMedia",
	"ParcelPropertiesUpdate",
	"RenderMaterials",
	"SearchStatRequest",
	"UpdateAgentInformation",
	"UpdateAgentLanguage",
	"UpdateNotecardAgentInventory",
	"UpdateScriptAgent",
	"UploadBakedTexture",
	"ViewerMetrics",
	"ViewerStats",
}

// ThrottleShares is how the AgentThrottle total is split over the seven
// categories, in wire order: resend, land, wind, cloud, task, texture,
// asset (node-metaverse's split).
var ThrottleShares = [7]float64{0.10, 0.172, 0.05, 0.05, 0.234, 0.234, 0.16}

// Timeouts bound the steps of the ritual a client waits for. Zero fields
// take the defaults.
type Timeouts struct {
	// UseCircuitCode bounds the wait for the acknowledgement of
	// UseCircuitCode (default 10 s).
	UseCircuitCode time.Duration
	// Handshake bounds the wait for RegionHandshake after
	// CompleteAgentMovement (default 10 s).
	Handshake time.Duration
	// Seed bounds the seed capability request (default 30 s).
	Seed time.Duration
	// Logout bounds the wait for LogoutReply (default 5 s).
	Logout time.Duration
	// Teleport bounds a teleport from its request to the arrival at the
	// destination (default 30 s).
	Teleport time.Duration
	// EventQueue is how long the event queue may hold the client's polls
	// and deliver nothing, from the first poll, before the session tells
	// it as a fault (an anomaly and Session.Faults): no
	// EstablishAgentCommunication, no parcel information (default 20 s;
	// negative: not watched).
	EventQueue time.Duration
}

// Config describes a login and the session that follows. LoginURI, First,
// Last and Password are required; the zero value of every other field
// works.
type Config struct {
	LoginURI    string
	First, Last string
	// Password is the plain password or the viewer form "$1$" + MD5 hex.
	Password string
	// Format is the login's wire form (the zero value is XML-RPC).
	Format login.Format
	// Channel and Version describe the client (empty: package login's
	// defaults).
	Channel, Version string
	// Start is the start location: "last" (default), "home" or
	// "uri:Region&x&y&z".
	Start string

	// Recorder receives probe events from every layer; nil means off.
	Recorder trace.Recorder
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
	// HTTPClient makes the login, seed and event-queue requests; nil
	// means package login's default for the login and
	// http.DefaultClient for the capabilities. Its Timeout, if set, should
	// exceed how long regions hold an event-queue poll (OpenSimulator:
	// about 58 s).
	HTTPClient *http.Client

	Timeouts Timeouts
	// Circuit tunes the UDP circuit. Its Side, end names, Code, Recorder
	// and Logger are set by the session.
	Circuit circuit.Config
	// ListenPacket, when set, opens the socket the circuit to the region
	// runs on, in place of a UDP socket of the region address's family
	// (tests pass an endpoint of an in-memory network such as
	// circuit/simnet). It is called once per Connect; the session closes
	// what it returns.
	ListenPacket func() (net.PacketConn, error)

	// Capabilities are the names the seed request asks for; nil means
	// DefaultCapabilities.
	Capabilities []string
	// ReplyFlags are the RegionHandshakeReply flags; zero means
	// ReplyFlagsNMV (0x5), which lets the region probe the object cache
	// with ObjectUpdateCached. ReplyFlagsLMV (0x7) asks it not to.
	ReplyFlags uint32
	// AgentUpdateInterval is how often AgentUpdate is sent (default
	// 500 ms; negative disables it).
	AgentUpdateInterval time.Duration
	// Throttle is the total bandwidth announced in AgentThrottle, in bits
	// per second, split by ThrottleShares (default 1.5 Mbit/s; negative
	// sends no AgentThrottle).
	Throttle float64
	// SkipStartupRequests leaves out AgentDataUpdateRequest and
	// AgentWearablesRequest, which viewers send after connecting.
	SkipStartupRequests bool

	// OnEvent, when set, is called from the event-queue goroutine for each
	// event, in order. It must not block for long.
	OnEvent func(caps.Event)
	// EventBuffer is the capacity of Session.Events (default 256); events
	// that find it full are dropped and counted.
	EventBuffer int
	// WorldEventBuffer is the capacity of Session.WorldEvents (default
	// DefaultWorldEventBuffer); events that find it full are dropped and
	// counted.
	WorldEventBuffer int
	// DrawDistance is the view radius AgentUpdate asks for, in metres
	// (default DefaultDrawDistance).
	DrawDistance float32
}

// Errors of the client.
var (
	// ErrConfig reports a Config that cannot work.
	ErrConfig = errors.New("client: bad config")
	// ErrNotAcknowledged: the region did not acknowledge UseCircuitCode in
	// time.
	ErrNotAcknowledged = errors.New("client: the region did not acknowledge UseCircuitCode")
	// ErrNoHandshake: no RegionHandshake came after CompleteAgentMovement.
	ErrNoHandshake = errors.New("client: the region sent no RegionHandshake")
	// ErrDisabled: the region sent DisableSimulator.
	ErrDisabled = errors.New("client: the region disabled the simulator (DisableSimulator)")
	// ErrLoggedOut: the session ended with Logout.
	ErrLoggedOut = errors.New("client: logged out")
	// ErrClosed: the session was closed.
	ErrClosed = errors.New("client: session closed")
	// ErrEventQueue: the event queue will deliver nothing (see
	// Session.WaitEventQueue).
	ErrEventQueue = errors.New("client: the event queue delivers nothing")
	// ErrCircuit: the circuit to the region closed under the session
	// (the region went silent, or a reliable packet was given up).
	ErrCircuit = errors.New("client: circuit to the region closed")
)

// KickedError is why a session ended when the region sent KickUser.
type KickedError struct {
	Reason string
}

// Error implements error.
func (e *KickedError) Error() string {
	if e.Reason == "" {
		return "client: kicked by the region"
	}
	return "client: kicked by the region: " + e.Reason
}

// fill checks c's session fields and sets the defaults (Login checks the
// login fields).
func (c Config) fill() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	t := &c.Timeouts
	if t.UseCircuitCode <= 0 {
		t.UseCircuitCode = DefaultUseCircuitCodeTimeout
	}
	if t.Handshake <= 0 {
		t.Handshake = DefaultHandshakeTimeout
	}
	if t.Seed <= 0 {
		t.Seed = DefaultSeedTimeout
	}
	if t.Teleport <= 0 {
		t.Teleport = DefaultTeleportTimeout
	}
	if t.Logout <= 0 {
		t.Logout = DefaultLogoutTimeout
	}
	if t.EventQueue == 0 {
		t.EventQueue = DefaultEventQueueSilence
	}
	if c.Capabilities == nil {
		c.Capabilities = DefaultCapabilities
	}
	if c.ReplyFlags == 0 {
		c.ReplyFlags = ReplyFlagsNMV
	}
	if c.AgentUpdateInterval == 0 {
		c.AgentUpdateInterval = DefaultAgentUpdateInterval
	}
	if c.Throttle == 0 {
		c.Throttle = DefaultThrottle
	}
	if math.IsNaN(c.Throttle) || math.IsInf(c.Throttle, 0) {
		return c, fmt.Errorf("%w: throttle %v", ErrConfig, c.Throttle)
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	return c, nil
}

// throttles returns the Throttles field of AgentThrottle for a total in
// bits per second: seven F32 LE, split by ThrottleShares.
func throttles(total float64) []byte {
	b := make([]byte, 0, 4*len(ThrottleShares))
	for _, s := range ThrottleShares {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(total*s)))
	}
	return b
}
