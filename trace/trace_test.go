package trace_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/trace"
	"ritual/trace/tracetest"
)

func TestNilRecorderIsOff(t *testing.T) {
	// Emit on a nil recorder must be a no-op, not a panic.
	trace.Emit(nil, &trace.LoginStart{})
	if trace.Tee(nil, nil) != nil {
		t.Fatal("Tee of nothing should be nil (off)")
	}
}

func TestEmitStamps(t *testing.T) {
	var m trace.Memory
	before := time.Now()
	trace.Emit(&m, &trace.LoginStart{Header: trace.Header{Side: trace.Client, Layer: trace.Login}})
	ev := m.Events()[0]
	if ev.Head().Time.Before(before) {
		t.Fatalf("event time %v not stamped", ev.Head().Time)
	}
}

func TestMemoryIsBounded(t *testing.T) {
	m := trace.Memory{Limit: 3}
	for range 5 {
		trace.Emit(&m, &trace.EQPoll{})
	}
	if got := len(m.Events()); got != 3 {
		t.Fatalf("kept %d events, want 3", got)
	}
	if m.Dropped() != 2 {
		t.Fatalf("dropped = %d, want 2", m.Dropped())
	}
}

func TestTags(t *testing.T) {
	tests := []struct {
		ev   trace.Event
		want string
	}{
		{&trace.LoginStart{Header: trace.Header{Side: trace.Client, Layer: trace.Login}}, "[CLIENT] [LOGIN] START"},
		{&trace.LoginRequest{Header: trace.Header{Side: trace.Server, Layer: trace.Login}}, "[SERVER] [LOGIN] RECV login_to_simulator"},
		{&trace.LoginAuth{Header: trace.Header{Side: trace.Server, Layer: trace.Login}, OK: true}, "[SERVER] [LOGIN] AUTH SUCCESS"},
		{&trace.LoginAuth{Header: trace.Header{Side: trace.Server, Layer: trace.Login}}, "[SERVER] [LOGIN] AUTH FAILURE"},
		{&trace.LoginResponse{Header: trace.Header{Side: trace.Server, Layer: trace.Login}}, "[SERVER] [LOGIN] SEND Response"},
		{&trace.LoginProgress{Header: trace.Header{Side: trace.Client, Layer: trace.Login}, Stage: "ConnectingToSim"}, "[CLIENT] [LOGIN] PROGRESS ConnectingToSim"},
		{&trace.Packet{Header: trace.Header{Side: trace.Server, Layer: trace.UDP}, Dir: trace.Recv, Message: "UseCircuitCode"}, "[SERVER] [UDP] RECV UseCircuitCode"},
		{&trace.CircuitCheck{Header: trace.Header{Side: trace.Server, Layer: trace.UDP}}, "[SERVER] [UDP] REJECT UseCircuitCode"},
		{&trace.SeedGrant{Header: trace.Header{Side: trace.Server, Layer: trace.Caps}}, "[SERVER] [CAPS] SEED GRANT"},
		{&trace.EQTimeout{Header: trace.Header{Side: trace.Server, Layer: trace.EQ}}, "[SERVER] [EQ] TIMEOUT"},
		{&trace.Milestone{Header: trace.Header{Side: trace.Client, Layer: trace.UDP}, Step: trace.MilestoneTerrainComplete}, "[CLIENT] [UDP] TERRAIN COMPLETE"},
		{&trace.Anomaly{Header: trace.Header{Side: trace.Client, Layer: trace.UDP}, Kind: trace.AnomalyDuplicate, Message: "LayerData"}, "[CLIENT] [UDP] DUPLICATE LayerData"},
	}
	for _, tt := range tests {
		if got := trace.Tag(tt.ev); got != tt.want {
			t.Errorf("Tag(%T) = %q, want %q", tt.ev, got, tt.want)
		}
	}
}

