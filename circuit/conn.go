package circuit

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"ritual/protocol/msg"
	"ritual/trace"
)

// Inbound is one message the peer sent, decoded, as the application
// receives it from Conn.Inbox.
type Inbound struct {
	Message msg.Message
	Seq     uint32
	Flags   msg.Flags
	At      time.Time
}

// outgoing is a message encoded by Send (sequence number still zero) and
// waiting for the run loop.
type outgoing struct {
	buf      *[]byte // pooled; (*buf)[:n] is the datagram without acks
	n        int
	reliable bool
	name     string
	fields   trace.Fields
	done     chan error // nil, or told when acked or given up
}

// unacked is a reliable packet awaiting acknowledgement.
type unacked struct {
	out      outgoing
	seq      uint32
	lastSent time.Time
	rto      time.Duration
	tries    int
}

// closeRequest asks the run loop to close once everything sent is
// acknowledged or given up.
type closeRequest struct {
	reason string
}

// Conn is one circuit. Send, SendAcked, Inbox, Stats and Close are safe for
// concurrent use; everything else belongs to the run loop.
type Conn struct {
	cfg    Config
	t      *Transport
	remote netip.AddrPort

	inbound  chan *[]byte
	outbound chan outgoing
	deliver  chan Inbound
	closeReq chan closeRequest // graceful closes
	hardStop chan struct{}     // closed by Close
	done     chan struct{}
	throttle atomic.Uint64 // float64 bits: bytes per second, 0 unlimited
	nUnacked atomic.Int64
	rtt      atomic.Int64 // smoothed round-trip time, ns (copy of srtt)

	errMu      sync.Mutex
	err        error
	stopReason string // Close's reason, under errMu
	stopOnce   sync.Once

	statsMu sync.Mutex
	stats   trace.CircuitStats

	// Owned by the run loop.
	seq         uint32
	unacked     map[uint32]unacked
	order       []uint32 // sequence numbers of unacked, in send order (may hold acked ones)
	pendingAcks []uint32
	window      window
	lastRecv    time.Time
	pingID      uint8
	pingSent    [256]time.Time
	srtt        time.Duration
	tokens      float64
	tokensAt    time.Time
	draining    bool
	closeReason string
	ackTimer    *time.Timer
	ackArmed    bool

	pkt      msg.Packet
	scratch  []byte
	sendBuf  []byte
	ackMsg   msg.PacketAck
	ackOut   msg.PacketAck
	pingIn   msg.StartPingCheck
	pingOut  msg.CompletePingCheck
	pongIn   msg.CompletePingCheck
	startOut msg.StartPingCheck
}

func newConn(t *Transport, remote netip.AddrPort, cfg Config) *Conn {
	cfg = cfg.fill()
	c := &Conn{
		cfg:      cfg,
		t:        t,
		remote:   remote,
		inbound:  make(chan *[]byte, cfg.InboundQueue),
		outbound: make(chan outgoing, cfg.OutboundQueue),
		deliver:  make(chan Inbound, cfg.Deliver),
		closeReq: make(chan closeRequest, 1),
		hardStop: make(chan struct{}),
		done:     make(chan struct{}),
		unacked:  make(map[uint32]unacked),
		scratch:  make([]byte, 0, msg.MaxBody),
		sendBuf:  make([]byte, 0, readSize),
		seq:      cfg.initialSeq,
	}
	if cfg.Throttle > 0 {
		c.SetThrottle(cfg.Throttle)
	}
	return c
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.remote }

// LocalAddr returns the local socket's address as text.
func (c *Conn) LocalAddr() string { return c.t.LocalAddr().String() }

// Code returns the circuit code the Conn was configured with.
func (c *Conn) Code() uint32 { return c.cfg.Code }

// Inbox returns the channel of decoded messages from the peer. It is
// closed when the circuit closes.
func (c *Conn) Inbox() <-chan Inbound { return c.deliver }

// Done is closed when the circuit has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the circuit closed (nil while open, ErrClosed for a
// local Close).
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Stats returns what the circuit has carried so far.
func (c *Conn) Stats() trace.CircuitStats {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.stats
}

// Unacked returns how many reliable packets await acknowledgement.
func (c *Conn) Unacked() int {
	return int(c.nUnacked.Load())
}

// Queued returns how many messages wait in the outbound queue: a sender
// that chooses what to send (the region's interest management) sends less
// while the peer is not keeping up.
func (c *Conn) Queued() int { return len(c.outbound) }

// RTT returns the smoothed round-trip time, from acknowledgements of
// packets sent once (never of resent ones: their ack cannot tell which
// transmission it answers) and from CompletePingCheck; 0 before the first
// sample.
func (c *Conn) RTT() time.Duration {
	return time.Duration(c.rtt.Load())
}

// SetThrottle caps outgoing bytes per second (0 or less: unlimited). The
// cap is a token bucket holding a quarter second at the rate, at least
// 64 KiB, full when the circuit opens: a first burst leaves at once.
// Acknowledgements and pings are sent outside it.
func (c *Conn) SetThrottle(bytesPerSecond float64) {
	if bytesPerSecond < 0 {
		bytesPerSecond = 0
	}
	c.throttle.Store(math.Float64bits(bytesPerSecond))
}

