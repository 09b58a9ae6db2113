package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/login"
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
}

// AdmitChild provisions the circuit of an agent present in a neighbouring
// region: its circuit opens here (handshake, terrain, objects) but its
// avatar stays out of this region's world. Its capabilities are a child
// grant (caps.Router.GrantChild) that leaves the agent's root grant alone.
func (r *Region) AdmitChild(ctx context.Context, c login.Circuit) (login.Destination, error) {
	if c.Code == 0 {
		return login.Destination{}, errors.New("sim: circuit code 0 is not valid")
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return login.Destination{}, ErrClosing
	}
	if a := r.agents[c.Agent]; a == nil || a.conn.Err() != nil {
		for code, p := range r.pending {
			if p.Agent == c.Agent || time.Now().After(p.Expiry) {
				delete(r.pending, code)
			}
		}
		if len(r.pending)+len(r.agents) >= r.cfg.MaxCircuits {
			r.mu.Unlock()
			r.counts.full.Add(1)
			return login.Destination{}, fmt.Errorf("%w: %d circuits", login.ErrRegionFull, r.cfg.MaxCircuits)
		}
		if c.Expiry.IsZero() {
			c.Expiry = time.Now().Add(r.cfg.CircuitTTL)
		}
		r.pending[c.Code] = &pendingCircuit{Circuit: c, child: true}
	}
	r.mu.Unlock()
	seed, err := r.cfg.Caps.GrantChild(caps.Agent{
		ID: c.Agent, Session: c.Session, First: c.First, Last: c.Last,
		RegionID: r.info.ID, RegionName: r.info.Name,
	})
	if err != nil {
		r.mu.Lock()
		if p := r.pending[c.Code]; p != nil && p.Agent == c.Agent && p.child {
			delete(r.pending, c.Code)
		}
		r.mu.Unlock()
		return login.Destination{}, fmt.Errorf("sim: granting a child's capabilities: %w", err)
	}
	return login.Destination{
		RegionName: r.info.Name, RegionID: r.info.ID,
		SimIP: r.cfg.SimIP, SimPort: uint16(r.simPort.Load()), Handle: r.handle,
		SizeX: r.info.SizeX, SizeY: r.info.SizeY,
		SeedCapability: seed,
	}, nil
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
	for _, d := range nb.AdmitNeighbours(ctx, a.r.handle, c) {
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
		for _, ev := range []caps.Event{enable, establish} {
			if err := a.r.cfg.Caps.Enqueue(a.c.Agent, ev); err != nil {
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
}
