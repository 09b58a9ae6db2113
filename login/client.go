package login

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"ritual"
	"ritual/account"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
	"ritual/store"
	"ritual/trace"
)

// Client defaults.
const (
	// DefaultChannel is the channel member a Params without Channel sends.
	DefaultChannel = "Ritual"
	// DefaultVersion is the version member a Params without Version sends.
	DefaultVersion = "0.1.0"
	// MaxResponseBytes bounds the login reply a client reads.
	// OpenSimulator's reply for a fresh account is about 24 KB and grows
	// with the inventory folders it lists.
	MaxResponseBytes = 4 << 20
	// DefaultTimeout bounds a login whose Params has no HTTPClient (and
	// whose context has no earlier deadline), as node-metaverse does.
	DefaultTimeout = 60 * time.Second
)

// DefaultOptions are the options members a Params without Options asks
// for: the sections a client needs to connect and to fetch its inventory.
var DefaultOptions = []string{
	"inventory-root", "inventory-skeleton", "inventory-lib-root", "inventory-lib-owner",
	"inventory-skel-lib", "gestures", "event_categories", "event_notifications",
	"classified_categories", "buddy-list", "ui-config", "login-flags", "global-textures",
	"max-agent-groups", "map-server-url",
}

// Params describes a login to make.
type Params struct {
	// URI is the login service's URL (http or https).
	URI string
	// First and Last name the avatar.
	First, Last string
	// Password is the plain password, or the viewer form "$1$" + 32 hex
	// digits of its MD5, which is sent as it is. A plain password is
	// hashed whole (node-metaverse hashes only its first 16 characters).
	Password string
	// Format is the wire form; the zero value is FormatXMLRPC.
	Format Format
	// Channel, Version, Platform and PlatformVersion describe the client;
	// empty Channel and Version mean DefaultChannel and DefaultVersion,
	// empty Platform the running OS ("Lnx", "Mac" or "Win").
	Channel, Version, Platform, PlatformVersion string
	// Start is "last" (the default), "home" or "uri:Region&x&y&z".
	Start string
	// Options are the reply sections asked for; nil means DefaultOptions.
	Options []string
	// HTTPClient sends the request; nil means a client with
	// DefaultTimeout.
	HTTPClient *http.Client
	// Recorder receives the client's login probes; nil turns them off.
	Recorder trace.Recorder
}

// Folder is an inventory folder of the reply's inventory-skeleton.
type Folder struct {
	ID, Parent ritual.UUID
	Name       string
	// Type is type_default: store.FolderCurrentOutfit (46) for the
	// Current Outfit folder, store.FolderNone for an ordinary folder.
	Type    store.FolderType
	Version int32
}

// Response is a successful login reply, parsed.
type Response struct {
	// OK is always true for a Response Login returns (a refused login is
	// a *Failure error); Reason is normally empty.
	OK      bool
	Reason  string
	Message string

	Agent, Session, SecureSession ritual.UUID
	CircuitCode                   uint32
	// SimIP is the region's UDP address as sent (normally an IP literal;
	// see SimAddr) and SimPort its port.
	SimIP   string
	SimPort uint16
	// RegionX and RegionY are the region's south-west corner in metres.
	RegionX, RegionY uint32
	// SeedCapability is the seed capability's URL; empty when the grid
	// gave none (a fault of the grid, but not a malformed reply: viewers
	// go on without capabilities).
	SeedCapability string
	LookAt         ritual.Vector3
	// FirstName and LastName are the avatar's names as the grid knows
	// them, without the quotes some grids wrap them in.
	FirstName, LastName string

	InventoryRoot     ritual.UUID
	InventorySkeleton []Folder

	// Format is the form the reply came in.
	Format Format
	// Members holds every member of the reply as decoded: for
	// FormatXMLRPC, string, int32, int64, bool, float64, []byte,
	// time.Time, []any and xmlrpc.Struct values; for FormatLLSD, the
	// types of package llsd (map[string]any for nested maps).
	Members map[string]any
}

// RegionHandle returns the handle of the region the reply sends the client
// to.
func (r *Response) RegionHandle() ritual.RegionHandle {
	return ritual.HandleFromMeters(r.RegionX, r.RegionY)
}

// SimAddr returns the region's UDP address. SimIP must be an IP literal,
// as the protocol requires.
func (r *Response) SimAddr() (netip.AddrPort, error) {
	ip, err := netip.ParseAddr(r.SimIP)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: sim_ip %q is not an IP address", ErrBadResponse, r.SimIP)
	}
	return netip.AddrPortFrom(ip.Unmap(), r.SimPort), nil
}

