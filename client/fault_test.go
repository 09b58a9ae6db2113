package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/login"
	"ritual/trace"
	"ritual/trace/cause"
	"ritual/trace/tracetest"
)

// The fake grid misbehaves as grids were seen to, and the session names
// the step, the cause and the side at fault from the one catalogue
// (trace/cause), in plain words, while it goes on with what works.

// expectStall checks the session's one diagnosis.
func expectStall(t *testing.T, evs []trace.Event, step cause.Step, kind cause.Kind, fault cause.Side, text string) *trace.Stall {
	t.Helper()
	st, ok := tracetest.First[*trace.Stall](evs)
	if !ok {
		t.Fatal("no stall recorded")
	}
	if st.Step != int(step) || st.Cause != string(kind) || st.Fault != string(fault) {
		t.Errorf("stall at step %d, cause %q, fault %q; want %d %q %q\n%q", st.Step, st.Cause, st.Fault, step, kind, fault, st.Causes)
	}
	if len(st.Causes) == 0 || !strings.Contains(st.Causes[0], text) {
		t.Errorf("first cause %q, want it to contain %q", st.Causes, text)
	}
	noJargon(t, st.Causes)
	return st
}

func noJargon(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		for _, j := range []string{"context deadline", "dial tcp", "Post \"", "connect:", "EOF", "x509", "%!"} {
			if strings.Contains(l, j) {
				t.Errorf("cause speaks jargon %q: %q", j, l)
			}
		}
	}
}

// expectFault checks that the session went on without something and said
// why.
func expectFault(t *testing.T, s *Session, evs []trace.Event, kind cause.Kind, fault cause.Side, text string) {
	t.Helper()
	fs := s.Faults()
	if len(fs) == 0 || fs[0].Kind != kind || fs[0].Fault != fault || !strings.Contains(fs[0].Text, text) {
		t.Errorf("faults %+v, want first %s (%s) %q", fs, kind, fault, text)
	}
	var told *trace.Anomaly
	for _, ev := range evs {
		if a, ok := ev.(*trace.Anomaly); ok && a.Kind == trace.AnomalyFault && a.Cause == string(kind) {
			told = a
		}
	}
	if told == nil || told.Fault != string(fault) || !strings.Contains(told.Reason, text) {
		t.Errorf("FAULT anomaly = %+v", told)
	}
}

// TestBlankSeedCapabilityRegionWaits: a login reply without a seed
// capability no longer ends the login: the UDP ritual goes on, and when
// the region (as OpenSimulator) then sends no scene, the stall names the
// blank seed capability and the login service.
func TestBlankSeedCapabilityRegionWaits(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{blankSeed: true})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	s, err := Login(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Login with a blank seed capability: %v", err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.WaitRitual(ctx); err == nil {
		t.Fatal("the ritual completed without the scene")
	}
	evs := mem.Events()
	if _, moved := s.Movement(); !moved || !s.Handshaken() {
		t.Error("the UDP ritual did not go on: no handshake or movement")
	}
	tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] SEND UseCircuitCode", "[CLIENT] [UDP] RECV RegionHandshake",
		"[CLIENT] [CAPS] FAULT", "[CLIENT] [UDP] SEND AgentThrottle", "[CLIENT] [CAPS] STALL")
	st := expectStall(t, evs, cause.StepSeed, cause.SeedBlank, cause.LoginService, "the login reply's seed capability is blank")
	if st.Layer != trace.Caps || !strings.Contains(strings.Join(st.Causes, "\n"), "the region sent no object in") {
		t.Errorf("stall %+v", st)
	}
	expectFault(t, s, evs, cause.SeedBlank, cause.LoginService, "seed capability is blank")
	if err := s.WaitEventQueue(context.Background()); !errors.Is(err, ErrEventQueue) || !strings.Contains(err.Error(), "seed capability is blank") {
		t.Errorf("WaitEventQueue = %v", err)
	}
}

// TestBlankSeedCapabilityRitualCompletes: a region that sends the scene
// anyway lets the ritual complete, but not whole.
func TestBlankSeedCapabilityRitualCompletes(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{blankSeed: true, sceneWithoutSeed: true})
	var mem trace.Memory
	cfg := f.config(login.FormatLLSD)
	cfg.Recorder = &mem
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	expectFault(t, s, mem.Events(), cause.SeedBlank, cause.LoginService, "seed capability is blank")
	if _, ok := tracetest.First[*trace.Stall](mem.Events()); ok {
		t.Error("a completed ritual was told as stalled")
	}
}

