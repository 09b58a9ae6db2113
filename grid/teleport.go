package grid

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/grid/peer"
	"ritual/login"
	"ritual/sim"
	"ritual/store"
)

// directory is what each region of the process knows of the grid: the
// regions of this process, which take teleporting, crossing and child
// agents directly, and, when the store keeps the grid's map and its
// secret, the running regions of other processes, which take them through
// the region-to-region API (package peer).
type directory struct {
	regions atomic.Pointer[[]*sim.Region]

	// Set before the regions serve; nil peer: no other process is reached.
	gs      store.GridStore
	peer    *peer.Client
	borders *borders // news for the neighbours of other processes
	cfg     Config
}

// remoteRegion is a region of another process and its record on the map.
type remoteRegion struct {
	reg  store.Region
	host store.RegionHost
}

// remote finds the region with handle h run by another process, live on
// the map.
func (d *directory) remote(ctx context.Context, h ritual.RegionHandle) (remoteRegion, error) {
	gx, gy := h.Grid()
	if d.peer == nil {
		return remoteRegion{}, fmt.Errorf("%w: %d,%d", sim.ErrNoSuchRegion, gx, gy)
	}
	regs, err := d.gs.Regions().List(ctx)
	if err != nil {
		return remoteRegion{}, fmt.Errorf("grid: reading the regions: %w", err)
	}
	for _, reg := range regs {
		if reg.Handle() == h {
			return d.live(ctx, reg)
		}
	}
	return remoteRegion{}, fmt.Errorf("%w: %d,%d", sim.ErrNoSuchRegion, gx, gy)
}

// live returns reg with its host, when its heartbeat is fresh.
func (d *directory) live(ctx context.Context, reg store.Region) (remoteRegion, error) {
	host, err := d.gs.Hosts().Get(ctx, reg.ID)
	if errors.Is(err, store.ErrNotFound) {
		return remoteRegion{}, fmt.Errorf("region %q is not running (it is not on the grid's map)", reg.Name)
	}
	if err != nil {
		return remoteRegion{}, fmt.Errorf("grid: reading the map: %w", err)
	}
	if age := time.Since(host.Heartbeat); age > d.cfg.HeartbeatTimeout {
		return remoteRegion{}, fmt.Errorf("region %q is not answering (its last heartbeat was %v ago)", reg.Name, age.Round(time.Second))
	}
	if host.HTTPBase == "" {
		return remoteRegion{}, fmt.Errorf("region %q is not reachable (its process published no HTTP address)", reg.Name)
	}
	return remoteRegion{reg: reg, host: host}, nil
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
	if d.gs == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hosts, err := d.gs.Hosts().List(ctx)
	if err != nil {
		d.cfg.Logger.Warn("grid: reading the map for a map search failed", "err", err)
		return out
	}
	for _, h := range hosts {
		if seen[h.Region] || time.Since(h.Heartbeat) > d.cfg.HeartbeatTimeout {
			continue
		}
		if reg, err := d.gs.Regions().Get(ctx, h.Region); err == nil {
			out = append(out, reg)
		}
	}
	return out
}

// Admit implements sim.Directory: the region with handle h takes the
// agent, directly in this process, through the region-to-region API in
// another.
func (d *directory) Admit(ctx context.Context, h ritual.RegionHandle, c login.Circuit, pos, lookAt ritual.Vector3) (login.Destination, error) {
	if r := d.region(h); r != nil {
		return r.Admit(ctx, c, pos, lookAt)
	}
	t, err := d.remote(ctx, h)
	if err != nil {
		return login.Destination{}, err
	}
	var dest wireDestination
	err = d.call(ctx, t, opAdmit, admitCall{Circuit: toWire(c), From: sim.Origin(ctx), Position: pos, LookAt: lookAt}, &dest)
	return dest.destination(), err
}

// neighbours reports whether the cells of a and b touch (and differ).
func neighbours(a, b ritual.RegionHandle) bool {
	ax, ay := a.Grid()
	bx, by := b.Grid()
	return a != b && ax+1 >= bx && ax <= bx+1 && ay+1 >= by && ay <= by+1
}

