package sim_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
)

// fakeMessenger is a Directory that is a Messenger: it records what the
// region tells it and finds online whom it is told to.
type fakeMessenger struct {
	mu      sync.Mutex
	calls   []string
	relayed []store.OfflineMessage
	online  map[ritual.UUID]string // agent → region name
}

func (f *fakeMessenger) note(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeMessenger) has(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == s {
			return true
		}
	}
	return false
}

func (*fakeMessenger) Regions() []store.Region { return nil }
func (*fakeMessenger) Admit(context.Context, ritual.RegionHandle, login.Circuit, ritual.Vector3, ritual.Vector3) (login.Destination, error) {
	return login.Destination{}, sim.ErrNoSuchRegion
}
func (f *fakeMessenger) Arrived(agent, session, region ritual.UUID) {
	f.note("arrived " + agent.String() + " " + session.String() + " " + region.String())
}
func (f *fakeMessenger) Left(agent, session, region ritual.UUID) {
	f.note("left " + agent.String() + " " + session.String() + " " + region.String())
}
func (f *fakeMessenger) Kept(to ritual.UUID) { f.note("kept " + to.String()) }
func (f *fakeMessenger) Relay(_ context.Context, m *store.OfflineMessage) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	where, ok := f.online[m.To]
	if !ok {
		return "", sim.ErrNotOnline
	}
	f.relayed = append(f.relayed, *m)
	return where, nil
}

// TestMessenger: the region reports arrivals and departures of root
// agents, relays messages for agents online elsewhere (no reply to the
// sender), tells of a message kept for an offline one, and delivers live,
// with their sending time, the messages a Wake says wait for a root agent
// here, and typing indicators handed to Forward.
func TestMessenger(t *testing.T) {
	fm := &fakeMessenger{online: map[ritual.UUID]string{}}
	r := newRigWith(t, func(c *sim.Config) { c.Directory = fm })
	id := r.region.Info().ID
	faraway := &store.Account{First: "Far", Last: "Away", PasswordHash: "x"}
	offline := &store.Account{First: "Not", Last: "Here", PasswordHash: "x"}
	reader := &store.Account{First: "Bob", Last: "Reader", PasswordHash: "x"}
	for _, a := range []*store.Account{faraway, offline, reader} {
		if err := r.store.Accounts().Create(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	fm.online[faraway.ID] = "Elsewhere"

	ann := r.arrive(t, "Ann", "Sender", ritual.UUID{})
	bob := r.arrive(t, "Bob", "Reader", reader.ID)
	waitFor(t, ann, 5*time.Second, "Bob's avatar", fullOf(bob.c.Agent))
	for _, m := range []*member{ann, bob} {
		if !fm.has("arrived " + m.c.Agent.String() + " " + m.c.Session.String() + " " + id.String()) {
			fm.mu.Lock()
			t.Errorf("%s's arrival not reported: %q", m.c.First, fm.calls)
			fm.mu.Unlock()
		}
	}
	if !r.region.HoldsRoot(bob.c.Agent) || r.region.HoldsRoot(faraway.ID) {
		t.Error("HoldsRoot")
	}

	ann.im(faraway.ID, "over there")
	ann.im(offline.ID, "later")
	waitFor(t, ann, 3*time.Second, "the offline reply", imFrom(sim.OfflineReply))
	eventually(t, "the kept message reported", func() bool { return fm.has("kept " + offline.ID.String()) })
	fm.mu.Lock()
	if len(fm.relayed) != 1 || fm.relayed[0].Text != "over there" || fm.relayed[0].From != ann.c.Agent ||
		fm.relayed[0].FromName != "Ann Sender" || fm.relayed[0].RegionID != id {
		t.Errorf("relayed %+v", fm.relayed)
	}
	fm.mu.Unlock()

	// A message relayed to Bob from elsewhere, sent at 1000 s.
	om := store.OfflineMessage{To: bob.c.Agent, From: faraway.ID, FromName: "Far Away", Text: "hello Bob",
		Sent: time.Unix(1000, 0), RegionID: ritual.NewUUID()}
	if err := r.store.Messages().Save(t.Context(), &om); err != nil {
		t.Fatal(err)
	}
	if !r.region.Wake(bob.c.Agent) {
		t.Fatal("Wake: Bob not here")
	}
	got := waitFor(t, bob, 3*time.Second, "the relayed IM", imFrom("hello Bob")).(*msg.ImprovedInstantMessage)
	if mb := got.MessageBlock; mb.Offline != 0 || mb.Timestamp != 1000 || got.AgentData.AgentID != faraway.ID ||
		string(mb.FromAgentName) != "Far Away\x00" {
		t.Errorf("relayed IM as delivered: %+v", got)
	}
	if !r.region.Forward(&store.OfflineMessage{To: bob.c.Agent, From: faraway.ID, FromName: "Far Away", Dialog: sim.IMStartTyping}) {
		t.Fatal("Forward refused")
	}
	waitFor(t, bob, 3*time.Second, "the typing indicator", func(m msg.Message) bool {
		im, ok := m.(*msg.ImprovedInstantMessage)
		return ok && im.MessageBlock.Dialog == sim.IMStartTyping && im.AgentData.AgentID == faraway.ID
	})
	if r.region.Forward(&store.OfflineMessage{To: bob.c.Agent, Dialog: sim.IMFromAgent}) {
		t.Error("Forward took an ordinary message")
	}

	bob.conn.Send(&msg.LogoutRequest{AgentData: msg.LogoutRequestAgentData{AgentID: bob.c.Agent, SessionID: bob.c.Session}}, true)
	eventually(t, "Bob's leaving reported", func() bool {
		return fm.has("left " + bob.c.Agent.String() + " " + bob.c.Session.String() + " " + id.String())
	})
	if fm.has("left " + ann.c.Agent.String() + " " + ann.c.Session.String() + " " + id.String()) {
		t.Error("Ann reported gone")
	}

	var outcomes []string
	for _, ev := range r.rec.Events() {
		if im, ok := ev.(*trace.InstantMessage); ok {
			outcomes = append(outcomes, im.Outcome)
		}
	}
	for _, want := range []string{"relayed to region Elsewhere", "stored: recipient offline", "delivered: relayed from another region"} {
		found := false
		for _, o := range outcomes {
			found = found || strings.HasPrefix(o, want)
		}
		if !found {
			t.Errorf("no IM trace %q in %q", want, outcomes)
		}
	}
}
