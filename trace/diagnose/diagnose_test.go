package diagnose_test

import (
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
	"ritual/trace/diagnose"
)

func h(layer trace.Layer) trace.Header { return trace.Header{Side: trace.Client, Layer: layer} }

func start(uri string) trace.Event {
	return &trace.LoginStart{Header: h(trace.Login), URI: uri, First: "Test", Last: "User", Format: "xmlrpc"}
}

func accepted(simIP string) trace.Event {
	return &trace.LoginResponse{Header: h(trace.Login), OK: true, Status: 200, CircuitCode: 7, SimIP: simIP, SimPort: 9000, SeedCapability: "http://" + simIP + ":9000/CAPS/x/"}
}

func send(m string, seq uint32) trace.Event {
	return &trace.Packet{Header: h(trace.UDP), Dir: trace.Send, Message: m, Seq: seq, Reliable: true}
}

func recv(m string, fields ...trace.Field) trace.Event {
	return &trace.Packet{Header: h(trace.UDP), Dir: trace.Recv, Message: m, Fields: fields}
}

func ack(ids string) trace.Event { return recv("PacketAck", trace.Field{Key: "ids", Value: ids}) }

func seed(status int, granted ...string) []trace.Event {
	return []trace.Event{
		&trace.SeedRequest{Header: h(trace.Caps), Names: []string{"EventQueueGet"}},
		&trace.SeedGrant{Header: h(trace.Caps), Status: status, Granted: granted},
	}
}

func cat(parts ...any) []trace.Event {
	var out []trace.Event
	for _, p := range parts {
		switch p := p.(type) {
		case trace.Event:
			out = append(out, p)
		case []trace.Event:
			out = append(out, p...)
		}
	}
	return out
}

