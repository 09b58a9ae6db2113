package simnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Link describes one direction between two endpoints.
type Link struct {
	Loss      float64       // probability a datagram is lost
	Duplicate float64       // probability a datagram is delivered twice
	Reorder   float64       // probability a datagram is held back by ReorderDelay
	Delay     time.Duration // added to every datagram
	Jitter    time.Duration // uniform extra delay in [0, Jitter)
	// ReorderDelay is how long a reordered datagram is held back (default
	// 3 × (Delay+Jitter), at least 5 ms).
	ReorderDelay time.Duration
}

// Stats counts what a network did to datagrams.
type Stats struct {
	Sent, Delivered, Lost, Duplicated, Reordered, Overflowed int
}

// Network joins endpoints.
type Network struct {
	mu      sync.Mutex
	rng     *rand.Rand
	nodes   map[netip.AddrPort]*Conn
	links   map[[2]netip.AddrPort]Link
	deflink Link
	stats   Stats
	tap     func(from, to netip.AddrPort, b []byte)
}

// QueueLimit bounds each endpoint's receive queue; datagrams past it are
// dropped, as a full socket buffer drops them.
const QueueLimit = 4096

// New returns a network whose randomness comes from seed.
func New(seed uint64) *Network {
	return &Network{
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		nodes: map[netip.AddrPort]*Conn{},
		links: map[[2]netip.AddrPort]Link{},
	}
}

// Listen creates an endpoint at addr ("127.0.0.1:9000"); port 0 picks a
// free port from 49152 up.
func (n *Network) Listen(addr string) (*Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("simnet: listen: %w", err)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	n.mu.Lock()
	defer n.mu.Unlock()
	if ap.Port() == 0 {
		for p := 49152; p <= 65535; p++ {
			try := netip.AddrPortFrom(ap.Addr(), uint16(p))
			if _, ok := n.nodes[try]; !ok {
				ap = try
				break
			}
		}
		if ap.Port() == 0 {
			return nil, errors.New("simnet: no free port on " + ap.Addr().String())
		}
	}
	if _, ok := n.nodes[ap]; ok {
		return nil, errors.New("simnet: address in use: " + addr)
	}
	c := &Conn{net: n, addr: ap, in: make(chan packet, QueueLimit), closed: make(chan struct{})}
	n.nodes[ap] = c
	return c, nil
}

// SetLink sets the behaviour of datagrams from one endpoint to another.
func (n *Network) SetLink(from, to string, l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.links[[2]netip.AddrPort{netip.MustParseAddrPort(from), netip.MustParseAddrPort(to)}] = l
}

// SetDefault sets the behaviour of every link without its own.
func (n *Network) SetDefault(l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deflink = l
}

// SetTap calls f (nil: nothing) with every datagram an endpoint sends,
// before the link decides its fate. f must not keep b and must not call
// back into the network.
func (n *Network) SetTap(f func(from, to netip.AddrPort, b []byte)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tap = f
}

// Stats returns the counts so far.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

type packet struct {
	b    []byte
	from netip.AddrPort
}

func (n *Network) send(from, to netip.AddrPort, b []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stats.Sent++
	if n.tap != nil {
		n.tap(from, to, b)
	}
	dst := n.nodes[to]
	if dst == nil {
		n.stats.Lost++
		return
	}
	l, ok := n.links[[2]netip.AddrPort{from, to}]
	if !ok {
		l = n.deflink
	}
	if l.Loss > 0 && n.rng.Float64() < l.Loss {
		n.stats.Lost++
		return
	}
	copies := 1
	if l.Duplicate > 0 && n.rng.Float64() < l.Duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	for range copies {
		d := l.Delay
		if l.Jitter > 0 {
			d += time.Duration(n.rng.Int64N(int64(l.Jitter)))
		}
		if l.Reorder > 0 && n.rng.Float64() < l.Reorder {
			rd := l.ReorderDelay
			if rd <= 0 {
				rd = max(3*(l.Delay+l.Jitter), 5*time.Millisecond)
			}
			d += rd
			n.stats.Reordered++
		}
		p := packet{b: append([]byte(nil), b...), from: from}
		if d <= 0 {
			n.deliverLocked(dst, p)
			continue
		}
		time.AfterFunc(d, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.deliverLocked(dst, p)
		})
	}
}

func (n *Network) deliverLocked(dst *Conn, p packet) {
	select {
	case <-dst.closed:
		n.stats.Lost++
		return
	default:
	}
	select {
	case dst.in <- p:
		n.stats.Delivered++
	default:
		n.stats.Overflowed++
	}
}

// Conn is one endpoint; it implements net.PacketConn.
type Conn struct {
	net    *Network
	addr   netip.AddrPort
	in     chan packet
	once   sync.Once
	closed chan struct{}

	mu       sync.Mutex
	deadline time.Time
}

// ReadFrom implements net.PacketConn.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !dl.IsZero() {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timeout = t.C
	}
	// A closed endpoint reads nothing more, whatever is still queued.
	select {
	case <-c.closed:
		return 0, nil, net.ErrClosed
	default:
	}
	select {
	case p := <-c.in:
		n := copy(b, p.b)
		return n, net.UDPAddrFromAddrPort(p.from), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-timeout:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

// WriteTo implements net.PacketConn.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errors.New("simnet: not a UDP address")
	}
	ap := ua.AddrPort()
	c.net.send(c.addr, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), b)
	return len(b), nil
}

// Close implements net.PacketConn.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.net.mu.Lock()
		delete(c.net.nodes, c.addr)
		c.net.mu.Unlock()
	})
	return nil
}

// LocalAddr implements net.PacketConn.
func (c *Conn) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(c.addr) }

// SetDeadline implements net.PacketConn (read deadline only).
func (c *Conn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline implements net.PacketConn; writes never block.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }
