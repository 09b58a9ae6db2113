package caps

import (
	"context"
	"errors"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/trace"
	"ritual/trace/tracetest"
)

func TestSeedGrantsKnownNamesOnly(t *testing.T) {
	g := newTestGrid(t, nil)
	seedURL := g.grant(g.alice)
	if !strings.HasPrefix(seedURL, g.srv.URL+PathPrefix) {
		t.Fatalf("seed URL %q not under %s", seedURL, g.srv.URL+PathPrefix)
	}

	names := []string{EventQueueGet, "GetTexture", SimulatorFeatures, FetchInventoryDescendents2, FetchLibDescendents2, EventQueueGet, "VTPBR"}
	caps := g.seed(seedURL, names...)
	want := []string{EventQueueGet, FetchInventoryDescendents2, SimulatorFeatures}
	if got := sortedNames(caps); !slices.Equal(got, want) {
		t.Fatalf("granted %v, want %v", got, want)
	}
	for name, u := range caps {
		tok, ok := parsePath(strings.TrimPrefix(u, g.srv.URL))
		if !ok || u != g.srv.URL+PathPrefix+tok+"/" {
			t.Errorf("%s: URL %q is not %s<32 hex>/", name, u, g.srv.URL+PathPrefix)
		}
	}

	grant, ok := tracetest.First[*trace.SeedGrant](g.rec.Events())
	if !ok {
		t.Fatal("no SeedGrant recorded")
	}
	h := grant.Head()
	if h.Side != trace.Server || h.Layer != trace.Caps || h.From != trace.EndCaps || h.To != trace.EndClient || grant.Status != 200 {
		t.Errorf("SeedGrant header %+v status %d", *h, grant.Status)
	}
	if want := []string{EventQueueGet, SimulatorFeatures, FetchInventoryDescendents2}; !slices.Equal(grant.Granted, want) {
		t.Errorf("SeedGrant.Granted = %v, want %v (request order)", grant.Granted, want)
	}
	if want := []string{"GetTexture", FetchLibDescendents2, "VTPBR"}; !slices.Equal(grant.Denied, want) {
		t.Errorf("SeedGrant.Denied = %v, want %v", grant.Denied, want)
	}

	// The URLs work.
	status, body := do(t, http.MethodGet, caps[SimulatorFeatures], "", "")
	if status != 200 {
		t.Fatalf("SimulatorFeatures: %d %s", status, body)
	}
	f := decodeMap(t, body)
	if v, ok := f.Lookup("MeshRezEnabled"); !ok || v != false {
		t.Errorf("SimulatorFeatures MeshRezEnabled = %v, %v", v, ok)
	}
	if f.Int("MaxMaterialsPerTransaction") != 50 || !f.Map("OpenSimExtras").Has("ExportSupported") {
		t.Errorf("SimulatorFeatures = %v", f)
	}
	status, body = post(t, caps[SimulatorFeatures], "", "")
	if status != 200 || !decodeMap(t, body).Has("MeshUploadEnabled") {
		t.Errorf("SimulatorFeatures POST: %d %s", status, body)
	}
	if status, _ := do(t, http.MethodPut, caps[SimulatorFeatures], "", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("SimulatorFeatures PUT: %d, want 405", status)
	}
	call, ok := tracetest.First[*trace.CapCall](g.rec.Events())
	if !ok || call.Capability != SimulatorFeatures || call.Status != 200 || call.Head().Side != trace.Server {
		t.Errorf("CapCall = %+v", call)
	}

	// Asking again gives the same paths (LibreMetaverse retries the seed).
	again := g.seed(seedURL, EventQueueGet, "Bogus", SimulatorFeatures)
	if again[EventQueueGet] != caps[EventQueueGet] || again[SimulatorFeatures] != caps[SimulatorFeatures] || len(again) != 2 {
		t.Errorf("second seed answer %v differs from the first %v", again, caps)
	}
}