func TestDiagnose(t *testing.T) {
	inWorld := cat(start("http://127.0.0.1:9000/"), accepted("127.0.0.1"), send("UseCircuitCode", 0), ack("0"),
		recv("RegionHandshake"), recv("AgentMovementComplete"))
	tests := []struct {
		name     string
		events   []trace.Event
		step     int
		expected string
		kind     cause.Kind
		fault    cause.Side
		causes   []string
	}{
		{
			name: "login URI unreachable",
			events: cat(start("http://127.0.0.1:1/"),
				&trace.LoginProgress{Header: h(trace.Login), Stage: "Failed", Detail: "dial tcp 127.0.0.1:1: connect: connection refused"}),
			step: diagnose.StepLoginAnswered, expected: "the login service answers", kind: cause.LoginUnreachable, fault: cause.LoginService,
			causes: []string{"nothing is listening at 127.0.0.1:1", "the login URI is wrong"},
		},
		{
			name: "login refused",
			events: cat(start("http://127.0.0.1:9000/"),
				&trace.LoginResponse{Header: h(trace.Login), OK: false, Status: 200, Reason: "key", Message: "Could not authenticate your avatar."}),
			step: diagnose.StepLoginAccepted, expected: "the login is accepted", kind: cause.LoginRefused, fault: cause.Client,
			causes: []string{`reason "key"`, "Could not authenticate your avatar.", "password is wrong"},
		},
		{
			name:   "sim address unreachable",
			events: cat(start("http://127.0.0.1:9000/"), accepted("127.0.0.1"), send("UseCircuitCode", 0), send("UseCircuitCode", 0)),
			step:   diagnose.StepCircuitAcked, expected: "acknowledges UseCircuitCode", kind: cause.CircuitUnanswered, fault: cause.Unknown,
			causes: []string{"the region never answered UseCircuitCode (sent 2 times); the login service gave sim 127.0.0.1:9000", "firewall blocks UDP"},
		},
		{
			name:   "private sim address handed to a public client",
			events: cat(start("http://203.0.113.5:9000/"), accepted("192.168.1.20"), send("UseCircuitCode", 0)),
			step:   diagnose.StepCircuitAcked, kind: cause.SimAddress, fault: cause.LoginService,
			causes: []string{"private sim 192.168.1.20:9000"},
		},
		{
			name:   "loopback sim address handed to a remote client",
			events: cat(start("http://grid.example.org:9000/"), accepted("127.0.0.1"), send("UseCircuitCode", 0)),
			step:   diagnose.StepCircuitAcked, kind: cause.SimAddress, fault: cause.LoginService,
			causes: []string{"loopback sim 127.0.0.1:9000"},
		},
		{
			name:   "acked but no handshake",
			events: cat(start("http://127.0.0.1:9000/"), accepted("127.0.0.1"), send("UseCircuitCode", 3), ack("3"), send("CompleteAgentMovement", 4)),
			step:   diagnose.StepHandshake, expected: "RegionHandshake arrives", kind: cause.NoHandshake, fault: cause.Region,
			causes: []string{"sent no RegionHandshake"},
		},
		{
			name:   "seed capability failing",
			events: cat(inWorld, seed(500)),
			step:   diagnose.StepSeed, expected: "seed capability answers", kind: cause.SeedStatus, fault: cause.Capabilities,
			causes: []string{"the seed capability answered HTTP 500"},
		},
		{
			name: "seed capability blank",
			events: cat(start("http://127.0.0.1:9000/"),
				&trace.LoginResponse{Header: h(trace.Login), OK: true, Status: 200, SimIP: "127.0.0.1", SimPort: 9000},
				send("UseCircuitCode", 0), ack("0"), recv("RegionHandshake"), recv("AgentMovementComplete")),
			step: diagnose.StepSeed, kind: cause.SeedBlank, fault: cause.LoginService,
			causes: []string{"the login reply's seed capability is blank"},
		},
		{
			name: "event queue never answering",
			events: cat(inWorld, seed(200, "EventQueueGet"),
				&trace.EQPoll{Header: h(trace.EQ)}, &trace.EQTimeout{Header: h(trace.EQ), Status: 0}),
			step: diagnose.StepEventQueue, expected: "event queue answers", kind: cause.EventQueueSilent, fault: cause.Capabilities,
			causes: []string{"the event queue held 1 poll for 10 s and delivered nothing", "no parcel information"},
		},
		{
			name: "terrain incomplete",
			events: cat(inWorld, seed(200, "EventQueueGet"), recv("ObjectUpdate", trace.Field{Key: "objects", Value: "3"}),
				recv("LayerData", trace.Field{Key: "layer", Value: "land"}, trace.Field{Key: "patches", Value: "100"}),
				recv("LayerData", trace.Field{Key: "layer", Value: "wind"}, trace.Field{Key: "patches", Value: "2"})),
			step: diagnose.StepTerrain, expected: "every terrain patch arrives", kind: cause.TerrainShort, fault: cause.Region,
			causes: []string{"the region sent 100 of 256 terrain patches and nothing since"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := diagnose.Diagnose(tt.events, 10*time.Second)
			if st == nil {
				t.Fatal("no stall diagnosed")
			}
			if st.Step != tt.step {
				t.Fatalf("step = %d (%s), want %d; causes %q", st.Step, st.Expected, tt.step, st.Causes)
			}
			if st.Cause != string(tt.kind) || st.Fault != string(tt.fault) {
				t.Errorf("cause %q fault %q, want %q %q", st.Cause, st.Fault, tt.kind, tt.fault)
			}
			if tt.expected != "" && !strings.Contains(st.Expected, tt.expected) {
				t.Errorf("expected = %q", st.Expected)
			}
			all := strings.Join(st.Causes, "\n")
			for _, c := range tt.causes {
				if !strings.Contains(all, c) {
					t.Errorf("causes lack %q:\n%s", c, all)
				}
			}
			if st.Side != trace.Client || st.Waited != 10*time.Second || st.LastSeen == "" {
				t.Errorf("stall header %+v", st)
			}
		})
	}
}

func TestCompleteRitualIsNoStall(t *testing.T) {
	evs := cat(start("http://127.0.0.1:9000/"), accepted("127.0.0.1"), send("UseCircuitCode", 0), ack("0"),
		recv("RegionHandshake"), recv("AgentMovementComplete"), seed(200, "EventQueueGet"),
		recv("ObjectUpdate", trace.Field{Key: "objects", Value: "1"}),
		&trace.Milestone{Header: h(trace.UDP), Step: trace.MilestoneTerrainComplete, Patches: 256, Of: 256},
		&trace.Milestone{Header: h(trace.UDP), Step: trace.MilestoneComplete})
	if st := diagnose.Diagnose(evs, time.Second); st != nil {
		t.Fatalf("complete ritual diagnosed as stalled: %+v", st)
	}
	if diagnose.Reached(evs) != diagnose.StepComplete {
		t.Fatalf("Reached = %d", diagnose.Reached(evs))
	}
}

