package login

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/account"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
	"ritual/store"
	"ritual/trace"
)

// Defaults of Config fields left zero.
const (
	// DefaultMaxBody bounds a login request body. A viewer's request is
	// about 2.5 KB.
	DefaultMaxBody = 64 << 10
	// DefaultCircuitTTL is how long a provisioned circuit waits for the
	// client's UseCircuitCode.
	DefaultCircuitTTL = 60 * time.Second
	// DefaultMessage is the welcome text of a successful login.
	DefaultMessage = "Welcome to Ritual!"
	// DefaultMaxAgentGroups is the max-agent-groups member (what
	// OpenSimulator 0.9.2.2 sends).
	DefaultMaxAgentGroups = 42
)

// Config configures a Server. Accounts, Inventory and Region are required;
// the zero value of every other field works (see the defaults above).
type Config struct {
	// Accounts authenticates: ByName finds the account, whose
	// PasswordHash account.Verify checks against the request's passwd.
	Accounts store.Accounts
	// Inventory supplies the inventory-root and inventory-skeleton members.
	Inventory store.InventoryFolders
	// Region provisions the circuit before the login is answered.
	Region Region
	// Recorder receives the login probes; nil turns them off.
	Recorder trace.Recorder
	// Logger receives what is not told to the client (store and region
	// errors); nil means slog.Default().
	Logger *slog.Logger
	// MaxBody bounds the request body: larger bodies are answered 413.
	// Zero means DefaultMaxBody.
	MaxBody int64
	// CircuitTTL is how long a provisioned circuit stays valid for
	// UseCircuitCode (Circuit.Expiry). Zero means DefaultCircuitTTL.
	CircuitTTL time.Duration
	// Message is the welcome text (the message member). Empty means
	// DefaultMessage.
	Message string
	// MapServerURL, when set, is sent as map-server-url (an absolute URL).
	MapServerURL string
	// MaxAgentGroups is the max-agent-groups member; zero means
	// DefaultMaxAgentGroups.
	MaxAgentGroups int
	// PlainNames sends first_name and last_name bare. By default they are
	// wrapped in double quotes as Linden Lab's login service does; viewers
	// strip the quotes, but node-metaverse strips them from first_name
	// only.
	PlainNames bool
	// MaxConcurrentAuth bounds how many password verifications run at once
	// (each allocates the account's argon2 memory cost). Zero means
	// GOMAXPROCS.
	MaxConcurrentAuth int
	// AddressThrottle bounds the failed logins from one source address,
	// whatever the names; AccountAddressThrottle those for one account
	// name from one address; AccountThrottle those for one account name
	// from every address together (see Throttle). Zero values take
	// DefaultAddressThrottle, DefaultAccountAddressThrottle and
	// DefaultAccountThrottle. Only failures count: correct logins are
	// never slowed. A refused attempt gets reason "key" and a message
	// saying how long to wait.
	//
	// The account's own allowance refuses only addresses that have failed
	// for it lately (whose AccountAddressThrottle bucket is not full): an
	// attempt from any other address waits AccountDelay and is heard, so
	// that guessing from elsewhere cannot lock the account's owner out.
	AccountThrottle        Throttle
	AccountAddressThrottle Throttle
	AddressThrottle        Throttle
	// AccountDelay is how long an attempt on an account whose allowance is
	// spent waits before its password is checked, when its address has
	// not failed for the account. Zero means DefaultAccountDelay; negative
	// means no wait.
	AccountDelay time.Duration
	// ThrottleEntries bounds how many keys each throttle remembers (zero:
	// DefaultThrottleEntries).
	ThrottleEntries int
	// TrustedProxies are the reverse proxies in front of the service: a
	// request whose peer is in one of these prefixes is taken to come from
	// the address its X-Forwarded-For names, the rightmost that is not
	// itself a trusted proxy, for the throttles and Circuit.ClientAddr.
	// Anyone else's X-Forwarded-For is ignored (it could name any address).
	TrustedProxies []netip.Prefix
	// Now is the clock for seconds_since_epoch, Circuit.Expiry and the
	// throttles; nil means time.Now.
	Now func() time.Time
}

