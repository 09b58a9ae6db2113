package grid

import (
	"context"
	"fmt"
	"sync/atomic"

	"ritual"
	"ritual/login"
	"ritual/sim"
	"ritual/store"
)

// directory is what each region of the process knows of the grid: the
// regions of this process, which take teleporting agents directly.
type directory struct {
	regions atomic.Pointer[[]*sim.Region]
}

func (d *directory) set(rs []*sim.Region) { d.regions.Store(&rs) }

func (d *directory) list() []*sim.Region {
	if p := d.regions.Load(); p != nil {
		return *p
	}
	return nil
}

// Regions implements sim.Directory.
func (d *directory) Regions() []store.Region {
	rs := d.list()
	out := make([]store.Region, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Info())
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
	return login.Destination{}, fmt.Errorf("%w: %d,%d", sim.ErrNoSuchRegion, gx, gy)
}