func TestServerEventsAreIgnored(t *testing.T) {
	// A merged stream: the server's probes must not count as the client's.
	evs := cat(start("http://127.0.0.1:9000/"),
		&trace.LoginResponse{Header: trace.Header{Side: trace.Server, Layer: trace.Login}, OK: true, Status: 200})
	if st := diagnose.Diagnose(evs, time.Second); st == nil || st.Step != diagnose.StepLoginAnswered {
		t.Fatalf("stall = %+v", st)
	}
}

// TestLoginTimeoutInPlainWords: the HTTP client's error is told as what it
// means, with the time the login really took.
func TestLoginTimeoutInPlainWords(t *testing.T) {
	t0 := time.Now()
	st := start("http://127.0.0.1:9000/")
	st.Head().Time = t0
	failed := &trace.LoginProgress{Header: h(trace.Login), Stage: "Failed",
		Detail: `login: Post "http://127.0.0.1:9000/": context deadline exceeded`}
	failed.Time = t0.Add(12 * time.Second)
	s := diagnose.Diagnose(cat(st, failed), 12*time.Second+5*time.Millisecond)
	if s == nil || s.Step != diagnose.StepLoginAnswered || s.Cause != string(cause.LoginSilent) || s.Fault != string(cause.LoginService) {
		t.Fatalf("stall %+v", s)
	}
	if s.Causes[0] != "the login service did not answer within 12 s" {
		t.Errorf("cause %q", s.Causes[0])
	}
	for _, c := range s.Causes {
		if strings.Contains(c, "context deadline") || strings.Contains(c, "Post") {
			t.Errorf("jargon in %q", c)
		}
	}
}

// TestCompleteDespiteSeedFailure: a UDP ritual that completed is no stall,
// whatever the capabilities did (the session tells their faults as
// anomalies).
func TestCompleteDespiteSeedFailure(t *testing.T) {
	evs := cat(start("http://127.0.0.1:9000/"), accepted("127.0.0.1"), send("UseCircuitCode", 0), ack("0"),
		recv("RegionHandshake"), recv("AgentMovementComplete"), seed(500),
		recv("ObjectUpdate", trace.Field{Key: "objects", Value: "1"}),
		&trace.Milestone{Header: h(trace.UDP), Step: trace.MilestoneTerrainComplete, Patches: 256, Of: 256},
		&trace.Milestone{Header: h(trace.UDP), Step: trace.MilestoneComplete})
	if st := diagnose.Diagnose(evs, time.Second); st != nil {
		t.Fatalf("complete ritual diagnosed as stalled: %+v", st)
	}
}

// TestEventQueueSilenceTold: the session's anomaly of an event queue that
// held its polls makes the stall the event queue's.
func TestEventQueueSilenceTold(t *testing.T) {
	t0 := time.Now()
	poll := &trace.EQPoll{Header: h(trace.EQ)}
	poll.Time = t0.Add(time.Second)
	first := start("http://127.0.0.1:9000/")
	first.Head().Time = t0
	evs := cat(first, accepted("127.0.0.1"), send("UseCircuitCode", 0), ack("0"),
		recv("RegionHandshake"), recv("AgentMovementComplete"), seed(200, "EventQueueGet"), poll,
		&trace.EQPoll{Header: h(trace.EQ)},
		cause.Anomaly(h(trace.EQ), trace.AnomalyTimeout, "EventQueueGet", "", cause.EventQueueHeld(2, 20*time.Second)))
	st := diagnose.Diagnose(evs, 31*time.Second)
	if st == nil || st.Step != diagnose.StepEventQueue || st.Cause != string(cause.EventQueueSilent) {
		t.Fatalf("stall %+v", st)
	}
	if st.Causes[0] != cause.EventQueueHeld(2, 30*time.Second).String() {
		t.Errorf("cause %q", st.Causes[0])
	}
}
