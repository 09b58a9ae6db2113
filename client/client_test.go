package client

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/trace"
	"ritual/trace/cause"
	"ritual/trace/tracetest"
)

// TestRitualAgainstFakeRegion runs the whole ritual against a region that
// keeps OpenSimulator's order, in both login forms, and logs out with a
// LogoutReply.
func TestRitualAgainstFakeRegion(t *testing.T) {
	for _, format := range []login.Format{login.FormatXMLRPC, login.FormatLLSD} {
		t.Run(format.String(), func(t *testing.T) {
			f := newFakeGrid(t, fakeOptions{logoutReply: true})
			var mem trace.Memory
			cfg := f.config(format)
			cfg.Recorder = &mem
			cfg.AgentUpdateInterval = 20 * time.Millisecond
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
			// The cached object comes once the region answers
			// RequestMultipleObjects.
			if err := s.WaitObjects(ctx, 4); err != nil {
				t.Fatal(err)
			}

			if s.AgentID() != f.agent || s.SessionID() != f.session || s.CircuitCode() != fakeCode {
				t.Errorf("ids: %v %v %d", s.AgentID(), s.SessionID(), s.CircuitCode())
			}
			rg := s.Region()
			if rg.Name != fakeRegionName || rg.ID != fakeRegionID || rg.WaterHeight != 20 || rg.Flags != 0x10 || rg.Protocols != 1<<63 ||
				rg.ProductName != "Fake" || rg.Addr != f.addr || rg.SizeX != 256 {
				t.Errorf("region = %+v", rg)
			}
			mv, ok := s.Movement()
			if !ok || mv.Position.X != 128 || mv.ChannelVersion != "Fake Region" || mv.RegionHandle != rg.Handle {
				t.Errorf("movement = %+v", mv)
			}
			// The avatar's terse update is the scene's last message: the
			// answer to RequestMultipleObjects may come before it.
			waitUntil(t, "the avatar's terse update", func() bool {
				av, ok := s.World().Avatar()
				return ok && av.Kind == UpdateTerse
			})
			av, ok := s.World().Avatar()
			if !ok || av.LocalID != fakeAvatarLocal || av.Kind != UpdateTerse || av.Position.Y != 129 {
				t.Errorf("avatar = %+v, %v", av, ok)
			}
			if o, ok := s.World().Object(fakeCompressedLocal); !ok || o.Kind != UpdateCompressed || o.Shape.Type() != prim.PrimSphere {
				t.Errorf("compressed object = %+v, %v", o, ok)
			}
			if o, ok := s.World().Object(fakeCachedLocal); !ok || o.Kind != UpdateFull || len(s.World().Cached()) != 0 {
				t.Errorf("cached object = %+v, %v; still cached %v", o, ok, s.World().Cached())
			}
			tr := s.Terrain()
			if !tr.Complete() || tr.Heightmap.Z[128*256+128] < 20 {
				t.Errorf("terrain %d/%d", tr.Patches, tr.Of)
			}
			if got := s.Capabilities(); got["EventQueueGet"] == "" || got["SimulatorFeatures"] == "" {
				t.Errorf("capabilities = %v", got)
			}
			select {
			case ev := <-s.Events():
				if ev.Message != "ParcelProperties" {
					t.Errorf("first event = %s", ev.Message)
				}
			case <-ctx.Done():
				t.Fatal("no event-queue event")
			}

			// What the region heard, and in what order it mattered.
			waitUntil(t, "AgentUpdates", func() bool { return f.count("AgentUpdate") >= 2 })
			for _, name := range []string{"UseCircuitCode", "CompleteAgentMovement", "RegionHandshakeReply", "AgentThrottle", "AgentDataUpdateRequest", "AgentWearablesRequest", "RequestMultipleObjects"} {
				if f.count(name) != 1 {
					t.Errorf("region received %d %s", f.count(name), name)
				}
			}
			f.mu.Lock()
			names := len(f.seedNames)
			f.mu.Unlock()
			if names != len(DefaultCapabilities) {
				t.Errorf("seed asked for %d names", names)
			}

			res, err := s.Logout(ctx)
			if err != nil || !res.ReplyReceived {
				t.Fatalf("Logout = %+v, %v", res, err)
			}
			if !errors.Is(s.Err(), ErrLoggedOut) {
				t.Errorf("Err = %v", s.Err())
			}
			select {
			case <-s.Done():
			default:
				t.Error("Done not closed after Logout")
			}
			if _, ok := <-s.Events(); ok {
				t.Error("Events not closed after Logout")
			}
			waitUntil(t, "the event queue's done poll", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.doneSeen })

			evs := mem.Events()
			tracetest.ExpectOrder(t, evs,
				"[CLIENT] [LOGIN] START",
				"[CLIENT] [LOGIN] PROGRESS ConnectingToSim",
				"[CLIENT] [UDP] SEND UseCircuitCode",
				"[CLIENT] [UDP] SEND CompleteAgentMovement",
				"[CLIENT] [UDP] RECV RegionHandshake",
				"[CLIENT] [UDP] CONNECTED",
				"[CLIENT] [UDP] RECV ObjectUpdate",
				"[CLIENT] [UDP] RECV LayerData",
				"[CLIENT] [UDP] TERRAIN COMPLETE",
				"[CLIENT] [UDP] COMPLETE",
				"[CLIENT] [UDP] SEND LogoutRequest",
				"[CLIENT] [UDP] LOGOUT",
				"[CLIENT] [UDP] CIRCUIT CLOSED",
			)
			// The circuit records a RECV just after handing the message
			// over, so the LOGOUT it causes may be told first.
			tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] SEND LogoutRequest", "[CLIENT] [UDP] RECV LogoutReply")
			// The reply and the seed request go out together (the seed does
			// not wait for the reply's acknowledgement); the scene follows
			// both.
			tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] RECV RegionHandshake", "[CLIENT] [UDP] SEND RegionHandshakeReply", "[CLIENT] [UDP] RECV ObjectUpdate")
			tracetest.ExpectOrder(t, evs,
				"[CLIENT] [UDP] HANDSHAKE", "[CLIENT] [CAPS] SEED REQUEST", "[CLIENT] [CAPS] SEED RESPONSE",
				"[CLIENT] [EQ] POLL", "[CLIENT] [EQ] RECV EVENTS")
			tracetest.ExpectOrder(t, evs, "[CLIENT] [CAPS] SEED RESPONSE", "[CLIENT] [UDP] RECV ObjectUpdate")
			tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] MOVEMENT COMPLETE", "[CLIENT] [UDP] FIRST OBJECT", "[CLIENT] [UDP] COMPLETE")
			for _, a := range tracetest.All[*trace.Anomaly](evs) {
				t.Errorf("unexpected anomaly: %s (%s)", trace.Tag(a), a.Reason)
			}
			c, _ := tracetest.First[*trace.Connected](evs)
			if c.Remote != f.addr.String() || !strings.HasPrefix(c.Local, "127.0.0.1:") || c.From != trace.EndClient || c.To != trace.EndRegion {
				t.Errorf("connected = %+v", c)
			}
			var complete *trace.Milestone
			for _, m := range tracetest.All[*trace.Milestone](evs) {
				if m.Step == trace.MilestoneComplete {
					complete = m
				}
			}
			if complete == nil || complete.Objects < 3 || complete.Patches != 256 || complete.Of != 256 {
				t.Errorf("complete = %+v", complete)
			}
		})
	}
}