func TestMasking(t *testing.T) {
	session := "19d83417-3dc6-4dd7-b6df-d55afff6d84d"
	seed := "http://127.0.0.1:9000/CAPS/6f1c2a7e-0000-4000-8000-000000000000/"
	ev := &trace.LoginResponse{
		Header:         trace.Header{Side: trace.Server, Layer: trace.Login},
		OK:             true,
		Session:        session,
		SeedCapability: seed,
		CircuitCode:    473293782,
	}
	var hidden, shown bytes.Buffer
	hs := trace.NewWriterSink(&hidden, trace.HideSecrets)
	ss := trace.NewWriterSink(&shown, trace.ShowSecrets)
	trace.Emit(trace.Tee(hs, ss), ev)
	if err := hs.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ss.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hidden.String(), session) || strings.Contains(hidden.String(), "6f1c2a7e") {
		t.Fatalf("masked output leaks a secret: %s", hidden.String())
	}
	if !strings.Contains(hidden.String(), `"session":"19d8…"`) || !strings.Contains(hidden.String(), `http://127.0.0.1:9000/…`) {
		t.Fatalf("masked output lacks the masked forms: %s", hidden.String())
	}
	if !strings.Contains(shown.String(), session) || !strings.Contains(shown.String(), seed) {
		t.Fatalf("ShowSecrets output hides a secret: %s", shown.String())
	}
	// The original event is untouched by masking.
	if ev.Session != session {
		t.Fatal("masking changed the recorded event")
	}
	// Packet fields marked secret are masked too.
	p := &trace.Packet{Fields: trace.Fields{{Key: "CircuitCode", Value: "473293782"}, {Key: "SessionID", Value: session, Secret: true}}}
	m := trace.Visible(p, trace.HideSecrets).(*trace.Packet)
	if v, _ := m.Fields.Get("SessionID"); v != "19d8…" {
		t.Fatalf("secret field = %q", v)
	}
	if v, _ := m.Fields.Get("CircuitCode"); v != "473293782" {
		t.Fatalf("plain field = %q", v)
	}
	if v, _ := p.Fields.Get("SessionID"); v != session {
		t.Fatal("masking changed the recorded packet")
	}
}

func TestJSONLinesRoundTrip(t *testing.T) {
	agent := ritual.MustParseUUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	events := []trace.Event{
		&trace.LoginStart{Header: trace.Header{Time: t0, Side: trace.Client, Layer: trace.Login, From: trace.EndClient, To: trace.EndLogin}, URI: "http://127.0.0.1:9000/", First: "Test", Last: "User", Format: "xmlrpc"},
		&trace.LoginAuth{Header: trace.Header{Time: t0.Add(1500 * time.Microsecond), Side: trace.Server, Layer: trace.Login}, OK: true, Agent: agent},
		&trace.Packet{Header: trace.Header{Time: t0.Add(3 * time.Millisecond), Side: trace.Server, Layer: trace.UDP}, Dir: trace.Recv, Message: "UseCircuitCode", Seq: 1, Reliable: true, Size: 46, Fields: trace.Fields{{Key: "CircuitCode", Value: "123"}}},
		&trace.Stall{Header: trace.Header{Time: t0.Add(time.Second), Side: trace.Client, Layer: trace.UDP}, Step: 7, LastSeen: "x", Expected: "y", Causes: []string{"a", "b"}},
	}
	var buf bytes.Buffer
	s := trace.NewWriterSink(&buf, trace.ShowSecrets)
	for _, ev := range events {
		s.Record(ev)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	if !strings.HasPrefix(lines[1], `{"rel_ms":1.500,"event":"login.auth",`) {
		t.Fatalf("line 2 = %s", lines[1])
	}
	got, err := trace.ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(events) {
		t.Fatalf("read %d events", len(got))
	}
	for i := range events {
		if trace.Tag(got[i]) != trace.Tag(events[i]) || !got[i].Head().Time.Equal(events[i].Head().Time) {
			t.Errorf("event %d: %s at %v, want %s at %v", i, trace.Tag(got[i]), got[i].Head().Time, trace.Tag(events[i]), events[i].Head().Time)
		}
	}
	if a := got[1].(*trace.LoginAuth); a.Agent != agent {
		t.Fatalf("agent = %s", a.Agent)
	}
	if p := got[2].(*trace.Packet); p.Seq != 1 || !p.Reliable || p.Fields[0].Value != "123" {
		t.Fatalf("packet = %+v", p)
	}
	if st := got[3].(*trace.Stall); len(st.Causes) != 2 || st.Step != 7 {
		t.Fatalf("stall = %+v", st)
	}
	if _, err := trace.Decode([]byte(`{"event":"nope"}`)); err == nil {
		t.Fatal("unknown event decoded")
	}
}

func TestConcurrentRecord(t *testing.T) {
	var m trace.Memory
	var buf bytes.Buffer
	s := trace.NewWriterSink(&buf, trace.HideSecrets)
	r := trace.Tee(&m, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				trace.Emit(r, &trace.Packet{Dir: trace.Send, Message: "AgentUpdate", Seq: uint32(i*1000 + j)})
			}
		}()
	}
	wg.Wait()
	s.Flush()
	if len(m.Events()) != 800 || strings.Count(buf.String(), "\n") != 800 {
		t.Fatalf("memory %d, lines %d", len(m.Events()), strings.Count(buf.String(), "\n"))
	}
}

