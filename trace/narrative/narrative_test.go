package narrative_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/narrative"
	"ritual/trace/narrative/narrativetest"
	"ritual/trace/tracetest"
)

func render(t testing.TB, evs []trace.Event, opt narrative.Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := narrative.Render(&b, evs, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// expectLines fails unless each tag starts a told line ("**TAG**" or
// "**TAG ×N**"), in the given order.
func expectLines(t *testing.T, story string, tags ...string) {
	t.Helper()
	rest := story
	for _, tag := range tags {
		found := false
		for {
			i := strings.Index(rest, "**"+tag)
			if i < 0 {
				break
			}
			after := rest[i+2+len(tag):]
			rest = after
			if strings.HasPrefix(after, "**") || strings.HasPrefix(after, " ×") {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("line %q not found in order in:\n%s", tag, story)
		}
	}
}

// seedTags are the probe tags of the seed story, in its order.
var seedTags = []string{
	"[CLIENT] [LOGIN] START",
	"[SERVER] [LOGIN] RECV login_to_simulator",
	"[SERVER] [LOGIN] AUTH SUCCESS",
	"[SERVER] [LOGIN] CIRCUIT PROVISION",
	"[SERVER] [LOGIN] SEND Response",
	"[CLIENT] [LOGIN] PROGRESS ConnectingToSim",
	"[SERVER] [UDP] RECV UseCircuitCode",
	"[SERVER] [UDP] SEND RegionHandshake",
	"[SERVER] [UDP] SEND AgentMovementComplete",
	"[CLIENT] [UDP] CONNECTED",
	"[CLIENT] [UDP] RECV ObjectUpdate",
	"[CLIENT] [UDP] RECV LayerData",
}

func TestSeedOrder(t *testing.T) {
	evs := narrativetest.Ritual()
	// The recorded stream itself follows the seed...
	tracetest.ExpectOrder(t, evs, seedTags...)
	// ...and so does the story told from it, part by part.
	story := render(t, evs, narrative.Options{})
	expectLines(t, story, seedTags...)
	expectLines(t, story,
		"[CLIENT] [UDP] SEND UseCircuitCode",
		"[SERVER] [UDP] SEND PacketAck",
		"[SERVER] [UDP] VALIDATE UseCircuitCode",
		"[CLIENT] [UDP] RECV RegionHandshake",
		"[CLIENT] [UDP] SEND RegionHandshakeReply",
		"[CLIENT] [CAPS] SEED REQUEST",
		"[SERVER] [CAPS] SEED GRANT",
		"[CLIENT] [EQ] POLL",
		"[SERVER] [EQ] DELIVER",
		"[CLIENT] [UDP] SEND CompleteAgentMovement",
		"[CLIENT] [UDP] RECV AgentMovementComplete",
		"[CLIENT] [UDP] TERRAIN COMPLETE",
		"[CLIENT] [UDP] SEND LogoutRequest",
		"[SERVER] [UDP] SEND LogoutReply",
		"[SERVER] [UDP] CIRCUIT CLOSED",
		"[CLIENT] [UDP] CIRCUIT CLOSED",
	)
	headings := []string{
		"# The Ritual: Test User at Default Region\n",
		"## Prologue: The Environment\n",
		"## Part I: The Login Sequence (HTTP, XML-RPC)\n",
		"## Part II: The Handshake (UDP)\n",
		"## Part III: The Capabilities (HTTP)\n",
		"## Part IV: World Materialization (UDP Stream)\n",
		"## Epilogue: Departure and Summary\n",
		"*Told by Ritual's naturalist observer from 129 probe events.*\n",
	}
	at := 0
	for _, h := range headings {
		i := strings.Index(story[at:], h)
		if i < 0 {
			t.Fatalf("heading %q missing or out of order", h)
		}
		at += i
	}
	if strings.Contains(story, "## Stall") {
		t.Fatal("a complete ritual has no stall section")
	}
}

func TestRealValues(t *testing.T) {
	story := render(t, narrativetest.Ritual(), narrative.Options{})
	for _, want := range []string{
		"circuit code `473293782`",
		"CircuitCode `473293782`, SessionID `19d8…`",
		"session `19d8…`",
		"seed capability `http://127.0.0.1:9000/…`",
		"Position `<128, 128, 26.03416>`, LookAt `<0.99, 0.042, 0>`",
		"RegionName `Default Region`",
		"8 LayerData packets carried 256/256 land patches and 2 wind patches in 10.8 ms",
		"14 ObjectUpdate packets brought 15 objects (13 prims, 1 avatar and 1 tree) in 21.4 ms",
		"The server grants 7 capabilities (HTTP 200): `EventQueueGet`",
		"not granted: `UploadBakedTexture`",
		"The server acknowledges `UseCircuitCode` (seq 0) with `PacketAck`",
		"- Login round trip: 2.9 ms",
		"- To handshake: 4.7 ms",
		"- To full terrain: 30.5 ms",
		"sent 17 packets (783 bytes) and received 33 (11.8 KiB)",
		"6 AgentUpdate sent",
		"**Outcome**: the ritual completed in 41.8 ms.",
		"**[SERVER] [UDP] SEND LayerData ×8** `+21.0 ms`",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q", want)
		}
	}
	// Background packets are counted, never told.
	for _, hidden := range []string{"UDP] SEND AgentUpdate", "StartPingCheck**", "RECV PacketAck** `+46"} {
		if strings.Contains(story, hidden) {
			t.Errorf("story tells background signal %q", hidden)
		}
	}
}

func TestSecrets(t *testing.T) {
	secrets := []string{narrativetest.Session, "fe6e667f", "0c1d2e3f"}
	for _, st := range streams {
		if st.opt.Show {
			continue
		}
		story := render(t, st.events(), st.opt)
		for _, s := range secrets {
			if strings.Contains(story, s) {
				t.Errorf("%s: masked story shows secret %q", st.name, s)
			}
		}
	}
	shown := render(t, narrativetest.Ritual(), narrative.Options{Show: trace.ShowSecrets})
	for _, s := range []string{narrativetest.Session, narrativetest.SeedCap} {
		if !strings.Contains(shown, s) {
			t.Errorf("ShowSecrets story hides %q", s)
		}
	}
	if strings.Contains(shown, "19d8…") {
		t.Error("ShowSecrets story still masks the session")
	}
	// Rendering must not mask the caller's events in place.
	evs := narrativetest.Ritual()
	render(t, evs, narrative.Options{})
	for _, ev := range evs {
		if r, ok := ev.(*trace.LoginResponse); ok && r.Session != narrativetest.Session {
			t.Fatal("Render changed a recorded event")
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, st := range streams {
		a := render(t, st.events(), st.opt)
		b := render(t, st.events(), st.opt)
		if a != b {
			t.Errorf("%s: two renderings differ", st.name)
		}
	}

	// Order of arrival does not matter: events are told in time order.
	evs := narrativetest.Ritual()
	seen := map[time.Time]bool{}
	for _, ev := range evs {
		if seen[ev.Head().Time] {
			t.Fatalf("fixture has two events at %v; shuffling would be ambiguous", ev.Head().Time)
		}
		seen[ev.Head().Time] = true
	}
	want := render(t, evs, narrative.Options{})
	shuffled := append([]trace.Event(nil), evs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if got := render(t, shuffled, narrative.Options{}); got != want {
		t.Error("a shuffled stream tells a different story")
	}

	// A stream written as JSON lines and read back tells the same story.
	for _, st := range streams {
		var buf bytes.Buffer
		sink := trace.NewWriterSink(&buf, trace.ShowSecrets)
		for _, ev := range st.events() {
			sink.Record(ev)
		}
		if err := sink.Flush(); err != nil {
			t.Fatal(err)
		}
		back, err := trace.ReadJSONL(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := render(t, back, st.opt), render(t, st.events(), st.opt); got != want {
			t.Errorf("%s: the JSON-lines replay tells a different story", st.name)
		}
	}
}

func TestAnomalies(t *testing.T) {
	story := render(t, narrativetest.Troubled(), narrative.Options{})
	for _, want := range []string{
		"**[SERVER] [UDP] REJECT UseCircuitCode** `+2.0 ms`: The server rejects circuit code `12345` from `203.0.113.7:40000`: unknown circuit code.",
		"**[SERVER] [UDP] DROPPED** `+2.4 ms`",
		"**[SERVER] [UDP] RESENT RegionHandshake ×2**",
		"2 RESENT RegionHandshake (seq 1 ×2) in 1.000 s",
		"It is a resent copy: the first was lost on the way.",
		"**[CLIENT] [UDP] OUT OF ORDER RegionHandshake**",
		"arrived after AgentMovementComplete",
		"**[CLIENT] [UDP] DUPLICATE RegionHandshake**",
		"**[CLIENT] [UDP] RESENT RegionHandshakeReply**",
		"1.000 s after the first copy",
		"**[SERVER] [UDP] RESENT LayerData ×3**",
		"3 RESENT LayerData (seq 6, 8 and 10)",
		"3 DUPLICATE LayerData (seq 6, 8 and 10)",
		"**[CLIENT] [UDP] DROPPED ObjectUpdate**",
		"short buffer at offset 312",
		"**[SERVER] [EQ] TIMEOUT**",
		"HTTP 502",
		"**[CLIENT] [UDP] TIMEOUT LogoutReply**",
		"at the client 1 RESENT, 4 DUPLICATE, 1 OUT OF ORDER, 1 DROPPED, 2 NOT RECEIVED and 1 TIMEOUT",
		"at the server 5 RESENT, 1 DROPPED, 2 NOT RECEIVED and 1 REJECT",
		"WaterHeight `20`. The client never recorded its receipt.",
		"5 ObjectUpdate packets brought 5 objects (4 prims and 1 avatar) in 6.0 ms; 1 of them was never recorded as received by the client.",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q", want)
		}
	}
	// Folded signals are told once: the REJECT anomaly with its circuit
	// check, the RESENT anomaly with its packet, a duplicate resend with its
	// DUPLICATE anomaly.
	for tag, n := range map[string]int{
		"REJECT UseCircuitCode**":       1,
		"RESENT RegionHandshakeReply**": 1,
		"RECV RESENT":                   0,
	} {
		if got := strings.Count(story, tag); got != n {
			t.Errorf("%q told %d times, want %d", tag, got, n)
		}
	}
	// Anomalies are told in the part where they happen.
	partII := between(story, "## Part II", "## Part III")
	for _, want := range []string{"REJECT UseCircuitCode", "DROPPED**", "DUPLICATE RegionHandshake", "OUT OF ORDER"} {
		if !strings.Contains(partII, want) {
			t.Errorf("Part II lacks %q", want)
		}
	}
	if !strings.Contains(between(story, "## Part IV", "## Epilogue"), "DUPLICATE LayerData ×3") {
		t.Error("Part IV lacks the duplicate terrain")
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	j := strings.Index(s, to)
	if i < 0 || j < i {
		return ""
	}
	return s[i:j]
}

func TestStall(t *testing.T) {
	story := render(t, narrativetest.Stalled(), narrative.Options{})
	for _, want := range []string{
		"## Stall: The Ritual Stopped at Step 3\n",
		"**[CLIENT] [UDP] STALL** `+10.183 s`: The ritual stopped at step 3 after waiting 10.000 s.",
		"Last seen: `[CLIENT] [UDP] SEND UseCircuitCode`.",
		"Expected next: `[CLIENT] [UDP] RECV PacketAck of UseCircuitCode`.",
		"At fault: the login service. Likely causes:\n    - the login service gave a private sim 10.0.0.5:9000",
		"\n    - the region never answered UseCircuitCode (sent 4 times); the login service gave sim 10.0.0.5:9000\n",
		"3 RESENT UseCircuitCode (seq 0 ×3) in 2.000 s",
		"the region at `10.0.0.5:9000`",
		"- To handshake: not reached\n",
		"- To full terrain: not reached\n",
		"*Not reached: the ritual stalled before this part.*",
		"**Outcome**: the ritual stalled at step 3, waiting for `[CLIENT] [UDP] RECV PacketAck of UseCircuitCode`.",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q", want)
		}
	}
	if strings.Index(story, "## Stall") > strings.Index(story, "## Epilogue") {
		t.Error("the stall is told after the epilogue")
	}
	// The one-sided stream never speaks for the server.
	if strings.Contains(story, "[SERVER]") {
		t.Error("client-only story tells a server line")
	}
}

func TestOneSided(t *testing.T) {
	client := render(t, narrativetest.Only(narrativetest.Ritual(), trace.Client), narrative.Options{})
	server := render(t, narrativetest.Only(narrativetest.Ritual(), trace.Server), narrative.Options{})
	if strings.Contains(client, "**[SERVER]") || strings.Contains(server, "**[CLIENT]") {
		t.Fatal("a one-sided story tells the other side")
	}
	for _, want := range []string{"not instrumented; seen only through the client", "- To full terrain: 30.5 ms (the client's milestone)", "RECV LayerData ×8"} {
		if !strings.Contains(client, want) {
			t.Errorf("client story lacks %q", want)
		}
	}
	for _, want := range []string{
		"not instrumented; seen only through the server",
		"- Login round trip: 1.5 ms (`RECV login_to_simulator` → `SEND Response` at the server)",
		"- To full terrain: 29.1 ms (256/256 patches at the server)",
		"- To first object: 19.2 ms (first `SEND ObjectUpdate` at the server)",
		"SEND LayerData ×8",
	} {
		if !strings.Contains(server, want) {
			t.Errorf("server story lacks %q", want)
		}
	}
}

func TestCountedFromEvents(t *testing.T) {
	// Without CircuitClosed, traffic is counted from the packets.
	var evs []trace.Event
	for _, ev := range narrativetest.Ritual() {
		if _, ok := ev.(*trace.CircuitClosed); !ok {
			evs = append(evs, ev)
		}
	}
	story := render(t, evs, narrative.Options{})
	want := "- **Client** (counted from probe events): sent 17 packets (783 bytes) and received 33 (11.8 KiB); 0 resent, 25 acks sent and 5 received."
	if !strings.Contains(story, want) {
		t.Errorf("story lacks %q:\n%s", want, story)
	}
}

func TestEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := narrative.Render(&b, nil, narrative.Options{}); !errors.Is(err, narrative.ErrNoEvents) {
		t.Fatalf("err = %v, want ErrNoEvents", err)
	}
	var nilPacket *trace.Packet
	if err := narrative.Render(&b, []trace.Event{nil, nilPacket}, narrative.Options{}); !errors.Is(err, narrative.ErrNoEvents) {
		t.Fatalf("err = %v, want ErrNoEvents", err)
	}
	if b.Len() != 0 {
		t.Fatal("wrote something for nothing")
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteError(t *testing.T) {
	err := narrative.Render(failingWriter{}, narrativetest.Ritual(), narrative.Options{})
	if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "narrative: ") {
		t.Fatalf("err = %v", err)
	}
}

// odd is an event type the story does not know.
type odd struct{ trace.Header }

func (*odd) Name() string { return "odd.event" }

func TestHostileAndOddEvents(t *testing.T) {
	t0 := narrativetest.Start
	long := strings.Repeat("x", 5000)
	var nilAnomaly *trace.Anomaly
	evs := []trace.Event{
		&trace.LoginStart{Header: trace.Header{Time: t0, Side: trace.Client, Layer: trace.Login},
			First: "Eve`\n# Owned", Last: "*bold* <script>", URI: "http://x/``y", Format: "carrier pigeon"},
		nilAnomaly,
		&trace.Packet{Header: trace.Header{Side: trace.Server, Layer: trace.UDP}, Dir: trace.Send, Message: "LayerData",
			Fields: trace.Fields{{Key: "patches", Value: "-5"}, {Key: "layer", Value: "land"}}},
		&trace.Packet{Header: trace.Header{Time: t0.Add(time.Millisecond), Side: trace.Server, Layer: trace.UDP}, Dir: trace.Send,
			Message: "LayerData", Fields: trace.Fields{{Key: "patches", Value: "99999999999999999999"}}},
		&trace.Packet{Header: trace.Header{Time: t0.Add(2 * time.Millisecond), Side: trace.Client, Layer: trace.UDP}, Dir: trace.Recv,
			Message: "ObjectUpdate", Fields: trace.Fields{{Key: "kinds", Value: "prim:x,:3,avatar:2,tree"}}},
		&trace.Packet{Header: trace.Header{Time: t0.Add(3 * time.Millisecond), Side: trace.Client, Layer: trace.UDP}, Dir: trace.Send,
			Message: "PacketAck", Fields: trace.Fields{{Key: "ids", Value: strings.Repeat("1,", 10000)}}},
		&trace.Packet{Header: trace.Header{Time: t0.Add(4 * time.Millisecond), Side: trace.Client, Layer: trace.UDP}, Dir: trace.Recv,
			Message: "Chat\nFromSimulator", Fields: trace.Fields{{Key: "Message", Value: long}}},
		&trace.EQTimeout{Header: trace.Header{Time: t0.Add(-time.Hour), Side: trace.Server, Layer: trace.EQ}, Waited: -time.Second},
		&trace.CircuitClosed{Header: trace.Header{Time: t0.Add(5 * time.Millisecond), Side: trace.Client, Layer: trace.UDP},
			Stats: trace.CircuitStats{PacketsSent: -1, BytesSent: 1 << 40}},
		&trace.Milestone{Header: trace.Header{Time: t0.Add(6 * time.Millisecond), Side: trace.Client, Layer: trace.UDP}, Step: "sunrise", Of: -3},
		&trace.Stall{Header: trace.Header{Time: t0.Add(7 * time.Millisecond), Side: 9, Layer: 77}, Step: -1},
		&odd{Header: trace.Header{Time: t0.Add(8 * time.Millisecond), Side: trace.Server, Layer: trace.Caps}},
	}
	story := render(t, evs, narrative.Options{Title: "Title\n## Injected"})
	for _, line := range strings.Split(story, "\n") {
		if strings.HasPrefix(line, "# ") && line != "# Title ## Injected" {
			t.Errorf("a recorded value made a heading: %q", line)
		}
		if strings.HasPrefix(line, "## Injected") || strings.HasPrefix(line, "# Owned") || strings.HasPrefix(line, "FromSimulator") {
			t.Errorf("a recorded newline broke a line: %q", line)
		}
	}
	if strings.Contains(story, long[:200]) {
		t.Error("an overlong value was not cut")
	}
	if !strings.Contains(story, "Eve\\` # Owned \\*bold\\* \\<script\\>") {
		t.Error("a recorded name in running text was not escaped")
	}
	if strings.Contains(story, "-9223") || strings.Contains(story, "`-") {
		t.Error("an unstamped event was told at a nonsense time")
	}
	for _, want := range []string{"**[SERVER] [CAPS] ODD.EVENT**", "`` Eve` # Owned *bold* <script> ``", "their patch counts were not recorded", "2 objects (2 avatars)"} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q", want)
		}
	}
}

func TestClassify(t *testing.T) {
	h := func(side trace.Side, layer trace.Layer) trace.Header {
		return trace.Header{Side: side, Layer: layer}
	}
	evs := []trace.Event{
		&trace.LoginStart{Header: h(trace.Client, trace.Login)},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Send, Message: "UseCircuitCode", Seq: 0},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Recv, Message: "PacketAck", Fields: trace.Fields{{Key: "ids", Value: "0"}}},
		&trace.Anomaly{Header: h(trace.Client, trace.UDP), Kind: trace.AnomalyDropped},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Send, Message: "CompleteAgentMovement", Seq: 1},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Recv, Message: "PacketAck", Fields: trace.Fields{{Key: "ids", Value: "1"}}},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Recv, Message: "PacketAck"},
		&trace.Anomaly{Header: h(trace.Client, trace.UDP), Kind: trace.AnomalyDropped},
		&trace.Anomaly{Header: h(trace.Client, trace.UDP), Kind: trace.AnomalyDuplicate, Message: "RegionHandshake"},
		&trace.SeedGrant{Header: h(trace.Server, trace.Caps)},
		&trace.EQTimeout{Header: h(trace.Server, trace.EQ)},
		&trace.Anomaly{Header: h(trace.Client, trace.EQ), Kind: trace.AnomalyTimeout},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Send, Message: "AgentUpdate"},
		&trace.Milestone{Header: h(trace.Client, trace.UDP), Step: trace.MilestoneHandshake},
		&trace.Milestone{Header: h(trace.Client, trace.UDP), Step: trace.MilestoneTerrainComplete},
		&trace.Packet{Header: h(trace.Client, trace.UDP), Dir: trace.Send, Message: "LogoutRequest"},
		&trace.Anomaly{Header: h(trace.Client, trace.UDP), Kind: trace.AnomalyTimeout},
		&trace.CircuitClosed{Header: h(trace.Client, trace.UDP)},
		&trace.Stall{Header: h(trace.Client, trace.UDP)},
	}
	want := []narrative.Part{
		narrative.PartLogin,
		narrative.PartHandshake,
		narrative.PartHandshake, // acks UseCircuitCode
		narrative.PartHandshake, // dropped while the handshake was told
		narrative.PartWorld,
		narrative.Background, // acks CompleteAgentMovement
		narrative.Background, // acks nothing it names
		narrative.PartWorld,  // dropped while the world was told
		narrative.PartHandshake,
		narrative.PartCaps,
		narrative.PartCaps,
		narrative.PartCaps,
		narrative.Background,
		narrative.PartHandshake,
		narrative.PartWorld,
		narrative.PartEpilogue,
		narrative.PartEpilogue,
		narrative.PartEpilogue,
		narrative.PartStall,
	}
	got := narrative.Classify(evs)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d (%s): %s, want %s", i, trace.Tag(evs[i]), got[i].Title(), want[i].Title())
		}
	}
}