// TestLogoutWithoutReply: OpenSimulator 0.9.2.2 often never answers
// LogoutRequest; the logout still ends, bounded, and says so.
func TestLogoutWithoutReply(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	cfg.Timeouts.Logout = 300 * time.Millisecond
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
	start := time.Now()
	res, err := s.Logout(ctx)
	took := time.Since(start)
	if err != nil || res.ReplyReceived {
		t.Fatalf("Logout = %+v, %v", res, err)
	}
	if res.Waited < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("waited %v, took %v", res.Waited, took)
	}
	waitUntil(t, "LogoutRequest at the region", func() bool { return f.count("LogoutRequest") >= 1 })
	evs := mem.Events()
	tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] SEND LogoutRequest", "[CLIENT] [UDP] TIMEOUT LogoutReply", "[CLIENT] [UDP] LOGOUT", "[CLIENT] [UDP] CIRCUIT CLOSED")
	a, _ := tracetest.First[*trace.Anomaly](evs)
	if a.Kind != trace.AnomalyTimeout || a.Message != "LogoutReply" || !strings.Contains(a.Reason, "300ms") {
		t.Errorf("anomaly = %+v", a)
	}
	// A second logout is refused: the session has ended.
	if _, err := s.Logout(ctx); !errors.Is(err, ErrLoggedOut) {
		t.Errorf("second Logout: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Logout: %v", err)
	}
}