// populate checks c and fills in the defaults: the one place where a
// Config is validated.
func (c *Config) populate() error {
	switch {
	case c.Accounts == nil:
		return errors.New("login: Config.Accounts is nil")
	case c.Inventory == nil:
		return errors.New("login: Config.Inventory is nil")
	case c.Region == nil:
		return errors.New("login: Config.Region is nil")
	case c.MaxBody < 0:
		return fmt.Errorf("login: Config.MaxBody %d is negative", c.MaxBody)
	case c.CircuitTTL < 0:
		return fmt.Errorf("login: Config.CircuitTTL %v is negative", c.CircuitTTL)
	case c.MaxAgentGroups < 0 || c.MaxAgentGroups > 1<<20:
		return fmt.Errorf("login: Config.MaxAgentGroups %d is out of range", c.MaxAgentGroups)
	case c.MaxConcurrentAuth < 0:
		return fmt.Errorf("login: Config.MaxConcurrentAuth %d is negative", c.MaxConcurrentAuth)
	case c.ThrottleEntries < 0:
		return fmt.Errorf("login: Config.ThrottleEntries %d is negative", c.ThrottleEntries)
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			return errors.New("login: Config.TrustedProxies holds an invalid prefix")
		}
	}
	if c.MapServerURL != "" {
		if err := checkAbsoluteURL(c.MapServerURL); err != nil {
			return fmt.Errorf("login: Config.MapServerURL: %w", err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.CircuitTTL == 0 {
		c.CircuitTTL = DefaultCircuitTTL
	}
	if c.Message == "" {
		c.Message = DefaultMessage
	}
	if c.MaxAgentGroups == 0 {
		c.MaxAgentGroups = DefaultMaxAgentGroups
	}
	if c.MaxConcurrentAuth == 0 {
		c.MaxConcurrentAuth = runtime.GOMAXPROCS(0)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.AccountThrottle = c.AccountThrottle.fill(DefaultAccountThrottle)
	c.AccountAddressThrottle = c.AccountAddressThrottle.fill(DefaultAccountAddressThrottle)
	switch {
	case c.AccountDelay == 0:
		c.AccountDelay = DefaultAccountDelay
	case c.AccountDelay < 0:
		c.AccountDelay = 0
	}
	c.AddressThrottle = c.AddressThrottle.fill(DefaultAddressThrottle)
	if c.ThrottleEntries == 0 {
		c.ThrottleEntries = DefaultThrottleEntries
	}
	return nil
}

func checkAbsoluteURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Server is the login service: an http.Handler answering
// login_to_simulator on one URL in both forms, XML-RPC (a methodCall, the
// reply a methodResponse) and LLSD-XML (an <llsd><map> POSTed as
// application/llsd+xml, the reply an LLSD map). The form is told by the
// body's document element, then by the Content-Type. Its methods are safe
// for concurrent use.
//
// What a request gets:
//
//	success                     200, login "true" and the members of a session
//	bad name or password        200, login "false", reason "key" (one message for both)
//	too many failed attempts    200, login "false", reason "key", a message saying how long to wait
//	no first, last or passwd    200, login "false", reason "key"
//	region full (ErrRegionFull) 200, login "false", reason "presence"
//	Provision returned *Failure 200, login "false", that reason and message
//	other Provision errors      200, login "false", reason "connect"
//	store errors                200, login "false", reason "Internal Error" (details only logged)
//	XML-RPC not understood      200, an XML-RPC fault (malformed XML, wrong method, no struct)
//	LLSD not understood         400
//	not POST                    405
//	body over MaxBody           413
type Server struct {
	cfg      Config
	auth     chan struct{} // semaphore bounding password verifications
	throttle *throttles
	counts   counters
	checks   atomic.Uint64 // password verifications run
	refused  sources       // addresses refused since Server.RefusedAddresses

	// dummyHash is a stored-form hash of a random secret, verified
	// against when the name is unknown so that an unknown name costs as
	// much as a wrong password.
	dummyHash func() (string, error)
	// newIDs draws a circuit's code and session ids; tests replace it.
	newIDs func() (code uint32, session, secure ritual.UUID)
}

// NewServer returns a Server for cfg, or an error saying what in cfg is
// wrong.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.populate(); err != nil {
		return nil, err
	}
	return &Server{
		cfg:      cfg,
		auth:     make(chan struct{}, cfg.MaxConcurrentAuth),
		throttle: newThrottles(&cfg),
		dummyHash: sync.OnceValues(func() (string, error) {
			return account.Hash(ritual.NewUUID().String(), account.Params{})
		}),
		newIDs: newCircuitIDs,
	}, nil
}

// newCircuitIDs draws a circuit code (non-zero, fitting a signed int32) and
// the session and secure session ids from crypto/rand.
func newCircuitIDs() (uint32, ritual.UUID, ritual.UUID) {
	var b [4]byte
	code := uint32(0)
	for code == 0 {
		rand.Read(b[:]) // never fails (crypto/rand)
		code = binary.LittleEndian.Uint32(b[:]) & 0x7fffffff
	}
	return code, ritual.NewUUID(), ritual.NewUUID()
}

// ServeHTTP answers one login request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.refuseHTTP(w, r, http.StatusMethodNotAllowed, "a login is POSTed")
		return
	}
	if r.ContentLength > s.cfg.MaxBody {
		s.refuseHTTP(w, r, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.refuseHTTP(w, r, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		s.refuseHTTP(w, r, http.StatusBadRequest, "could not read the request body")
		return
	}

	format := requestFormat(r.Header.Get("Content-Type"), body)
	req, bad := decodeRequest(format, body)
	if bad != nil {
		s.answerUndecodable(w, r, format, bad)
		return
	}
	req.remote = r.RemoteAddr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		req.clientAddr = s.clientAddr(ap.Addr().Unmap(), r.Header)
	}
	if s.cfg.Recorder != nil {
		s.emit(&trace.LoginRequest{
			Header: s.header(trace.EndClient, trace.EndLogin),
			Format: format.String(), First: clip(req.first), Last: clip(req.last),
			Channel: clip(req.channel), Version: clip(req.version), Platform: clip(req.platform),
			Start: clip(req.start), Remote: req.remote,
		})
	}

	ctx := r.Context()
	ok, authed, err := s.login(ctx, req)
	s.counts.count(err)
	if err != nil && refusal(err) {
		s.refused.add(addressKey(req.clientAddr))
	}
	var rec record
	var fail *Failure
	if err != nil {
		fail = s.failure(ctx, req, err)
		if !authed && s.cfg.Recorder != nil {
			s.emit(&trace.LoginAuth{Header: s.header(trace.EndLogin, trace.EndLogin),
				First: clip(req.first), Last: clip(req.last), Reason: fail.Reason, Message: fail.Message})
		}
		rec = failureRecord(fail)
	} else {
		rec = s.successRecord(ok, format)
	}
	out, err := marshal(format, rec)
	if err != nil {
		// Only a bug can get here (every value above is encodable); the
		// circuit, if any, expires unused.
		fail = s.failure(ctx, req, fmt.Errorf("writing the reply: %w", err))
		rec = failureRecord(fail)
		if out, err = marshal(format, rec); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "login: the failure reply cannot be written", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}

	if s.cfg.Recorder != nil {
		s.recordResponse(ok, fail, time.Since(start))
	}
	writeBody(w, http.StatusOK, format.contentType(), out)
}