// Send queues m for sending, reliably or not, without waiting. It returns
// ErrQueueFull when the outbound queue is full, ErrClosed after the
// circuit closed, or an encoding error (a field too long, a datagram over
// msg.MaxDatagram).
func (c *Conn) Send(m msg.Message, reliable bool) error {
	o, err := c.encode(m, reliable, nil)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
		putBuf(o.buf)
		return ErrClosed
	default:
	}
	select {
	case c.outbound <- o:
		c.afterPush()
		return nil
	default:
		putBuf(o.buf)
		return ErrQueueFull
	}
}

// afterPush returns what the outbound queue holds to the pool when the
// circuit closed around the push: nothing reads the queue any more.
func (c *Conn) afterPush() {
	select {
	case <-c.done:
		c.drainOutbound()
	default:
	}
}

// drainOutbound empties the outbound queue, failing waiting senders.
func (c *Conn) drainOutbound() {
	for {
		select {
		case o := <-c.outbound:
			if o.done != nil {
				o.done <- ErrClosed
			}
			putBuf(o.buf)
		default:
			return
		}
	}
}

// drainInbound empties the inbound queue.
func (c *Conn) drainInbound() {
	for {
		select {
		case bp := <-c.inbound:
			putBuf(bp)
		default:
			return
		}
	}
}

// SendWait is Send, waiting for room in the outbound queue until ctx ends.
func (c *Conn) SendWait(ctx context.Context, m msg.Message, reliable bool) error {
	o, err := c.encode(m, reliable, nil)
	if err != nil {
		return err
	}
	select {
	case c.outbound <- o:
		c.afterPush()
		return nil
	case <-c.done:
		putBuf(o.buf)
		return ErrClosed
	case <-ctx.Done():
		putBuf(o.buf)
		return ctx.Err()
	}
}

// SendAcked sends m reliably and waits until the peer acknowledges it. It
// returns ErrGaveUp when the last resend went unacknowledged, ErrClosed
// when the circuit closed first, or ctx's error.
func (c *Conn) SendAcked(ctx context.Context, m msg.Message) error {
	done := make(chan error, 1)
	o, err := c.encode(m, true, done)
	if err != nil {
		return err
	}
	select {
	case c.outbound <- o:
		c.afterPush()
	case <-c.done:
		putBuf(o.buf)
		return ErrClosed
	case <-ctx.Done():
		putBuf(o.buf)
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-c.done:
		select {
		case err := <-done:
			return err
		default:
		}
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Conn) encode(m msg.Message, reliable bool, done chan error) (outgoing, error) {
	var flags msg.Flags
	if reliable {
		flags |= msg.FlagReliable
	}
	if m.Zerocoded() {
		flags |= msg.FlagZerocoded
	}
	bp := getBuf()
	b, err := msg.EncodePacket((*bp)[:0], flags, 0, m, nil)
	if err != nil {
		putBuf(bp)
		return outgoing{}, fmt.Errorf("circuit: sending %s: %w", m.Name(), err)
	}
	o := outgoing{buf: bp, n: len(b), reliable: reliable, name: m.Name(), done: done}
	if c.cfg.Recorder != nil {
		o.fields = c.cfg.Summarize(m)
	}
	return o, nil
}

// Close closes the circuit at once, whatever else is under way (a graceful
// close included). It does not wait for the run loop to finish; Done does.
// It is safe to call more than once: the first reason is kept.
func (c *Conn) Close(reason string) {
	c.stopOnce.Do(func() {
		c.errMu.Lock()
		c.stopReason = reason
		c.errMu.Unlock()
		close(c.hardStop)
	})
}

// CloseGracefully sends what is queued, waits for every reliable packet
// to be acknowledged (or given up), then closes; ctx bounds the wait, after
// which the circuit closes anyway. It returns once the circuit has closed.
func (c *Conn) CloseGracefully(ctx context.Context, reason string) {
	select {
	case c.closeReq <- closeRequest{reason: reason}:
	case <-c.done:
		return
	case <-ctx.Done():
		c.Close(reason)
		<-c.done
		return
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		c.Close(reason)
		<-c.done
	}
}

// enqueue hands a datagram from the transport to the run loop; false when
// the inbound queue is full.
func (c *Conn) enqueue(bp *[]byte) bool {
	select {
	case c.inbound <- bp:
		// Nothing reads the queue once the circuit has closed.
		select {
		case <-c.done:
			c.drainInbound()
		default:
		}
		return true
	default:
		c.anomaly(trace.AnomalyDropped, "", 0, "inbound queue full")
		c.statsMu.Lock()
		c.stats.Dropped++
		c.statsMu.Unlock()
		return false
	}
}

// Inject hands the circuit a datagram as if it had just arrived (the
// server does this with the UseCircuitCode that created the circuit). b is
// copied. It reports false when the inbound queue is full.
func (c *Conn) Inject(b []byte) bool {
	if len(b) > readSize {
		return false
	}
	bp := getBuf()
	*bp = append((*bp)[:0], b...)
	if !c.enqueue(bp) {
		putBuf(bp)
		return false
	}
	return true
}
