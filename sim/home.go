package sim

import (
	"context"
	"errors"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/store"
)

// Home: a viewer's "Set Home to Here" sends SetStartLocationRequest with
// LocationID 1; "Teleport Home" sends TeleportLandmarkRequest with a zero
// LandmarkID. The home is kept in the store (store.Homes), so a login with
// start "home" finds it too.
const (
	// startLocationHome is SetStartLocationRequest's LocationID for home.
	startLocationHome = 1
	// Teleport flags of a teleport home.
	teleportSetLastToTarget = 0x02
	teleportViaHome         = 0x20
)

// Texts the agent is told.
const (
	HomeSetText   = "Home position set."
	HomeUnsetText = "You have no home set: stand where you want it and choose Set Home to Here."
)

// setHome answers SetStartLocationRequest: for LocationID 1 the agent's
// home becomes where its avatar stands in this region (the region's own
// record of it, not the position the viewer names), looking where the
// viewer says.
func (a *agent) setHome(m *msg.SetStartLocationRequest) {
	d := m.StartLocationData
	if d.LocationID != startLocationHome {
		return // other start locations (last) are the grid's to keep
	}
	if !a.joined {
		a.alert("Set Home failed: you are not in this region.")
		return
	}
	pos, ok := a.r.world.position(a.av)
	if !ok {
		pos = a.position // arrived since the last frame
	}
	look := d.LocationLookAt
	if !store.FiniteVector(look) || look == (ritual.Vector3{}) {
		look = ritual.Vector3{X: 1}
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	h := &store.Home{Agent: a.c.Agent, Region: a.r.info.ID, Position: pos, LookAt: look}
	if err := a.r.cfg.Store.Homes().Set(ctx, h); err != nil {
		a.r.cfg.Logger.Warn("sim: setting an agent's home", "agent", a.c.Agent, "err", err)
		a.alert("Set Home failed: the grid could not record it.")
		return
	}
	a.alert(HomeSetText)
}

// teleportHome answers a TeleportLandmarkRequest with a zero landmark: a
// teleport to the agent's home, in this region or another.
func (a *agent) teleportHome() {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	home, err := a.r.cfg.Store.Homes().Get(ctx, a.c.Agent)
	if errors.Is(err, store.ErrNotFound) {
		a.teleportFail(0, HomeUnsetText, start)
		return
	}
	if err != nil {
		a.teleportFail(0, "Your home could not be read: "+err.Error(), start)
		return
	}
	h := a.r.handle
	if home.Region != a.r.info.ID {
		reg, err := a.r.cfg.Store.Regions().Get(ctx, home.Region)
		if err != nil {
			a.teleportFail(0, "Your home region is gone from this grid.", start)
			return
		}
		h = reg.Handle()
	}
	a.teleport(h, home.Position, home.LookAt, teleportViaHome|teleportSetLastToTarget)
}

// alert shows the agent a message (AlertMessage).
func (a *agent) alert(text string) {
	a.send(alertWire{&msg.AlertMessage{AlertData: msg.AlertMessageAlertData{Message: cstr1(text)}}})
}

// alertWire is an AlertMessage without its trailing blocks' counts when
// they are empty, as OpenSimulator sends it: clients with an older
// template (no AlertInfo or AgentInfo) take the counts for trailing data;
// the viewer's reader, like ours, reads absent counts as zero.
type alertWire struct{ *msg.AlertMessage }

// AppendTo appends the body without the empty trailing blocks' counts.
func (m alertWire) AppendTo(b []byte) []byte {
	b = m.AlertMessage.AppendTo(b)
	if len(m.AgentInfo) == 0 {
		b = b[:len(b)-1]
		if len(m.AlertInfo) == 0 {
			b = b[:len(b)-1]
		}
	}
	return b
}
