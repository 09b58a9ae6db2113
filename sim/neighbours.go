package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/login"
	"ritual/sim/motion"
	"ritual/trace"
)

// Neighbourhood is what a Directory that knows the grid's layout adds:
// the regions next to a region (the eight grid cells around it), each
// taking an arriving agent as a child.
type Neighbourhood interface {
	// AdmitNeighbours provisions the agent's circuit (its code and session
	// are the login's) as a child at every region next to h, and returns
	// where each one is. A neighbour that cannot take the agent is left
	// out (and logged by the implementation).
	AdmitNeighbours(ctx context.Context, h ritual.RegionHandle, c login.Circuit) []login.Destination
	// AdmitCrossing hands an agent walking across a border to the region
	// with handle h: it arrives at pos (h's coordinates) keeping vel and
	// rot. An unknown handle is ErrNoSuchRegion.
	AdmitCrossing(ctx context.Context, h ritual.RegionHandle, c login.Circuit, pos, vel ritual.Vector3, rot ritual.Quaternion) (login.Destination, error)
}

// crossingMotion is what an avatar crossing a border keeps.
type crossingMotion struct {
	velocity ritual.Vector3
	rotation ritual.Quaternion
}

// AdmitCrossing takes an agent walking in from a neighbour, as Admit takes
// a teleporting one, keeping its velocity and rotation.
func (r *Region) AdmitCrossing(ctx context.Context, c login.Circuit, pos, vel ritual.Vector3, rot ritual.Quaternion) (login.Destination, error) {
	d, err := r.Admit(ctx, c, pos, ritual.Vector3{X: 1})
	if err != nil {
		return d, err
	}
	r.mu.Lock()
	a := r.agents[c.Agent]
	r.mu.Unlock()
	if a != nil {
		a.carried.Store(&crossingMotion{velocity: vel, rotation: rot})
	}
	return d, nil
}

// cross hands an avatar that walked past an open edge (pos is outside the
// region) to the neighbour beyond: the neighbour makes the agent a root
// agent at the translated position with its velocity kept, this region
// sends CrossedRegion on the event queue and keeps the agent as a child.
// When the neighbour cannot take it the avatar stays, at the edge.
func (a *agent) cross(pos, vel ritual.Vector3, rot ritual.Quaternion) {
	start := time.Now()
	mx, my := a.r.handle.Meters()
	gx := int64(mx) + int64(math.Floor(float64(pos.X)))
	gy := int64(my) + int64(math.Floor(float64(pos.Y)))
	nb, ok := a.r.cfg.Directory.(Neighbourhood)
	if !ok || gx < 0 || gy < 0 {
		a.stayAtEdge(pos)
		return
	}
	h := ritual.HandleFromGrid(uint32(gx/ritual.RegionSize), uint32(gy/ritual.RegionSize))
	ox, oy := a.r.offset(h)
	to := ritual.Vector3{X: pos.X - ox, Y: pos.Y - oy, Z: pos.Z}
	ctx, cancel := context.WithTimeout(WithOrigin(context.Background(), a.r.handle), teleportWait)
	defer cancel()
	c := a.c
	c.Expiry = time.Now().Add(a.r.cfg.CircuitTTL)
	d, err := nb.AdmitCrossing(ctx, h, c, to, vel, rot)
	if err != nil {
		a.r.cfg.Logger.Debug("sim: a crossing was refused", "agent", a.c.Agent, "err", err)
		// The edge towards that neighbour closes (it opens again when a
		// neighbour takes an arriving agent as a child): the avatar is
		// not sent at it again and again.
		a.r.world.open.And(^uint32(a.edgeTowards(h)))
		gx, gy := h.Grid()
		reason := fmt.Sprintf("The region at %d,%d cannot take you: %v. You stay at the edge of %s.", gx, gy, err, a.r.info.Name)
		if errors.Is(err, ErrNoSuchRegion) {
			reason = fmt.Sprintf("There is no region at %d,%d to cross into. You stay at the edge of %s.", gx, gy, a.r.info.Name)
		}
		a.stayAtEdge(pos)
		a.alert(reason)
		a.teleportEvent(trace.CrossFailed, h, 0, reason, nil, start)
		return
	}
	ip := d.SimIP.Unmap().As4()
	ev := caps.Event{Message: "CrossedRegion", Body: map[string]any{
		"AgentData": []any{map[string]any{"AgentID": a.c.Agent, "SessionID": a.c.Session}},
		"Info":      []any{map[string]any{"Position": d.Position, "LookAt": ritual.Vector3{X: 1}}},
		"RegionData": []any{map[string]any{
			"RegionHandle":   binary.BigEndian.AppendUint64(nil, uint64(d.Handle)),
			"SeedCapability": d.SeedCapability,
			"SimIP":          ip[:],
			"SimPort":        int(d.SimPort),
			"RegionSizeX":    be32(d.SizeX),
			"RegionSizeY":    be32(d.SizeY),
		}},
	}}
	a.departures.Add(1) // before the event: neighbours are no longer told
	if err := a.r.cfg.Caps.EnqueueRegion(a.c.Agent, a.r.info.ID, ev); err != nil {
		a.r.cfg.Logger.Warn("sim: the event queue could not take CrossedRegion", "agent", a.c.Agent, "err", err)
		a.stayAtEdge(pos)
		return
	}
	a.crossed.Store(true)
	// The avatar stays in this world, held at the edge, until the
	// neighbour confirms the arrival (or is put back, see depart).
	a.depart(&departure{kind: trace.CrossStart, to: d.Handle, name: d.RegionName, edge: pos, start: start})
	a.teleportEvent(trace.CrossStart, d.Handle, 0, d.RegionName, &d.Position, start)
}

