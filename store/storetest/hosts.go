package storetest

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"ritual"
	"ritual/store"
)

func gridStore(t *testing.T, h *harness) store.GridStore {
	t.Helper()
	gs, ok := h.s.(store.GridStore)
	if !ok {
		t.Skipf("%T does not keep region hosts (store.GridStore)", h.s)
	}
	return gs
}

func host(region ritual.UUID, port uint16) store.RegionHost {
	return store.RegionHost{
		Region: region, Instance: ritual.NewUUID(),
		SimIP: netip.MustParseAddr("127.0.0.1"), SimPort: port,
		HTTPBase: "http://127.0.0.1:9000",
	}
}

func testHosts(t *testing.T, h *harness) {
	s := gridStore(t, h)
	r := mustRegion(t, s, "Busy", 1000, 1000)
	r2 := mustRegion(t, s, "Quiet", 1001, 1000)
	before := time.Now().Add(-time.Millisecond)
	a := host(r.ID, 9000)
	if err := s.Hosts().Register(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if a.Started.Before(before) || !a.Heartbeat.Equal(a.Started) || a.Started.Location() != time.UTC {
		t.Errorf("Register filled in %v, %v", a.Started, a.Heartbeat)
	}
	if got, err := s.Hosts().Get(ctx, r.ID); err != nil || got != a {
		t.Errorf("Get = %+v, %v; want %+v", got, err, a)
	}
	b := host(r2.ID, 9001)
	if err := s.Hosts().Register(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Hosts().List(ctx); err != nil || len(l) != 2 {
		t.Errorf("List = %v, %v", l, err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.Hosts().Heartbeat(ctx, r.ID, a.Instance); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Hosts().Get(ctx, r.ID)
	if !got.Heartbeat.After(a.Heartbeat) || !got.Started.Equal(a.Started) {
		t.Errorf("after Heartbeat: started %v heartbeat %v (was %v)", got.Started, got.Heartbeat, a.Heartbeat)
	}
	// Another instance takes the region over: the old one can neither
	// refresh nor remove the record.
	c := host(r.ID, 9002)
	if err := s.Hosts().Register(ctx, &c); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Heartbeat of a replaced instance", s.Hosts().Heartbeat(ctx, r.ID, a.Instance), store.ErrNotFound)
	wantErr(t, "Unregister of a replaced instance", s.Hosts().Unregister(ctx, r.ID, a.Instance), store.ErrNotFound)
	if got, _ := s.Hosts().Get(ctx, r.ID); got.SimPort != 9002 || got.Instance != c.Instance {
		t.Errorf("after takeover: %+v", got)
	}
	// Sweep removes the stale records only.
	time.Sleep(2 * time.Millisecond)
	cut := time.Now()
	time.Sleep(2 * time.Millisecond)
	if err := s.Hosts().Heartbeat(ctx, r2.ID, b.Instance); err != nil {
		t.Fatal(err)
	}
	swept, err := s.Hosts().Sweep(ctx, cut)
	if err != nil || len(swept) != 1 || swept[0] != r.ID {
		t.Errorf("Sweep = %v, %v; want [%s]", swept, err, r.ID)
	}
	wantErr(t, "Get after sweep", func() error { _, err := s.Hosts().Get(ctx, r.ID); return err }(), store.ErrNotFound)
	if err := s.Hosts().Unregister(ctx, r2.ID, b.Instance); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Hosts().List(ctx); err != nil || len(l) != 0 {
		t.Errorf("List after all gone = %v, %v", l, err)
	}
	// Errors.
	bad := host(ritual.NewUUID(), 9000)
	wantErr(t, "Register of an unknown region", s.Hosts().Register(ctx, &bad), store.ErrNotFound)
	for name, mod := range map[string]func(*store.RegionHost){
		"zero instance": func(h *store.RegionHost) { h.Instance = ritual.UUID{} },
		"no IP":         func(h *store.RegionHost) { h.SimIP = netip.Addr{} },
		"port 0":        func(h *store.RegionHost) { h.SimPort = 0 },
		"no HTTP base":  func(h *store.RegionHost) { h.HTTPBase = "" },
	} {
		x := host(r.ID, 9000)
		mod(&x)
		wantErr(t, "Register with "+name, s.Hosts().Register(ctx, &x), store.ErrInvalid)
	}
	// Deleting the region deletes its record.
	d := host(r2.ID, 9003)
	if err := s.Hosts().Register(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := s.Regions().Delete(ctx, r2.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "host of a deleted region", func() error { _, err := s.Hosts().Get(ctx, r2.ID); return err }(), store.ErrNotFound)
}

func pending(region ritual.UUID, code uint32) store.PendingCircuit {
	return store.PendingCircuit{
		Region: region, Code: code, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: "Test", Last: "User", Start: "uri:Busy&128&128&30", ClientAddr: "127.0.0.1",
		Expiry: time.Now().Add(time.Minute),
	}
}

func testCircuits(t *testing.T, h *harness) {
	s := gridStore(t, h)
	r := mustRegion(t, s, "Busy", 1000, 1000)
	c := pending(r.ID, 42)
	if err := s.Circuits().Offer(ctx, &c); err != nil {
		t.Fatal(err)
	}
	if c.Created.IsZero() {
		t.Error("Offer did not fill in Created")
	}
	dup := pending(r.ID, 42)
	wantErr(t, "Offer of a taken code", s.Circuits().Offer(ctx, &dup), store.ErrExists)
	unknown := pending(ritual.NewUUID(), 1)
	wantErr(t, "Offer to an unknown region", s.Circuits().Offer(ctx, &unknown), store.ErrNotFound)
	zero := pending(r.ID, 0)
	wantErr(t, "Offer of code 0", s.Circuits().Offer(ctx, &zero), store.ErrInvalid)
	d := pending(r.ID, 4000000000) // above int32
	if err := s.Circuits().Offer(ctx, &d); err != nil {
		t.Fatal(err)
	}
	un, err := s.Circuits().Unanswered(ctx, r.ID)
	if err != nil || len(un) != 2 || un[0].Code != 42 || un[1].Code != 4000000000 {
		t.Fatalf("Unanswered = %+v, %v", un, err)
	}
	if un[0] != c {
		t.Errorf("Unanswered[0] = %+v, want %+v", un[0], c)
	}
	if err := s.Circuits().Answer(ctx, r.ID, 42, `{"ok":true}`); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second Answer", s.Circuits().Answer(ctx, r.ID, 42, `{}`), store.ErrExists)
	wantErr(t, "Answer of an unknown circuit", s.Circuits().Answer(ctx, r.ID, 7, `{}`), store.ErrNotFound)
	wantErr(t, "empty Answer", s.Circuits().Answer(ctx, r.ID, 4000000000, ``), store.ErrInvalid)
	got, err := s.Circuits().Get(ctx, r.ID, 42)
	if err != nil || got.Answer != `{"ok":true}` {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if un, _ := s.Circuits().Unanswered(ctx, r.ID); len(un) != 1 || un[0].Code != 4000000000 {
		t.Errorf("Unanswered after an answer = %+v", un)
	}
	if err := s.Circuits().Remove(ctx, r.ID, 42); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Remove twice", s.Circuits().Remove(ctx, r.ID, 42), store.ErrNotFound)
	n, err := s.Circuits().Expire(ctx, time.Now().Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("Expire = %d, %v", n, err)
	}
	if _, err := s.Circuits().Get(ctx, r.ID, 4000000000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired circuit: %v", err)
	}
}

func testNotify(t *testing.T, h *harness) {
	n, ok := h.s.(store.Notifier)
	if !ok {
		t.Skipf("%T does not notify (store.Notifier)", h.s)
	}
	lctx, cancel := contextWithCancel()
	defer cancel()
	c, err := n.Listen(lctx, "ritual_test")
	if err != nil {
		t.Fatal(err)
	}
	other, err := n.Listen(lctx, "ritual_other")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, "ritual_test", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-c:
		if p != "hello" {
			t.Errorf("payload %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
	}
	select {
	case p := <-other:
		t.Errorf("another channel got %q", p)
	default:
	}
	cancel()
	for range c { // closed once ctx ends
	}
}

func testLocations(t *testing.T, h *harness) {
	s := gridStore(t, h)
	a := mustAccount(t, s, "Test", "User")
	r := mustRegion(t, s, "Busy", 1000, 1000)
	r2 := mustRegion(t, s, "Quiet", 1001, 1000)
	wantErr(t, "Get with none recorded", func() error { _, err := s.Locations().Get(ctx, a.ID); return err }(), store.ErrNotFound)
	l := store.AgentLocation{Agent: a.ID, Region: r.ID, Position: ritual.Vector3{X: 12.5, Y: 200, Z: 31.25}}
	if err := s.Locations().Set(ctx, &l); err != nil {
		t.Fatal(err)
	}
	if l.Updated.IsZero() {
		t.Error("Set left Updated zero")
	}
	if got, err := s.Locations().Get(ctx, a.ID); err != nil || got != l {
		t.Errorf("Get = %+v, %v; want %+v", got, err, l)
	}
	l2 := store.AgentLocation{Agent: a.ID, Region: r2.ID, Position: ritual.Vector3{X: 1, Y: 2, Z: 3}}
	if err := s.Locations().Set(ctx, &l2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Locations().Get(ctx, a.ID); err != nil || got != l2 {
		t.Errorf("Get after a second Set = %+v, %v; want %+v", got, err, l2)
	}
	wantErr(t, "Set for an unknown account", s.Locations().Set(ctx, &store.AgentLocation{Agent: ritual.NewUUID(), Region: r.ID}), store.ErrNotFound)
	wantErr(t, "Set in an unknown region", s.Locations().Set(ctx, &store.AgentLocation{Agent: a.ID, Region: ritual.NewUUID()}), store.ErrNotFound)
	nan := float32(math.NaN())
	wantErr(t, "Set at NaN", s.Locations().Set(ctx, &store.AgentLocation{Agent: a.ID, Region: r.ID, Position: ritual.Vector3{X: nan}}), store.ErrInvalid)
	// The region goes, and the location with it.
	if err := s.Regions().Delete(ctx, r2.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Get after the region was deleted", func() error { _, err := s.Locations().Get(ctx, a.ID); return err }(), store.ErrNotFound)
}

func testPresence(t *testing.T, h *harness) {
	s := gridStore(t, h)
	a := mustAccount(t, s, "Test", "User")
	b := mustAccount(t, s, "Other", "User")
	r := mustRegion(t, s, "Busy", 1000, 1000)
	r2 := mustRegion(t, s, "Quiet", 1001, 1000)
	wantErr(t, "Get of an offline agent", func() error { _, err := s.Presence().Get(ctx, a.ID); return err }(), store.ErrNotFound)
	session := ritual.NewUUID()
	p := store.AgentPresence{Agent: a.ID, Session: session, Region: r.ID}
	if err := s.Presence().Set(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if p.Updated.IsZero() {
		t.Error("Set left Updated zero")
	}
	if got, err := s.Presence().Get(ctx, a.ID); err != nil || got != p {
		t.Errorf("Get = %+v, %v; want %+v", got, err, p)
	}
	// The agent teleports: the presence moves; the old region clearing
	// it afterwards does not take it away.
	p2 := store.AgentPresence{Agent: a.ID, Session: session, Region: r2.ID}
	if err := s.Presence().Set(ctx, &p2); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Clear by the region left", s.Presence().Clear(ctx, a.ID, session, r.ID), store.ErrNotFound)
	wantErr(t, "Clear by an earlier session", s.Presence().Clear(ctx, a.ID, ritual.NewUUID(), r2.ID), store.ErrNotFound)
	if got, err := s.Presence().Get(ctx, a.ID); err != nil || got != p2 {
		t.Errorf("Get after stale clears = %+v, %v; want %+v", got, err, p2)
	}
	pb := store.AgentPresence{Agent: b.ID, Session: ritual.NewUUID(), Region: r2.ID}
	if err := s.Presence().Set(ctx, &pb); err != nil {
		t.Fatal(err)
	}
	l, err := s.Presence().List(ctx)
	if err != nil || len(l) != 2 || l[0].Agent.String() > l[1].Agent.String() {
		t.Errorf("List = %+v, %v", l, err)
	}
	if err := s.Presence().Clear(ctx, a.ID, session, r2.ID); err != nil {
		t.Errorf("Clear of the current presence: %v", err)
	}
	wantErr(t, "Get after Clear", func() error { _, err := s.Presence().Get(ctx, a.ID); return err }(), store.ErrNotFound)
	if err := s.Presence().Set(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Presence().ClearRegion(ctx, r2.ID); err != nil || n != 1 {
		t.Errorf("ClearRegion = %d, %v; want 1", n, err)
	}
	if l, err := s.Presence().List(ctx); err != nil || len(l) != 1 || l[0].Agent != a.ID {
		t.Errorf("List after ClearRegion = %+v, %v", l, err)
	}
	wantErr(t, "Set for an unknown account", s.Presence().Set(ctx, &store.AgentPresence{Agent: ritual.NewUUID(), Session: session, Region: r.ID}), store.ErrNotFound)
	wantErr(t, "Set in an unknown region", s.Presence().Set(ctx, &store.AgentPresence{Agent: a.ID, Session: session, Region: ritual.NewUUID()}), store.ErrNotFound)
	wantErr(t, "Set with a zero session", s.Presence().Set(ctx, &store.AgentPresence{Agent: a.ID, Region: r.ID}), store.ErrInvalid)
	// Deleting the account or the region takes its presence.
	if err := s.Regions().Delete(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Get after the region was deleted", func() error { _, err := s.Presence().Get(ctx, a.ID); return err }(), store.ErrNotFound)
}

func testSecret(t *testing.T, h *harness) {
	s := gridStore(t, h)
	first, err := s.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != store.SecretSize || bytes.Equal(first, make([]byte, store.SecretSize)) {
		t.Fatalf("Secret = %x: want %d random bytes", first, store.SecretSize)
	}
	if again, err := s.Secret(ctx); err != nil || !bytes.Equal(again, first) {
		t.Errorf("second Secret = %x, %v; want %x", again, err, first)
	}
	h.reopen()
	if again, err := gridStore(t, h).Secret(ctx); err != nil || !bytes.Equal(again, first) {
		t.Errorf("Secret after reopening = %x, %v; want %x", again, err, first)
	}
}