// TestSeedCapability500: the seed answers 500; the UDP ritual goes on and
// a stall reports the real wait, not the seed's timeout.
func TestSeedCapability500(t *testing.T) {
	t.Run("no scene", func(t *testing.T) {
		f := newFakeGrid(t, fakeOptions{seedStatus: 500})
		var mem trace.Memory
		cfg := f.config(login.FormatXMLRPC)
		cfg.Recorder = &mem
		start := time.Now()
		s, err := Login(context.Background(), cfg)
		if err != nil {
			t.Fatalf("Login with a failing seed: %v", err)
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer cancel()
		if err := s.WaitRitual(ctx); err == nil {
			t.Fatal("the ritual completed without the scene")
		}
		took := time.Since(start)
		evs := mem.Events()
		st := expectStall(t, evs, cause.StepSeed, cause.SeedStatus, cause.Capabilities, "the seed capability answered HTTP 500")
		if st.Waited < 250*time.Millisecond || st.Waited > took {
			t.Errorf("stall waited %v, but the whole run took %v (the seed's timeout is %v)", st.Waited, took, DefaultSeedTimeout)
		}
		tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] RECV RegionHandshake", "[CLIENT] [CAPS] FAULT", "[CLIENT] [UDP] SEND AgentThrottle", "[CLIENT] [CAPS] STALL")
		if f.count("AgentThrottle") == 0 {
			t.Error("the session stopped after the seed failed: no AgentThrottle sent")
		}
	})
	t.Run("scene anyway", func(t *testing.T) {
		f := newFakeGrid(t, fakeOptions{seedStatus: 500, sceneWithoutSeed: true})
		var mem trace.Memory
		cfg := f.config(login.FormatXMLRPC)
		cfg.Recorder = &mem
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := Login(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.WaitRitual(ctx); err != nil {
			t.Fatal(err)
		}
		expectFault(t, s, mem.Events(), cause.SeedStatus, cause.Capabilities, "the seed capability answered HTTP 500")
	})
}

// TestEventQueueHeld: an event queue that holds every poll and delivers
// nothing is told, with what it means, although the ritual completes.
func TestEventQueueHeld(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{eqHold: true})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	cfg.Timeouts.EventQueue = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	err = s.WaitEventQueue(ctx)
	if !errors.Is(err, ErrEventQueue) || !strings.Contains(err.Error(), "the event queue held 1 poll for") {
		t.Fatalf("WaitEventQueue = %v", err)
	}
	evs := mem.Events()
	expectFault(t, s, evs, cause.EventQueueSilent, cause.Capabilities, "delivered nothing")
	var a *trace.Anomaly
	for _, ev := range evs {
		if an, ok := ev.(*trace.Anomaly); ok && an.Cause != "" {
			a = an
		}
	}
	if a == nil {
		t.Fatal("no anomaly names the cause")
	}
	if !strings.Contains(a.Reason, "no EstablishAgentCommunication, no parcel information") || a.Layer != trace.EQ {
		t.Errorf("the anomaly does not say what it means: %+v", a)
	}
	noJargon(t, []string{a.Reason})
}

// TestEventQueueGone: an event queue that answers 404 from the first poll
// is told once, as gone, not later as held.
func TestEventQueueGone(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{eqGone: true})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	cfg.Timeouts.EventQueue = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitEventQueue(ctx); !errors.Is(err, ErrEventQueue) || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("WaitEventQueue = %v", err)
	}
	time.Sleep(300 * time.Millisecond) // past the silence limit: no second fault
	if fs := s.Faults(); len(fs) != 1 || fs[0].Kind != cause.EventQueueEnded {
		t.Errorf("faults %+v", fs)
	}
	expectFault(t, s, mem.Events(), cause.EventQueueEnded, cause.Capabilities, "the event queue answered HTTP 404")
}

// TestEventQueueAnswersPromptly: an event queue that delivers (as
// OpenSimulator's does, with ParcelProperties) is no fault.
func TestEventQueueAnswersPromptly(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{})
	cfg := f.config(login.FormatXMLRPC)
	cfg.Timeouts.EventQueue = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitEventQueue(ctx); err != nil {
		t.Fatal(err)
	}
	if fs := s.Faults(); len(fs) != 0 {
		t.Errorf("faults %+v", fs)
	}
}