func BenchmarkRender(b *testing.B) {
	long := longRitual(5000)
	for _, bc := range []struct {
		name string
		evs  []trace.Event
	}{
		{"ritual", narrativetest.Ritual()},
		{"troubled", narrativetest.Troubled()},
		{"long", long},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := narrative.Render(&buf, bc.evs, narrative.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// longRitual is the ritual followed by n more object and terrain updates
// on both sides.
func longRitual(n int) []trace.Event {
	evs := narrativetest.Ritual()
	t := evs[len(evs)-1].Head().Time
	for i := range n {
		t = t.Add(time.Millisecond)
		msg := "ImprovedTerseObjectUpdate"
		if i%3 == 0 {
			msg = "LayerData"
		}
		for _, side := range []trace.Side{trace.Server, trace.Client} {
			dir := trace.Send
			if side == trace.Client {
				dir = trace.Recv
			}
			evs = append(evs, &trace.Packet{Header: trace.Header{Time: t, Side: side, Layer: trace.UDP}, Dir: dir,
				Message: msg, Seq: uint32(1000 + i), Size: 200, Fields: trace.Fields{{Key: "objects", Value: "2"}, {Key: "patches", Value: "1"}}})
		}
	}
	return evs
}

func TestChatAndIMSummarised(t *testing.T) {
	evs := narrativetest.Ritual()
	at := evs[len(evs)-1].Head().Time
	h := func(d time.Duration) trace.Header {
		return trace.Header{Side: trace.Server, Layer: trace.UDP, From: trace.EndClient, To: trace.EndRegion, Time: at.Add(d)}
	}
	for i, c := range []trace.Chat{
		{Header: h(1), FromName: "Ann Speaker", Type: 1, Text: "hello there", Length: 11, Heard: 3, Delivered: true},
		{Header: h(2), FromName: "Bob Hearer", Type: 0, Text: "psst", Length: 4, Heard: 1, Delivered: true},
		{Header: h(3), FromName: "Ann Speaker", Type: 1, Channel: 7, Text: "for scripts", Length: 11},
		{Header: h(3), FromName: "Dee Beyond", Type: 2, Text: "over here", Length: 9, Heard: 2, Delivered: true, FromRegion: 1 << 40},
	} {
		c.Position.X = float32(100 + i)
		evs = append(evs, &c)
	}
	for _, o := range []string{"delivered", "stored: recipient offline", "delivered at login (stored 2026-01-02T03:04:05Z)", "delivered"} {
		evs = append(evs, &trace.InstantMessage{Header: h(4), FromName: "Ann Speaker", Length: 5, Outcome: o})
	}
	story := render(t, evs, narrative.Options{})
	for _, want := range []string{
		"**[SERVER] [UDP] CHAT ×4**",
		"The region hands on 3 chat messages (say, whisper and say on channel 7) from 2 speakers, heard 4 times by the avatars in range; 1 reached no avatar; " +
			"hears 1 line spoken in a neighbouring region near its border, heard 2 times by its avatars in range.",
		"- first: `Ann Speaker` at `<100, 0, 0>` says `hello there`",
		"**[SERVER] [UDP] IM ×4**",
		"The region carries 4 instant messages: delivered ×2, stored and delivered at login.",
	} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q:\n%s", want, story)
		}
	}
	// Summarised, not told one by one.
	if n := strings.Count(story, "CHAT"); n != 1 {
		t.Errorf("CHAT told %d times", n)
	}
}

// TestLoginFailureInPlainWords: the HTTP client's error recorded by a
// failed login is told as what it means, not as Go.
func TestLoginFailureInPlainWords(t *testing.T) {
	t0 := narrativetest.Start
	h := func(d time.Duration) trace.Header {
		return trace.Header{Time: t0.Add(d), Side: trace.Client, Layer: trace.Login, From: trace.EndClient, To: trace.EndLogin}
	}
	for detail, want := range map[string]string{
		`login: Post "http://127.0.0.1:9000/": context deadline exceeded`:                            "The login fails: no answer within 12 s.",
		`login: Post "http://127.0.0.1:9000/": dial tcp 127.0.0.1:9000: connect: connection refused`: "The login fails: nothing is listening at 127.0.0.1:9000.",
	} {
		story := render(t, []trace.Event{
			&trace.LoginStart{Header: h(0), URI: "http://127.0.0.1:9000/", First: "Test", Last: "User", Format: "xmlrpc"},
			&trace.LoginProgress{Header: h(12 * time.Second), Stage: "Failed", Detail: detail},
		}, narrative.Options{})
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q:\n%s", want, story)
		}
		if strings.Contains(story, "context deadline") || strings.Contains(story, "dial tcp") {
			t.Errorf("story speaks Go:\n%s", story)
		}
	}
}