// Errors of the client side. A login the server refused is a *Failure
// instead.
var (
	// ErrBadParams reports Params that cannot make a login.
	ErrBadParams = errors.New("login: bad login parameters")
	// ErrBadResponse reports a reply that is not a login reply, or lacks
	// what a client needs (agent_id, circuit_code, sim_ip, ...).
	ErrBadResponse = errors.New("login: malformed login reply")
	// ErrResponseTooLarge reports a reply over MaxResponseBytes.
	ErrResponseTooLarge = errors.New("login: login reply too large")
	// ErrRedirect reports a reply of login "indeterminate" (a redirect to
	// next_url), which this client does not follow.
	ErrRedirect = errors.New("login: the login service redirected the login")
)

// StatusError is an HTTP answer other than 200 OK.
type StatusError struct {
	StatusCode int
	Status     string // "400 Bad Request"
	// Body is the beginning of the answer's body, for the user to read.
	Body string
}

// Error implements error.
func (e *StatusError) Error() string {
	s := "login: the login service answered HTTP " + e.Status
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

var defaultHTTPClient = &http.Client{Timeout: DefaultTimeout}

// Login logs in: it sends login_to_simulator to p.URI in p.Format and
// returns the parsed reply. A refused login returns a *Failure (reason and
// message as the server gave them). Other errors are about the exchange:
// the transport's error (wrapped) when the service cannot be reached, a
// *StatusError for an HTTP answer other than 200, an *xmlrpc.Fault (wrapped)
// when the service answers with one, ErrBadResponse, ErrResponseTooLarge or
// ErrRedirect.
func Login(ctx context.Context, p Params) (*Response, error) {
	u, err := p.populate()
	if err != nil {
		return nil, err
	}
	body, err := p.requestBody()
	if err != nil {
		return nil, err
	}
	rec := p.Recorder
	if rec != nil {
		trace.Emit(rec, &trace.LoginStart{Header: clientHeader(trace.EndClient, trace.EndLogin),
			URI: u.Redacted(), First: p.First, Last: p.Last, Format: p.Format.String()})
	}
	start := time.Now()
	resp, status, err := p.exchange(ctx, u, body)
	if rec != nil {
		p.observe(resp, status, time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// observe emits the client's probes for the outcome of a login: the reply
// received (when there was an HTTP answer) and the stage reached.
func (p *Params) observe(resp *Response, status int, elapsed time.Duration, err error) {
	f, refused := errors.AsType[*Failure](err)
	if status != 0 {
		ev := &trace.LoginResponse{Header: clientHeader(trace.EndLogin, trace.EndClient), Status: status, Elapsed: elapsed}
		if resp != nil {
			ev.OK, ev.Reason, ev.Message = resp.OK, resp.Reason, resp.Message
			ev.Agent, ev.CircuitCode = resp.Agent, resp.CircuitCode
			if !resp.Session.IsZero() {
				ev.Session = resp.Session.String()
			}
			ev.SimIP, ev.SimPort, ev.RegionX, ev.RegionY = resp.SimIP, int(resp.SimPort), int(resp.RegionX), int(resp.RegionY)
			ev.SeedCapability = resp.SeedCapability
		}
		if refused {
			ev.OK, ev.Reason, ev.Message = false, f.Reason, f.Message
		}
		trace.Emit(p.Recorder, ev)
	}
	pr := &trace.LoginProgress{Header: clientHeader(trace.EndClient, trace.EndClient), Stage: "Failed"}
	switch {
	case err == nil:
		pr.Stage, pr.Detail = "ConnectingToSim", net.JoinHostPort(resp.SimIP, strconv.Itoa(int(resp.SimPort)))
	case refused:
		pr.Detail = f.Reason
	default:
		pr.Detail = err.Error()
	}
	trace.Emit(p.Recorder, pr)
}

func clientHeader(from, to string) trace.Header {
	return trace.Header{Side: trace.Client, Layer: trace.Login, From: from, To: to}
}

// populate checks p and fills in the defaults; it returns the parsed URI.
func (p *Params) populate() (*url.URL, error) {
	if p.URI == "" {
		return nil, fmt.Errorf("%w: no URI", ErrBadParams)
	}
	u, err := url.Parse(p.URI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: URI %q is not an http(s) URL", ErrBadParams, p.URI)
	}
	switch {
	case p.First == "" || p.Last == "":
		return nil, fmt.Errorf("%w: first and last name are required", ErrBadParams)
	case p.Password == "":
		return nil, fmt.Errorf("%w: no password", ErrBadParams)
	case p.Format != FormatXMLRPC && p.Format != FormatLLSD:
		return nil, fmt.Errorf("%w: unknown format %d", ErrBadParams, p.Format)
	}
	if p.Channel == "" {
		p.Channel = DefaultChannel
	}
	if p.Version == "" {
		p.Version = DefaultVersion
	}
	if p.Platform == "" {
		p.Platform = platform()
	}
	if p.Start == "" {
		p.Start = "last"
	}
	if p.Options == nil {
		p.Options = DefaultOptions
	}
	if p.HTTPClient == nil {
		p.HTTPClient = defaultHTTPClient
	}
	return u, nil
}

func platform() string {
	switch runtime.GOOS {
	case "darwin":
		return "Mac"
	case "windows":
		return "Win"
	}
	return "Lnx"
}

// requestBody returns the login request document.
func (p *Params) requestBody() ([]byte, error) {
	// A stable stand-in for the hardware ids grids ask for: it names the
	// avatar, not the machine.
	sum := md5.Sum([]byte("ritual\x00" + p.First + "\x00" + p.Last))
	hw := hex.EncodeToString(sum[:])
	r := record{
		{"first", p.First},
		{"last", p.Last},
		{"passwd", "$1$" + account.PasswordForm(p.Password)},
		{"start", p.Start},
		{"channel", p.Channel},
		{"version", p.Version},
		{"platform", p.Platform},
	}
	if p.PlatformVersion != "" {
		r = append(r, field{"platform_version", p.PlatformVersion})
	}
	r = append(r,
		field{"mac", hw},
		field{"id0", hw},
		field{"agree_to_tos", true},
		field{"read_critical", true},
		field{"last_exec_event", int32(0)},
	)
	opts := make([]any, len(p.Options))
	for i, o := range p.Options {
		opts[i] = o
	}
	r = append(r, field{"options", opts})
	var (
		out []byte
		err error
	)
	if p.Format == FormatLLSD {
		out, err = llsd.MarshalXML(r.llsd())
	} else {
		out, err = (&xmlrpc.Request{Method: MethodName, Params: []any{r.xmlrpc()}}).Marshal()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadParams, err)
	}
	return out, nil
}

// exchange POSTs the request and reads the reply. It returns the HTTP
// status (0 when there was no answer) and what could be parsed of the
// reply, also when err is not nil.
func (p *Params) exchange(ctx context.Context, u *url.URL, body []byte) (*Response, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrBadParams, err)
	}
	ct := p.Format.contentType()
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", ct)
	hr, err := p.HTTPClient.Do(req)
	if err != nil {
		// *url.Error already names the method and the (redacted) URL.
		return nil, 0, fmt.Errorf("login: %w", err)
	}
	defer hr.Body.Close()
	if hr.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(hr.Body, 256))
		return nil, hr.StatusCode, &StatusError{StatusCode: hr.StatusCode, Status: hr.Status, Body: printable(snippet)}
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, hr.StatusCode, fmt.Errorf("login: reading the reply from %s: %w", u.Redacted(), err)
	}
	if len(data) > MaxResponseBytes {
		return nil, hr.StatusCode, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, MaxResponseBytes)
	}
	resp, err := ParseResponse(hr.Header.Get("Content-Type"), data)
	return resp, hr.StatusCode, err
}

