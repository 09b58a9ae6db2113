package client

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/protocol/msg"
	"ritual/trace"
)

// captureEvents reads a recorded event-queue answer: its events, in order.
func captureEvents(t testing.TB, name string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	v, err := llsd.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := llsd.AsMap(v)
	arr, _ := llsd.AsArray(m["events"])
	var out []map[string]any
	for _, e := range arr {
		em, _ := llsd.AsMap(e)
		body, _ := llsd.AsMap(em["body"])
		name, _ := llsd.AsString(em["message"])
		body["\x00message"] = name
		out = append(out, body)
	}
	return out
}

var (
	captureAgent = ritual.MustParseUUID("c98559fa-85b6-42f0-8e7b-d7daca348634")
	captureEast  = netip.MustParseAddrPort("127.0.0.1:9001")
	captureTest  = netip.MustParseAddrPort("127.0.0.1:9000")
	eastSeed     = "http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/"
)

// TestParseCapturedGridEvents decodes OpenSimulator 0.9.2.2's recorded
// EnableSimulator, EstablishAgentCommunication, CrossedRegion and
// TeleportFinish bodies.
func TestParseCapturedGridEvents(t *testing.T) {
	evs := captureEvents(t, "opensim-eq-enablesimulator.xml")
	if len(evs) != 2 || evs[0]["\x00message"] != EventEnableSimulator || evs[1]["\x00message"] != EventEstablishAgentCommunication {
		t.Fatalf("events %v", evs)
	}
	sims, err := ParseEnableSimulator(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := SimulatorInfo{Handle: ritual.HandleFromGrid(1001, 1000), Addr: captureEast, SizeX: 256, SizeY: 256}
	if len(sims) != 1 || sims[0] != want {
		t.Errorf("EnableSimulator = %+v, want [%+v]", sims, want)
	}
	ac, err := ParseEstablishAgentCommunication(evs[1])
	if err != nil {
		t.Fatal(err)
	}
	if ac != (AgentCommunication{Agent: captureAgent, Addr: captureEast, SeedCapability: eastSeed}) {
		t.Errorf("EstablishAgentCommunication = %+v", ac)
	}

	cr, err := ParseCrossedRegion(captureEvents(t, "opensim-eq-crossedregion.xml")[0])
	if err != nil {
		t.Fatal(err)
	}
	wantCross := Crossing{
		Agent: captureAgent, Session: ritual.MustParseUUID("7f4818ca-6c4c-4484-951e-8344831ed622"),
		Position: ritual.Vector3{X: 0.2733765, Y: 127.9899, Z: 1.020079},
		Handle:   ritual.HandleFromGrid(1001, 1000), Addr: captureEast, SeedCapability: eastSeed, SizeX: 256, SizeY: 256,
	}
	if cr != wantCross {
		t.Errorf("CrossedRegion = %+v\nwant %+v", cr, wantCross)
	}

	tests := []struct {
		file string
		want TeleportDestination
	}{
		{"opensim-eq-teleportfinish.xml", TeleportDestination{Agent: captureAgent, LocationID: 4, Addr: captureEast,
			Handle: ritual.HandleFromGrid(1001, 1000), SeedCapability: eastSeed, SimAccess: 13, Flags: TeleportViaLocation, SizeX: 256, SizeY: 256}},
		{"opensim-eq-teleportfinish-back.xml", TeleportDestination{Agent: captureAgent, LocationID: 4, Addr: captureTest,
			Handle: ritual.HandleFromGrid(1000, 1000), SeedCapability: "http://127.0.0.1:9000/CAPS/f7dd1a1c-9d9d-4983-8dce-f6b310ffacbd0000/",
			SimAccess: 13, Flags: TeleportViaLocation, SizeX: 256, SizeY: 256}},
	}
	for _, tt := range tests {
		d, err := ParseTeleportFinish(captureEvents(t, tt.file)[0])
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if d != tt.want {
			t.Errorf("%s: TeleportFinish = %+v\nwant %+v", tt.file, d, tt.want)
		}
	}
}

// TestParseGridEventsMalformed: bodies that lack what the client needs are
// errors wrapping ErrEventBody, never a zero address or handle.
func TestParseGridEventsMalformed(t *testing.T) {
	ip := []byte{127, 0, 0, 1}
	handle := []byte{0, 3, 0xe9, 0, 0, 3, 0xe8, 0}
	sim := func(kv ...any) map[string]any {
		m := map[string]any{"Handle": handle, "IP": ip, "Port": int32(9001)}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return map[string]any{"SimulatorInfo": []any{m}}
	}
	bad := []struct {
		name string
		f    func() error
	}{
		{"no SimulatorInfo", func() error { _, err := ParseEnableSimulator(map[string]any{}); return err }},
		{"SimulatorInfo not a map", func() error {
			_, err := ParseEnableSimulator(map[string]any{"SimulatorInfo": []any{"x"}})
			return err
		}},
		{"no handle", func() error { _, err := ParseEnableSimulator(sim("Handle", nil)); return err }},
		{"zero handle", func() error { _, err := ParseEnableSimulator(sim("Handle", make([]byte, 8))); return err }},
		{"short IP", func() error { _, err := ParseEnableSimulator(sim("IP", []byte{1, 2})); return err }},
		{"unspecified IP", func() error { _, err := ParseEnableSimulator(sim("IP", make([]byte, 4))); return err }},
		{"port 0", func() error { _, err := ParseEnableSimulator(sim("Port", int32(0))); return err }},
		{"port too big", func() error { _, err := ParseEnableSimulator(sim("Port", int32(70000))); return err }},
		{"odd region size", func() error { _, err := ParseEnableSimulator(sim("RegionSizeX", []byte{0, 0, 1, 1})); return err }},
		{"huge region size", func() error { _, err := ParseEnableSimulator(sim("RegionSizeY", []byte{0, 1, 0, 0})); return err }},
		{"EAC no seed", func() error {
			_, err := ParseEstablishAgentCommunication(map[string]any{"agent-id": captureAgent, "sim-ip-and-port": "127.0.0.1:9001"})
			return err
		}},
		{"EAC bad address", func() error {
			_, err := ParseEstablishAgentCommunication(map[string]any{"agent-id": captureAgent, "sim-ip-and-port": "here", "seed-capability": "http://x/"})
			return err
		}},
		{"EAC no agent", func() error {
			_, err := ParseEstablishAgentCommunication(map[string]any{"sim-ip-and-port": "127.0.0.1:9001", "seed-capability": "http://x/"})
			return err
		}},
		{"crossing without region", func() error {
			_, err := ParseCrossedRegion(map[string]any{"AgentData": []any{map[string]any{}}, "Info": []any{map[string]any{"Position": []any{1.0, 2.0, 3.0}}}})
			return err
		}},
		{"crossing without position", func() error {
			_, err := ParseCrossedRegion(map[string]any{"AgentData": []any{map[string]any{}}, "Info": []any{map[string]any{}}})
			return err
		}},
		{"finish without info", func() error { _, err := ParseTeleportFinish(map[string]any{"Info": []any{}}); return err }},
		{"failed without info", func() error { _, err := ParseTeleportFailed(map[string]any{}); return err }},
	}
	for _, b := range bad {
		if err := b.f(); !errors.Is(err, ErrEventBody) {
			t.Errorf("%s: err %v, want ErrEventBody", b.name, err)
		}
	}
	reason, err := ParseTeleportFailed(map[string]any{"Info": []any{map[string]any{"AgentID": captureAgent, "Reason": ""}},
		"AlertInfo": []any{map[string]any{"Message": "Destination is full"}}})
	if err != nil || reason != "Destination is full" {
		t.Errorf("TeleportFailed = %q, %v", reason, err)
	}
}

// FuzzGridEvents feeds LLSD documents to every grid event parser: they
// never panic, and what they accept has a usable address and handle.
func FuzzGridEvents(f *testing.F) {
	for _, name := range []string{"opensim-eq-enablesimulator.xml", "opensim-eq-crossedregion.xml",
		"opensim-eq-teleportfinish.xml", "opensim-eq-teleportfinish-back.xml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := llsd.Unmarshal(data)
		if err != nil {
			return
		}
		m, _ := llsd.AsMap(v)
		arr, _ := llsd.AsArray(m["events"])
		bodies := []map[string]any{m}
		for _, e := range arr {
			em, _ := llsd.AsMap(e)
			if body, ok := llsd.AsMap(em["body"]); ok {
				bodies = append(bodies, body)
			}
		}
		for _, body := range bodies {
			if sims, err := ParseEnableSimulator(body); err == nil {
				for _, s := range sims {
					if s.Handle == 0 || !s.Addr.IsValid() || s.Addr.Port() == 0 {
						t.Fatalf("accepted %+v", s)
					}
				}
			}
			if ac, err := ParseEstablishAgentCommunication(body); err == nil && (ac.SeedCapability == "" || ac.Addr.Port() == 0) {
				t.Fatalf("accepted %+v", ac)
			}
			if c, err := ParseCrossedRegion(body); err == nil && (c.Handle == 0 || c.Addr.Port() == 0) {
				t.Fatalf("accepted %+v", c)
			}
			if d, err := ParseTeleportFinish(body); err == nil && (d.Handle == 0 || d.Addr.Port() == 0) {
				t.Fatalf("accepted %+v", d)
			}
			ParseTeleportFailed(body)
		}
	})
}

