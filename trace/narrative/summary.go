package narrative

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
)

// phase is one of the epilogue's timings.
type phase struct {
	name string
	at   time.Duration
	ok   bool
	note string
}

// find returns the index of the first event satisfying pred, or -1.
func (s *story) find(pred func(trace.Event) bool) int {
	for i, ev := range s.evs {
		if pred(ev) {
			return i
		}
	}
	return -1
}

func isMilestone(step string) func(trace.Event) bool {
	return func(ev trace.Event) bool {
		m, ok := ev.(*trace.Milestone)
		return ok && m.Step == step
	}
}

func isPacket(side trace.Side, dir trace.Direction, msgs ...string) func(trace.Event) bool {
	return func(ev trace.Event) bool {
		p, ok := ev.(*trace.Packet)
		return ok && p.Head().Side == side && p.Dir == dir && slices.Contains(msgs, p.Message)
	}
}

// reach finds a phase by the first of several signs, in order of
// preference: the client's milestone, the client's receipt, the server's
// sending.
func (s *story) reach(name, step string, msgs ...string) phase {
	signs := []struct {
		pred func(trace.Event) bool
		note string
	}{
		{isMilestone(step), "the client's milestone"},
		{isPacket(trace.Client, trace.Recv, msgs...), "first " + code("RECV "+msgs[0]) + " at the client"},
		{isPacket(trace.Server, trace.Send, msgs...), "first " + code("SEND "+msgs[0]) + " at the server"},
	}
	for _, sg := range signs {
		if i := s.find(sg.pred); i >= 0 {
			return phase{name: name, at: s.at(i), ok: true, note: sg.note}
		}
	}
	return phase{name: name}
}

func (s *story) loginRoundTrip() phase {
	ph := phase{name: "Login round trip"}
	pairs := []struct {
		side        trace.Side
		start, done func(trace.Event) bool
		note        string
	}{
		{trace.Client, is[*trace.LoginStart](trace.Client), is[*trace.LoginResponse](trace.Client),
			code("START") + " → " + code("RECV Response") + " at the client"},
		{trace.Server, is[*trace.LoginRequest](trace.Server), is[*trace.LoginResponse](trace.Server),
			code("RECV login_to_simulator") + " → " + code("SEND Response") + " at the server"},
	}
	for _, p := range pairs {
		i := s.find(p.start)
		if i < 0 {
			continue
		}
		for j := i; j < len(s.evs); j++ {
			if p.done(s.evs[j]) {
				ph.at, ph.ok, ph.note = s.at(j)-s.at(i), true, p.note
				return ph
			}
		}
	}
	for _, ev := range s.evs {
		if r, ok := ev.(*trace.LoginResponse); ok && r.Elapsed > 0 {
			ph.at, ph.ok, ph.note = r.Elapsed, true, "as "+strings.ToLower(subject(r.Head().Side))+" measured it"
			return ph
		}
	}
	return ph
}

func is[E trace.Event](side trace.Side) func(trace.Event) bool {
	return func(ev trace.Event) bool {
		_, ok := ev.(E)
		return ok && ev.Head().Side == side
	}
}

// terrain finds when the whole terrain was in: the client's milestone, or
// the LayerData packet that brought the land patches to the total, at the
// client and else at the server. Not reached, it says how far it got.
func (s *story) terrain() phase {
	ph := phase{name: "To full terrain"}
	if i := s.find(isMilestone(trace.MilestoneTerrainComplete)); i >= 0 {
		ph.at, ph.ok, ph.note = s.at(i), true, "the client's milestone"
		return ph
	}
	best := 0
	for _, v := range []struct {
		side trace.Side
		dir  trace.Direction
		note string
	}{
		{trace.Client, trace.Recv, "at the client"},
		{trace.Server, trace.Send, "at the server"},
	} {
		land := 0
		seen := map[uint32]bool{}
		for i, ev := range s.evs {
			p, ok := ev.(*trace.Packet)
			if !ok || p.Head().Side != v.side || p.Dir != v.dir || p.Message != "LayerData" {
				continue
			}
			if p.Resent && seen[p.Seq] {
				continue
			}
			seen[p.Seq] = true
			if layer, _ := p.Fields.Get(FieldLayer); layer != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(layer)), "land") {
				continue
			}
			c, _ := p.Fields.Get(FieldPatches)
			n, _ := count(c)
			land += n
			if land >= s.total {
				ph.at, ph.ok = s.at(i), true
				ph.note = strconv.Itoa(land) + "/" + strconv.Itoa(s.total) + " patches " + v.note
				return ph
			}
		}
		best = max(best, land)
	}
	if best > 0 {
		ph.note = strconv.Itoa(best) + "/" + strconv.Itoa(s.total) + " patches"
	}
	return ph
}

