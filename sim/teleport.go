package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/store"
	"ritual/trace"
)

// Teleport flags the region sends (TeleportStart, TeleportLocal,
// TeleportFinish).
const (
	teleportViaLandmark = 0x08
	teleportViaLocation = 0x10
)

// teleportWait bounds how long a teleport waits for the destination to
// take the agent's circuit.
const teleportWait = 10 * time.Second

// ErrNoSuchRegion is a teleport to a region handle the grid does not know.
var ErrNoSuchRegion = errors.New("sim: no region at that location")

// Directory is what a region knows of the rest of its grid: the regions a
// map search finds and a teleport can reach.
type Directory interface {
	// Regions lists the grid's regions that take agents.
	Regions() []store.Region
	// Admit provisions a teleporting agent's circuit (its code and session
	// are the login's) at the region with handle h, the agent to arrive at
	// pos looking at lookAt. An unknown handle is ErrNoSuchRegion.
	Admit(ctx context.Context, h ritual.RegionHandle, c login.Circuit, pos, lookAt ritual.Vector3) (login.Destination, error)
}

// Admit provisions the circuit of an agent teleporting in from another
// region of the grid. Unlike a login it ends no earlier presence: an agent
// still here as a child (it teleported away before) becomes the one that
// arrives. Its capabilities replace those of the region it leaves
// (caps.Router.Handover), whose event queue keeps serving so that region
// can send TeleportFinish.
func (r *Region) Admit(ctx context.Context, c login.Circuit, pos, lookAt ritual.Vector3) (login.Destination, error) {
	if c.Code == 0 {
		return login.Destination{}, errCodeZero
	}
	c.Start = fmt.Sprintf("uri:%s&%g&%g&%g", r.info.Name, pos.X, pos.Y, pos.Z)
	arrival := r.scene.arrival(c.Start, r.info.Name)
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return login.Destination{}, ErrClosing
	}
	if a := r.agents[c.Agent]; a != nil && a.conn.Err() == nil && a.c.Code == c.Code && a.c.Session == c.Session {
		p := arrival
		a.origin.Store(uint64(Origin(ctx)))
		a.arriving.Store(&p)
	} else if err := r.reserveLocked(&pendingCircuit{Circuit: c, teleport: true, origin: Origin(ctx)}); err != nil {
		// A child left by an earlier session of the agent (one that
		// logged out elsewhere, its circuit here not yet timed out) is
		// not this arrival: the circuit is provisioned anew (reserved
		// above), or the arriving client's UseCircuitCode would find
		// none; the old child is ended when the new circuit opens.
		r.mu.Unlock()
		return login.Destination{}, err
	}
	r.mu.Unlock()
	seed, err := r.cfg.Caps.Handover(caps.Agent{
		ID: c.Agent, Session: c.Session, First: c.First, Last: c.Last,
		RegionID: r.info.ID, RegionName: r.info.Name,
	})
	if err != nil {
		r.unreserve(c, func(*pendingCircuit) bool { return true })
		return login.Destination{}, fmt.Errorf("sim: granting capabilities: %w", err)
	}
	r.provisioned.Add(1)
	return r.destination(seed, arrival, lookAt), nil
}

// teleportEvent records a teleport step as the region sees it.
func (a *agent) teleportEvent(kind string, h ritual.RegionHandle, flags uint32, reason string, pos *ritual.Vector3, start time.Time) {
	if a.r.cfg.Recorder == nil {
		return
	}
	trace.Emit(a.r.cfg.Recorder, &trace.RegionChange{
		Header: trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndRegion, To: trace.EndClient},
		Kind:   kind, Region: a.r.info.Name, Handle: uint64(h), Flags: flags, Reason: reason, Position: pos,
		Elapsed: time.Since(start),
	})
}

// teleportFail answers TeleportFailed with reason.
func (a *agent) teleportFail(h ritual.RegionHandle, reason string, start time.Time) {
	a.send(&msg.TeleportFailed{
		Info:      msg.TeleportFailedInfo{AgentID: a.c.Agent, Reason: cstr1(reason)},
		AlertInfo: []msg.TeleportFailedAlertInfo{{Message: cstr1(reason), ExtraParams: cstr("")}},
	})
	a.teleportEvent(trace.TeleportFailed, h, 0, reason, nil, start)
}