// The seed's wire exchange, as node-metaverse sends it.
func TestSeedWire(t *testing.T) {
	g := newTestGrid(t, nil)
	seedURL := g.grant(g.alice)
	status, body := post(t, seedURL, "application/llsd+xml",
		`<?xml version="1.0" ?><llsd><array><string>EventQueueGet</string><string>NoSuchCap</string></array></llsd>`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	tok := strings.TrimSuffix(strings.TrimPrefix(g.seed(seedURL, EventQueueGet)[EventQueueGet], g.srv.URL+PathPrefix), "/")
	want := llsd.XMLProlog + `<llsd><map><key>EventQueueGet</key><string>` + g.srv.URL + PathPrefix + tok + `/</string></map></llsd>`
	if body != want {
		t.Errorf("answer\n%s\nwant\n%s", body, want)
	}
}

func TestSeedContentTypes(t *testing.T) {
	g := newTestGrid(t, nil)
	seedURL := g.grant(g.alice)
	names := []any{EventQueueGet, SimulatorFeatures}
	xmlBody := xmlDoc(t, names)
	bin, err := llsd.MarshalBinary(names)
	if err != nil {
		t.Fatal(err)
	}
	notation, err := llsd.MarshalNotation(names)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		contentType, body string
	}{
		{"application/llsd+xml", xmlBody},
		{"application/llsd+xml; charset=utf-8", xmlBody},
		{"application/xml", xmlBody},
		{"text/xml", xmlBody},
		{"", xmlBody},
		{"application/x-www-form-urlencoded", xmlBody}, // a client that forgot to set it
		{"application/octet-stream", xmlBody},          // the form is told by the body
		{"application/llsd+binary", string(bin)},
		{"application/llsd+notation", string(notation)},
	}
	for _, tt := range tests {
		status, body := post(t, seedURL, tt.contentType, tt.body)
		if status != 200 {
			t.Errorf("Content-Type %q: %d %s", tt.contentType, status, body)
			continue
		}
		if m := decodeMap(t, body); len(m) != 2 {
			t.Errorf("Content-Type %q: answer %v", tt.contentType, m)
		}
	}
}

func TestSeedBadRequests(t *testing.T) {
	g := newTestGrid(t, func(c *Config) { c.MaxBody = 1024 })
	seedURL := g.grant(g.alice)
	big := "<llsd><array>" + strings.Repeat("<string>EventQueueGet</string>", 60) + "</array></llsd>"
	tests := []struct {
		name, method, body string
		status             int
		says               string
	}{
		{"GET", http.MethodGet, "", 405, "use POST"},
		{"empty", http.MethodPost, "", 400, "empty request body"},
		{"map", http.MethodPost, "<llsd><map><key>a</key><string>b</string></map></llsd>", 400, "request is a map, want an array"},
		{"integer element", http.MethodPost, "<llsd><array><string>EventQueueGet</string><integer>1</integer></array></llsd>", 400, "element 1 is an integer"},
		{"not llsd", http.MethodPost, "<html><body>hello</body></html>", 400, "not LLSD"},
		{"truncated", http.MethodPost, "<llsd><array><string>Event", 400, "not LLSD"},
		{"too large", http.MethodPost, big, 413, "larger than 1024 bytes"},
		{"too deep", http.MethodPost, strings.Repeat("<llsd><array>", 1) + strings.Repeat("<array>", 40) + strings.Repeat("</array>", 41) + "</llsd>", 400, "not LLSD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, tt.method, seedURL, "application/llsd+xml", tt.body)
			if status != tt.status || !strings.Contains(body, tt.says) {
				t.Errorf("got %d %q, want %d saying %q", status, body, tt.status, tt.says)
			}
		})
	}
	grants := tracetest.All[*trace.SeedGrant](g.rec.Events())
	if len(grants) != len(tests) {
		t.Fatalf("%d SeedGrant events, want %d", len(grants), len(tests))
	}
	for i, ev := range grants {
		if ev.Status != tests[i].status || len(ev.Granted) != 0 {
			t.Errorf("SeedGrant %d: status %d granted %v, want status %d", i, ev.Status, ev.Granted, tests[i].status)
		}
	}
}

