package sim_test

import (
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
)

// TestTeleportWithinRegion: TeleportLocationRequest to the region's own
// handle brings TeleportStart, then TeleportLocal at the spot asked for
// (lifted above the ground), and the avatar moves in the shared world: a
// watcher sees it jump there. A region with no Directory refuses a
// teleport elsewhere, and a teleport by landmark, with TeleportFailed and
// a reason.
func TestTeleportWithinRegion(t *testing.T) {
	r := newRig(t)
	ann := r.arrive(t, "Ann", "Jumper", ritual.UUID{})
	bob := r.arrive(t, "Bob", "Watcher", ritual.UUID{})
	u := waitFor(t, bob, 5*time.Second, "Ann's avatar", fullOf(ann.c.Agent)).(*msg.ObjectUpdate)
	var annLocal uint32
	for _, od := range u.ObjectData {
		if od.FullID == ann.c.Agent {
			annLocal = od.ID
		}
	}
	request := func(h ritual.RegionHandle, pos ritual.Vector3) {
		ann.conn.Send(&msg.TeleportLocationRequest{
			AgentData: msg.TeleportLocationRequestAgentData{AgentID: ann.c.Agent, SessionID: ann.c.Session},
			Info:      msg.TeleportLocationRequestInfo{RegionHandle: uint64(h), Position: pos, LookAt: ritual.Vector3{Y: 1}},
		}, true)
	}
	to := ritual.Vector3{X: 40, Y: 200, Z: 0}
	request(r.region.Handle(), to)
	started := false
	m := waitFor(t, ann, 5*time.Second, "TeleportLocal", func(m msg.Message) bool {
		switch m := m.(type) {
		case *msg.TeleportStart:
			started = m.Info.TeleportFlags&0x10 != 0
		case *msg.TeleportLocal:
			return true
		}
		return false
	}).(*msg.TeleportLocal)
	if !started {
		t.Error("no TeleportStart (via location) before TeleportLocal")
	}
	if p := m.Info.Position; p.X != 40 || p.Y != 200 || p.Z <= 0 || m.Info.AgentID != ann.c.Agent || m.Info.TeleportFlags&0x10 == 0 {
		t.Errorf("TeleportLocal %+v", m.Info)
	}
	// Bob sees Ann there (or loses sight of her: she is far from him).
	waitFor(t, bob, 5*time.Second, "Ann at 40,200", func(m msg.Message) bool {
		switch m := m.(type) {
		case *msg.KillObject:
			for _, o := range m.ObjectData {
				if o.ID == annLocal {
					return true
				}
			}
		case *msg.ImprovedTerseObjectUpdate:
			for _, od := range m.ObjectData {
				var tr prim.Terse
				if tr.Decode(od.Data) == nil && tr.LocalID == annLocal && tr.Position.X == 40 && tr.Position.Y == 200 {
					return true
				}
			}
		}
		return false
	})

	failed := func(what string) string {
		m := waitFor(t, ann, 5*time.Second, "TeleportFailed ("+what+")", func(m msg.Message) bool {
			_, ok := m.(*msg.TeleportFailed)
			return ok
		}).(*msg.TeleportFailed)
		return strings.TrimRight(string(m.Info.Reason), "\x00")
	}
	request(ritual.HandleFromGrid(3000, 3000), to)
	if reason := failed("elsewhere"); !strings.Contains(reason, "no other region") {
		t.Errorf("teleport elsewhere: %q", reason)
	}
	ann.conn.Send(&msg.TeleportLandmarkRequest{Info: msg.TeleportLandmarkRequestInfo{
		AgentID: ann.c.Agent, SessionID: ann.c.Session, LandmarkID: ritual.NewUUID()}}, true)
	if reason := failed("landmark"); !strings.Contains(reason, "landmark") {
		t.Errorf("teleport by landmark: %q", reason)
	}
}
