package observatory_test

import (
	"strings"
	"testing"
	"time"

	"ritual/observatory"
	"ritual/trace"
	"ritual/trace/narrative/narrativetest"
)

// relayed is the ritual as a relay between the two sides records it: what
// each side sent (the relay sees every datagram once, on its way), the
// login and capability events of the grid's side, and none of the grid's
// private bookkeeping (provisioning, authentication, circuit checks).
func relayed() []trace.Event {
	var out []trace.Event
	for _, ev := range narrativetest.Ritual() {
		h := ev.Head()
		switch e := ev.(type) {
		case *trace.Packet:
			if e.Dir == trace.Send {
				out = append(out, ev)
			}
		case *trace.LoginAuth, *trace.CircuitProvision, *trace.CircuitCheck, *trace.CircuitClosed, *trace.Milestone, *trace.Stall:
		case *trace.LoginRequest, *trace.LoginResponse, *trace.SeedGrant, *trace.CapCall, *trace.EQPoll, *trace.EQDeliver:
			if h.Side == trace.Server || e.Name() == "eq.poll" {
				out = append(out, ev)
			}
		}
	}
	return out
}

// relaySummary is the one session of agent id.
func relaySummary(t *testing.T, l *observatory.Live, id string) observatory.Summary {
	t.Helper()
	for _, s := range l.Sessions() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no session %s: %+v", id, l.Sessions())
	return observatory.Summary{}
}

// TestLiveRelay: two sessions of one name through a relay, their events
// interleaved, are filed apart by their recorders: the one whose ritual
// the relay saw complete is complete, then logged out at the relay's end
// of its story; the other, which the relay diagnosed, is stalled. Live
// adds no diagnosis of its own to a relay's session, and attributes
// everything.
func TestLiveRelay(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{StallAfter: 20 * time.Millisecond})
	defer l.Close()
	a := l.Relay("Test User")
	b := l.Relay("Test User")
	ss := l.Sessions()
	if len(ss) != 2 || ss[0].State != observatory.StateLogin || ss[1].State != observatory.StateLogin {
		t.Fatalf("two relayed sessions just opened: %+v", ss)
	}
	idA, idB := ss[1].ID, ss[0].ID // newest first

	evs := relayed()
	shift := time.Since(narrativetest.Start)
	cut := 0
	for i, ev := range evs {
		ev.Head().Time = ev.Head().Time.Add(shift)
		if p, ok := ev.(*trace.Packet); ok && p.Message == "LogoutRequest" && cut == 0 {
			cut = i
		}
	}
	if cut == 0 {
		t.Fatal("the ritual has no LogoutRequest")
	}
	// b: the login and the client's first datagram, then nothing.
	var bEvents []trace.Event
	for _, ev := range evs {
		bEvents = append(bEvents, ev)
		if p, ok := ev.(*trace.Packet); ok && p.Message == "UseCircuitCode" {
			break
		}
	}
	for i, ev := range evs[:cut] {
		a.Record(ev)
		if i < len(bEvents) {
			b.Record(bEvents[i])
		}
	}
	if s := relaySummary(t, l, idA); s.State != observatory.StateComplete {
		t.Errorf("the relayed ritual before logout: %+v, want complete", s)
	}
	time.Sleep(100 * time.Millisecond) // several of Live's stall sweeps
	if s := relaySummary(t, l, idB); s.State == observatory.StateStalled || s.State == observatory.StateComplete {
		t.Errorf("a relay's session under way: %+v; Live must leave its diagnosis to the relay", s)
	}

	now := time.Now()
	b.Record(&trace.Stall{Header: trace.Header{Time: now, Side: trace.Client, Layer: trace.UDP, From: trace.EndProxy, To: trace.EndRegion},
		Step: 3, Expected: "the region answers UseCircuitCode", LastSeen: "UseCircuitCode"})
	b.Record(&trace.SessionEnd{Header: trace.Header{Time: now, Side: trace.Client, Layer: trace.UDP, From: trace.EndProxy, To: trace.EndProxy}, Reason: "stalled"})
	for _, ev := range evs[cut:] {
		a.Record(ev)
	}
	a.Record(&trace.SessionEnd{Header: trace.Header{Time: now, Side: trace.Client, Layer: trace.UDP, From: trace.EndProxy, To: trace.EndProxy}, Reason: "logout", Complete: true})

	if s := relaySummary(t, l, idA); s.State != observatory.StateLoggedOut || !strings.Contains(s.Step, "the ritual completes") {
		t.Errorf("the relayed ritual after logout: %+v", s)
	}
	if s := relaySummary(t, l, idB); s.State != observatory.StateStalled {
		t.Errorf("the stalled relayed session: %+v", s)
	}
	if n := l.Unattributed(); n != 0 {
		t.Errorf("%d events attributed to no session", n)
	}
	if sa, sb := relaySummary(t, l, idA), relaySummary(t, l, idB); sa.Events <= sb.Events || sb.Events != len(bEvents)+2 {
		t.Errorf("events filed: %d and %d, want %d for the stalled one", sa.Events, sb.Events, len(bEvents)+2)
	}
}
