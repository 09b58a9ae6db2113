package grid_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/client"
	"ritual/grid"
	"ritual/internal/pgtest"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
)

// waitIM waits for the instant message with text, and returns it with the
// texts of the other messages the session received meanwhile.
func waitIM(t *testing.T, s *client.Session, text string) (client.InstantMessage, []string) {
	t.Helper()
	var others []string
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-s.WorldEvents():
			if ev.Kind != client.IMReceived {
				continue
			}
			if ev.IM.Text == text {
				return *ev.IM, others
			}
			others = append(others, ev.IM.Text)
		case <-deadline:
			t.Fatalf("%s: no instant message %q within 15 s (got %q)", s.AgentID(), text, others)
		}
	}
}

// typing sends a typing indicator (dialog 41) and waits for it at to.
func typing(t *testing.T, from, to *client.Session) {
	t.Helper()
	if err := from.Send(&msg.ImprovedInstantMessage{
		AgentData: msg.ImprovedInstantMessageAgentData{AgentID: from.AgentID(), SessionID: from.SessionID()},
		MessageBlock: msg.ImprovedInstantMessageMessageBlock{
			ToAgentID: to.AgentID(), Dialog: sim.IMStartTyping, FromAgentName: []byte("x\x00"),
			Message: []byte("typing\x00"), BinaryBucket: []byte{0},
		},
	}, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-to.WorldEvents():
			if ev.Kind == client.IMReceived && ev.IM.Dialog == sim.IMStartTyping {
				if ev.IM.From != from.AgentID() || ev.IM.Offline {
					t.Errorf("typing indicator %+v", ev.IM)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no typing indicator within 15 s")
		}
	}
}

// noOfflineReply fails if texts hold the reply to a message to an offline
// account.
func noOfflineReply(t *testing.T, who string, texts []string) {
	t.Helper()
	if slices.Contains(texts, sim.OfflineReply) {
		t.Errorf("%s was told %q", who, sim.OfflineReply)
	}
}

// waitPresence waits until the agent's presence is the region (zero:
// offline).
func waitPresence(t *testing.T, gs store.GridStore, agent, region ritual.UUID) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		p, err := gs.Presence().Get(t.Context(), agent)
		if region.IsZero() && errors.Is(err, store.ErrNotFound) || err == nil && p.Region == region {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s: presence %+v, %v 10 s on; want region %s", agent, p, err, region)
		}
	}
}

// waitPayload waits for a notification.
func waitPayload(t *testing.T, c <-chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-c:
			if p == want {
				return
			}
		case <-deadline:
			t.Fatalf("no notification %q within 10 s", want)
		}
	}
}

func liveIM(t *testing.T, im client.InstantMessage, from ritual.UUID, fromName string) {
	t.Helper()
	if im.Offline || im.From != from || im.FromName != fromName {
		t.Errorf("IM %+v: want a live one from %s (%s)", im, fromName, from)
	}
}

