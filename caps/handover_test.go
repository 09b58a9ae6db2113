package caps_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"ritual"
	"ritual/caps"
)

// TestHandover: after a Handover the replaced grant's event queue still
// takes events (EnqueuePrevious), the new grant takes the agent's own
// (Enqueue); RevokeRegion ends only the grants made for that region; a
// Grant ends the replaced one.
func TestHandover(t *testing.T) {
	r := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:1"})
	agent, west, east := ritual.NewUUID(), ritual.NewUUID(), ritual.NewUUID()
	if _, err := r.Grant(caps.Agent{ID: agent, RegionID: west}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Handover(caps.Agent{ID: agent, RegionID: east}); err != nil {
		t.Fatal(err)
	}
	if err := r.EnqueuePrevious(agent, caps.Event{Message: "TeleportFinish"}); err != nil {
		t.Fatalf("EnqueuePrevious: %v", err)
	}
	if st, ok := r.QueueStats(agent); !ok || st.Pending != 0 {
		t.Errorf("the new grant's queue took the previous region's event: %+v", st)
	}
	r.RevokeRegion(agent, west)
	if _, ok := r.QueueStats(agent); !ok {
		t.Fatal("RevokeRegion(west) ended the grant made for east")
	}
	// With no previous grant left, EnqueuePrevious is the agent's queue.
	if err := r.EnqueuePrevious(agent, caps.Event{Message: "X"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.QueueStats(agent); st.Pending != 1 {
		t.Errorf("pending %d, want 1", st.Pending)
	}
	r.RevokeRegion(agent, east)
	if _, ok := r.QueueStats(agent); ok {
		t.Error("RevokeRegion(east) left east's grant")
	}
	if err := r.EnqueuePrevious(agent, caps.Event{Message: "X"}); !errors.Is(err, caps.ErrUnknownAgent) {
		t.Errorf("EnqueuePrevious after the revocations: %v", err)
	}
}

// TestGrantChild: a child grant at a neighbour serves beside the agent's
// root grant without replacing it; RevokeRegion of the neighbour ends only
// the child grant, Revoke ends them all.
func TestGrantChild(t *testing.T) {
	r := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:1"})
	agent, west, east := ritual.NewUUID(), ritual.NewUUID(), ritual.NewUUID()
	root, err := r.Grant(caps.Agent{ID: agent, RegionID: west})
	if err != nil {
		t.Fatal(err)
	}
	child, err := r.GrantChild(caps.Agent{ID: agent, RegionID: east})
	if err != nil {
		t.Fatal(err)
	}
	served := func(seed string) bool {
		u, err := url.Parse(seed)
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader("<llsd><array><string>EventQueueGet</string></array></llsd>")))
		return w.Code != http.StatusNotFound
	}
	if child == root || !served(root) || !served(child) {
		t.Fatalf("root served %v, child served %v", served(root), served(child))
	}
	if err := r.Enqueue(agent, caps.Event{Message: "EnableSimulator"}); err != nil {
		t.Errorf("the root grant's queue after GrantChild: %v", err)
	}
	again, err := r.GrantChild(caps.Agent{ID: agent, RegionID: east})
	if err != nil {
		t.Fatal(err)
	}
	if served(child) || !served(again) {
		t.Error("a second child grant for the same region did not replace the first")
	}
	r.RevokeRegion(agent, east)
	if served(again) || !served(root) {
		t.Errorf("RevokeRegion(east): child served %v, root served %v", served(again), served(root))
	}
	c2, _ := r.GrantChild(caps.Agent{ID: agent, RegionID: east})
	r.Revoke(agent)
	if served(c2) || served(root) {
		t.Error("Revoke left a grant serving")
	}
}

// TestReinstate: a Handover undone (the agent never arrived) makes the
// replaced grant the agent's again, its event queue kept, and ends the
// grant the Handover made; without a previous grant of that region it
// does nothing.
func TestReinstate(t *testing.T) {
	r := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:1"})
	agent, west, east := ritual.NewUUID(), ritual.NewUUID(), ritual.NewUUID()
	if _, err := r.Grant(caps.Agent{ID: agent, RegionID: west}); err != nil {
		t.Fatal(err)
	}
	if err := r.Enqueue(agent, caps.Event{Message: "West1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Handover(caps.Agent{ID: agent, RegionID: east}); err != nil {
		t.Fatal(err)
	}
	if r.Reinstate(agent, east) {
		t.Error("Reinstate(east) with west's grant previous")
	}
	if !r.Reinstate(agent, west) {
		t.Fatal("Reinstate(west) did nothing")
	}
	if st, ok := r.QueueStats(agent); !ok || st.Pending != 1 {
		t.Errorf("the reinstated grant's queue: %+v %v, want west's one event", st, ok)
	}
	if r.Reinstate(agent, west) {
		t.Error("a second Reinstate did something")
	}
	// East's grant is gone: revoking west's leaves nothing.
	r.RevokeRegion(agent, west)
	if _, ok := r.QueueStats(agent); ok {
		t.Error("a grant is left after west's was revoked")
	}
}

// TestEnqueueRegion: the event goes to the queue of the grant made for the
// region named: the root grant when it is that region's (the destination's
// grant was made by another Router), else the grant a Handover replaced.
func TestEnqueueRegion(t *testing.T) {
	r := caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:1"})
	agent, west, east := ritual.NewUUID(), ritual.NewUUID(), ritual.NewUUID()
	if _, err := r.Grant(caps.Agent{ID: agent, RegionID: west}); err != nil {
		t.Fatal(err)
	}
	// The agent went to another process and came back: a Handover from
	// west's old grant to its new one.
	if _, err := r.Handover(caps.Agent{ID: agent, RegionID: west}); err != nil {
		t.Fatal(err)
	}
	if err := r.EnqueueRegion(agent, west, caps.Event{Message: "TeleportFinish"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.QueueStats(agent); st.Pending != 1 {
		t.Errorf("west's current grant holds %d events, want the TeleportFinish", st.Pending)
	}
	// A destination in this Router: east's grant replaces west's, and
	// west's event goes to west's (previous) queue.
	if _, err := r.Handover(caps.Agent{ID: agent, RegionID: east}); err != nil {
		t.Fatal(err)
	}
	if err := r.EnqueueRegion(agent, west, caps.Event{Message: "TeleportFinish"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.QueueStats(agent); st.Pending != 0 {
		t.Errorf("east's grant took west's event: %+v", st)
	}
}