func TestExpectOrder(t *testing.T) {
	evs := []trace.Event{
		&trace.LoginStart{Header: trace.Header{Side: trace.Client, Layer: trace.Login}},
		&trace.EQPoll{Header: trace.Header{Side: trace.Client, Layer: trace.EQ}},
		&trace.Connected{Header: trace.Header{Side: trace.Client, Layer: trace.UDP}},
	}
	if err := tracetest.InOrder(evs, "[CLIENT] [LOGIN] START", "[CLIENT] [UDP] CONNECTED"); err != nil {
		t.Fatal(err)
	}
	if err := tracetest.InOrder(evs, "[CLIENT] [UDP] CONNECTED", "[CLIENT] [LOGIN] START"); err == nil {
		t.Fatal("out-of-order tags accepted")
	}
	if p, ok := tracetest.First[*trace.EQPoll](evs); !ok || p == nil {
		t.Fatal("First found no EQPoll")
	}
}

func TestProxyEventsMasked(t *testing.T) {
	rw := &trace.Rewrite{Header: trace.Header{Side: trace.Server, Layer: trace.Login}, In: "login reply", Field: "seed_capability", Original: "http://10.0.0.1:9000/CAPS/secret/", Relayed: "http://10.0.0.3:9010/ritual-proxy/secret/", Secret: true}
	m := trace.Visible(rw, trace.HideSecrets).(*trace.Rewrite)
	if m.Original != "http://10.0.0.1:9000/…" || m.Relayed != "http://10.0.0.3:9010/…" || rw.Original == m.Original {
		t.Errorf("masked rewrite %+v", m)
	}
	addr := &trace.Rewrite{In: "login reply", Field: "sim_ip:sim_port", Original: "10.0.0.1:9000", Relayed: "10.0.0.3:4000"}
	if trace.Visible(addr, trace.HideSecrets).(*trace.Rewrite).Original != "10.0.0.1:9000" {
		t.Error("an address was masked")
	}
	u := &trace.Undecoded{Header: trace.Header{Side: trace.Client, Layer: trace.UDP}, Size: 60, Hex: "40000000010000ff0001" + "2a000000" + "19d8aa"}
	if got := trace.Visible(u, trace.HideSecrets).(*trace.Undecoded).Hex; got != "40000000010000ff0001…" {
		t.Errorf("masked hex %q", got)
	}
	for _, ev := range []trace.Event{rw, u, &trace.SessionEnd{Header: trace.Header{Side: trace.Client, Layer: trace.UDP}, Reason: "logout", Untold: 3}} {
		line, err := trace.MarshalJSON(ev)
		if err != nil {
			t.Fatal(err)
		}
		back, err := trace.Decode(line)
		if err != nil || back.Name() != ev.Name() {
			t.Errorf("%s does not read back: %v", line, err)
		}
	}
}