// teleport answers a TeleportLocationRequest: within the region,
// TeleportStart then TeleportLocal with the avatar moved (as OpenSimulator
// does); to another region of the grid, TeleportStart, TeleportProgress,
// the circuit provisioned at the destination and TeleportFinish on the
// event queue. The agent stays here as a root agent until the destination
// confirms its arrival (Region.Release, through the Directory's Releaser);
// then it stays as a child: its circuit stays open, its avatar leaves the
// shared world. Without a confirmation within Config.ReleaseWait it is put
// back and told (AlertMessage).
func (a *agent) teleport(h ritual.RegionHandle, pos, lookAt ritual.Vector3, flags uint32) {
	start := time.Now()
	p := pos
	a.teleportEvent(trace.TeleportRequest, h, flags, "", &p, start)
	if !a.joined || a.away || a.crossed.Load() {
		a.teleportFail(h, "The agent is not in this region.", start)
		return
	}
	if a.departing.Load() != nil {
		a.teleportFail(h, "The agent is already on its way to another region.", start)
		return
	}
	if lookAt == (ritual.Vector3{}) {
		lookAt = ritual.Vector3{X: 1}
	}
	if h == a.r.handle || h == 0 {
		at := a.r.scene.arrival(fmt.Sprintf("uri:%s&%g&%g&%g", a.r.info.Name, pos.X, pos.Y, pos.Z), a.r.info.Name)
		a.send(&msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: flags}})
		a.r.world.place(a.av, at)
		a.position = at
		a.send(&msg.TeleportLocal{Info: msg.TeleportLocalInfo{
			AgentID: a.c.Agent, Position: at, LookAt: lookAt, TeleportFlags: flags,
		}})
		a.teleportEvent(trace.TeleportLocal, h, flags, "", &at, start)
		return
	}
	dir := a.r.cfg.Directory
	if dir == nil {
		a.teleportFail(h, "This region knows no other region to teleport to.", start)
		return
	}
	a.send(&msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: flags}})
	a.teleportEvent(trace.TeleportStart, h, flags, "", nil, start)
	a.send(&msg.TeleportProgress{AgentData: msg.TeleportProgressAgentData{AgentID: a.c.Agent},
		Info: msg.TeleportProgressInfo{TeleportFlags: flags, Message: cstr("contacting destination")}})
	ctx, cancel := context.WithTimeout(WithOrigin(context.Background(), a.r.handle), teleportWait)
	defer cancel()
	c := a.c
	c.Expiry = time.Now().Add(a.r.cfg.CircuitTTL)
	dest, err := dir.Admit(ctx, h, c, pos, lookAt)
	if err != nil {
		gx, gy := h.Grid()
		reason := fmt.Sprintf("The region at %d,%d cannot take the agent: %v", gx, gy, err)
		if errors.Is(err, ErrNoSuchRegion) {
			reason = fmt.Sprintf("There is no region at %d,%d on this grid.", gx, gy)
		}
		a.teleportFail(h, reason, start)
		return
	}
	// OpenSimulator sends TeleportStart and TeleportProgress at once,
	// ahead of its throttles, and its hand-off to the destination takes
	// long enough that they reach the client before TeleportFinish. Here a
	// destination in the same process answers in microseconds, and
	// TeleportFinish on the event queue could overtake them: a client
	// that leaves the old circuit at TeleportFinish (node-metaverse does)
	// never hears them. So the last of them is acknowledged, or
	// teleportTellWait passes, before TeleportFinish is queued.
	a.sendAcked(&msg.TeleportProgress{AgentData: msg.TeleportProgressAgentData{AgentID: a.c.Agent},
		Info: msg.TeleportProgressInfo{TeleportFlags: flags, Message: cstr("sending_dest")}}, teleportTellWait)
	ip := dest.SimIP.Unmap().As4()
	ev := caps.Event{Message: "TeleportFinish", Body: map[string]any{"Info": []any{map[string]any{
		"AgentID":        a.c.Agent,
		"LocationID":     be32(4),
		"SimIP":          ip[:],
		"SimPort":        int(dest.SimPort),
		"RegionHandle":   binary.BigEndian.AppendUint64(nil, uint64(dest.Handle)),
		"SeedCapability": dest.SeedCapability,
		"SimAccess":      simAccessPG,
		"TeleportFlags":  be32(flags),
		"RegionSizeX":    be32(dest.SizeX),
		"RegionSizeY":    be32(dest.SizeY),
	}}}}
	a.departures.Add(1) // before the event: neighbours are no longer told
	if err := a.r.cfg.Caps.EnqueueRegion(a.c.Agent, a.r.info.ID, ev); err != nil {
		a.teleportFail(h, "The event queue could not take TeleportFinish: "+err.Error(), start)
		return
	}
	// The agent goes once the destination confirms its arrival: then its
	// avatar leaves this region's world and its circuit stays as a
	// child's. Until then it is still here, and is put back if no
	// confirmation comes (Config.ReleaseWait).
	a.depart(&departure{kind: trace.TeleportFinish, to: dest.Handle, name: dest.RegionName, start: start})
	a.teleportEvent(trace.TeleportFinish, dest.Handle, flags, strings.TrimSpace(dest.RegionName), &dest.Position, start)
}

// teleportTellWait bounds the wait for the client to acknowledge the last
// TeleportProgress before TeleportFinish is queued.
const teleportTellWait = time.Second

// sendAcked sends m reliably and waits, at most within, for the client to
// acknowledge it; a client that has not by then is not waited for.
func (a *agent) sendAcked(m msg.Message, within time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err := a.conn.SendAcked(ctx, m)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.r.cfg.Logger.Debug("sim: send failed", "agent", a.c.Agent, "message", m.Name(), "err", err)
		return
	}
	a.r.counts.countOut(m.ID())
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
