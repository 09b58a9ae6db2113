package observatory_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ritual/observatory"
	"ritual/trace"
	"ritual/trace/narrative/narrativetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// withWorld adds the client's view of a small hilly region with a few
// objects, as `ritual demo` records it at the end of its ritual.
func withWorld(evs []trace.Event) []trace.Event {
	const n = 8
	wv := &trace.WorldView{
		Header: trace.Header{Time: narrativetest.Start.Add(42 * time.Millisecond), Side: trace.Client, Layer: trace.UDP, From: trace.EndClient, To: trace.EndClient},
		Region: narrativetest.Region, SizeX: 256, SizeY: 256, Water: 20, W: n, H: n, Patches: 256, Of: 256,
		Objects: []trace.WorldObject{
			{Kind: "avatar", X: 128, Y: 128, Z: 26},
			{Kind: "prim", X: 100, Y: 140, Z: 25, SizeX: 4, SizeY: 2},
			{Kind: "tree", X: 60, Y: 200, Z: 30},
		},
	}
	for y := range n {
		for x := range n {
			wv.Heights = append(wv.Heights, float32(10+4*x+2*y))
		}
	}
	return append(evs, wv)
}

var streams = []struct {
	name   string
	events func() []trace.Event
	opt    observatory.Options
}{
	{"ritual", func() []trace.Event { return withWorld(narrativetest.Ritual()) }, observatory.Options{}},
	{"stalled", narrativetest.Stalled, observatory.Options{}},
	{"troubled", narrativetest.Troubled, observatory.Options{}},
	{"login_refused", narrativetest.LoginRefused, observatory.Options{Title: "A refused login"}},
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./observatory -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the change)", path)
	}
}

func report(t testing.TB, evs []trace.Event, opt observatory.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := observatory.Report(&b, evs, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReportGolden(t *testing.T) {
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			got := report(t, st.events(), st.opt)
			golden(t, st.name+".html", got)
			// Deterministic: the same events give the same bytes.
			if again := report(t, st.events(), st.opt); !bytes.Equal(got, again) {
				t.Error("two renderings of the same events differ")
			}
		})
	}
}

func TestSequenceSVGGolden(t *testing.T) {
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := observatory.SequenceSVG(&b, st.events(), st.opt); err != nil {
				t.Fatal(err)
			}
			wellFormed(t, b.Bytes())
			golden(t, st.name+".svg", b.Bytes())
		})
	}
}

// wellFormed parses doc as strict XML (the report is written so that it
// is both HTML and well-formed XML) and checks that ids are unique.
func wellFormed(t *testing.T, doc []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	ids := map[string]bool{}
	elems := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					if ids[a.Value] {
						t.Errorf("id %q used twice", a.Value)
					}
					ids[a.Value] = true
				}
			}
		}
	}
	return elems
}

func TestReportContent(t *testing.T) {
	page := report(t, withWorld(narrativetest.Ritual()), observatory.Options{})
	elems := wellFormed(t, page)
	s := string(page)
	if elems["script"] != 1 || strings.Contains(s, "src=") || strings.Contains(s, "http://cdn") {
		t.Errorf("the page must carry exactly its own inline script and fetch nothing")
	}
	for _, want := range []string{
		`<h1>The Ritual: Test User at Default Region</h1>`,
		`data-phase="login"`, `data-phase="handshake"`, `data-phase="capabilities"`, `data-phase="movement"`,
		`data-phase="first object"`, `data-phase="full terrain"`, `data-phase="logout"`,
		`<svg class="seq"`, `data-kind="pkt"`, `<image class="ground"`, `class="obj avatar"`, `class="obj prim"`,
		`id="narrative"`, `<strong>[CLIENT] [UDP] SEND UseCircuitCode</strong>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if strings.Contains(s, narrativetest.Session) || strings.Contains(s, "fe6e667f-34d0") {
		t.Error("a secret (session id or seed capability path) is on the page")
	}
	if strings.Contains(s, `id="diagnosis"`) {
		t.Error("a completed ritual has a stall banner")
	}
	// The handshake arrows, in the order they happened.
	at := 0
	for _, m := range []string{">UseCircuitCode", ">RegionHandshake (", ">RegionHandshakeReply"} {
		i := strings.Index(s[at:], m)
		if i < 0 {
			t.Fatalf("%s not found after offset %d in the diagram", m, at)
		}
		at += i
	}

	shown := string(report(t, withWorld(narrativetest.Ritual()), observatory.Options{Show: trace.ShowSecrets}))
	if !strings.Contains(shown, narrativetest.Session) {
		t.Error("ShowSecrets does not show the session id")
	}
}

func TestReportStalled(t *testing.T) {
	s := string(report(t, narrativetest.Stalled(), observatory.Options{}))
	banner := strings.Index(s, `id="diagnosis"`)
	if banner < 0 || banner > strings.Index(s, `id="waterfall"`) {
		t.Fatal("the stall diagnosis is not at the top of the report")
	}
	for _, want := range []string{"Stalled at step 3", "10.0.0.5:9000", `class="row resent`, `class="phase stuck" data-phase="handshake"`, "No terrain"} {
		if !strings.Contains(s, want) {
			t.Errorf("stalled report lacks %q", want)
		}
	}
}

func TestReportNoEvents(t *testing.T) {
	if err := observatory.Report(io.Discard, nil, observatory.Options{}); !errors.Is(err, observatory.ErrNoEvents) {
		t.Fatalf("Report(nil) = %v, want ErrNoEvents", err)
	}
}

// TestReportEscapes: recorded text never becomes markup.
func TestReportEscapes(t *testing.T) {
	evs := narrativetest.Ritual()
	for _, ev := range evs {
		if ls, ok := ev.(*trace.LoginStart); ok {
			ls.First = `<script>alert(1)</script>`
			ls.Last = `"&'`
		}
	}
	page := report(t, evs, observatory.Options{})
	wellFormed(t, page)
	if bytes.Contains(page, []byte("<script>alert")) {
		t.Fatal("recorded text reached the page as markup")
	}
}

func TestWaterfall(t *testing.T) {
	spans := observatory.Waterfall(narrativetest.Ritual())
	want := map[string]bool{"login": true, "handshake": true, "capabilities": true, "movement": true, "first object": true, "full terrain": true, "logout": true}
	if len(spans) != len(want) {
		t.Fatalf("%d spans, want %d", len(spans), len(want))
	}
	for _, s := range spans {
		if !want[s.Name] || !s.Done || s.End < s.Start {
			t.Errorf("%+v", s)
		}
	}
	stalled := observatory.Waterfall(narrativetest.Stalled())
	if !stalled[0].Done || stalled[1].Done || !stalled[1].Started {
		t.Errorf("stalled: login %+v, handshake %+v; want login done, handshake started and not done", stalled[0], stalled[1])
	}
}