// edgeTowards is the edge of this region (motion.Open*) facing the region
// with handle h, or 0 when h is not beside it.
func (a *agent) edgeTowards(h ritual.RegionHandle) uint8 {
	rx, ry := a.r.handle.Grid()
	switch dx, dy := h.Grid(); {
	case dy == ry && dx == rx+1:
		return motion.OpenEast
	case dy == ry && dx+1 == rx:
		return motion.OpenWest
	case dx == rx && dy == ry+1:
		return motion.OpenNorth
	case dx == rx && dy+1 == ry:
		return motion.OpenSouth
	}
	return 0
}

// stayAtEdge puts back at the region's edge an avatar whose crossing did
// not happen.
func (a *agent) stayAtEdge(pos ritual.Vector3) {
	// The sizes only: the frame loop writes bounds.Open.
	sx, sy := a.r.world.bounds.SizeX, a.r.world.bounds.SizeY
	pos.X = min(max(pos.X, motion.EdgeMargin), sx-motion.EdgeMargin)
	pos.Y = min(max(pos.Y, motion.EdgeMargin), sy-motion.EdgeMargin)
	a.r.world.place(a.av, pos)
	a.av.crossing.Store(false)
}

// ErrArriving is AdmitChild's refusal of an agent that is arriving in the
// region (a teleport or crossing under way).
var ErrArriving = errors.New("sim: the agent is arriving in this region, not a neighbour's child")

// ErrOtherSession refuses a child agent of a session that is over: the
// agent is in this region as the root agent of another (a later login).
var ErrOtherSession = errors.New("sim: the agent is here in another session")

