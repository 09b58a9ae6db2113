package login

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"ritual"
)

// Circuit is what the login service provisions with the region before it
// answers: the region accepts UseCircuitCode only for a provisioned,
// unexpired circuit whose ids match.
type Circuit struct {
	// Code is drawn from crypto/rand; it is never 0 and fits a signed
	// int32, because XML-RPC carries it as an i4.
	Code uint32
	// Agent is the account; Session and SecureSession are fresh random
	// UUIDs (ritual.NewUUID).
	Agent, Session, SecureSession ritual.UUID
	First, Last                   string
	// Start is "last", "home" or "uri:Region&x&y&z", as the client asked
	// (anything else the client sent reads as "last").
	Start string
	// ClientAddr is the HTTP peer of the login request; informational (a
	// client behind NAT reaches the region from another address).
	ClientAddr netip.Addr
	// Expiry is when the region stops accepting UseCircuitCode for this
	// circuit.
	Expiry time.Time
}

// Destination is the region's answer to a provisioned circuit: where the
// client goes next.
type Destination struct {
	RegionName string
	RegionID   ritual.UUID
	// SimIP is the region's UDP address as an IP literal (LibreMetaverse
	// refuses a host name here).
	SimIP   netip.Addr
	SimPort uint16
	// Handle is the region's south-west corner; the login reply's region_x
	// and region_y are its two halves in metres.
	Handle ritual.RegionHandle
	// SizeX, SizeY are the region's extent in metres (0 reads as 256).
	SizeX, SizeY uint32
	// SeedCapability is the absolute URL of the agent's seed capability,
	// live from the moment Provision returns.
	SeedCapability string
	// Position is where the agent will appear and LookAt the direction it
	// faces; both go into the reply's home and look_at members.
	Position ritual.Vector3
	LookAt   ritual.Vector3
}

// Region is the simulator side of a login: package sim implements it.
//
// Provision registers c and returns where the client goes. If the agent is
// already in the region (a second login), Provision ends the old circuit
// cleanly and provisions the new one: the login succeeds. An error refuses
// the login (see Server for how errors map to the failure reason); the
// context is the login request's.
type Region interface {
	Provision(ctx context.Context, c Circuit) (Destination, error)
}

// ErrRegionFull is what a Region's Provision wraps when it admits no more
// agents; the login fails with reason "presence".
var ErrRegionFull = errors.New("login: region full")

// Login failure reasons: the reply's reason member, a short key clients
// switch on.
const (
	// ReasonKey is bad credentials, and the generic refusal: unknown name,
	// wrong password, a request lacking first, last or passwd.
	ReasonKey = "key"
	// ReasonPresence is the agent cannot be let in now: the region is full.
	ReasonPresence = "presence"
	// ReasonConnect is the region could not be provisioned.
	ReasonConnect = "connect"
	// ReasonInternal is a fault of the grid (its storage), told without
	// detail.
	ReasonInternal = "Internal Error"
)

// Failure is a login the server refused: login "false" with a reason key
// and a message for the user. Login returns it as its error (use
// errors.As); a Region's Provision may return one (or wrap one) to refuse a
// login with its own reason and message.
type Failure struct {
	Reason  string
	Message string
}

// Error implements error.
func (f *Failure) Error() string {
	if f.Message == "" {
		return "login: refused (" + f.Reason + ")"
	}
	return "login: refused (" + f.Reason + "): " + f.Message
}

// Format is the wire form of a login exchange.
type Format uint8

// The two forms a login service speaks on one URL.
const (
	// FormatXMLRPC is the classic XML-RPC methodCall login_to_simulator
	// (node-metaverse, Firestorm-class viewers).
	FormatXMLRPC Format = iota
	// FormatLLSD is an LLSD-XML map POSTed as application/llsd+xml
	// (LibreMetaverse).
	FormatLLSD
)

// String returns "xmlrpc" or "llsd", the names trace events use.
func (f Format) String() string {
	switch f {
	case FormatXMLRPC:
		return "xmlrpc"
	case FormatLLSD:
		return "llsd"
	}
	return "unknown"
}

// contentType is the media type requests and replies of f travel as.
func (f Format) contentType() string {
	if f == FormatLLSD {
		return "application/llsd+xml"
	}
	return "text/xml"
}

// MethodName is the XML-RPC method of a login.
const MethodName = "login_to_simulator"
