package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/login"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// TestDemo runs the main job end to end: server and client in one process
// on loopback, both sides' probes merged into one story.
func TestDemo(t *testing.T) {
	for _, form := range []login.Format{login.FormatXMLRPC, login.FormatLLSD} {
		t.Run(form.String(), func(t *testing.T) {
			res, err := demo(30*time.Second, form)
			if err != nil {
				t.Fatal(err)
			}
			if !res.complete {
				t.Fatalf("ritual did not complete: %v (stall %+v)", res.err, res.stall)
			}
			evs := res.events
			// The seed's order, with Part III (capabilities) in its place.
			tracetest.ExpectOrder(t, evs,
				"[CLIENT] [LOGIN] START",
				"[SERVER] [LOGIN] RECV login_to_simulator",
				"[SERVER] [LOGIN] AUTH SUCCESS",
				"[SERVER] [LOGIN] CIRCUIT PROVISION",
				"[SERVER] [LOGIN] SEND Response",
				"[CLIENT] [LOGIN] PROGRESS ConnectingToSim",
				"[CLIENT] [UDP] SEND UseCircuitCode",
				"[SERVER] [UDP] RECV UseCircuitCode",
				"[SERVER] [UDP] SEND RegionHandshake",
				"[CLIENT] [UDP] RECV RegionHandshake",
				"[CLIENT] [UDP] SEND RegionHandshakeReply",
			)
			tracetest.ExpectOrder(t, evs,
				"[SERVER] [UDP] RECV UseCircuitCode",
				"[SERVER] [UDP] SEND AgentMovementComplete",
				"[CLIENT] [UDP] CONNECTED",
				"[CLIENT] [UDP] RECV LayerData",
				"[CLIENT] [UDP] COMPLETE",
				"[CLIENT] [UDP] SEND LogoutRequest",
				"[CLIENT] [UDP] RECV LogoutReply",
			)
			tracetest.ExpectOrder(t, evs,
				"[SERVER] [UDP] SEND ObjectUpdate",
				"[CLIENT] [UDP] RECV ObjectUpdate",
				"[CLIENT] [UDP] COMPLETE",
			)
			tracetest.ExpectOrder(t, evs,
				"[CLIENT] [CAPS] SEED REQUEST",
				"[SERVER] [CAPS] SEED GRANT",
				"[CLIENT] [EQ] POLL",
			)
			// Real values: the circuit code the story tells is the one
			// the server provisioned, and the client sent it back.
			prov, ok := tracetest.First[*trace.CircuitProvision](evs)
			if !ok || prov.Code == 0 {
				t.Fatal("no circuit provisioned")
			}
			var sent string
			for _, p := range tracetest.All[*trace.Packet](evs) {
				if p.Side == trace.Client && p.Dir == trace.Send && p.Message == "UseCircuitCode" {
					sent, _ = p.Fields.Get("CircuitCode")
				}
			}
			if sent != strconv.FormatUint(uint64(prov.Code), 10) {
				t.Fatalf("client sent circuit code %q, server provisioned %d", sent, prov.Code)
			}
			var patches int
			for _, p := range tracetest.All[*trace.Packet](evs) {
				if p.Side == trace.Client && p.Dir == trace.Recv && p.Message == "LayerData" {
					n, _ := p.Fields.Get("patches")
					k, _ := strconv.Atoi(n)
					patches += k
				}
			}
			if patches != 256 || !res.terrain.Complete() {
				t.Fatalf("client received %d patches (terrain %d/%d)", patches, res.terrain.Patches, res.terrain.Of)
			}

			var story bytes.Buffer
			if err := render(&story, "md", evs, trace.HideSecrets, demoOptions()); err != nil {
				t.Fatal(err)
			}
			s := story.String()
			for _, want := range []string{
				"## Part I: The Login Sequence",
				"## Part II: The Handshake (UDP)",
				"## Part III: The Capabilities (HTTP)",
				"## Part IV: World Materialization",
				"## Epilogue",
				strconv.FormatUint(uint64(prov.Code), 10),
				"256/256",
				"Outcome**: the ritual completed",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("story lacks %q", want)
				}
			}
			if strings.Contains(s, prov.Session) {
				t.Error("story shows the session id unmasked")
			}
		})
	}
}

func TestDemoCommandWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "--out", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "[SERVER] [UDP] RECV UseCircuitCode") {
		t.Fatalf("stdout lacks the story:\n%s", out.String())
	}
	for _, name := range []string{"ritual.md", "ritual.html", "events.jsonl", "ritual.mmd", "terrain.png"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v (%d bytes)", name, err, len(b))
		}
	}
	evs, err := trace.ReadJSONL(bytes.NewReader(must(os.ReadFile(filepath.Join(dir, "events.jsonl")))))
	if err != nil || len(evs) < 20 {
		t.Fatalf("events.jsonl: %d events, %v", len(evs), err)
	}
	if png := must(os.ReadFile(filepath.Join(dir, "terrain.png"))); !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatal("terrain.png is not a PNG")
	}
	if mmd := string(must(os.ReadFile(filepath.Join(dir, "ritual.mmd")))); !strings.HasPrefix(strings.TrimSpace(mmd), "sequenceDiagram") && !strings.Contains(mmd, "sequenceDiagram") {
		t.Fatalf("ritual.mmd: %q", mmd[:min(len(mmd), 80)])
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