// TestIMAcrossProcesses: two processes share a PostgreSQL database, Ann
// in North (the first, with the login service), Bob in South (the
// second). Their instant messages go both ways live; the presence table
// says who is where and the processes are told each change on
// ritual_presence. A message sent as Bob's process dies waits in the
// store for his next login; the region swept off the map takes his
// presence with it; Ann's logout clears hers.
func TestIMAcrossProcesses(t *testing.T) {
	dsn := pgtest.Database(t, "")
	beat := grid.Config{Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: 400 * time.Millisecond, Listen: "127.0.0.1:0"}
	watch := openPG(t, dsn)
	changes, err := watch.Listen(t.Context(), "ritual_presence")
	if err != nil {
		t.Fatal(err)
	}
	addAccount(t, watch, "Ann", "Able", "secret")
	addAccount(t, watch, "Bob", "Baker", "secret")

	cfg := beat
	cfg.Store, cfg.Regions = openPG(t, dsn), []grid.RegionSpec{{Name: "North", GridX: 3000, GridY: 3000}}
	north := start(t, cfg)
	defer stop(t, north)
	southProc := func() *grid.Server {
		cfg := beat
		cfg.Store, cfg.NoLogin = openPG(t, dsn), true
		cfg.Regions = []grid.RegionSpec{{Name: "South", GridX: 3000, GridY: 2990}}
		return start(t, cfg)
	}
	south := southProc()
	northID, southID := north.Region.Info().ID, south.Region.Info().ID

	ann, err := loginAs(t, north.LoginURI(), "Ann", "Able", "uri:North&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	bob, err := loginAs(t, north.LoginURI(), "Bob", "Baker", "uri:South&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	if bob.Region().Name != "South" {
		t.Fatalf("Bob landed in %q", bob.Region().Name)
	}
	waitPresence(t, watch, ann.AgentID(), northID)
	waitPresence(t, watch, bob.AgentID(), southID)
	waitPayload(t, changes, "set "+bob.AgentID().String()+" "+southID.String())

	if err := ann.SendIM(bob.AgentID(), "hello from North"); err != nil {
		t.Fatal(err)
	}
	im, _ := waitIM(t, bob, "hello from North")
	liveIM(t, im, ann.AgentID(), "Ann Able")
	typing(t, ann, bob)
	typing(t, bob, ann)
	if err := bob.SendIM(ann.AgentID(), "hello from South"); err != nil {
		t.Fatal(err)
	}
	im, others := waitIM(t, ann, "hello from South")
	liveIM(t, im, bob.AgentID(), "Bob Baker")
	noOfflineReply(t, "Ann", others)
	if err := ann.SendIM(bob.AgentID(), "and back"); err != nil {
		t.Fatal(err)
	}
	im, others = waitIM(t, bob, "and back")
	liveIM(t, im, ann.AgentID(), "Ann Able")
	noOfflineReply(t, "Bob", others)
	// Both messages went through the store and were taken.
	if left, err := watch.Messages().Take(t.Context(), bob.AgentID()); err != nil || len(left) != 0 {
		t.Errorf("messages left for Bob: %v, %v", left, err)
	}

	// South's process dies; a message sent meanwhile waits for Bob.
	south.Abandon()
	bob.Close()
	if err := ann.SendIM(bob.AgentID(), "are you there?"); err != nil {
		t.Fatal(err)
	}
	// The sweeper takes South off the map and Bob's presence with it.
	waitPresence(t, watch, bob.AgentID(), ritual.UUID{})
	waitPayload(t, changes, "region "+southID.String())
	if p, err := watch.Presence().Get(t.Context(), ann.AgentID()); err != nil || p.Region != northID {
		t.Errorf("Ann's presence after South was swept: %+v, %v", p, err)
	}

	south = southProc()
	defer stop(t, south)
	bob, err = loginAs(t, north.LoginURI(), "Bob", "Baker", "uri:South&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	im, _ = waitIM(t, bob, "are you there?")
	if im.From != ann.AgentID() {
		t.Errorf("stored IM %+v", im)
	}
	waitPresence(t, watch, bob.AgentID(), southID)

	// Ann's logout clears her presence, and says so.
	if _, err := ann.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, watch, ann.AgentID(), ritual.UUID{})
	waitPayload(t, changes, "clear "+ann.AgentID().String()+" "+northID.String())
	// Now offline: Bob is told so, and the message waits.
	if err := bob.SendIM(ann.AgentID(), "bye"); err != nil {
		t.Fatal(err)
	}
	im, _ = waitIM(t, bob, sim.OfflineReply)
	if im.From != ann.AgentID() {
		t.Errorf("offline reply %+v", im)
	}
	// A clean stop clears the region's presence.
	stop(t, south)
	waitPresence(t, watch, bob.AgentID(), ritual.UUID{})
}

// TestIMBetweenRegionsOfOneProcess: two regions of one process (SQLite),
// not neighbours. Ann in West and Bob in East message each other live;
// Bob's presence follows his teleport to West, where Ann's message reaches
// him directly; his logout clears it.
func TestIMBetweenRegionsOfOneProcess(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2010, GridY: 2000}}})
	defer stop(t, srv)
	gs := srv.Store.(store.GridStore)
	addAccount(t, gs, "Ann", "Able", "secret")
	addAccount(t, gs, "Bob", "Baker", "secret")
	westID, eastID := srv.Regions[0].Info().ID, srv.Regions[1].Info().ID
	changes, err := gs.(store.Notifier).Listen(t.Context(), "ritual_presence")
	if err != nil {
		t.Fatal(err)
	}

	ann, err := loginAs(t, srv.LoginURI(), "Ann", "Able", "uri:West&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	bob, err := loginAs(t, srv.LoginURI(), "Bob", "Baker", "uri:East&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	waitPresence(t, gs, ann.AgentID(), westID)
	waitPresence(t, gs, bob.AgentID(), eastID)
	waitPayload(t, changes, "set "+bob.AgentID().String()+" "+eastID.String())

	for i, dir := range []struct {
		from, to *client.Session
		name     string
	}{{ann, bob, "Ann Able"}, {bob, ann, "Bob Baker"}, {ann, bob, "Ann Able"}} {
		text := "message " + strings.Repeat("!", i+1)
		if err := dir.from.SendIM(dir.to.AgentID(), text); err != nil {
			t.Fatal(err)
		}
		im, others := waitIM(t, dir.to, text)
		liveIM(t, im, dir.from.AgentID(), dir.name)
		noOfflineReply(t, dir.to.Region().Name, others)
		typing(t, dir.from, dir.to)
	}
	m := scrape(t, srv)
	for key, want := range map[string]float64{
		"ritual_instant_messages_total{outcome=relayed}":        3,
		"ritual_instant_messages_total{outcome=relayed_typing}": 3,
		"ritual_presence_changes_total{op=lost}":                0,
		"ritual_presence_changes_total{op=failed}":              0,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %t), want %v", key, got, ok, want)
		}
	}
	if m["ritual_presence_changes_total{op=set}"] < 2 {
		t.Errorf("presence set %v times, want 2", m["ritual_presence_changes_total{op=set}"])
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := bob.Teleport(ctx, "West", ritual.Vector3{X: 100, Y: 100, Z: 30}, ritual.Vector3{X: 1}); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, gs, bob.AgentID(), westID)
	if err := ann.SendIM(bob.AgentID(), "same region now"); err != nil {
		t.Fatal(err)
	}
	im, _ := waitIM(t, bob, "same region now")
	liveIM(t, im, ann.AgentID(), "Ann Able")
	// East holds Bob as a child: no longer his region.
	if srv.Regions[1].HoldsRoot(bob.AgentID()) || !srv.Regions[0].HoldsRoot(bob.AgentID()) {
		t.Errorf("after the teleport: East holds Bob %v, West %v",
			srv.Regions[1].HoldsRoot(bob.AgentID()), srv.Regions[0].HoldsRoot(bob.AgentID()))
	}

	if _, err := bob.Logout(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, gs, bob.AgentID(), ritual.UUID{})
	waitPayload(t, changes, "clear "+bob.AgentID().String()+" "+westID.String())
	if p, err := gs.Presence().Get(t.Context(), ann.AgentID()); err != nil || p.Region != westID {
		t.Errorf("Ann's presence: %+v, %v", p, err)
	}
}

