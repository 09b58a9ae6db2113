package diagnose_test

import (
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/diagnose"
	"ritual/trace/narrative/narrativetest"
)

// upTo returns the server's events before the first that matches stop.
func upTo(evs []trace.Event, stop func(trace.Event) bool) []trace.Event {
	var out []trace.Event
	for _, ev := range narrativetest.Only(evs, trace.Server) {
		if stop(ev) {
			break
		}
		out = append(out, ev)
	}
	return out
}

func packet(dir trace.Direction, msg string) func(trace.Event) bool {
	return func(ev trace.Event) bool {
		p, ok := ev.(*trace.Packet)
		return ok && p.Dir == dir && p.Message == msg
	}
}

func TestServer(t *testing.T) {
	full := narrativetest.Only(narrativetest.Ritual(), trace.Server)
	if n := diagnose.ServerReached(full); n != diagnose.ServerComplete {
		t.Fatalf("the full ritual reaches server step %d", n)
	}
	if st := diagnose.Server(full, time.Second); st != nil {
		t.Fatalf("a completed ritual diagnosed: %+v", st)
	}
	for _, tt := range []struct {
		name  string
		stop  func(trace.Event) bool
		step  int
		cause string
	}{
		{"no UseCircuitCode", func(ev trace.Event) bool { _, ok := ev.(*trace.CircuitCheck); return ok }, diagnose.ServerCircuitOpen, "never sent UseCircuitCode; the login service gave sim 127.0.0.1:9000"},
		{"no handshake reply", packet(trace.Recv, "RegionHandshakeReply"), diagnose.ServerHandshake, "UDP from the region back to the client"},
		{"no seed", func(ev trace.Event) bool { _, ok := ev.(*trace.SeedGrant); return ok }, diagnose.ServerSeed, "seed capability"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			evs := upTo(narrativetest.Ritual(), tt.stop)
			st := diagnose.Server(evs, 30*time.Second)
			if st == nil || st.Step != tt.step || st.Head().Side != trace.Server {
				t.Fatalf("diagnosis %+v, want step %d", st, tt.step)
			}
			if !strings.Contains(strings.Join(st.Causes, " "), tt.cause) {
				t.Errorf("causes %q lack %q", st.Causes, tt.cause)
			}
		})
	}
	refused := narrativetest.Only(narrativetest.LoginRefused(), trace.Server)
	if st := diagnose.Server(refused, time.Second); st != nil {
		t.Errorf("a refused login diagnosed as a stall: %+v", st)
	}
	if n := diagnose.ServerReached(nil); n != 0 {
		t.Errorf("no events reach step %d", n)
	}
}
