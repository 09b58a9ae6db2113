package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"ritual"
	"ritual/metrics"
	"ritual/trace"
)

func srv(l trace.Layer, at time.Time) trace.Header {
	return trace.Header{Time: at, Side: trace.Server, Layer: l}
}

func pkt(at time.Time, code uint32, dir trace.Direction, m string, fs ...trace.Field) *trace.Packet {
	return &trace.Packet{Header: srv(trace.UDP, at), Dir: dir, Message: m, Circuit: code, Fields: fs}
}

func TestPhases(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	agent := ritual.UUID{1}
	p := metrics.NewPhases()
	p.TerrainPatches = 4
	for _, ev := range []trace.Event{
		&trace.LoginResponse{Header: srv(trace.Login, ms(0)), OK: true, Elapsed: 30 * time.Millisecond},
		&trace.CircuitProvision{Header: srv(trace.Login, ms(0)), Code: 7, Agent: agent},
		pkt(ms(100), 7, trace.Recv, "UseCircuitCode"),
		pkt(ms(150), 7, trace.Recv, "RegionHandshakeReply"),
		pkt(ms(160), 7, trace.Recv, "RegionHandshakeReply"), // a resend: timed once
		&trace.SeedGrant{Header: srv(trace.Caps, ms(200)), Agent: agent, Status: 200},
		pkt(ms(250), 7, trace.Send, "AgentMovementComplete"),
		pkt(ms(300), 7, trace.Send, "ObjectUpdate"),
		pkt(ms(310), 7, trace.Send, "LayerData", trace.Field{Key: "patches", Value: "2"}),
		pkt(ms(320), 7, trace.Send, "LayerData", trace.Field{Key: "layer", Value: "wind"}, trace.Field{Key: "patches", Value: "2"}),
		pkt(ms(400), 7, trace.Send, "LayerData", trace.Field{Key: "patches", Value: "2"}),
		pkt(ms(400), 8, trace.Send, "ObjectUpdate"), // another circuit, never provisioned
		&trace.Packet{Header: trace.Header{Time: ms(401), Side: trace.Client}, Dir: trace.Recv, Message: "ObjectUpdate", Circuit: 7},
		pkt(ms(900), 7, trace.Recv, "LogoutRequest"),
		&trace.CircuitClosed{Header: srv(trace.UDP, ms(950)), Code: 7, Reason: "logout"},
	} {
		p.Record(ev)
	}
	if n := p.Tracked(); n != 0 {
		t.Errorf("%d rituals still followed after the circuit closed", n)
	}
	counts := map[string]struct {
		n   int
		sum float64
	}{
		metrics.PhaseHandshake:    {1, 0.150},
		metrics.PhaseCapabilities: {1, 0.200},
		metrics.PhaseMovement:     {1, 0.250},
		metrics.PhaseFirstObject:  {1, 0.300},
		metrics.PhaseTerrain:      {1, 0.400},
		metrics.PhaseLogout:       {1, 0.050},
	}
	if got := testutil.CollectAndCount(p, "ritual_phase_seconds"); got != len(counts) {
		t.Errorf("%d phase series, want %d", got, len(counts))
	}
	if got := testutil.CollectAndCount(p, "ritual_login_duration_seconds"); got != 1 {
		t.Errorf("%d login series, want 1", got)
	}
	out := gather(t, p)
	for phase, c := range counts {
		line := `ritual_phase_seconds_count{phase="` + phase + `"} 1`
		if !strings.Contains(out, line) {
			t.Errorf("missing %s in\n%s", line, out)
		}
		sum := sample(t, out, `ritual_phase_seconds_sum{phase="`+phase+`"}`)
		if d := sum - c.sum; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s sum %v, want %v", phase, sum, c.sum)
		}
	}
	if s := sample(t, out, "ritual_login_duration_seconds_sum"); s != 0.03 {
		t.Errorf("login duration sum %v, want 0.03", s)
	}
}

// TestPhasesBounded: provisions that never open a circuit do not grow the
// followed set without bound.
func TestPhasesBounded(t *testing.T) {
	p := metrics.NewPhases()
	t0 := time.Now()
	for i := range 70_000 {
		p.Record(&trace.CircuitProvision{Header: srv(trace.Login, t0), Code: uint32(i), Agent: ritual.UUID{byte(i), byte(i >> 8), byte(i >> 16)}})
	}
	if n := p.Tracked(); n > 1<<16 {
		t.Fatalf("%d rituals followed, want at most %d", n, 1<<16)
	}
}

func BenchmarkPhasesBackgroundPacket(b *testing.B) {
	p := metrics.NewPhases()
	ev := pkt(time.Now(), 7, trace.Recv, "AgentUpdate")
	b.ReportAllocs()
	for b.Loop() {
		p.Record(ev)
	}
}

func BenchmarkPhasesRitual(b *testing.B) {
	p := metrics.NewPhases()
	t0 := time.Now()
	agent := ritual.UUID{1}
	evs := []trace.Event{
		&trace.CircuitProvision{Header: srv(trace.Login, t0), Code: 7, Agent: agent},
		pkt(t0, 7, trace.Recv, "RegionHandshakeReply"),
		pkt(t0, 7, trace.Send, "AgentMovementComplete"),
		pkt(t0, 7, trace.Send, "ObjectUpdate"),
		pkt(t0, 7, trace.Send, "LayerData", trace.Field{Key: "patches", Value: "256"}),
		&trace.CircuitClosed{Header: srv(trace.UDP, t0), Code: 7},
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ev := range evs {
			p.Record(ev)
		}
	}
}
