package store

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"ritual"
)

// A grid spread over several processes keeps, beside its records, which
// regions are running where and the circuits the login service hands to
// them. Backends offer this through GridStore; both store/sqlite and
// store/postgres do.

// GridStore is a Store that also keeps the running regions' hosts and the
// circuits handed to them.
type GridStore interface {
	Store
	Hosts() Hosts
	Circuits() Circuits
	Locations() Locations
	Presence() Presence
	// Secret returns the grid's secret: SecretSize random bytes made on the
	// first call and kept, the same for every process sharing the store.
	// Regions sign their calls to each other with it; it is never sent to
	// clients.
	Secret(ctx context.Context) ([]byte, error)
}

// SecretSize is the length of the grid's secret in bytes.
const SecretSize = 32

// AgentPresence is where an online agent is: the region holding it as a
// root agent (its avatar), for the session it logged in with.
type AgentPresence struct {
	Agent, Session, Region ritual.UUID
	Updated                time.Time // filled in by Set
}

// Presence keeps who is online where: a region sets an agent's presence
// when the agent arrives (login, teleport, crossing) and clears it when
// the agent leaves the grid.
type Presence interface {
	// Set records p, replacing the agent's earlier presence (Updated is set
	// to now and written back). ErrNotFound if the account or the region
	// does not exist; ErrInvalid for a zero session.
	Set(ctx context.Context, p *AgentPresence) error
	// Clear removes the agent's presence if it is still the one of this
	// session in this region (an arrival elsewhere since is kept), else
	// ErrNotFound.
	Clear(ctx context.Context, agent, session, region ritual.UUID) error
	// Get returns the agent's presence, or ErrNotFound (offline).
	Get(ctx context.Context, agent ritual.UUID) (AgentPresence, error)
	// List returns every presence, ordered by agent id.
	List(ctx context.Context) ([]AgentPresence, error)
	// ClearRegion removes every presence in the region (it stopped, or its
	// heartbeats did) and returns how many.
	ClearRegion(ctx context.Context, region ritual.UUID) (int, error)
}

// AgentLocation is where an agent was last placed by a login.
type AgentLocation struct {
	Agent, Region ritual.UUID
	Position      ritual.Vector3
	Updated       time.Time // filled in by Set
}

// Locations keeps each agent's last location, where a login with start
// "last" places it.
type Locations interface {
	// Set records l, replacing the agent's earlier location (Updated is
	// set to now and written back). ErrNotFound if the account or the
	// region does not exist; ErrInvalid for a non-finite position.
	Set(ctx context.Context, l *AgentLocation) error
	// Get returns the agent's last location, or ErrNotFound (none
	// recorded, or its region was deleted).
	Get(ctx context.Context, agent ritual.UUID) (AgentLocation, error)
}

// RegionHost records where a running region serves: one per region.
type RegionHost struct {
	Region ritual.UUID
	// Instance identifies one run of the region (fresh at every start), so
	// that a process that lost its record to another cannot remove or
	// refresh the newer one.
	Instance ritual.UUID
	// SimIP and SimPort are the region's UDP address as clients are told it.
	SimIP   netip.Addr
	SimPort uint16
	// HTTPBase is the base URL (http://host:port) of the region's
	// capabilities; at most MaxHTTPBase bytes.
	HTTPBase string
	// Started is when the region registered, Heartbeat its last sign of
	// life (both filled in by Register; Heartbeat by Heartbeat).
	Started, Heartbeat time.Time
}

// MaxHTTPBase bounds RegionHost.HTTPBase.
const MaxHTTPBase = 1024

// Hosts keeps the map of running regions.
type Hosts interface {
	// Register records h, replacing any earlier record of the region (a
	// restart); Started and Heartbeat are set to now and written back.
	// ErrNotFound if the region does not exist; ErrInvalid for a zero
	// instance, an invalid IP, port 0 or an empty or overlong HTTPBase.
	Register(ctx context.Context, h *RegionHost) error
	// Heartbeat sets the record's Heartbeat to now; ErrNotFound if the
	// region has no record of this instance (it was swept or replaced).
	Heartbeat(ctx context.Context, region, instance ritual.UUID) error
	// Unregister removes the region's record of this instance, or returns
	// ErrNotFound.
	Unregister(ctx context.Context, region, instance ritual.UUID) error
	// Get returns the region's record, or ErrNotFound.
	Get(ctx context.Context, region ritual.UUID) (RegionHost, error)
	// List returns every record, ordered by region id.
	List(ctx context.Context) ([]RegionHost, error)
	// Sweep removes the records whose last heartbeat is before the given
	// time, and returns the regions they were for.
	Sweep(ctx context.Context, before time.Time) ([]ritual.UUID, error)
}

