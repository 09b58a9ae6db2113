package circuit

import (
	"log/slog"
	"time"

	"ritual/protocol/msg"
	"ritual/trace"
)

// Config tunes one circuit. The zero value works: fill leaves zero fields
// at their defaults.
type Config struct {
	// Side and the endpoint names label trace events: the side this Conn
	// observes from, its own end and the peer's (trace.EndRegion,
	// trace.EndClient).
	Side      trace.Side
	LocalEnd  string
	RemoteEnd string

	// Recorder receives probe events; nil means off.
	Recorder trace.Recorder
	// Summarize returns the fields a reader wants to see of a message in
	// the story (nil: DefaultSummary). Only called when Recorder is set.
	Summarize func(msg.Message) trace.Fields
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger

	// Code is the circuit code, for trace events and logs.
	Code uint32

	// ResendTimeout is the first retransmission timeout of a reliable
	// packet (default 1 s); each resend doubles it up to MaxResendTimeout
	// (default 4 s). MaxResends resends are made before the packet is
	// given up (default 10, about 40 s with the default timeouts). Under
	// 20 % loss each way a round trip fails 36 % of the time: 5 resends
	// would give up 0.2 % of reliable packets, 10 give up 0.001 %.
	ResendTimeout    time.Duration
	MaxResendTimeout time.Duration
	MaxResends       int

	// Timeout closes the circuit after this long without a datagram from
	// the peer (default 60 s).
	Timeout time.Duration
	// PingInterval is how often a StartPingCheck is sent (default 5 s;
	// negative disables pings).
	PingInterval time.Duration
	// AckDelay is how long an owed acknowledgement may wait for an
	// outgoing packet to ride on before it is flushed as a PacketAck
	// (default 10 ms).
	AckDelay time.Duration

	// InboundQueue bounds the datagrams waiting for the run loop (default
	// 1024); OutboundQueue the messages waiting to be sent (default
	// 1024; SendWait blocks and Send reports ErrQueueFull past it); Unacked the reliable packets awaiting acknowledgement
	// (default 1024: no more than a peer's default inbound queue, so a
	// burst of reliable packets cannot overflow it and then wait a resend
	// timeout); Deliver the decoded messages waiting for the application
	// (default 1024). Each queued datagram or message, and each
	// unacknowledged packet, holds a pooled 2 KB buffer; the queues' own
	// slots cost about 130 KB per circuit at the defaults, allocated when
	// the circuit opens.
	InboundQueue  int
	OutboundQueue int
	Unacked       int
	Deliver       int

	// NoAppendedAcks sends every acknowledgement as a PacketAck instead of
	// appending acks to outgoing packets. OpenSimulator never appends
	// them, and node-metaverse misreads appended acks on messages whose
	// trailing blocks its older template lacks; the region sets this.
	NoAppendedAcks bool

	// Throttle caps outgoing bytes per second (0: unlimited). The server
	// sets it from the client's AgentThrottle; see Conn.SetThrottle.
	Throttle float64

	// initialSeq is the sequence number the circuit counts up from (tests
	// set it near the wrap).
	initialSeq uint32
}

func (c Config) fill() Config {
	if c.Side == 0 {
		c.Side = trace.Server
	}
	if c.LocalEnd == "" {
		if c.Side == trace.Server {
			c.LocalEnd, c.RemoteEnd = trace.EndRegion, trace.EndClient
		} else {
			c.LocalEnd, c.RemoteEnd = trace.EndClient, trace.EndRegion
		}
	}
	if c.Summarize == nil {
		c.Summarize = DefaultSummary
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ResendTimeout <= 0 {
		c.ResendTimeout = time.Second
	}
	if c.MaxResendTimeout < c.ResendTimeout {
		c.MaxResendTimeout = max(4*time.Second, c.ResendTimeout)
	}
	if c.MaxResends <= 0 {
		c.MaxResends = 10
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 5 * time.Second
	}
	if c.AckDelay <= 0 {
		c.AckDelay = 10 * time.Millisecond
	}
	if c.InboundQueue <= 0 {
		c.InboundQueue = 1024
	}
	if c.OutboundQueue <= 0 {
		c.OutboundQueue = 1024
	}
	if c.Unacked <= 0 {
		c.Unacked = 1024
	}
	if c.Deliver <= 0 {
		c.Deliver = 1024
	}
	return c
}
