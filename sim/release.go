package sim

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ritual"
	"ritual/trace"
)

// DefaultReleaseWait is how long a region keeps an agent that teleported
// or crossed away as a root agent, waiting for the destination to confirm
// its arrival (Config.ReleaseWait).
const DefaultReleaseWait = 15 * time.Second

// Releaser is what a Directory adds so that a region can confirm an
// arrival to the region the agent came from (as OpenSimulator's
// destination calls back its source to release the agent once the agent
// completed its movement there).
type Releaser interface {
	// Release tells the region with handle from that agent arrived
	// elsewhere: it keeps the agent as a child only.
	Release(ctx context.Context, from ritual.RegionHandle, agent ritual.UUID) error
}

type originKey struct{}

// WithOrigin returns ctx telling Region.Admit and Region.AdmitCrossing
// the handle of the region the agent comes from, which they release once
// the agent completes its movement (through the Directory's Releaser).
func WithOrigin(ctx context.Context, h ritual.RegionHandle) context.Context {
	return context.WithValue(ctx, originKey{}, h)
}

// Origin is the handle WithOrigin put in ctx, or 0.
func Origin(ctx context.Context) ritual.RegionHandle {
	h, _ := ctx.Value(originKey{}).(ritual.RegionHandle)
	return h
}

// departure is an agent on its way to another region: TeleportFinish or
// CrossedRegion is on its event queue, its avatar still in this region's
// world until the destination releases it.
type departure struct {
	kind  string // trace.TeleportFinish or trace.CrossStart
	to    ritual.RegionHandle
	name  string
	edge  ritual.Vector3 // a crossing's position past the edge
	start time.Time
}

// depart holds the agent as a root agent until the destination releases
// it, or Config.ReleaseWait passes: then it is put back (restore).
func (a *agent) depart(d *departure) {
	a.departures.Add(1)
	if _, ok := a.r.cfg.Directory.(Releaser); !ok {
		// No destination will confirm: the agent goes at once.
		a.released(d)
		return
	}
	a.departing.Store(d)
	time.AfterFunc(a.r.cfg.ReleaseWait, func() {
		if a.departing.CompareAndSwap(d, nil) {
			a.post(func() { a.restore(d) })
		}
	})
}

// post runs f on the agent's goroutine (with its messages), unless the
// circuit closed.
func (a *agent) post(f func()) {
	select {
	case a.ctl <- f:
	case <-a.conn.Done():
	}
}

// Release is the destination's confirmation that an agent that left this
// region (a teleport, a crossing) arrived there: the agent stays as a
// child only, its avatar leaves this region's world. It reports whether
// the agent was on its way out.
func (r *Region) Release(agent ritual.UUID) bool {
	r.mu.Lock()
	a := r.agents[agent]
	r.mu.Unlock()
	if a == nil {
		return false
	}
	d := a.departing.Swap(nil)
	if d == nil {
		return false
	}
	a.post(func() { a.released(d) })
	return true
}

// released ends a departure the destination confirmed.
func (a *agent) released(d *departure) {
	a.root.Store(false)
	switch d.kind {
	case trace.TeleportFinish:
		a.away = true
		if a.joined {
			a.r.world.leave(a.av)
			a.joined = false
		}
	default:
		a.r.world.leave(a.av)
	}
}

// restore puts back as a root agent one whose destination never
// confirmed its arrival, and tells it.
func (a *agent) restore(d *departure) {
	name := strings.TrimSpace(d.name)
	if name == "" {
		gx, gy := d.to.Grid()
		name = fmt.Sprintf("the region at %d,%d", gx, gy)
	}
	wait := a.r.cfg.ReleaseWait.Round(time.Millisecond)
	var text, kind string
	switch d.kind {
	case trace.TeleportFinish:
		kind = trace.TeleportFailed
		text = fmt.Sprintf("The teleport to %s did not complete: %s did not confirm your arrival within %v. You are still in %s.", name, name, wait, a.r.info.Name)
		// A destination of this process took over the agent's
		// capabilities: this region's grant is its own again.
		a.r.cfg.Caps.Reinstate(a.c.Agent, a.r.info.ID)
	default:
		kind = trace.CrossFailed
		text = fmt.Sprintf("Crossing into %s did not complete: %s did not confirm your arrival within %v. You stay at the edge of %s.", name, name, wait, a.r.info.Name)
		a.crossed.Store(false)
		a.stayAtEdge(d.edge)
	}
	a.r.cfg.Logger.Warn("sim: an agent's destination never confirmed its arrival; the agent stays", "agent", a.c.Agent, "destination", name, "wait", wait)
	a.alert(text)
	a.teleportEvent(kind, d.to, 0, text, nil, d.start)
}

// cstr1 is s as a NUL-terminated field of at most 255 bytes (a Variable 1
// field), cut on a UTF-8 boundary with an ellipsis when longer.
func cstr1(s string) []byte {
	const max = 254
	if len(s) <= max {
		return cstr(s)
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return cstr(s[:cut] + "…")
}

// releaseOrigin confirms the agent's arrival to the region it came from.
func (a *agent) releaseOrigin(from ritual.RegionHandle) {
	rel, ok := a.r.cfg.Directory.(Releaser)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rel.Release(ctx, from, a.c.Agent); err != nil {
		gx, gy := from.Grid()
		a.r.cfg.Logger.Warn("sim: confirming an arrival to the region the agent came from failed", "agent", a.c.Agent, "from", fmt.Sprintf("%d,%d", gx, gy), "err", err)
	}
}