// AdmitChild provisions the circuit of an agent present in a neighbouring
// region: its circuit opens here (handshake, terrain, objects) but its
// avatar stays out of this region's world. Its capabilities are a child
// grant (caps.Router.GrantChild) that leaves the agent's root grant alone.
func (r *Region) AdmitChild(ctx context.Context, c login.Circuit) (login.Destination, error) {
	if c.Code == 0 {
		return login.Destination{}, errCodeZero
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return login.Destination{}, ErrClosing
	}
	// An agent teleporting or crossing in is no neighbour's child: a
	// neighbour that learnt of it late (its arrival there raced the
	// departure) would give the client a child's seed for the region the
	// agent is arriving in.
	if a := r.agents[c.Agent]; a != nil && a.conn.Err() == nil && a.arriving.Load() != nil {
		r.mu.Unlock()
		return login.Destination{}, ErrArriving
	}
	// Nor is an agent logging in here: a neighbour telling of an earlier
	// session late (it logged out while its neighbours were being told)
	// would take the login's circuit away.
	for _, p := range r.pending {
		if p.Agent == c.Agent && !p.child && time.Now().Before(p.Expiry) {
			r.mu.Unlock()
			return login.Destination{}, ErrArriving
		}
	}
	a := r.agents[c.Agent]
	switch {
	case a != nil && a.conn.Err() == nil && a.c.Session == c.Session:
		// Here already (it left this region, or was told of it before):
		// its circuit serves.
	case a != nil && a.conn.Err() == nil && a.root.Load():
		// A root agent of another session: this one is over.
		r.mu.Unlock()
		return login.Destination{}, ErrOtherSession
	default:
		// A new child, or one of a session that ended while its circuit
		// here lives on: that one is ended when the new circuit opens.
		if err := r.reserveLocked(&pendingCircuit{Circuit: c, child: true}); err != nil {
			r.mu.Unlock()
			return login.Destination{}, err
		}
	}
	r.mu.Unlock()
	seed, err := r.cfg.Caps.GrantChild(caps.Agent{
		ID: c.Agent, Session: c.Session, First: c.First, Last: c.Last,
		RegionID: r.info.ID, RegionName: r.info.Name,
	})
	if err != nil {
		r.unreserve(c, func(p *pendingCircuit) bool { return p.child })
		return login.Destination{}, fmt.Errorf("sim: granting a child's capabilities: %w", err)
	}
	return r.destination(seed, ritual.Vector3{}, ritual.Vector3{}), nil
}

// enableNeighbours tells the client of each neighbouring region, as
// OpenSimulator does on the event queue: EnableSimulator (the region's
// handle, address and size), then EstablishAgentCommunication with the
// neighbour's seed capability. It runs on its own goroutine: the agent's
// messages keep flowing while the neighbours provision the child.
func (a *agent) enableNeighbours() {
	nb, ok := a.r.cfg.Directory.(Neighbourhood)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), teleportWait)
	defer cancel()
	c := a.c
	c.Expiry = time.Now().Add(a.r.cfg.CircuitTTL)
	var open uint8
	epoch := a.departures.Load()
	dests := nb.AdmitNeighbours(ctx, a.r.handle, c)
	hs := make([]ritual.RegionHandle, 0, len(dests))
	for _, d := range dests {
		hs = append(hs, d.Handle)
	}
	a.r.neighbours.add(hs)
	a.neighbours.Store(&hs)
	for _, d := range dests {
		open |= a.edgeTowards(d.Handle)
		ip := d.SimIP.Unmap().As4()
		enable := caps.Event{Message: "EnableSimulator", Body: map[string]any{"SimulatorInfo": []any{map[string]any{
			"Handle":      binary.BigEndian.AppendUint64(nil, uint64(d.Handle)),
			"IP":          ip[:],
			"Port":        int(d.SimPort),
			"RegionSizeX": be32(d.SizeX),
			"RegionSizeY": be32(d.SizeY),
		}}}}
		establish := caps.Event{Message: "EstablishAgentCommunication", Body: map[string]any{
			"agent-id":        a.c.Agent,
			"sim-ip-and-port": netip.AddrPortFrom(netip.AddrFrom4(ip), d.SimPort).String(),
			"seed-capability": d.SeedCapability,
		}}
		if a.departures.Load() != epoch || a.crossed.Load() {
			// The agent left while the neighbours answered: telling it
			// now would name this region's neighbours after it is
			// elsewhere (a child's seed for the region it went to).
			return
		}
		for _, ev := range []caps.Event{enable, establish} {
			if err := a.r.cfg.Caps.EnqueueRegion(a.c.Agent, a.r.info.ID, ev); err != nil {
				a.r.cfg.Logger.Warn("sim: telling the client of a neighbour", "neighbour", d.RegionName, "event", ev.Message, "err", err)
			}
		}
		if a.r.cfg.Recorder != nil {
			trace.Emit(a.r.cfg.Recorder, &trace.RegionChange{
				Header: trace.Header{Side: trace.Server, Layer: trace.EQ, From: trace.EndRegion, To: trace.EndClient},
				Kind:   trace.ChildOpen, Region: d.RegionName, Handle: uint64(d.Handle),
				Remote: netip.AddrPortFrom(netip.AddrFrom4(ip), d.SimPort).String(),
			})
		}
	}
	a.r.world.open.Or(uint32(open))
}
