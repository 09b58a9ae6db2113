package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"ritual/trace"
)

// Defaults.
const (
	DefaultListen         = "127.0.0.1:9010"
	DefaultStallAfter     = 30 * time.Second
	DefaultCircuitTimeout = 60 * time.Second
	DefaultEQHold         = 90 * time.Second
	// DefaultLogoutWait is how long a session waits for the LogoutReply
	// after the client's LogoutRequest (OpenSimulator often sends none).
	DefaultLogoutWait = 5 * time.Second
	// DefaultLinger keeps a finished session's relay sockets and
	// capabilities open a little longer, so the last acknowledgements and
	// a late reply still pass.
	DefaultLinger = 2 * time.Second
	// MaxLoginBody bounds a login request the relay reads.
	MaxLoginBody = 1 << 20
	// MaxReplyBody bounds the login reply, seed answer and event-queue
	// answer the relay reads to rewrite (other bodies are streamed).
	MaxReplyBody = 4 << 20
	// MaxRegions bounds the regions one session may be relayed to.
	MaxRegions = 64
	// MaxEvents bounds the events one session keeps for its story.
	MaxEvents = 1 << 16
	// StoryEvents is how many events a session keeps before it stops
	// keeping routine packets (AgentUpdate, PacketAck, pings, terse
	// updates, ...) for its story: they are counted instead, and a live
	// recorder (events.jsonl) still gets them. It bounds a long session's
	// memory to a few megabytes.
	StoryEvents = 8192
)

// Config configures a Proxy. The zero value of every field but Upstream
// works.
type Config struct {
	// Upstream is the real grid's login URI, e.g. http://127.0.0.1:9000/.
	Upstream string
	// Listen is the HTTP address clients use as their login URI's host
	// (default DefaultListen; "127.0.0.1:0" picks a port).
	Listen string
	// PublicHost is the IP literal written into rewritten replies
	// (sim_ip, capability URLs); default the listen host.
	PublicHost string
	// HTTPHost is the host written into capability URLs when it differs
	// from PublicHost (tests whose UDP runs on an in-memory network);
	// default PublicHost.
	HTTPHost string
	// ListenPacket opens one relay socket; nil means UDP on the listen
	// host, any port. Tests pass an in-memory network's.
	ListenPacket func() (net.PacketConn, error)
	// Transport carries requests to the upstream grid; nil means a fresh
	// http.Transport without proxy settings.
	Transport http.RoundTripper

	// StallAfter ends a session whose ritual has made no progress for
	// this long (default DefaultStallAfter).
	StallAfter time.Duration
	// CircuitTimeout ends a session when either side has sent nothing
	// for this long (default DefaultCircuitTimeout): the other side's
	// circuit times out then too.
	CircuitTimeout time.Duration
	// EQHold is how long an event-queue poll may be held without any
	// answer before the story calls it a fault (default DefaultEQHold;
	// OpenSimulator answers an idle poll with 502 after about 58 s).
	EQHold time.Duration
	// LogoutWait and Linger: see DefaultLogoutWait and DefaultLinger.
	LogoutWait time.Duration
	Linger     time.Duration

	// Recorder, when not nil, returns the recorder that receives a new
	// session's events as they happen (for example a JSON-lines file).
	Recorder func(*Session) trace.Recorder
	// Ended is called once per session when it ends, with the whole
	// story (the diagnosis included when the ritual stalled).
	Ended func(*Session, []trace.Event)

	Logger *slog.Logger
}

// populate validates c and fills in defaults.
func (c *Config) populate() (*url.URL, error) {
	if c.Upstream == "" {
		return nil, errors.New("proxy: no upstream login URI")
	}
	u, err := url.Parse(c.Upstream)
	if err != nil {
		return nil, fmt.Errorf("proxy: upstream %q: %w", c.Upstream, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("proxy: upstream %q is not an absolute http(s) URL", c.Upstream)
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return nil, fmt.Errorf("proxy: --listen %q: %w", c.Listen, err)
	}
	if c.PublicHost == "" {
		c.PublicHost = host
		if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
			c.PublicHost = "127.0.0.1"
		}
	}
	if a, err := netip.ParseAddr(c.PublicHost); err != nil || !a.Is4() {
		return nil, fmt.Errorf("proxy: public host %q is not an IPv4 literal (viewers read sim_ip as one)", c.PublicHost)
	}
	if c.HTTPHost == "" {
		c.HTTPHost = c.PublicHost
	}
	if c.ListenPacket == nil {
		c.ListenPacket = func() (net.PacketConn, error) { return net.ListenPacket("udp4", net.JoinHostPort(host, "0")) }
	}
	if c.Transport == nil {
		c.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	}
	if c.StallAfter <= 0 {
		c.StallAfter = DefaultStallAfter
	}
	if c.CircuitTimeout <= 0 {
		c.CircuitTimeout = DefaultCircuitTimeout
	}
	if c.EQHold <= 0 {
		c.EQHold = DefaultEQHold
	}
	if c.LogoutWait <= 0 {
		c.LogoutWait = DefaultLogoutWait
	}
	if c.Linger <= 0 {
		c.Linger = DefaultLinger
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return u, nil
}
