package circuit

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"ritual/protocol/msg"
	"ritual/trace"
)

// readSize is the receive buffer: larger than msg.MaxDatagram so that an
// oversized datagram is seen as such rather than silently truncated.
const readSize = 2048

// TransportConfig configures a Transport.
type TransportConfig struct {
	// Accept is called, on the reader goroutine, for a datagram from an
	// address with no circuit. The datagram is valid only during the
	// call. Nil drops such datagrams (a client's transport).
	Accept func(from netip.AddrPort, datagram []byte)
	// Side, Recorder and Logger label and receive what the transport
	// itself observes (datagrams dropped before any circuit sees them).
	Side     trace.Side
	Recorder trace.Recorder
	Logger   *slog.Logger
	// MaxConns caps the circuits (0: unlimited); Open beyond it fails with
	// ErrTooManyCircuits.
	MaxConns int
	// SocketBuffer is the kernel receive and send buffer asked for a UDP
	// socket, in bytes (default DefaultSocketBuffer; negative leaves the
	// system's). The system may cap it (Linux: net.core.rmem_max and
	// wmem_max). The usual default, about 200 KB, holds a few hundred
	// datagrams: a burst of a region's scene overflows it, and every
	// datagram lost there waits a resend timeout.
	SocketBuffer int
}

// DefaultSocketBuffer is TransportConfig.SocketBuffer's default: room for
// a circuit's whole default window of unacknowledged packets.
const DefaultSocketBuffer = 4 << 20

// DropCounts counts datagrams the transport dropped before any circuit saw
// them.
type DropCounts struct {
	Oversized  uint64 // larger than msg.MaxDatagram
	QueueFull  uint64 // the circuit's inbound queue was full
	Unaccepted uint64 // from an address with no circuit and no Accept hook
}

// Transport is one UDP socket shared by many circuits.
type Transport struct {
	pc  net.PacketConn
	udp *net.UDPConn // pc, when it is a real UDP socket (allocation-free I/O)
	cfg TransportConfig

	mu    sync.RWMutex
	conns map[netip.AddrPort]*Conn

	closeOnce sync.Once
	closed    chan struct{}

	oversized, queueFull, unaccepted atomic.Uint64
}

// Errors reported by transports and circuits.
var (
	ErrClosed          = errors.New("circuit: closed")
	ErrQueueFull       = errors.New("circuit: outbound queue full")
	ErrTimeout         = errors.New("circuit: peer silent past the timeout")
	ErrGaveUp          = errors.New("circuit: reliable packet unacknowledged after the last resend")
	ErrTooManyCircuits = errors.New("circuit: too many circuits")
	ErrExists          = errors.New("circuit: a circuit to that address exists")
)

// NewTransport wraps pc. Call Serve to start reading.
func NewTransport(pc net.PacketConn, cfg TransportConfig) *Transport {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SocketBuffer == 0 {
		cfg.SocketBuffer = DefaultSocketBuffer
	}
	t := &Transport{pc: pc, cfg: cfg, conns: make(map[netip.AddrPort]*Conn), closed: make(chan struct{})}
	t.udp, _ = pc.(*net.UDPConn)
	if t.udp != nil && cfg.SocketBuffer > 0 {
		// Best effort: a smaller buffer only costs resends.
		if err := t.udp.SetReadBuffer(cfg.SocketBuffer); err != nil {
			cfg.Logger.Debug("circuit: socket receive buffer", "bytes", cfg.SocketBuffer, "err", err)
		}
		if err := t.udp.SetWriteBuffer(cfg.SocketBuffer); err != nil {
			cfg.Logger.Debug("circuit: socket send buffer", "bytes", cfg.SocketBuffer, "err", err)
		}
	}
	return t
}

// LocalAddr returns the socket's address.
func (t *Transport) LocalAddr() net.Addr { return t.pc.LocalAddr() }

// Dropped returns the transport's drop counts.
func (t *Transport) Dropped() DropCounts {
	return DropCounts{Oversized: t.oversized.Load(), QueueFull: t.queueFull.Load(), Unaccepted: t.unaccepted.Load()}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, readSize); return &b }}

// Pooled buffers taken and not returned, counted when bufTracking is set
// (by the package's tests, before any goroutine starts).
var (
	bufTracking bool
	bufsOut     atomic.Int64
)