// TestLoginNeverAnswers: the login service holds the request; the
// diagnosis says so in plain words, with the real wait: from the request,
// not from when the caller armed its deadline (a little earlier), and
// never the deadline itself or a timeout that did not run out.
func TestLoginNeverAnswers(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{loginHang: true})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	begin := time.Now()
	if s, err := Login(ctx, cfg); err == nil {
		s.Close()
		t.Fatal("Login succeeded against a login service that never answers")
	}
	took := time.Since(begin)
	f.mu.Lock()
	arrived := f.loginAt
	f.mu.Unlock()
	if arrived.IsZero() {
		t.Fatal("the login request never reached the login service")
	}
	st := expectStall(t, mem.Events(), cause.StepLoginAnswered, cause.LoginSilent, cause.LoginService, "the login service did not answer within ")
	if st.Layer != trace.Login {
		t.Errorf("stall %+v", st)
	}
	// The wait began before the request arrived and ended after the
	// deadline, inside the call to Login: deadline-arrived <= Waited <=
	// took, on the monotonic clock, with no rounding.
	if lo := deadline.Sub(arrived); st.Waited < lo || st.Waited > took {
		t.Errorf("stall waited %v; want between %v (deadline after the request arrived) and %v (the whole Login)", st.Waited, lo, took)
	}
	if want := "within " + cause.Dur(st.Waited); !strings.Contains(st.Causes[0], want) {
		t.Errorf("first cause %q, want %q", st.Causes[0], want)
	}
}

// TestLoginNothingListening: a login URI where nothing listens.
func TestLoginNothingListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var mem trace.Memory
	cfg := Config{LoginURI: "http://" + addr + "/", First: "Test", Last: "User", Password: "x", Recorder: &mem}
	if s, err := Login(context.Background(), cfg); err == nil {
		s.Close()
		t.Fatal("Login succeeded")
	}
	expectStall(t, mem.Events(), cause.StepLoginAnswered, cause.LoginUnreachable, cause.LoginService, "nothing is listening at "+addr)
}

// TestLoginRefusedDiagnosis: a refused login is the client's to fix when
// the password is wrong.
func TestLoginRefusedDiagnosis(t *testing.T) {
	var mem trace.Memory
	st := loginStall("http://127.0.0.1:9000/", &login.Failure{Reason: "key", Message: "Could not authenticate your avatar."}, time.Millisecond)
	mem.Record(st)
	expectStall(t, mem.Events(), cause.StepLoginAccepted, cause.LoginRefused, cause.Client, `reason "key"`)
}

// TestTerrainCutShort: the region stops sending terrain part way.
func TestTerrainCutShort(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{landPackets: 2})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	s, err := Login(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitObjects(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.WaitRitual(ctx); err == nil {
		t.Fatal("the ritual completed with the terrain cut short")
	}
	p, of := s.World().TerrainProgress()
	if p == 0 || p >= of {
		t.Fatalf("terrain %d/%d", p, of)
	}
	expectStall(t, mem.Events(), cause.StepTerrain, cause.TerrainShort, cause.Region,
		"the region sent "+strconv.Itoa(p)+" of "+strconv.Itoa(of)+" terrain patches and nothing since")
}

// TestSessionEndsMidRitual: when the region ends the session before the
// ritual completes, the stall names how, at the step it stopped.
func TestSessionEndsMidRitual(t *testing.T) {
	t.Run("kicked", func(t *testing.T) {
		f := newFakeGrid(t, fakeOptions{landPackets: 2, kick: "The region is shutting down."})
		var mem trace.Memory
		cfg := f.config(login.FormatXMLRPC)
		cfg.Recorder = &mem
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := Login(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var k *KickedError
		if err := s.WaitRitual(ctx); !errors.As(err, &k) {
			t.Fatalf("WaitRitual = %v", err)
		}
		expectStall(t, mem.Events(), cause.StepTerrain, cause.Kicked, cause.Region, `the region disconnected the agent (KickUser): "The region is shutting down."`)
	})
	t.Run("region silent", func(t *testing.T) {
		f := newFakeGrid(t, fakeOptions{landPackets: 2})
		var mem trace.Memory
		cfg := f.config(login.FormatXMLRPC)
		cfg.Recorder = &mem
		cfg.Circuit.Timeout = 400 * time.Millisecond
		cfg.Circuit.PingInterval = -1
		cfg.AgentUpdateInterval = -1
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := Login(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.WaitRitual(ctx); err == nil || ctx.Err() != nil {
			t.Fatalf("WaitRitual = %v (context: %v)", err, ctx.Err())
		}
		expectStall(t, mem.Events(), cause.StepTerrain, cause.RegionSilent, cause.Unknown, "the region sent nothing for 400 ms and the circuit was closed")
	})
}