// TestPresenceBackWithTheRegion: a region taken off the map (as a sweep
// does after missed heartbeats, its presence cleared) that is still
// running puts itself back and its agents' presence with it.
func TestPresenceBackWithTheRegion(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Heartbeat: 50 * time.Millisecond})
	defer stop(t, srv)
	gs := srv.Store.(store.GridStore)
	addAccount(t, gs, "Ann", "Able", "secret")
	ann, err := loginAs(t, srv.LoginURI(), "Ann", "Able", "home")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	id := srv.Region.Info().ID
	waitPresence(t, gs, ann.AgentID(), id)

	swept, err := gs.Hosts().Sweep(t.Context(), time.Now().Add(time.Hour))
	if err != nil || len(swept) != 1 {
		t.Fatalf("sweep: %v, %v", swept, err)
	}
	if n, err := gs.Presence().ClearRegion(t.Context(), id); err != nil || n != 1 {
		t.Fatalf("clearing the presence: %d, %v", n, err)
	}
	waitPresence(t, gs, ann.AgentID(), id)
	if _, err := gs.Hosts().Get(t.Context(), id); err != nil {
		t.Errorf("the region is not back on the map: %v", err)
	}
}

// TestPresenceFollowsACrossing: an agent walking from West into East is
// present in East; West, holding it as a child since, relays a message to
// it there (the sender's trace says so) rather than sending it on the
// child's circuit.
func TestPresenceFollowsACrossing(t *testing.T) {
	var mem trace.Memory
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Recorder: &mem,
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}}})
	defer stop(t, srv)
	gs := srv.Store.(store.GridStore)
	addAccount(t, gs, "Ann", "Able", "secret")
	addAccount(t, gs, "Bob", "Baker", "secret")
	westID, eastID := srv.Regions[0].Info().ID, srv.Regions[1].Info().ID
	ann, err := loginAs(t, srv.LoginURI(), "Ann", "Able", "uri:West&240&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	bob, err := loginAs(t, srv.LoginURI(), "Bob", "Baker", "uri:West&20&20&30")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	waitPresence(t, gs, ann.AgentID(), westID)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := ann.WaitNeighbours(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ann.WalkTo(ritual.Vector3{X: 300, Y: 128, Z: 30})
	if err := ann.WaitCrossings(ctx, 1); err != nil {
		t.Fatalf("crossing: %v", err)
	}
	waitPresence(t, gs, ann.AgentID(), eastID)
	for !srv.Regions[1].HoldsRoot(ann.AgentID()) || srv.Regions[0].HoldsRoot(ann.AgentID()) {
		if ctx.Err() != nil {
			t.Fatal("East does not hold Ann, or West still does")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := bob.SendIM(ann.AgentID(), "over the border"); err != nil {
		t.Fatal(err)
	}
	im, _ := waitIM(t, ann, "over the border")
	liveIM(t, im, bob.AgentID(), "Bob Baker")
	relayed := false
	for _, ev := range mem.Events() {
		if e, ok := ev.(*trace.InstantMessage); ok && e.From == bob.AgentID() && e.Outcome == "relayed to region East" {
			relayed = true
		}
	}
	if !relayed {
		t.Error("no trace of Bob's message relayed to region East")
	}
}

// TestIMAcrossProcessesOnOneSQLiteFile: two processes on one SQLite file,
// whose notifications reach only their own process: a message relayed to
// the other process's region is still delivered live there (that process
// looks for it), never answered "not logged in".
func TestIMAcrossProcessesOnOneSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	beat := grid.Config{DataDir: dir, Listen: "127.0.0.1:0", Heartbeat: 100 * time.Millisecond, HeartbeatTimeout: time.Second}
	cfg := beat
	cfg.Regions = []grid.RegionSpec{{Name: "West", GridX: 4000, GridY: 4000}}
	west := start(t, cfg)
	defer stop(t, west)
	cfg = beat
	cfg.NoLogin, cfg.Regions = true, []grid.RegionSpec{{Name: "East", GridX: 4010, GridY: 4000}}
	east := start(t, cfg)
	defer stop(t, east)
	addAccount(t, west.Store, "Ann", "Able", "secret")
	addAccount(t, west.Store, "Bob", "Baker", "secret")

	ann, err := loginAs(t, west.LoginURI(), "Ann", "Able", "uri:West&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	bob, err := loginAs(t, west.LoginURI(), "Bob", "Baker", "uri:East&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	gs := west.Store.(store.GridStore)
	waitPresence(t, gs, bob.AgentID(), east.Region.Info().ID)
	waitPresence(t, gs, ann.AgentID(), west.Region.Info().ID)

	if err := ann.SendIM(bob.AgentID(), "across the file"); err != nil {
		t.Fatal(err)
	}
	im, _ := waitIM(t, bob, "across the file")
	liveIM(t, im, ann.AgentID(), "Ann Able")
	if err := bob.SendIM(ann.AgentID(), "and back"); err != nil {
		t.Fatal(err)
	}
	im, others := waitIM(t, ann, "and back")
	liveIM(t, im, bob.AgentID(), "Bob Baker")
	noOfflineReply(t, "Ann", others)
}

// TestIMRightAfterArrival: a message sent the moment its recipient
// arrives in another process's region, before that region has written
// its presence, still reaches it live.
func TestIMRightAfterArrival(t *testing.T) {
	dsn := pgtest.Database(t, "")
	st := openPG(t, dsn)
	addAccount(t, st, "Ann", "Able", "secret")
	addAccount(t, st, "Bob", "Baker", "secret")
	north := start(t, grid.Config{Store: openPG(t, dsn), Listen: "127.0.0.1:0",
		Regions: []grid.RegionSpec{{Name: "North", GridX: 3000, GridY: 3000}}})
	defer stop(t, north)
	south := start(t, grid.Config{Store: openPG(t, dsn), Listen: "127.0.0.1:0", NoLogin: true,
		Regions: []grid.RegionSpec{{Name: "South", GridX: 3000, GridY: 2990}}})
	defer stop(t, south)
	ann, err := loginAs(t, north.LoginURI(), "Ann", "Able", "uri:North&128&128&30")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	for i := range 3 {
		bob, err := loginAs(t, north.LoginURI(), "Bob", "Baker", "uri:South&128&128&30")
		if err != nil {
			t.Fatal(err)
		}
		text := "welcome " + strings.Repeat("!", i+1)
		if err := ann.SendIM(bob.AgentID(), text); err != nil {
			t.Fatal(err)
		}
		im, _ := waitIM(t, bob, text)
		if im.Offline {
			t.Errorf("%q arrived marked offline", text)
		}
		bob.Logout(t.Context())
		bob.Close()
		waitPresence(t, st, bob.AgentID(), ritual.UUID{})
	}
}