// BenchmarkParseGridEvents parses OpenSimulator's recorded bodies (the
// LLSD decoding is the caps client's and not measured).
func BenchmarkParseGridEvents(b *testing.B) {
	enable := captureEvents(b, "opensim-eq-enablesimulator.xml")
	finish := captureEvents(b, "opensim-eq-teleportfinish.xml")[0]
	cross := captureEvents(b, "opensim-eq-crossedregion.xml")[0]
	b.Run("EnableSimulator", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseEnableSimulator(enable[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EstablishAgentCommunication", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseEstablishAgentCommunication(enable[1]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("TeleportFinish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseTeleportFinish(finish); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CrossedRegion", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseCrossedRegion(cross); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestGridCaptureReplay feeds OpenSimulator's recorded answers on the
// login region's circuit (opensim-grid-circuit-ritual-test.jsonl) to a
// session: its MapBlockReply to a search for "Ritual East" resolves the
// neighbour's handle, and its TeleportStart is followed as the teleport's
// first step; the requests the session sends match libomv's recorded
// ones.
func TestGridCaptureReplay(t *testing.T) {
	caps := readCapture(t, "opensim-grid-circuit-ritual-test.jsonl")
	var mem trace.Memory
	s, out := replaySession(t, caps, &mem)
	var (
		reply   *msg.MapBlockReply
		start   *msg.TeleportStart
		request *msg.TeleportLocationRequest
	)
	for _, c := range caps {
		switch m := c.Message.(type) {
		case *msg.MapBlockReply:
			if reply == nil && c.ToClient {
				reply = m
			}
		case *msg.TeleportStart:
			if start == nil && c.ToClient {
				start = m
			}
		case *msg.TeleportLocationRequest:
			if request == nil && !c.ToClient {
				request = m
			}
		}
	}
	if reply == nil || start == nil || request == nil {
		t.Fatal("the capture lacks the teleport's messages")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	found := make(chan MapRegion, 1)
	go func() {
		mr, err := s.LookupRegion(ctx, "ritual east")
		if err != nil {
			t.Error(err)
		}
		found <- mr
	}()
	waitUntil(t, "the map search", func() bool {
		s.tele.mu.Lock()
		defer s.tele.mu.Unlock()
		return s.tele.maps != nil
	})
	if err := s.handle(reply); err != nil {
		t.Fatal(err)
	}
	mr := <-found
	if mr.Name != "Ritual East" || mr.Handle != ritual.RegionHandle(request.Info.RegionHandle) || mr.Access != 13 {
		t.Errorf("map region = %+v", mr)
	}

	s.cfg.Timeouts.Teleport = 300 * time.Millisecond
	failed := make(chan error, 1)
	go func() {
		_, err := s.TeleportToHandle(ctx, mr.Handle, request.Info.Position, request.Info.LookAt)
		failed <- err
	}()
	waitUntil(t, "the teleport request", func() bool {
		s.tele.mu.Lock()
		defer s.tele.mu.Unlock()
		return s.tele.active != nil
	})
	if err := s.handle(start); err != nil {
		t.Fatal(err)
	}
	if err := <-failed; err == nil || !strings.Contains(err.Error(), "no TeleportFinish") {
		t.Errorf("a teleport without TeleportFinish: %v", err)
	}
	var sentReq *msg.TeleportLocationRequest
	var sentSearch *msg.MapNameRequest
	for _, o := range *out {
		switch m := o.Message.(type) {
		case *msg.TeleportLocationRequest:
			sentReq = m
		case *msg.MapNameRequest:
			sentSearch = m
		}
	}
	if sentSearch == nil || string(sentSearch.NameData.Name) != "ritual east\x00" {
		t.Errorf("map search sent %+v", sentSearch)
	}
	if sentReq == nil || sentReq.Info != request.Info || sentReq.AgentData != request.AgentData {
		t.Errorf("teleport request %+v, libomv sent %+v", sentReq, request)
	}
	var kinds []string
	for _, ev := range mem.Events() {
		if rc, ok := ev.(*trace.RegionChange); ok {
			kinds = append(kinds, rc.Kind)
			if rc.Kind == trace.TeleportStart && rc.Flags != TeleportViaLocation {
				t.Errorf("TeleportStart flags %#x", rc.Flags)
			}
		}
	}
	if got := strings.Join(kinds, " "); got != "teleport.request teleport.start teleport.failed" {
		t.Errorf("region steps %q", got)
	}
}