func (s *story) phases() []phase {
	return []phase{
		s.loginRoundTrip(),
		s.reach("To handshake", trace.MilestoneHandshake, "RegionHandshake"),
		s.reach("To movement complete", trace.MilestoneMovementComplete, "AgentMovementComplete"),
		s.reach("To first object", trace.MilestoneFirstObject, "ObjectUpdate", "ObjectUpdateCompressed"),
		s.terrain(),
	}
}

// traffic is what one side's circuit carried, by its own count or counted
// from the probe events, and the background packets it only counted.
type traffic struct {
	stats      trace.CircuitStats
	fromStats  bool
	seen       bool
	background map[string]*[2]int // message: sent, received
}

func (s *story) traffic(side trace.Side) traffic {
	var t traffic
	t.background = map[string]*[2]int{}
	for i, ev := range s.evs {
		if ev.Head().Side != side {
			continue
		}
		switch e := ev.(type) {
		case *trace.CircuitClosed:
			st := e.Stats
			t.fromStats, t.seen = true, true
			addStats(&t.stats, st)
		case *trace.Packet:
			t.seen = true
			if s.parts[i] == Background {
				c := t.background[e.Message]
				if c == nil {
					c = new([2]int)
					t.background[e.Message] = c
				}
				if e.Dir == trace.Send {
					c[0]++
				} else {
					c[1]++
				}
			}
		}
	}
	if t.fromStats {
		return t
	}
	for _, ev := range s.evs {
		if ev.Head().Side != side {
			continue
		}
		switch e := ev.(type) {
		case *trace.Packet:
			acks := e.Acks
			if e.Message == "PacketAck" {
				acks += max(len(ackIDs(e)), 1)
			}
			if e.Dir == trace.Send {
				t.stats.PacketsSent++
				t.stats.BytesSent += max(e.Size, 0)
				t.stats.AcksSent += acks
				if e.Resent {
					t.stats.Resent++
				}
			} else {
				t.stats.PacketsRecv++
				t.stats.BytesRecv += max(e.Size, 0)
				t.stats.AcksRecv += acks
			}
		case *trace.Anomaly:
			switch e.Kind {
			case trace.AnomalyDuplicate:
				t.stats.Duplicates++
			case trace.AnomalyDropped:
				t.stats.Dropped++
			}
		}
	}
	return t
}

// addStats adds b to a, saturating rather than overflowing.
func addStats(a *trace.CircuitStats, b trace.CircuitStats) {
	add := func(x *int, y int) {
		if y < 0 {
			return
		}
		if *x > int(^uint(0)>>2)-y {
			*x = int(^uint(0) >> 2)
			return
		}
		*x += y
	}
	add(&a.PacketsSent, b.PacketsSent)
	add(&a.PacketsRecv, b.PacketsRecv)
	add(&a.BytesSent, b.BytesSent)
	add(&a.BytesRecv, b.BytesRecv)
	add(&a.Resent, b.Resent)
	add(&a.AcksSent, b.AcksSent)
	add(&a.AcksRecv, b.AcksRecv)
	add(&a.Duplicates, b.Duplicates)
	add(&a.Dropped, b.Dropped)
	add(&a.ReliableLost, b.ReliableLost)
}

// backgroundOrder is the order background messages are counted in.
var backgroundOrder = []string{"PacketAck", "StartPingCheck", "CompletePingCheck", "AgentUpdate"}

func backgroundPhrase(t traffic) string {
	var sent, recv []string
	for _, m := range backgroundOrder {
		if c := t.background[m]; c != nil {
			if c[0] > 0 {
				sent = append(sent, strconv.Itoa(c[0])+" "+m)
			}
			if c[1] > 0 {
				recv = append(recv, strconv.Itoa(c[1])+" "+m)
			}
		}
	}
	var out []string
	if len(sent) > 0 {
		out = append(out, join(sent, 0)+" sent")
	}
	if len(recv) > 0 {
		out = append(out, join(recv, 0)+" received")
	}
	return strings.Join(out, ", ")
}

// anomalyOrder is the order anomaly kinds are counted in.
var anomalyOrder = []string{
	"AUTH FAILURE", "LOGIN FAILURE",
	trace.AnomalyResent, "RECV RESENT", trace.AnomalyDuplicate, trace.AnomalyOutOfOrder,
	trace.AnomalyDropped, "NOT RECEIVED", trace.AnomalyReject, trace.AnomalyTimeout, "STALL",
}