// PendingCircuit is a circuit a login service hands to a region in
// another process: the region reads it, provisions it and writes its
// answer.
type PendingCircuit struct {
	Region                        ritual.UUID
	Code                          uint32 // non-zero
	Agent, Session, SecureSession ritual.UUID
	First, Last                   string
	Start                         string // as login.Circuit.Start
	ClientAddr                    string // the login's peer address, informational
	Expiry                        time.Time
	Created                       time.Time // filled in by Offer
	// Answer is empty until the region answers; its content is the
	// region's and the login service's business (at most MaxAnswer bytes).
	Answer string
}

// MaxAnswer bounds PendingCircuit.Answer.
const MaxAnswer = 64 << 10

// Circuits keeps the circuits handed from login services to regions.
type Circuits interface {
	// Offer records c (Answer must be empty; Created is set and written
	// back). ErrNotFound if the region does not exist; ErrExists if the
	// region already has a circuit with this code; ErrInvalid for code 0.
	Offer(ctx context.Context, c *PendingCircuit) error
	// Unanswered returns the region's circuits without an answer, oldest
	// first.
	Unanswered(ctx context.Context, region ritual.UUID) ([]PendingCircuit, error)
	// Answer records the region's answer (not empty); ErrNotFound if the
	// circuit is gone, ErrExists if it was answered already.
	Answer(ctx context.Context, region ritual.UUID, code uint32, answer string) error
	// Get returns one circuit, or ErrNotFound.
	Get(ctx context.Context, region ritual.UUID, code uint32) (PendingCircuit, error)
	// Remove deletes one circuit, or returns ErrNotFound.
	Remove(ctx context.Context, region ritual.UUID, code uint32) error
	// Expire deletes the circuits whose Expiry is before the given time
	// and returns how many.
	Expire(ctx context.Context, before time.Time) (int, error)
}

// Notifier is a store through which processes sharing it wake each other:
// a payload notified on a channel reaches every listener of that channel
// (store/postgres: LISTEN/NOTIFY; store/sqlite: listeners of the same
// Store only). Notifications are hints: a listener may miss one (when it
// reconnects) and must also look for itself now and then.
type Notifier interface {
	Notify(ctx context.Context, channel, payload string) error
	// Listen delivers the payloads notified on channel until ctx ends,
	// when the returned channel is closed. A slow reader loses payloads
	// rather than blocking the sender.
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// Validate checks a host record before it is written.
func (h *RegionHost) Validate() error {
	switch {
	case h.Instance.IsZero():
		return errorf("region host: zero instance")
	case !h.SimIP.IsValid():
		return errorf("region host: no sim IP")
	case h.SimPort == 0:
		return errorf("region host: sim port 0")
	case h.HTTPBase == "" || len(h.HTTPBase) > MaxHTTPBase:
		return errorf("region host: HTTP base of %d bytes (1..%d)", len(h.HTTPBase), MaxHTTPBase)
	}
	return nil
}

// Validate checks a pending circuit before it is offered.
func (c *PendingCircuit) Validate() error {
	switch {
	case c.Code == 0:
		return errorf("pending circuit: code 0")
	case c.Agent.IsZero() || c.Session.IsZero() || c.SecureSession.IsZero():
		return errorf("pending circuit %d: zero agent or session id", c.Code)
	case c.Answer != "":
		return errorf("pending circuit %d: offered with an answer", c.Code)
	case len(c.First)+len(c.Last)+len(c.Start)+len(c.ClientAddr) > 4096:
		return errorf("pending circuit %d: overlong text", c.Code)
	}
	return nil
}

// errorf returns an error wrapping ErrInvalid.
func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