// TestUseCircuitCodeNeverAcked: a region that never answers gives a clear
// error within the timeout, and the story says where it stopped.
func TestUseCircuitCodeNeverAcked(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{silent: true})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	cfg.Timeouts.UseCircuitCode = 400 * time.Millisecond
	start := time.Now()
	s, err := Login(context.Background(), cfg)
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Login succeeded against a silent region")
	}
	if !errors.Is(err, ErrNotAcknowledged) || !strings.Contains(err.Error(), f.addr.String()) || !strings.Contains(err.Error(), "400ms") {
		t.Errorf("error = %v", err)
	}
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	evs := mem.Events()
	tracetest.ExpectOrder(t, evs, "[CLIENT] [LOGIN] PROGRESS ConnectingToSim", "[CLIENT] [UDP] SEND UseCircuitCode",
		"[CLIENT] [UDP] TIMEOUT PacketAck", "[CLIENT] [UDP] STALL", "[CLIENT] [UDP] CIRCUIT CLOSED")
	st, _ := tracetest.First[*trace.Stall](evs)
	if st.Step != int(cause.StepCircuitAcked) || st.Expected != "[CLIENT] [UDP] RECV PacketAck of UseCircuitCode" ||
		st.Cause != string(cause.CircuitUnanswered) || st.Fault != string(cause.Unknown) {
		t.Errorf("stall = %+v", st)
	}
	// The real wait, not the configured one, and the sends counted.
	if st.Waited < 400*time.Millisecond || st.Waited > took {
		t.Errorf("stall waited %v; the login took %v", st.Waited, took)
	}
	want := "the region never answered UseCircuitCode (sent "
	if !strings.HasPrefix(st.Causes[0], want) || !strings.Contains(st.Causes[0], "); the login service gave sim "+f.addr.String()) {
		t.Errorf("cause %q", st.Causes[0])
	}
}

func TestNoRegionHandshake(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{noHandshake: true})
	var mem trace.Memory
	cfg := f.config(login.FormatLLSD)
	cfg.Recorder = &mem
	cfg.Timeouts.Handshake = 300 * time.Millisecond
	s, err := Login(context.Background(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("Login succeeded without RegionHandshake")
	}
	if !errors.Is(err, ErrNoHandshake) {
		t.Errorf("error = %v", err)
	}
	st, ok := tracetest.First[*trace.Stall](mem.Events())
	if !ok || st.Step != int(cause.StepHandshake) || st.Expected != "[CLIENT] [UDP] RECV RegionHandshake" ||
		st.Cause != string(cause.NoHandshake) || st.Fault != string(cause.Region) || st.Waited < 300*time.Millisecond {
		t.Errorf("stall = %+v", st)
	}
}

// TestMovementBeforeHandshake: the region sends AgentMovementComplete
// first; the client copes and tells it as OUT OF ORDER.
func TestMovementBeforeHandshake(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{movementFirst: true})
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
	a, ok := tracetest.First[*trace.Anomaly](mem.Events())
	if !ok || a.Kind != trace.AnomalyOutOfOrder || a.Message != "AgentMovementComplete" || a.Reason != "arrived before RegionHandshake" {
		t.Errorf("anomaly = %+v", a)
	}
}