// recordResponse emits SEND Response for the reply about to be written.
func (s *Server) recordResponse(ok *success, fail *Failure, elapsed time.Duration) {
	ev := &trace.LoginResponse{Header: s.header(trace.EndLogin, trace.EndClient), Status: http.StatusOK, Elapsed: elapsed}
	if fail == nil {
		x, y := ok.dest.Handle.Meters()
		ev.OK, ev.Agent, ev.Session, ev.CircuitCode = true, ok.circuit.Agent, ok.circuit.Session.String(), ok.circuit.Code
		ev.SimIP, ev.SimPort, ev.RegionX, ev.RegionY = ok.dest.SimIP.String(), int(ok.dest.SimPort), int(x), int(y)
		ev.SeedCapability = ok.dest.SeedCapability
	} else {
		ev.Reason, ev.Message = fail.Reason, fail.Message
	}
	s.emit(ev)
}

// login authenticates req and provisions its circuit. authed reports
// whether the authentication verdict was reached (and told); err is turned
// into the failure reply by failure.
func (s *Server) login(ctx context.Context, req *loginRequest) (ok *success, authed bool, err error) {
	if req.first == "" || req.last == "" || req.passwd == "" {
		return nil, false, errMissing
	}
	// No account can have an impossible name: only the address pays for
	// it, such names are not worth remembering.
	valid := account.ValidateName(req.first, req.last) == nil
	var key string
	if valid {
		key = accountKey(req.first, req.last)
	}
	tk, err := s.throttle.admit(ctx, req.clientAddr, key, s.cfg.Now)
	if err != nil {
		return nil, false, err
	}
	v := verdictNone
	defer func() { tk.done(s.cfg.Now(), v) }()
	if tk.delay > 0 {
		t := time.NewTimer(tk.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		}
	}
	if !valid {
		v = verdictFailed
		return nil, false, errCredentials
	}
	acct, err := s.cfg.Accounts.ByName(ctx, req.first, req.last)
	if errors.Is(err, store.ErrNotFound) {
		// Pay for a verification anyway: an unknown name must not answer
		// faster than a wrong password.
		if dummy, herr := s.dummyHash(); herr == nil {
			s.verify(ctx, dummy, req.passwd) //nolint:errcheck // the verdict is "unknown name" whatever it says
		}
		v = verdictFailed
		return nil, false, errCredentials
	}
	if err != nil {
		return nil, false, fmt.Errorf("looking up account %q %q: %w", req.first, req.last, err)
	}
	match, err := s.verify(ctx, acct.PasswordHash, req.passwd)
	if err != nil {
		return nil, false, fmt.Errorf("verifying the password of account %s: %w", acct.ID, err)
	}
	if !match {
		v = verdictFailed
		return nil, false, errCredentials
	}
	v = verdictOK
	if s.cfg.Recorder != nil {
		s.emit(&trace.LoginAuth{Header: s.header(trace.EndLogin, trace.EndLogin),
			OK: true, Agent: acct.ID, First: acct.First, Last: acct.Last})
	}

	folders, err := s.cfg.Inventory.Skeleton(ctx, acct.ID)
	if err != nil {
		return nil, true, fmt.Errorf("reading the inventory skeleton of %s: %w", acct.ID, err)
	}
	root := rootFolder(folders)
	if root.IsZero() {
		return nil, true, fmt.Errorf("account %s has no root inventory folder", acct.ID)
	}

	now := s.cfg.Now()
	code, session, secure := s.newIDs()
	c := Circuit{
		Code: code, Agent: acct.ID, Session: session, SecureSession: secure,
		First: acct.First, Last: acct.Last, Start: normalizeStart(req.start),
		ClientAddr: req.clientAddr, Expiry: now.Add(s.cfg.CircuitTTL),
	}
	dest, err := s.cfg.Region.Provision(ctx, c)
	if err == nil {
		err = checkDestination(&dest)
	}
	if err != nil {
		s.emit(&trace.Anomaly{Header: s.header(trace.EndRegion, trace.EndLogin),
			Kind: trace.AnomalyReject, Message: "CIRCUIT PROVISION", Reason: err.Error(), Remote: req.remote})
		return nil, true, &provisionError{err}
	}
	if s.cfg.Recorder != nil {
		s.emit(&trace.CircuitProvision{Header: s.header(trace.EndLogin, trace.EndRegion),
			Code: c.Code, Agent: c.Agent, Session: c.Session.String(), Region: dest.RegionName, Expiry: c.Expiry})
	}
	return &success{acct: acct, folders: folders, root: root, circuit: c, dest: dest, now: now}, true, nil
}