func TestUnknownPaths(t *testing.T) {
	g := newTestGrid(t, nil)
	seedURL := g.grant(g.alice)
	tok := strings.TrimSuffix(strings.TrimPrefix(seedURL, g.srv.URL+PathPrefix), "/")
	for _, p := range []string{
		PathPrefix,
		PathPrefix + "x/",
		PathPrefix + strings.ToUpper(tok) + "/",
		PathPrefix + tok[:31] + "/",
		PathPrefix + tok + "0/",
		PathPrefix + strings.Repeat("0", 32) + "/",
	} {
		if status, _ := post(t, g.srv.URL+p, "", xmlDoc(t, []any{EventQueueGet})); status != 404 {
			t.Errorf("%s: status %d, want 404", p, status)
		}
	}
	// The token alone, or with a trailing path, still reaches the seed.
	for _, p := range []string{PathPrefix + tok, PathPrefix + tok + "/extra/path"} {
		if status, body := post(t, g.srv.URL+p, "", xmlDoc(t, []any{EventQueueGet})); status != 200 {
			t.Errorf("%s: status %d %s, want 200", p, status, body)
		}
	}
}

func TestPathsAreUnguessable(t *testing.T) {
	r := NewRouter(Config{BaseURL: "http://127.0.0.1:9000", Logger: quiet})
	var toks []string
	for range 200 {
		seed, err := r.Grant(Agent{ID: ritual.NewUUID()})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, seed, strings.NewReader(xmlDoc(t, []any{EventQueueGet, SimulatorFeatures}))))
		if w.Code != 200 {
			t.Fatal(w.Code, w.Body)
		}
		m := decodeMap(t, w.Body.String())
		for _, u := range []string{seed, m.String(EventQueueGet), m.String(SimulatorFeatures)} {
			tok, ok := parsePath(strings.TrimPrefix(u, "http://127.0.0.1:9000"))
			if !ok {
				t.Fatalf("URL %q has no token", u)
			}
			toks = append(toks, tok)
		}
	}
	seen := map[string]bool{}
	ones := 0
	for _, tok := range toks {
		if seen[tok] {
			t.Fatalf("token %s made twice", tok)
		}
		seen[tok] = true
		for i := 0; i < len(tok); i += 2 {
			var b byte
			for _, c := range tok[i : i+2] {
				b <<= 4
				if c <= '9' {
					b |= byte(c - '0')
				} else {
					b |= byte(c-'a') + 10
				}
			}
			ones += bits.OnesCount8(b)
		}
	}
	// 600 tokens × 128 bits: the share of one bits of a fair source is
	// 0.5 ± 0.0018 (1σ); 0.49..0.51 is more than 5σ.
	share := float64(ones) / float64(len(toks)*128)
	if share < 0.49 || share > 0.51 {
		t.Errorf("share of one bits %.4f, want about 0.5", share)
	}
}

func TestAgentsAreSeparate(t *testing.T) {
	g := newTestGrid(t, nil)
	aliceSeed := g.grant(g.alice)
	bobSeed := g.grant(g.bob)
	if aliceSeed == bobSeed {
		t.Fatal("two agents share a seed")
	}
	alice := g.seed(aliceSeed, EventQueueGet, FetchInventoryDescendents2)
	bob := g.seed(bobSeed, EventQueueGet, FetchInventoryDescendents2)
	for name := range alice {
		if alice[name] == bob[name] {
			t.Errorf("%s: both agents got %s", name, alice[name])
		}
	}

	// An event for Alice reaches Alice's queue only.
	if err := g.router.Enqueue(g.alice.ID, Event{Message: "Hello", Body: map[string]any{"To": "Alice"}}); err != nil {
		t.Fatal(err)
	}
	if status, body := post(t, bob[EventQueueGet], "", ""); status != 502 || body != "" {
		t.Errorf("Bob's poll: %d %q, want 502 and no body", status, body)
	}
	status, body := post(t, alice[EventQueueGet], "", "")
	if status != 200 || !strings.Contains(body, "<string>Alice</string>") {
		t.Errorf("Alice's poll: %d %s", status, body)
	}

	// Bob cannot read Alice's folders through his capability.
	cof := g.folderOf(g.alice.ID, 46)
	req := map[string]any{"folders": []any{map[string]any{"folder_id": cof.ID, "owner_id": g.alice.ID, "fetch_folders": true, "fetch_items": true}}}
	status, body = post(t, bob[FetchInventoryDescendents2], "", xmlDoc(t, req))
	m := decodeMap(t, body)
	if status != 200 || len(m.Array("folders")) != 0 || len(m.Array("bad_folders")) != 1 {
		t.Errorf("Bob fetching Alice's folder: %d %s", status, body)
	}

	// A new grant of Alice ends her old paths; Bob's stay.
	newSeed := g.grant(g.alice)
	if newSeed == aliceSeed {
		t.Error("a new grant reused the seed path")
	}
	for _, u := range []string{aliceSeed, alice[EventQueueGet], alice[FetchInventoryDescendents2]} {
		if status, _ := post(t, u, "", xmlDoc(t, []any{EventQueueGet})); status != 404 {
			t.Errorf("old path after a new grant: %d, want 404", status)
		}
	}
	if status, _ := post(t, bobSeed, "", xmlDoc(t, []any{EventQueueGet})); status != 200 {
		t.Errorf("Bob's seed after Alice's new grant: %d", status)
	}
}

