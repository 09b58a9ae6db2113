package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Listener is a net.Listener that holds at most Max connections from one
// remote address at a time.
type Listener struct {
	net.Listener
	max   int
	reply []byte
	// Exempt are the addresses never capped (reverse proxies that carry
	// many clients' connections); set it before the first Accept.
	Exempt []netip.Prefix

	mu   sync.Mutex
	open map[netip.Addr]int

	refused atomic.Uint64
}

// New wraps l so that it holds at most maxPerAddr connections from one
// remote address at a time; reply, when not empty, is written to each
// connection refused (an HTTP server's 503, say) before it is closed.
// maxPerAddr must be positive.
func New(l net.Listener, maxPerAddr int, reply []byte) *Listener {
	if maxPerAddr <= 0 {
		panic("connlimit: New with a cap that is not positive")
	}
	return &Listener{Listener: l, max: maxPerAddr, reply: reply, open: make(map[netip.Addr]int)}
}

// replyDeadline bounds the write of the reply to a refused connection: it
// goes into an empty socket buffer, so it never waits unless the peer is
// gone.
const replyDeadline = 50 * time.Millisecond

// Accept returns the next connection whose address holds fewer than the
// cap; those over it are refused here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := keyOf(c.RemoteAddr())
		if !ok || l.exempt(c.RemoteAddr()) {
			return c, nil // not an IP peer, or one never capped
		}
		l.mu.Lock()
		n := l.open[key]
		if n < l.max {
			l.open[key] = n + 1
		}
		l.mu.Unlock()
		if n < l.max {
			return &conn{Conn: c, l: l, key: key}, nil
		}
		l.refused.Add(1)
		if len(l.reply) > 0 {
			c.SetWriteDeadline(time.Now().Add(replyDeadline))
			c.Write(l.reply) //nolint:errcheck // best effort: the connection is being refused
		}
		c.Close()
	}
}

func (l *Listener) exempt(a net.Addr) bool {
	if len(l.Exempt) == 0 {
		return false
	}
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip := ta.AddrPort().Addr().Unmap()
	for _, p := range l.Exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Refused returns how many connections were refused for being over the
// cap.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

// Open returns how many connections are open from addr's key.
func (l *Listener) Open(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[key(addr)]
}

func (l *Listener) release(k netip.Addr) {
	l.mu.Lock()
	if n := l.open[k] - 1; n > 0 {
		l.open[k] = n
	} else {
		delete(l.open, k)
	}
	l.mu.Unlock()
}

// conn frees its place in the count once, when closed.
type conn struct {
	net.Conn
	l    *Listener
	key  netip.Addr
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// keyOf is the key a remote address counts against.
func keyOf(a net.Addr) (netip.Addr, bool) {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return netip.Addr{}, false
		}
	}
	if !ap.Addr().IsValid() {
		return netip.Addr{}, false
	}
	return key(ap.Addr()), true
}

// key is an IPv4 address, or the first address of the /64 an IPv6 one
// belongs to.
func key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}
