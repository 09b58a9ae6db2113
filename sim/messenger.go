package sim

import (
	"context"
	"errors"

	"ritual"
	"ritual/store"
)

// ErrNotOnline is a message's recipient that is a root agent in no region
// of the grid.
var ErrNotOnline = errors.New("sim: recipient is not online")

// Messenger is what a Directory that knows who is online where adds: the
// region tells it when an agent becomes a root agent here and when one
// leaves the grid from here, and hands it the instant messages for agents
// that are not root agents here.
type Messenger interface {
	// Arrived records that the agent became a root agent (its avatar) in
	// region for session: a login, a teleport or a crossing arrival.
	// Left records that it left the grid from region: its circuit closed
	// while it was a root agent there. Neither waits for the store.
	Arrived(agent, session, region ritual.UUID)
	Left(agent, session, region ritual.UUID)
	// Relay hands m to its recipient, a root agent in another region of
	// the grid, live, and returns that region's name; ErrNotOnline when
	// the recipient is online nowhere. A message (Dialog IMFromAgent) is
	// delivered even if the recipient moves on meanwhile (it waits in the
	// store for its next arrival); a typing indicator is sent at most
	// once, or dropped.
	Relay(ctx context.Context, m *store.OfflineMessage) (region string, err error)
	// Kept is told of a message kept in the store for an agent Relay
	// found online nowhere: one that has just arrived somewhere (its
	// presence not yet written) takes it there.
	Kept(to ritual.UUID)
}

// mail is what reaches an agent's goroutine from elsewhere in the grid.
type mail struct {
	wake   chan struct{}              // messages wait in the store (capacity 1)
	typing chan *store.OfflineMessage // typing indicators (bounded; dropped when full)
}

// typingQueue bounds the typing indicators waiting for one agent.
const typingQueue = 8

func (r *Region) messenger() Messenger {
	m, _ := r.cfg.Directory.(Messenger)
	return m
}

// HoldsRoot reports whether the agent is a root agent (its avatar) in the
// region.
func (r *Region) HoldsRoot(agent ritual.UUID) bool {
	a := r.online(agent)
	return a != nil && a.rootNow()
}

// rootNow is isRoot for other goroutines.
func (a *agent) rootNow() bool {
	return a.root.Load() && !a.crossed.Load() && !a.kicked.Load() && !a.loggingOut.Load()
}

// Wake tells the agent, if it is in the region, that messages wait for it
// in the store: a root agent takes them and receives them live; a child
// leaves them for its next arrival. It reports whether the agent has a
// circuit here.
func (r *Region) Wake(agent ritual.UUID) bool {
	a := r.online(agent)
	if a == nil {
		return false
	}
	select {
	case a.mail.wake <- struct{}{}:
	default: // a wake is pending already
	}
	return true
}

// Forward gives the agent, if it is a root agent here when its goroutine
// gets to it, a typing indicator (m.Dialog IMStartTyping or IMStopTyping)
// sent from another region. It reports whether the agent has a circuit
// here and took it.
func (r *Region) Forward(m *store.OfflineMessage) bool {
	if m.Dialog != IMStartTyping && m.Dialog != IMStopTyping {
		return false
	}
	a := r.online(m.To)
	if a == nil {
		return false
	}
	select {
	case a.mail.typing <- m:
		return true
	default:
		return false
	}
}

// isRoot reports, on the agent's goroutine, whether it is a root agent
// here that takes messages: one logging out or being disconnected no
// longer does (what is relayed to it waits for its next login).
func (a *agent) isRoot() bool {
	return a.joined && !a.away && !a.crossed.Load() && !a.loggedOut && !a.kicked.Load()
}

// RootAgent is an agent whose avatar is in the region, and the session it
// logged in with.
type RootAgent struct{ Agent, Session ritual.UUID }

// RootAgents lists the agents whose avatars are in the region.
func (r *Region) RootAgents() []RootAgent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []RootAgent
	for id, a := range r.agents {
		if a.rootNow() {
			out = append(out, RootAgent{Agent: id, Session: a.c.Session})
		}
	}
	return out
}

// leftGrid tells the Messenger that the agent, a root agent here, leaves
// the grid (it logs out, or its circuit closed). Called on the agent's
// goroutine, or once it has ended.
func (a *agent) leftGrid() {
	if m := a.r.messenger(); m != nil && a.joined && !a.away && !a.crossed.Load() {
		m.Left(a.c.Agent, a.c.Session, a.r.info.ID)
	}
}
