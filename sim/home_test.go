package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/store"
)

// TestHome: "Teleport Home" (a TeleportLandmarkRequest with a zero
// landmark) before any home is set fails with the reason; "Set Home to
// Here" (SetStartLocationRequest, LocationID 1) records where the avatar
// stands — the region's record, not the position the viewer names — and
// says so; then Teleport Home brings the agent back there with TeleportLocal
// flagged via home. A landmark that is not zero is refused: the grid keeps
// none.
func TestHome(t *testing.T) {
	r := newRig(t)
	acct := &store.Account{First: "Ann", Last: "Homer", PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$x"}
	if err := r.store.Accounts().Create(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	ann := r.arrive(t, "Ann", "Homer", acct.ID)
	home := func() {
		ann.conn.Send(&msg.TeleportLandmarkRequest{Info: msg.TeleportLandmarkRequestInfo{
			AgentID: ann.c.Agent, SessionID: ann.c.Session}}, true)
	}
	failed := func(what string) string {
		m := waitFor(t, ann, 5*time.Second, "TeleportFailed ("+what+")", func(m msg.Message) bool {
			_, ok := m.(*msg.TeleportFailed)
			return ok
		}).(*msg.TeleportFailed)
		return strings.TrimRight(string(m.Info.Reason), "\x00")
	}
	home()
	if reason := failed("no home"); reason != sim.HomeUnsetText {
		t.Errorf("teleport home with none set: %q", reason)
	}

	ann.conn.Send(&msg.SetStartLocationRequest{
		AgentData: msg.SetStartLocationRequestAgentData{AgentID: ann.c.Agent, SessionID: ann.c.Session},
		StartLocationData: msg.SetStartLocationRequestStartLocationData{
			SimName: []byte("anywhere\x00"), LocationID: 1,
			LocationPos: ritual.Vector3{X: 1, Y: 1, Z: 1}, LocationLookAt: ritual.Vector3{Y: 1},
		},
	}, true)
	a := waitFor(t, ann, 5*time.Second, "AlertMessage", func(m msg.Message) bool {
		_, ok := m.(*msg.AlertMessage)
		return ok
	}).(*msg.AlertMessage)
	if got := strings.TrimRight(string(a.AlertData.Message), "\x00"); got != sim.HomeSetText {
		t.Errorf("alert %q, want %q", got, sim.HomeSetText)
	}
	h, err := r.store.Homes().Get(context.Background(), ann.c.Agent)
	if err != nil {
		t.Fatal(err)
	}
	if h.Region != r.region.Info().ID || h.Position == (ritual.Vector3{X: 1, Y: 1, Z: 1}) || h.LookAt != (ritual.Vector3{Y: 1}) {
		t.Errorf("home %+v: want this region, where the avatar stands, looking north", h)
	}

	// Away from home, then back.
	ann.conn.Send(&msg.TeleportLocationRequest{
		AgentData: msg.TeleportLocationRequestAgentData{AgentID: ann.c.Agent, SessionID: ann.c.Session},
		Info:      msg.TeleportLocationRequestInfo{RegionHandle: uint64(r.region.Handle()), Position: ritual.Vector3{X: 200, Y: 30}},
	}, true)
	waitFor(t, ann, 5*time.Second, "TeleportLocal away", func(m msg.Message) bool {
		tl, ok := m.(*msg.TeleportLocal)
		return ok && tl.Info.Position.X == 200
	})
	home()
	tl := waitFor(t, ann, 5*time.Second, "TeleportLocal home", func(m msg.Message) bool {
		_, ok := m.(*msg.TeleportLocal)
		return ok
	}).(*msg.TeleportLocal)
	if p := tl.Info.Position; p.X != h.Position.X || p.Y != h.Position.Y || tl.Info.TeleportFlags&0x20 == 0 {
		t.Errorf("TeleportLocal %+v: want home at %v, flagged via home", tl.Info, h.Position)
	}

	ann.conn.Send(&msg.TeleportLandmarkRequest{Info: msg.TeleportLandmarkRequestInfo{
		AgentID: ann.c.Agent, SessionID: ann.c.Session, LandmarkID: ritual.NewUUID()}}, true)
	if reason := failed("landmark"); !strings.Contains(reason, "landmark") {
		t.Errorf("teleport by landmark: %q", reason)
	}
	// The home goes with the region.
	if err := r.store.Regions().Delete(context.Background(), r.region.Info().ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.store.Homes().Get(context.Background(), ann.c.Agent); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("home after the region was deleted: %v", err)
	}
}