// printable returns b as one line of valid UTF-8 text.
func printable(b []byte) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
}

// ParseResponse reads a login reply of either form (told by its document
// element, then by contentType). A refused login is returned as a *Failure
// error; the Response then is nil. For a reply that says login "true" but
// lacks members a client needs, it returns what it read together with an
// error wrapping ErrBadResponse.
func ParseResponse(contentType string, data []byte) (*Response, error) {
	format := FormatXMLRPC
	switch rootElement(data) {
	case "methodResponse":
	case "llsd":
		format = FormatLLSD
	default:
		mt, _, _ := mime.ParseMediaType(contentType)
		if mt != "application/llsd+xml" {
			return nil, fmt.Errorf("%w: neither an XML-RPC methodResponse nor an LLSD document", ErrBadResponse)
		}
		format = FormatLLSD
	}
	var members map[string]any
	if format == FormatLLSD {
		v, err := llsd.UnmarshalXML(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: the LLSD reply is not a map", ErrBadResponse)
		}
		members = m
	} else {
		r, err := xmlrpc.ParseResponse(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
		}
		if r.Fault != nil {
			return nil, fmt.Errorf("login: the login service answered with a fault: %w", r.Fault)
		}
		var st xmlrpc.Struct
		if len(r.Params) > 0 {
			st, _ = r.Params[0].(xmlrpc.Struct)
		}
		if st == nil {
			return nil, fmt.Errorf("%w: the XML-RPC reply is not a struct", ErrBadResponse)
		}
		members = make(map[string]any, len(st))
		for _, m := range st {
			members[m.Name] = m.Value
		}
	}
	return interpret(format, members)
}
