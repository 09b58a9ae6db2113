package grid

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/login"
	"ritual/sim"
	"ritual/store"
)

// directory is what each region of the process knows of the grid: the
// regions of this process, which take teleporting agents directly, and,
// when the store keeps the grid's map, the running regions of other
// processes, which take them through the same hand-off as a login.
type directory struct {
	regions atomic.Pointer[[]*sim.Region]
	rt      atomic.Pointer[router]
}

var (
	_ sim.Directory     = (*directory)(nil)
	_ sim.Neighbourhood = (*directory)(nil)
	_ sim.Borders       = (*directory)(nil)
)

func (d *directory) set(rs []*sim.Region) { d.regions.Store(&rs) }

func (d *directory) list() []*sim.Region {
	if p := d.regions.Load(); p != nil {
		return *p
	}
	return nil
}

// Regions implements sim.Directory: this process's regions, then the
// others running on the map.
func (d *directory) Regions() []store.Region {
	rs := d.list()
	out := make([]store.Region, 0, len(rs))
	seen := map[ritual.UUID]bool{}
	for _, r := range rs {
		out = append(out, r.Info())
		seen[r.Info().ID] = true
	}
	rt := d.rt.Load()
	if rt == nil || rt.gs == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hosts, err := rt.gs.Hosts().List(ctx)
	if err != nil {
		rt.cfg.Logger.Warn("grid: reading the map for a map search failed", "err", err)
		return out
	}
	for _, h := range hosts {
		if seen[h.Region] || time.Since(h.Heartbeat) > rt.cfg.HeartbeatTimeout {
			continue
		}
		if reg, err := rt.gs.Regions().Get(ctx, h.Region); err == nil {
			out = append(out, reg)
		}
	}
	return out
}

// Admit implements sim.Directory: the region of this process with handle
// h takes the agent.
func (d *directory) Admit(ctx context.Context, h ritual.RegionHandle, c login.Circuit, pos, lookAt ritual.Vector3) (login.Destination, error) {
	for _, r := range d.list() {
		if r.Handle() == h {
			return r.Admit(ctx, c, pos, lookAt)
		}
	}
	gx, gy := h.Grid()
	if rt := d.rt.Load(); rt != nil && rt.gs != nil {
		regs, err := rt.gs.Regions().List(ctx)
		if err != nil {
			return login.Destination{}, fmt.Errorf("grid: reading the regions: %w", err)
		}
		for _, reg := range regs {
			if reg.Handle() == h {
				c.Start = startURI(reg.Name, pos)
				return rt.handOff(ctx, reg, c)
			}
		}
	}
	return login.Destination{}, fmt.Errorf("%w: %d,%d", sim.ErrNoSuchRegion, gx, gy)
}

// AdmitNeighbours implements sim.Neighbourhood for the regions of this
// process: each region in the eight grid cells around h takes the agent
// as a child. Regions of other processes are not told (a child there
// would need the region-to-region hand-off of a login).
func (d *directory) AdmitNeighbours(ctx context.Context, h ritual.RegionHandle, c login.Circuit) []login.Destination {
	gx, gy := h.Grid()
	var out []login.Destination
	for _, r := range d.list() {
		rx, ry := r.Handle().Grid()
		if r.Handle() == h || rx+1 < gx || rx > gx+1 || ry+1 < gy || ry > gy+1 {
			continue
		}
		dest, err := r.AdmitChild(ctx, c)
		if err != nil {
			if rt := d.rt.Load(); rt != nil {
				rt.cfg.Logger.Warn("grid: a neighbour could not take a child agent", "region", r.Info().Name, "err", err)
			}
			continue
		}
		out = append(out, dest)
	}
	return out
}

// AdmitCrossing implements sim.Neighbourhood: the region of this process
// with handle h takes an agent walking across its border.
func (d *directory) AdmitCrossing(ctx context.Context, h ritual.RegionHandle, c login.Circuit, pos, vel ritual.Vector3, rot ritual.Quaternion) (login.Destination, error) {
	if r := d.region(h); r != nil {
		return r.AdmitCrossing(ctx, c, pos, vel, rot)
	}
	gx, gy := h.Grid()
	return login.Destination{}, fmt.Errorf("%w: %d,%d", sim.ErrNoSuchRegion, gx, gy)
}

// region returns the region of this process with handle h.
func (d *directory) region(h ritual.RegionHandle) *sim.Region {
	for _, r := range d.list() {
		if r.Handle() == h {
			return r
		}
	}
	return nil
}

// UpdateChildView implements sim.Borders for the regions of this process:
// the region with handle h is told at once (Region.SetChildView takes no
// lock for long and sends nothing). A view for a region of another
// process, or one the region refuses (the agent is gone or root there), is
// dropped: the agent's root region tells it again as the avatar moves.
func (d *directory) UpdateChildView(h ritual.RegionHandle, v sim.ChildView) {
	r := d.region(h)
	if r == nil {
		return
	}
	if err := r.SetChildView(v); err != nil {
		if rt := d.rt.Load(); rt != nil {
			rt.cfg.Logger.Debug("grid: a neighbour did not take a child view", "region", r.Info().Name, "err", err)
		}
	}
}

// RelayChat implements sim.Borders for the regions of this process: the
// region with handle h hands the line to its avatars in range at once
// (Region.HearChat queues it on their circuits without waiting). A line
// for a region of another process is dropped.
func (d *directory) RelayChat(h ritual.RegionHandle, line sim.ChatLine) {
	if r := d.region(h); r != nil {
		r.HearChat(line)
	}
}