func anomalyPhrase(m map[string]int) string {
	var kinds []string
	for k := range m {
		if !slices.Contains(anomalyOrder, k) {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	kinds = append(slices.Clone(anomalyOrder), kinds...)
	var out []string
	for _, k := range kinds {
		if m[k] > 0 {
			out = append(out, strconv.Itoa(m[k])+" "+text(k))
		}
	}
	return join(out, 0)
}

func (s *story) writeSummary(b *bytes.Buffer) {
	phases := s.phases()
	b.WriteString("**Timings**, from the first signal:\n")
	for _, ph := range phases {
		switch {
		case ph.ok && ph.note != "":
			fmt.Fprintf(b, "- %s: %s (%s)\n", ph.name, dur(ph.at), ph.note)
		case ph.ok:
			fmt.Fprintf(b, "- %s: %s\n", ph.name, dur(ph.at))
		case ph.note != "":
			fmt.Fprintf(b, "- %s: not reached (%s)\n", ph.name, ph.note)
		default:
			fmt.Fprintf(b, "- %s: not reached\n", ph.name)
		}
	}
	for _, l := range s.episodeTimings() {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\n**Traffic**, as each side counted its circuit, and anomalies:\n")
	var quiet, troubles []string
	circuits := 0
	for _, side := range []trace.Side{trace.Client, trace.Server} {
		t := s.traffic(side)
		name := strings.ToLower(subject(side))
		if t.seen {
			how := "counted from probe events"
			if t.fromStats {
				how = "by its circuit's own count"
			}
			fmt.Fprintf(b, "- **%s** (%s): %s\n", sideName(side), how, statsPhrase(t.stats))
			circuits++
		}
		if p := backgroundPhrase(t); p != "" {
			quiet = append(quiet, "at "+name+" "+p)
		}
		if p := anomalyPhrase(s.anomalies[side]); p != "" {
			troubles = append(troubles, "at "+name+" "+p)
		}
	}
	if circuits == 0 {
		b.WriteString("- No UDP circuit was observed.\n")
	}
	if len(quiet) > 0 {
		fmt.Fprintf(b, "- **Counted, not told**: %s.\n", strings.Join(quiet, "; "))
	}
	if len(troubles) > 0 {
		fmt.Fprintf(b, "- **Anomalies**: %s.\n", strings.Join(troubles, "; "))
	} else {
		b.WriteString("- **Anomalies**: none.\n")
	}
	fmt.Fprintf(b, "\n**Outcome**: %s\n\n", s.outcome(phases))
}

// firstFault returns the first anomaly that names a catalogued cause, or
// nil.
func (s *story) firstFault() *trace.Anomaly {
	for _, ev := range s.evs {
		if a, ok := ev.(*trace.Anomaly); ok && a.Cause != "" {
			return a
		}
	}
	return nil
}

func (s *story) outcome(phases []phase) string {
	if st, ok := first[*trace.Stall](s.evs); ok {
		out := "the ritual stalled at step " + strconv.Itoa(st.Step)
		if st.Expected != "" {
			out += ", waiting for " + code(st.Expected)
		}
		return out + "."
	}
	for _, ev := range s.evs {
		switch e := ev.(type) {
		case *trace.LoginAuth:
			if !e.OK {
				return "the login was refused" + s.failure(e.Reason, e.Message) + "."
			}
		case *trace.LoginResponse:
			if !e.OK {
				return "the login was refused" + s.failure(e.Reason, e.Message) + "."
			}
		}
	}
	if i := s.find(isMilestone(trace.MilestoneComplete)); i >= 0 {
		out := "the ritual completed in " + dur(s.at(i))
		if f := s.firstFault(); f != nil {
			out += ", but it is not whole: " + text(f.Reason)
			if f.Fault != "" && f.Fault != "unknown" {
				out += " (at fault: the " + text(f.Fault) + ")"
			}
		}
		return out + "."
	}
	var last time.Duration
	for _, ph := range phases {
		if !ph.ok {
			return "the ritual ended before completing: " + strings.ToLower(ph.name[:1]) + ph.name[1:] + " was not reached."
		}
		if ph.name != "Login round trip" {
			last = max(last, ph.at)
		}
	}
	return "every phase was reached, the last " + dur(last) + " after the first signal."
}

func sideName(side trace.Side) string {
	switch side {
	case trace.Client:
		return "Client"
	case trace.Server:
		return "Server"
	}
	return "Observer"
}