// clientAddr is the address a request comes from: its peer's, or when the
// peer is a trusted proxy, the rightmost X-Forwarded-For address that is
// not one (an entry that is no address stops the walk at the proxy that
// added it).
func (s *Server) clientAddr(peer netip.Addr, h http.Header) netip.Addr {
	if !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// verify runs account.Verify, at most MaxConcurrentAuth at a time.
func (s *Server) verify(ctx context.Context, encoded, passwd string) (bool, error) {
	select {
	case s.auth <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.auth }()
	s.checks.Add(1)
	return account.Verify(encoded, passwd)
}

// rootFolder returns the id of the folder without a parent.
func rootFolder(folders []store.Folder) ritual.UUID {
	for _, f := range folders {
		if f.Parent.IsZero() {
			return f.ID
		}
	}
	return ritual.UUID{}
}

// checkDestination checks what a Region answered: clients cannot use a
// reply without these.
func checkDestination(d *Destination) error {
	d.SimIP = d.SimIP.Unmap()
	switch {
	case !d.SimIP.Is4():
		return fmt.Errorf("login: region gave sim address %v, want an IPv4 literal", d.SimIP)
	case d.SimPort == 0:
		return errors.New("login: region gave sim port 0")
	}
	if err := checkAbsoluteURL(d.SeedCapability); err != nil {
		return fmt.Errorf("login: region gave seed capability: %w", err)
	}
	x, y := d.Handle.Meters()
	if x > 1<<31-1 || y > 1<<31-1 {
		return fmt.Errorf("login: region location %v does not fit the reply's signed 32-bit metres", d.Handle)
	}
	return nil
}

// Errors of the login path, turned into failure replies by failure.
var (
	errMissing     = errors.New("login: request lacks first, last or passwd")
	errCredentials = errors.New("login: unknown name or wrong password")
)

// provisionError is an error of the Region.
type provisionError struct{ err error }

func (e *provisionError) Error() string { return "login: provisioning the circuit: " + e.err.Error() }
func (e *provisionError) Unwrap() error { return e.err }

// The messages of failure replies.
const (
	msgCredentials = "The name or password is not correct. Please check them and try again."
	msgMissing     = "The login request must give first, last and passwd."
	msgRegionFull  = "The region is full. Please try again later."
	msgConnect     = "The region could not be reached. Please try again in a moment."
	msgInternal    = "The grid could not complete the login. Please try again later."
)

// throttledMessage tells a throttled client what happened and when to try
// again, in whole seconds.
func throttledMessage(t *throttledError) string {
	secs := int((t.wait + time.Second - 1) / time.Second)
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	who := "for this account"
	if t.byAddress {
		who = "from your address"
	}
	return fmt.Sprintf("Too many failed logins %s. Please wait %d %s and try again.", who, secs, unit)
}

// failure maps an error of the login path to the reply the client gets:
// the one place where errors become reasons. Errors whose detail must not
// reach the client are logged here.
func (s *Server) failure(ctx context.Context, req *loginRequest, err error) *Failure {
	if f, ok := errors.AsType[*Failure](err); ok {
		out := *f
		if out.Reason == "" {
			out.Reason = ReasonConnect
		}
		if out.Message == "" {
			out.Message = msgConnect
		}
		return &out
	}
	switch {
	case errors.Is(err, errMissing):
		return &Failure{Reason: ReasonKey, Message: msgMissing}
	case errors.Is(err, errCredentials):
		return &Failure{Reason: ReasonKey, Message: msgCredentials}
	case errors.Is(err, ErrRegionFull):
		return &Failure{Reason: ReasonPresence, Message: msgRegionFull}
	}
	if t, ok := errors.AsType[*throttledError](err); ok {
		return &Failure{Reason: ReasonKey, Message: throttledMessage(t)}
	}
	if _, ok := errors.AsType[*provisionError](err); ok {
		s.cfg.Logger.WarnContext(ctx, "login: the region refused the circuit",
			"first", req.first, "last", req.last, "err", err)
		return &Failure{Reason: ReasonConnect, Message: msgConnect}
	}
	if ctx.Err() == nil {
		s.cfg.Logger.ErrorContext(ctx, "login failed", "first", req.first, "last", req.last, "err", err)
	}
	return &Failure{Reason: ReasonInternal, Message: msgInternal}
}

// answerUndecodable answers a body that is not a login request: an XML-RPC
// fault, or 400 for the LLSD form.
func (s *Server) answerUndecodable(w http.ResponseWriter, r *http.Request, format Format, bad *badRequest) {
	s.counts.malformed.Add(1)
	s.refused.addRemote(r.RemoteAddr)
	s.emit(&trace.Anomaly{Header: s.header(trace.EndClient, trace.EndLogin),
		Kind: trace.AnomalyDropped, Message: MethodName, Reason: bad.msg, Remote: r.RemoteAddr})
	if format == FormatLLSD {
		http.Error(w, "login: "+bad.msg, http.StatusBadRequest)
		return
	}
	writeBody(w, http.StatusOK, format.contentType(), xmlrpc.MarshalFault(&xmlrpc.Fault{Code: bad.fault, String: bad.msg}))
}

// refuseHTTP answers a request that could not be read as a login.
func (s *Server) refuseHTTP(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.counts.httpRefused.Add(1)
	s.refused.addRemote(r.RemoteAddr)
	s.emit(&trace.Anomaly{Header: s.header(trace.EndClient, trace.EndLogin),
		Kind: trace.AnomalyDropped, Message: MethodName, Reason: msg + " (HTTP " + strconv.Itoa(status) + ")",
		Remote: r.RemoteAddr})
	http.Error(w, msg, status)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client has gone; nothing to tell it
}

func (s *Server) header(from, to string) trace.Header {
	return trace.Header{Side: trace.Server, Layer: trace.Login, From: from, To: to}
}

func (s *Server) emit(ev trace.Event) { trace.Emit(s.cfg.Recorder, ev) }

// marshal writes rec as the reply document of format f.
func marshal(f Format, rec record) ([]byte, error) {
	if f == FormatLLSD {
		return llsd.MarshalXML(rec.llsd())
	}
	return xmlrpc.MarshalResponse(rec.xmlrpc())
}
