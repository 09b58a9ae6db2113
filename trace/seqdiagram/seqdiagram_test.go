package seqdiagram_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/narrative/narrativetest"
	"ritual/trace/seqdiagram"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var streams = []struct {
	name   string
	events func() []trace.Event
	opt    seqdiagram.Options
}{
	{"ritual", narrativetest.Ritual, seqdiagram.Options{}},
	{"client_only", func() []trace.Event { return narrativetest.Only(narrativetest.Ritual(), trace.Client) }, seqdiagram.Options{}},
	{"server_only", func() []trace.Event { return narrativetest.Only(narrativetest.Ritual(), trace.Server) }, seqdiagram.Options{}},
	{"stalled", narrativetest.Stalled, seqdiagram.Options{Fence: true}},
	{"troubled", narrativetest.Troubled, seqdiagram.Options{}},
	{"login_refused", narrativetest.LoginRefused, seqdiagram.Options{Title: "A refused login"}},
	{"grid", narrativetest.Grid, seqdiagram.Options{}},
}

func render(t testing.TB, evs []trace.Event, opt seqdiagram.Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := seqdiagram.Render(&b, evs, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			got := render(t, st.events(), st.opt)
			golden := filepath.Join("testdata", st.name+".mmd")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./trace/seqdiagram -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file; got:\n%s", golden, got)
			}
		})
	}
}

// expectInOrder fails unless each line appears in d, in order.
func expectInOrder(t *testing.T, d string, lines ...string) {
	t.Helper()
	at := 0
	for _, l := range lines {
		i := strings.Index(d[at:], "\n    "+l)
		if i < 0 {
			t.Fatalf("line %q not found in order in:\n%s", l, d)
		}
		at += i + 1
	}
}

func TestRitual(t *testing.T) {
	d := render(t, narrativetest.Ritual(), seqdiagram.Options{})
	if !strings.HasPrefix(d, "sequenceDiagram\n    title The Ritual: Test User at Default Region\n") {
		t.Fatalf("header:\n%s", d)
	}
	expectInOrder(t, d,
		"participant Client",
		"participant Login as Login service",
		"participant Region as Region (UDP)",
		"participant Caps as Capabilities (HTTP)",
		"Note over Client,Caps: Part I: The Login Sequence",
		"Client->>Login: login_to_simulator Test User (XML-RPC)",
		"Note over Login: AUTH SUCCESS Test User",
		"Login->>Region: CIRCUIT PROVISION 473293782 (session 19d8…)",
		"Login-->>Client: Response success (circuit 473293782, session 19d8…, sim 127.0.0.1:9000)",
		"Note over Client,Caps: Part II: The Handshake",
		"Client->>Region: UseCircuitCode (CircuitCode 473293782, SessionID 19d8…, ID 2e3fc297-1d6f-493e-aa23-d69777db3cbe)",
		"Region->>Client: PacketAck (UseCircuitCode seq 0)",
		"Note over Region: VALIDATE UseCircuitCode 473293782",
		"Region->>Client: RegionHandshake (RegionName Default Region, SimAccess Mature, RegionFlags 0x00000000)",
		"Client->>Region: RegionHandshakeReply (Flags 0x00000005)",
		"Note over Client,Caps: Part III: The Capabilities",
		"Client->>Caps: seed request (8 capabilities)",
		"Caps-->>Client: seed grant HTTP 200: 7 granted, 1 not",
		"Client->>Caps: EventQueueGet poll ×3 (acks 0, 1 ×2), done",
		"Note over Client,Caps: Part IV: World Materialization",
		"Region->>Client: AgentMovementComplete (Position #60;128, 128, 26.03416#62;, LookAt #60;0.99, 0.042, 0#62;, RegionHandle 1099511628032000 (256000, 256000))",
		"Note over Client: CONNECTED 127.0.0.1:51234 ↔ 127.0.0.1:9000",
		"Region->>Client: ObjectUpdate ×14 (15 objects: 13 prims, 1 avatar, 1 tree)",
		"Region->>Client: LayerData ×8 (256/256 land patches, 2 wind)",
		"Note over Client: TERRAIN COMPLETE (256/256 patches)",
		"Note over Client,Caps: Epilogue: Departure and Summary",
		"Client->>Region: LogoutRequest",
		"Region->>Client: LogoutReply",
		"Note over Region: CIRCUIT CLOSED 473293782 (logout): 33 sent, 17 received, 0 resent",
		"Note over Client,Caps: Not drawn: 6 AgentUpdate, 1 CompletePingCheck, 6 PacketAck, 1 StartPingCheck",
	)
	// One arrow per signal: the receiver's view of a recorded send is not
	// drawn again.
	for l, n := range map[string]int{
		"Region->>Client: LayerData":            1,
		"Client->>Region: UseCircuitCode":       1,
		"Login-->>Client: Response":             1,
		"Client->>Login: login_to_simulator":    1,
		"Caps-->>Client: events id 1":           1,
		"Caps-->>Client: seed grant":            1,
		"Region->>Client: PacketAck":            2,
		"Client->>Region: PacketAck":            1,
		"Region->>Client: CoarseLocationUpdate": 1,
	} {
		if got := strings.Count(d, "    "+l); got != n {
			t.Errorf("%q drawn %d times, want %d", l, got, n)
		}
	}
	if strings.Contains(d, narrativetest.Session) || strings.Contains(d, "fe6e667f") {
		t.Error("the masked diagram shows a secret")
	}
	shown := render(t, narrativetest.Ritual(), seqdiagram.Options{Show: trace.ShowSecrets})
	if !strings.Contains(shown, "session "+narrativetest.Session) {
		t.Error("ShowSecrets diagram hides the session")
	}
}

