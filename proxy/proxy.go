package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"ritual/login"
	"ritual/trace"
)

// CapPrefix begins the path of every capability URL the proxy hands out:
// CapPrefix, 32 hex digits from crypto/rand, and whatever followed the
// upstream URL.
const CapPrefix = "/ritual-proxy/"

// Proxy is a running relay between clients and one upstream grid.
type Proxy struct {
	cfg      Config
	upstream *url.URL
	ln       net.Listener
	srv      *http.Server
	base     string // http://PublicHost:port
	pass     *httputil.ReverseProxy
	hc       *http.Client

	mu       sync.Mutex
	sessions map[*Session]struct{}
	caps     map[string]*capEntry
	closed   bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// capEntry is one capability URL handed out: whose it is and where it
// leads.
type capEntry struct {
	s    *Session
	name string // "seed", "EventQueueGet", "SimulatorFeatures", ...
	url  string // the upstream URL
}

// Start listens on cfg.Listen and serves until Close.
func Start(cfg Config) (*Proxy, error) {
	u, err := cfg.populate()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("proxy: listening: %w", err)
	}
	p := New(cfg, u)
	p.ln = ln
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p.base = "http://" + net.JoinHostPort(cfg.HTTPHost, port)
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// New returns a proxy for a populated config without listening; Start is
// the usual entry point.
func New(cfg Config, upstream *url.URL) *Proxy {
	p := &Proxy{
		cfg: cfg, upstream: upstream,
		hc:       &http.Client{Transport: cfg.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		sessions: map[*Session]struct{}{},
		caps:     map[string]*capEntry{},
		stop:     make(chan struct{}),
	}
	p.pass = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = upstream.Scheme
			r.Out.URL.Host = upstream.Host
			r.Out.Host = ""
		},
		Transport: cfg.Transport,
		ErrorLog:  nil,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "ritual proxy: the upstream grid could not be reached: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.wg.Add(1)
	go p.watch()
	return p
}

// LoginURI is the URI clients log in with.
func (p *Proxy) LoginURI() string {
	return p.base + p.upstream.EscapedPath()
}

// Addr is the HTTP listener's address.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Close ends every open session's story (reason "shutdown") and stops
// serving.
func (p *Proxy) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	open := make([]*Session, 0, len(p.sessions))
	for s := range p.sessions {
		open = append(open, s)
	}
	p.mu.Unlock()
	for _, s := range open {
		s.end(endShutdown, time.Now())
	}
	for _, s := range open {
		s.closeNow()
	}
	close(p.stop)
	var err error
	if p.srv != nil {
		err = p.srv.Shutdown(ctx)
		if err != nil {
			_ = p.srv.Close()
		}
	}
	p.wg.Wait()
	if t, ok := p.cfg.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}

// Sessions returns the number of open sessions.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

// newToken returns 128 bits from crypto/rand in hex.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// registerCap hands out a proxy URL for an upstream capability URL.
func (p *Proxy) registerCap(s *Session, name, upstream string) string {
	tok := newToken()
	p.mu.Lock()
	p.caps[tok] = &capEntry{s: s, name: name, url: upstream}
	p.mu.Unlock()
	s.mu.Lock()
	s.tokens = append(s.tokens, tok)
	s.mu.Unlock()
	u := p.base + CapPrefix + tok
	if strings.HasSuffix(upstream, "/") {
		u += "/"
	}
	return u
}

// ServeHTTP routes capability URLs to their relay, logins to the login
// relay and everything else to the upstream grid unchanged.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, CapPrefix); ok {
		p.serveCap(w, r, rest)
		return
	}
	if r.Method == http.MethodPost {
		p.serveLogin(w, r)
		return
	}
	p.pass.ServeHTTP(w, r)
}

// hopHeaders are not forwarded (RFC 9110 section 7.6.1).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
	for _, h := range hopHeaders {
		dst.Del(h)
	}
}

// readBounded reads at most limit bytes of r; more is ErrTooLarge.
var errTooLarge = errors.New("proxy: body too large")

func readBounded(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return b, errTooLarge
	}
	return b, nil
}

// forward sends a request with body to target and returns the answer with
// its body read (bounded).
func (p *Proxy) forward(r *http.Request, target string, body []byte) (*http.Response, []byte, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	copyHeader(out.Header, r.Header)
	out.ContentLength = int64(len(body))
	resp, err := p.hc.Do(out)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := readBounded(resp.Body, MaxReplyBody)
	return resp, data, err
}