// AdmitNeighbours implements sim.Neighbourhood: each region in the eight
// grid cells around h takes the agent as a child, those of other
// processes (live on the map) through the region-to-region API, all at
// once.
func (d *directory) AdmitNeighbours(ctx context.Context, h ritual.RegionHandle, c login.Circuit) []login.Destination {
	var out []login.Destination
	local := map[ritual.RegionHandle]bool{}
	for _, r := range d.list() {
		local[r.Handle()] = true
		if !neighbours(h, r.Handle()) {
			continue
		}
		dest, err := r.AdmitChild(ctx, c)
		if err != nil {
			d.childRefused(r.Info().Name, err)
			continue
		}
		out = append(out, dest)
	}
	if d.peer == nil {
		return out
	}
	regs, err := d.gs.Regions().List(ctx)
	if err != nil {
		d.cfg.Logger.Warn("grid: reading the regions for the neighbours failed", "err", err)
		return out
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, reg := range regs {
		if local[reg.Handle()] || !neighbours(h, reg.Handle()) {
			continue
		}
		wg.Go(func() {
			t, err := d.live(ctx, reg)
			if err != nil {
				d.cfg.Logger.Debug("grid: a neighbour is not running", "region", reg.Name, "err", err)
				return
			}
			var dest wireDestination
			if err := d.call(ctx, t, opChild, admitCall{Circuit: toWire(c)}, &dest); err != nil {
				d.childRefused(reg.Name, err)
				return
			}
			mu.Lock()
			out = append(out, dest.destination())
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// childRefused logs a neighbour's refusal of a child agent; one the agent
// is arriving in (it went there as this child was asked for) is no fault.
func (d *directory) childRefused(region string, err error) {
	if errors.Is(err, sim.ErrArriving) {
		d.cfg.Logger.Debug("grid: a neighbour takes the agent as a root agent, not as a child", "region", region)
		return
	}
	if errors.Is(err, sim.ErrOtherSession) {
		d.cfg.Logger.Debug("grid: a neighbour holds the agent in a later session", "region", region)
		return
	}
	d.cfg.Logger.Warn("grid: a neighbour could not take a child agent", "region", region, "err", err)
}

// AdmitCrossing implements sim.Neighbourhood: the region with handle h
// takes an agent walking across its border, directly in this process,
// through the region-to-region API in another.
func (d *directory) AdmitCrossing(ctx context.Context, h ritual.RegionHandle, c login.Circuit, pos, vel ritual.Vector3, rot ritual.Quaternion) (login.Destination, error) {
	if r := d.region(h); r != nil {
		return r.AdmitCrossing(ctx, c, pos, vel, rot)
	}
	t, err := d.remote(ctx, h)
	if err != nil {
		return login.Destination{}, err
	}
	var dest wireDestination
	err = d.call(ctx, t, opCrossing, admitCall{Circuit: toWire(c), From: sim.Origin(ctx), Position: pos, Velocity: vel, Rotation: rot}, &dest)
	return dest.destination(), err
}

// Release implements sim.Releaser: the region with handle from, which the
// agent left, keeps it as a child only.
func (d *directory) Release(ctx context.Context, from, to ritual.RegionHandle, agent ritual.UUID) error {
	if r := d.region(from); r != nil {
		r.Release(agent, to)
		return nil
	}
	t, err := d.remote(ctx, from)
	if err != nil {
		return err
	}
	return d.call(ctx, t, opRelease, releaseCall{Agent: agent, To: to}, &releaseAnswer{})
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
// process is queued for that process's region-to-region API (see
// borders); one the region refuses (the agent is gone or root there) is
// dropped: the agent's root region tells it again as the avatar moves.
func (d *directory) UpdateChildView(h ritual.RegionHandle, v sim.ChildView) {
	r := d.region(h)
	if r == nil {
		d.remoteBorder(h, opView, v)
		return
	}
	if err := r.SetChildView(v); err != nil {
		d.cfg.Logger.Debug("grid: a neighbour did not take a child view", "region", r.Info().Name, "err", err)
	}
}

// RelayChat implements sim.Borders for the regions of this process: the
// region with handle h hands the line to its avatars in range at once
// (Region.HearChat queues it on their circuits without waiting). A line
// for a region of another process is queued for its region-to-region API
// (see borders).
func (d *directory) RelayChat(h ritual.RegionHandle, line sim.ChatLine) {
	if r := d.region(h); r != nil {
		r.HearChat(line)
		return
	}
	d.remoteBorder(h, opChat, line)
}