// TestKicked: KickUser ends the session with the region's reason.
func TestKicked(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{kick: "You have been logged out by an administrator."})
	cfg := f.config(login.FormatXMLRPC)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("session did not end")
	}
	var k *KickedError
	if !errors.As(s.Err(), &k) || k.Reason != "You have been logged out by an administrator." {
		t.Errorf("Err = %v", s.Err())
	}
	if err := s.WaitObjects(ctx, 100); !errors.As(err, &k) {
		t.Errorf("WaitObjects after the kick: %v", err)
	}
	if _, err := s.Logout(ctx); !errors.As(err, &k) {
		t.Errorf("Logout after the kick: %v", err)
	}
}

// TestWaitTimeoutDiagnoses: a wait that runs out records TIMEOUT and a
// STALL naming the missing step.
func TestWaitTimeoutDiagnoses(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{sceneDelay: time.Hour})
	var mem trace.Memory
	cfg := f.config(login.FormatXMLRPC)
	cfg.Recorder = &mem
	s, err := Login(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitMovementComplete(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = s.WaitRitual(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "0 objects") {
		t.Fatalf("WaitRitual = %v", err)
	}
	st, ok := tracetest.First[*trace.Stall](mem.Events())
	if !ok || st.Step != int(cause.StepFirstObject) || st.Expected != "[CLIENT] [UDP] RECV ObjectUpdate" ||
		st.Cause != string(cause.NoObjects) || st.Fault != string(cause.Region) {
		t.Errorf("stall = %+v", st)
	}
	if st.Waited < 200*time.Millisecond || st.Waited > time.Second {
		t.Errorf("stall waited %v for a wait of 200ms", st.Waited)
	}
	a, _ := tracetest.First[*trace.Anomaly](mem.Events())
	if a.Kind != trace.AnomalyTimeout || a.Message != "ObjectUpdate" {
		t.Errorf("anomaly = %+v", a)
	}
}

func TestLoginConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{First: "a", Last: "b", Password: "c"},
		{LoginURI: "http://x", Last: "b", Password: "c"},
		{LoginURI: "http://x", First: "a", Last: "b"},
	} {
		if _, err := Login(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Login(%+v) = %v", cfg, err)
		}
	}
}

// TestLoginBadAnswer: a login service answering nonsense is an error from package login.
func TestLoginBadAnswer(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{})
	cfg := f.config(login.FormatXMLRPC)
	cfg.LoginURI = f.http.URL + "/CE/eq" // answers 502 or LLSD: not a login reply
	if _, err := Login(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "client: login:") {
		t.Errorf("Login = %v", err)
	}
}

// TestDisableSimulator: DisableSimulator ends the session with ErrDisabled.
func TestDisableSimulator(t *testing.T) {
	s, _ := replaySession(t, []captured{{Message: &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{Code: 5, ID: testAgent, SessionID: testSession}}}}, nil)
	if err := s.handle(&msg.DisableSimulator{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
	if !errors.Is(s.Err(), ErrDisabled) {
		t.Errorf("Err = %v", s.Err())
	}
	if err := s.Send(&msg.AgentUpdate{}, false); !errors.Is(err, ErrDisabled) {
		t.Errorf("Send after the end: %v", err)
	}
	// A later reason does not replace the first.
	s.handle(&msg.KickUser{UserInfo: msg.KickUserUserInfo{Reason: []byte("late\x00")}})
	if !errors.Is(s.Err(), ErrDisabled) {
		t.Errorf("Err after a later kick = %v", s.Err())
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestNoGoroutinesLeft: after Logout every goroutine the session started
// has ended.
func TestNoGoroutinesLeft(t *testing.T) {
	f := newFakeGrid(t, fakeOptions{logoutReply: true})
	tr := &http.Transport{}
	cfg := f.config(login.FormatXMLRPC)
	cfg.HTTPClient = &http.Client{Transport: tr}
	cfg.AgentUpdateInterval = 10 * time.Millisecond
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	during := runtime.NumGoroutine()
	t.Logf("goroutines: %d before, %d during", before, during)
	if _, err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d during, %d after:\n%s", before, during, n, buf[:runtime.Stack(buf, true)])
	}
}