func TestOneSided(t *testing.T) {
	client := render(t, narrativetest.Only(narrativetest.Ritual(), trace.Client), seqdiagram.Options{})
	expectInOrder(t, client,
		"Client->>Login: login_to_simulator Test User (XML-RPC)",
		"Login-->>Client: Response success",
		"Region->>Client: PacketAck (UseCircuitCode seq 0)",
		"Region->>Client: RegionHandshake",
		"Region->>Client: ObjectUpdate ×14 (15 objects: 13 prims, 1 avatar, 1 tree)",
		"Region->>Client: LayerData ×8 (256/256 land patches, 2 wind)",
	)
	server := render(t, narrativetest.Only(narrativetest.Ritual(), trace.Server), seqdiagram.Options{})
	expectInOrder(t, server,
		"Client->>Login: login_to_simulator Test User (Ritual 0.1.0)",
		"Client->>Region: UseCircuitCode",
		"Client->>Caps: EventQueueGet poll ×3",
		"Region->>Client: LayerData ×8",
	)
}

func TestAnomaliesAndStall(t *testing.T) {
	d := render(t, narrativetest.Troubled(), seqdiagram.Options{})
	expectInOrder(t, d,
		"Note over Region: REJECT UseCircuitCode 12345 from 203.0.113.7:40000: unknown circuit code",
		"Note over Region: DROPPED (from 203.0.113.7:40000, a datagram from an unknown endpoint that is not UseCircuitCode)",
		"Region-xClient: RegionHandshake (RegionName Default Region, SimAccess Mature, RegionFlags 0x00000000), not received",
		"Note over Region: RESENT RegionHandshake ×2 (seq 1 ×2)",
		"Note over Client: OUT OF ORDER RegionHandshake (seq 1, arrived after AgentMovementComplete)",
		"Client-xRegion: RegionHandshakeReply (Flags 0x00000005), not received",
		"Client-xRegion: PacketAck (RegionHandshake seq 1), not received",
		"Note over Client: DUPLICATE RegionHandshake (seq 1)",
		"Note over Client: RESENT RegionHandshakeReply (seq 3)",
		"Caps-->>Client: HTTP 502 after 30.000 s, nothing to deliver",
		"Region->>Client: ObjectUpdate ×5 (5 objects: 4 prims, 1 avatar), 1 not received",
		"Note over Region: RESENT LayerData ×3 (seq 6, 8, 10)",
		"Note over Client: DUPLICATE LayerData ×3 (seq 6, 8, 10)",
		"Note over Client: TIMEOUT LogoutReply (no LogoutReply within 5 s#59; leaving anyway)",
	)
	for l, n := range map[string]int{"REJECT UseCircuitCode": 1, "RESENT RegionHandshakeReply": 1, "RECV RESENT": 0} {
		if got := strings.Count(d, l); got != n {
			t.Errorf("%q drawn %d times, want %d", l, got, n)
		}
	}

	s := render(t, narrativetest.Stalled(), seqdiagram.Options{Fence: true})
	if !strings.HasPrefix(s, "```mermaid\nsequenceDiagram\n") || !strings.HasSuffix(s, "\n```\n") {
		t.Fatalf("fence:\n%s", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n```\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "    Note over Client,Region: STALL at step 3 after 10.000 s. Last seen: [CLIENT] [UDP] SEND UseCircuitCode. Expected: [CLIENT] [UDP] RECV PacketAck of UseCircuitCode. At fault: the login service. Likely: the login service gave a private sim") {
		t.Errorf("last line = %q", last)
	}
	expectInOrder(t, s, "Client->>Region: UseCircuitCode", "Note over Client: RESENT UseCircuitCode ×3 (seq 0 ×3)")
}

func TestEscaping(t *testing.T) {
	t0 := narrativetest.Start
	evs := []trace.Event{
		&trace.LoginStart{Header: trace.Header{Time: t0, Side: trace.Client, Layer: trace.Login},
			First: "Eve;\nsequenceDiagram", Last: "#1 <b>", Format: "xmlrpc"},
		&trace.Packet{Header: trace.Header{Time: t0.Add(time.Millisecond), Side: trace.Client, Layer: trace.UDP, From: "client", To: "proxy; end"},
			Dir: trace.Send, Message: "Chat%%\r\nFromViewer", Fields: trace.Fields{{Key: "Message", Value: strings.Repeat("y", 500)}}},
		&trace.Anomaly{Header: trace.Header{Time: t0.Add(2 * time.Millisecond), Side: trace.Server, Layer: trace.UDP}, Kind: "WEIRD\nNote over X: hi"},
	}
	d := render(t, evs, seqdiagram.Options{Title: "t;#\nx"})
	for _, l := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
		if l == "sequenceDiagram" {
			continue
		}
		if !strings.HasPrefix(l, "    ") {
			t.Errorf("a recorded value broke a line: %q", l)
		}
		body := strings.NewReplacer("#35;", "", "#59;", "", "#60;", "", "#62;", "", "->>", "").Replace(l)
		if strings.ContainsAny(body, ";<>#") {
			t.Errorf("unescaped syntax in %q", l)
		}
	}
	for _, want := range []string{"title t,＃ x", "participant Proxyend as proxy, end", "Client-xProxyend: Chat%%  FromViewer (Message yyyy", "Eve#59; sequenceDiagram #35;1 #60;b#62;"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagram lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, strings.Repeat("y", 100)) {
		t.Error("an overlong value was not cut")
	}
}

func TestDeterministicAndErrors(t *testing.T) {
	for _, st := range streams {
		if render(t, st.events(), st.opt) != render(t, st.events(), st.opt) {
			t.Errorf("%s: two renderings differ", st.name)
		}
	}
	var b bytes.Buffer
	if err := seqdiagram.Render(&b, nil, seqdiagram.Options{}); !errors.Is(err, seqdiagram.ErrNoEvents) {
		t.Fatalf("err = %v", err)
	}
	err := seqdiagram.Render(failingWriter{}, narrativetest.Ritual(), seqdiagram.Options{})
	if !errors.Is(err, errFull) || !strings.HasPrefix(err.Error(), "seqdiagram: ") {
		t.Fatalf("err = %v", err)
	}
}

var errFull = errors.New("full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errFull }

// FuzzRender draws diagrams of JSON-lines event logs: no panic, one line
// per statement, the same bytes every time.
func FuzzRender(f *testing.F) {
	for _, st := range streams {
		var buf bytes.Buffer
		sink := trace.NewWriterSink(&buf, trace.ShowSecrets)
		for _, ev := range st.events() {
			sink.Record(ev)
		}
		if err := sink.Flush(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := trace.ReadJSONL(bytes.NewReader(data))
		if err != nil {
			return
		}
		var a, b bytes.Buffer
		errA := seqdiagram.Render(&a, evs, seqdiagram.Options{})
		errB := seqdiagram.Render(&b, evs, seqdiagram.Options{})
		if (errA == nil) != (errB == nil) || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("the same events drew two diagrams")
		}
		if errA != nil {
			if !errors.Is(errA, seqdiagram.ErrNoEvents) {
				t.Fatal(errA)
			}
			return
		}
		for _, l := range strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")[1:] {
			if !strings.HasPrefix(l, "    ") {
				t.Fatalf("broken line %q", l)
			}
		}
	})
}

func BenchmarkRender(b *testing.B) {
	evs := narrativetest.Ritual()
	b.ReportAllocs()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := seqdiagram.Render(&buf, evs, seqdiagram.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBuild: the diagram as data has the Mermaid diagram's lanes and
// lines, in plain text, with resends and anomalies marked.
func TestBuild(t *testing.T) {
	d, err := seqdiagram.Build(narrativetest.Troubled(), seqdiagram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range d.Participants {
		ids = append(ids, p.ID)
	}
	if strings.Join(ids, ",") != "Client,Login,Region,Caps" {
		t.Errorf("participants %v", ids)
	}
	mermaid := render(t, narrativetest.Troubled(), seqdiagram.Options{})
	// Every line of the Mermaid diagram after the declarations is one Line.
	n := 0
	for l := range strings.SplitSeq(mermaid, "\n") {
		if strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "    title ") && !strings.HasPrefix(l, "    participant ") {
			n++
		}
	}
	if n != len(d.Lines) {
		t.Errorf("%d lines, Mermaid has %d", len(d.Lines), n)
	}
	kinds := map[string]int{}
	for _, l := range d.Lines {
		kinds[l.Kind]++
		if strings.Contains(l.Text, "#59;") || strings.Contains(l.Text, "#35;") {
			t.Errorf("Mermaid entity left in %q", l.Text)
		}
		if l.Arrow() && (l.From == "" || l.To == "") {
			t.Errorf("arrow without ends: %+v", l)
		}
	}
	for _, k := range []string{seqdiagram.KindPart, seqdiagram.KindAnomaly, seqdiagram.KindResent, "pkt"} {
		if kinds[k] == 0 {
			t.Errorf("no %s line in the troubled ritual: %v", k, kinds)
		}
	}
	st, err := seqdiagram.Build(narrativetest.Stalled(), seqdiagram.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if last := st.Lines[len(st.Lines)-1]; last.Kind != seqdiagram.KindStall || !last.Anomalous() || last.Over != "" {
		t.Errorf("stalled: last line %+v, want the stall over every lane", last)
	}
	if _, err := seqdiagram.Build(nil, seqdiagram.Options{}); !errors.Is(err, seqdiagram.ErrNoEvents) {
		t.Errorf("Build(nil) = %v", err)
	}
}