func TestRevoke(t *testing.T) {
	g := newTestGrid(t, nil)
	seedURL := g.grant(g.alice)
	caps := g.seed(seedURL, EventQueueGet, SimulatorFeatures, FetchInventoryDescendents2)
	g.router.Revoke(g.alice.ID)
	g.router.Revoke(g.alice.ID) // twice is harmless
	for _, u := range []string{seedURL, caps[EventQueueGet], caps[SimulatorFeatures], caps[FetchInventoryDescendents2]} {
		if status, _ := post(t, u, "", xmlDoc(t, []any{EventQueueGet})); status != 404 {
			t.Errorf("%s after Revoke: %d, want 404", trace.MaskURL(u), status)
		}
	}
	if err := g.router.Enqueue(g.alice.ID, Event{Message: "X"}); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("Enqueue after Revoke: %v, want ErrUnknownAgent", err)
	}
	if _, ok := g.router.QueueStats(g.alice.ID); ok {
		t.Error("QueueStats after Revoke reports a queue")
	}
}

func TestHandle(t *testing.T) {
	g := newTestGrid(t, nil)
	var got Agent
	g.router.Handle("UntrustedSimulatorMessage", func(w http.ResponseWriter, r *http.Request, a Agent) {
		got = a
		w.WriteHeader(http.StatusAccepted)
	})
	caps := g.seed(g.grant(g.alice), "UntrustedSimulatorMessage")
	if status, _ := post(t, caps["UntrustedSimulatorMessage"], "", ""); status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	if got.ID != g.alice.ID || got.First != "Alice" {
		t.Errorf("handler saw agent %+v", got)
	}
	call, ok := tracetest.First[*trace.CapCall](g.rec.Events())
	if !ok || call.Capability != "UntrustedSimulatorMessage" || call.Status != http.StatusAccepted {
		t.Errorf("CapCall %+v", call)
	}
	for _, name := range []string{"", EventQueueGet} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic", name)
				}
			}()
			g.router.Handle(name, func(http.ResponseWriter, *http.Request, Agent) {})
		}()
	}
}

func TestConfigErrors(t *testing.T) {
	for _, base := range []string{"", "127.0.0.1:9000", "ftp://h", "http://h/CAPS", "http://"} {
		r := NewRouter(Config{BaseURL: base})
		if _, err := r.Grant(Agent{ID: ritual.NewUUID()}); !errors.Is(err, ErrConfig) {
			t.Errorf("BaseURL %q: Grant error %v, want ErrConfig", base, err)
		}
	}
	r := NewRouter(Config{BaseURL: "http://127.0.0.1:9000/"})
	seed, err := r.Grant(Agent{ID: ritual.NewUUID()})
	if err != nil || !strings.HasPrefix(seed, "http://127.0.0.1:9000/CAPS/") {
		t.Errorf("trailing slash: %q, %v", seed, err)
	}
	if _, err := r.Grant(Agent{}); !errors.Is(err, ErrConfig) {
		t.Errorf("zero agent: %v, want ErrConfig", err)
	}
}

func TestSeedBeforeAnythingElse(t *testing.T) {
	// node-metaverse posts the seed while reading the login reply: the
	// seed serves from the moment Grant returns, with no other step.
	g := newTestGrid(t, nil)
	caps, err := RequestSeed(context.Background(), nil, g.grant(g.alice), []string{EventQueueGet}, nil)
	if err != nil || caps[EventQueueGet] == "" {
		t.Fatalf("%v %v", caps, err)
	}
}