// answer writes an upstream answer (with a possibly rewritten body) to the
// client.
func answer(w http.ResponseWriter, resp *http.Response, body []byte) {
	copyHeader(w.Header(), resp.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// serveLogin relays a POST: a login is observed and its reply rewritten;
// any other POST is forwarded unchanged.
func (p *Proxy) serveLogin(w http.ResponseWriter, r *http.Request) {
	body, err := readBounded(r.Body, MaxLoginBody)
	if err != nil && !errors.Is(err, errTooLarge) {
		http.Error(w, "ritual proxy: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	sum, isLogin := login.ParseRequest(r.Header.Get("Content-Type"), body)
	if err != nil || !isLogin {
		// Not a login (or too large to be one): pass it on untouched,
		// the part read first.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		p.pass.ServeHTTP(w, r)
		return
	}
	s := p.newSession(sum)
	if s == nil {
		http.Error(w, "ritual proxy: shutting down", http.StatusServiceUnavailable)
		return
	}
	now := time.Now()
	upstreamURI := p.upstream.String()
	s.record(&trace.LoginStart{Header: hdr(now, trace.Client, trace.Login, trace.EndClient, trace.EndLogin),
		URI: upstreamURI, First: sum.First, Last: sum.Last, Format: sum.Format.String()})
	s.record(&trace.LoginRequest{Header: hdr(now, trace.Server, trace.Login, trace.EndClient, trace.EndLogin),
		Format: sum.Format.String(), First: sum.First, Last: sum.Last, Channel: sum.Channel, Version: sum.Version,
		Platform: sum.Platform, Start: sum.Start, Remote: r.RemoteAddr})

	target := *p.upstream
	target.Path, target.RawPath, target.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	resp, data, err := p.forward(r, target.String(), body)
	elapsed := time.Since(now)
	if err != nil {
		status := http.StatusBadGateway
		msg := "the login service could not be reached: " + err.Error()
		if errors.Is(err, errTooLarge) {
			msg = fmt.Sprintf("the login reply is larger than %d bytes", MaxReplyBody)
		}
		if r.Context().Err() != nil {
			msg = "the client gave up waiting for the login service"
			status = 0
		}
		detail := err.Error()
		if errors.Is(err, errTooLarge) {
			detail = ""
		}
		s.loginFailed(&trace.LoginResponse{Header: hdr(time.Now(), trace.Server, trace.Login, trace.EndLogin, trace.EndClient),
			Status: status, Message: msg, Elapsed: elapsed}, "login failed", detail)
		if status != 0 {
			http.Error(w, "ritual proxy: "+msg, status)
		}
		return
	}
	ct := resp.Header.Get("Content-Type")
	lr := &trace.LoginResponse{Header: hdr(time.Now(), trace.Server, trace.Login, trace.EndLogin, trace.EndClient),
		Status: resp.StatusCode, Elapsed: elapsed}
	if resp.StatusCode != http.StatusOK {
		lr.Message = "HTTP " + resp.Status
		s.loginFailed(lr, "login failed", "")
		answer(w, resp, data)
		return
	}
	parsed, perr := login.ParseResponse(ct, data)
	var fail *login.Failure
	switch {
	case errors.As(perr, &fail):
		lr.Reason, lr.Message = fail.Reason, fail.Message
		s.loginFailed(lr, "login refused", "")
		answer(w, resp, data)
		return
	case parsed == nil:
		lr.Message = perr.Error()
		s.loginFailed(lr, "login reply unreadable", "")
		answer(w, resp, data)
		return
	}
	lr.OK = true
	lr.Agent, lr.Session, lr.CircuitCode = parsed.Agent, parsed.Session.String(), parsed.CircuitCode
	lr.SimIP, lr.SimPort, lr.RegionX, lr.RegionY = parsed.SimIP, int(parsed.SimPort), int(parsed.RegionX), int(parsed.RegionY)
	lr.SeedCapability = parsed.SeedCapability
	if perr != nil {
		lr.Message = perr.Error()
	}
	s.record(lr)
	s.loginSucceeded(parsed.SimIP, parsed.SimPort, parsed.SeedCapability)
	out, err := p.rewriteLogin(s, ct, data, parsed)
	if err != nil {
		s.record(&trace.Anomaly{Header: hdr(time.Now(), trace.Server, trace.Login, trace.EndLogin, trace.EndClient),
			Kind: trace.AnomalyReject, Message: "login reply", Reason: "not relayed: " + err.Error()})
		out = data
	}
	answer(w, resp, out)
}

// rewriteLogin opens the relay for the reply's region and rewrites the
// reply to point at it and at a proxy seed capability.
func (p *Proxy) rewriteLogin(s *Session, ct string, data []byte, r *login.Response) ([]byte, error) {
	region, err := r.SimAddr()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.code, s.agent, s.sessionID = r.CircuitCode, r.Agent, r.Session
	s.loginSim = region
	s.mu.Unlock()
	rl, err := s.relayFor(region)
	if err != nil {
		return nil, err
	}
	seed := ""
	if strings.TrimSpace(r.SeedCapability) != "" && isHTTPURL(strings.TrimSpace(r.SeedCapability)) {
		seed = p.registerCap(s, "seed", strings.TrimSpace(r.SeedCapability))
	}
	out, err := rewriteLoginReply(ct, data, loginEdits{Sim: rl.public, Seed: seed})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	s.record(&trace.Rewrite{Header: hdr(now, trace.Server, trace.Login, trace.EndProxy, trace.EndClient),
		In: "login reply", Field: "sim_ip:sim_port", Original: region.String(), Relayed: rl.public.String()})
	if seed != "" {
		s.record(&trace.Rewrite{Header: hdr(now, trace.Server, trace.Login, trace.EndProxy, trace.EndClient),
			In: "login reply", Field: "seed_capability", Original: r.SeedCapability, Relayed: seed, Secret: true})
	}
	return out, nil
}

func hdr(t time.Time, side trace.Side, layer trace.Layer, from, to string) trace.Header {
	return trace.Header{Time: t, Side: side, Layer: layer, From: from, To: to}
}

// lookupCap returns the capability behind a token.
func (p *Proxy) lookupCap(tok string) *capEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.caps[tok]
}

// upstreamCapURL joins a capability's upstream URL with what the client
// added after the proxy URL (a sub-path and a query).
func upstreamCapURL(base, rest, rawQuery string) string {
	u := base
	if rest != "" {
		u = strings.TrimSuffix(base, "/") + rest
	}
	if rawQuery != "" {
		if strings.Contains(u, "?") {
			u += "&" + rawQuery
		} else {
			u += "?" + rawQuery
		}
	}
	return u
}

// addrPort returns a's address as a netip.AddrPort, unmapped.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