// getBuf takes a buffer of readSize bytes from the pool. Whoever holds it
// returns it with putBuf: the transport's reader until it hands a datagram
// to a circuit, the circuit's run loop once it has handled the datagram; a
// sender until the message is queued, the run loop once it is sent
// (unreliable) or acknowledged or given up (reliable); a closing circuit
// returns everything still queued.
func getBuf() *[]byte {
	if bufTracking {
		bufsOut.Add(1)
	}
	return bufPool.Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if bufTracking {
		bufsOut.Add(-1)
	}
	if cap(*b) >= readSize {
		*b = (*b)[:readSize]
		bufPool.Put(b)
	}
}

// Serve reads datagrams until the transport is closed; it returns nil
// after Close, or the socket's error.
func (t *Transport) Serve() error {
	for {
		bp := getBuf()
		b := (*bp)[:readSize]
		n, from, err := t.read(b)
		if err != nil {
			putBuf(bp)
			select {
			case <-t.closed:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("circuit: reading: %w", err)
		}
		if n > msg.MaxDatagram {
			putBuf(bp)
			t.oversized.Add(1)
			t.anomaly(from, fmt.Sprintf("datagram of %d bytes exceeds %d", n, msg.MaxDatagram))
			continue
		}
		t.mu.RLock()
		c := t.conns[from]
		t.mu.RUnlock()
		if c == nil {
			if t.cfg.Accept != nil {
				t.cfg.Accept(from, b[:n])
			} else {
				t.unaccepted.Add(1)
			}
			putBuf(bp)
			continue
		}
		*bp = b[:n]
		if !c.enqueue(bp) {
			putBuf(bp)
			t.queueFull.Add(1)
		}
	}
}

func (t *Transport) read(b []byte) (int, netip.AddrPort, error) {
	if t.udp != nil {
		n, ap, err := t.udp.ReadFromUDPAddrPort(b)
		return n, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), err
	}
	n, addr, err := t.pc.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	return n, addrPort(addr), nil
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// WriteTo sends one raw datagram, outside any circuit (the server acks a
// UseCircuitCode this way before the circuit exists).
func (t *Transport) WriteTo(b []byte, to netip.AddrPort) error {
	var err error
	if t.udp != nil {
		_, err = t.udp.WriteToUDPAddrPort(b, to)
	} else {
		_, err = t.pc.WriteTo(b, net.UDPAddrFromAddrPort(to))
	}
	if err != nil {
		return fmt.Errorf("circuit: writing to %s: %w", to, err)
	}
	return nil
}

// Open creates and starts a circuit to remote.
func (t *Transport) Open(remote netip.AddrPort, cfg Config) (*Conn, error) {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.closed:
		return nil, ErrClosed
	default:
	}
	if _, ok := t.conns[remote]; ok {
		return nil, fmt.Errorf("%w: %s", ErrExists, remote)
	}
	if t.cfg.MaxConns > 0 && len(t.conns) >= t.cfg.MaxConns {
		return nil, fmt.Errorf("%w (limit %d)", ErrTooManyCircuits, t.cfg.MaxConns)
	}
	c := newConn(t, remote, cfg)
	t.conns[remote] = c
	go c.run()
	return c, nil
}

// Lookup returns the circuit to addr, or nil.
func (t *Transport) Lookup(addr netip.AddrPort) *Conn {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.conns[addr]
}

// Conns returns the open circuits.
func (t *Transport) Conns() []*Conn {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Conn, 0, len(t.conns))
	for _, c := range t.conns {
		out = append(out, c)
	}
	return out
}

func (t *Transport) remove(c *Conn) {
	t.mu.Lock()
	if t.conns[c.remote] == c {
		delete(t.conns, c.remote)
	}
	t.mu.Unlock()
}

// Close closes every circuit and the socket.
func (t *Transport) Close() error {
	var err error
	t.closeOnce.Do(func() {
		close(t.closed)
		for _, c := range t.Conns() {
			c.Close("transport closed")
		}
		for _, c := range t.Conns() {
			<-c.Done()
		}
		err = t.pc.Close()
	})
	return err
}

func (t *Transport) anomaly(from netip.AddrPort, reason string) {
	if t.cfg.Recorder == nil {
		return
	}
	side := t.cfg.Side
	if side == 0 {
		side = trace.Server
	}
	trace.Emit(t.cfg.Recorder, &trace.Anomaly{
		Header: trace.Header{Side: side, Layer: trace.UDP, From: from.String(), To: t.pc.LocalAddr().String()},
		Kind:   trace.AnomalyDropped, Reason: reason, Remote: from.String(),
	})
}
