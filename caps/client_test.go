package caps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ritual/protocol/llsd"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// nodeMetaverseNames is a part of what node-metaverse asks the seed for.
var nodeMetaverseNames = []string{
	"AgentPreferences", "EnvironmentSettings", "EventQueueGet", "FetchLib2", "FetchLibDescendents2",
	"FetchInventory2", "FetchInventoryDescendents2", "GetDisplayNames", "SimulatorFeatures", "ViewerAsset",
}

func TestRequestSeedAgainstRouter(t *testing.T) {
	g := newTestGrid(t, nil)
	seedURL := g.grant(g.alice)
	caps, err := RequestSeed(context.Background(), g.srv.Client(), seedURL, nodeMetaverseNames, g.rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedNames(caps); !slices.Equal(got, []string{EventQueueGet, FetchInventoryDescendents2, SimulatorFeatures}) {
		t.Fatalf("granted %v", got)
	}
	evs := g.rec.Events()
	tracetest.ExpectOrder(t, evs, "[CLIENT] [CAPS] SEED REQUEST", "[SERVER] [CAPS] SEED GRANT", "[CLIENT] [CAPS] SEED RESPONSE")
	req, _ := tracetest.First[*trace.SeedRequest](evs)
	if req.URL != seedURL || !slices.Equal(req.Names, nodeMetaverseNames) || req.From != trace.EndClient || req.To != trace.EndCaps {
		t.Errorf("SeedRequest %+v", req)
	}
	grants := tracetest.All[*trace.SeedGrant](evs)
	client := grants[len(grants)-1]
	if client.Side != trace.Client || client.Status != 200 ||
		!slices.Equal(client.Granted, []string{EventQueueGet, FetchInventoryDescendents2, SimulatorFeatures}) || len(client.Denied) != 7 {
		t.Errorf("client SeedGrant %+v", client)
	}

	// The generic helpers reach the other capabilities.
	f, err := GetLLSD(context.Background(), nil, g.rec, SimulatorFeatures, caps[SimulatorFeatures])
	if m, ok := llsd.AsMap(f); err != nil || !ok || !m.Has("MeshRezEnabled") {
		t.Errorf("GetLLSD SimulatorFeatures: %v %v", f, err)
	}
	cof := g.folderOf(g.alice.ID, 46)
	v, err := PostLLSD(context.Background(), nil, g.rec, FetchInventoryDescendents2, caps[FetchInventoryDescendents2], fetchReq(g.alice.ID, cof.ID))
	m, _ := llsd.AsMap(v)
	if err != nil || len(m.Array("folders")) != 1 {
		t.Errorf("PostLLSD FetchInventoryDescendents2: %v %v", v, err)
	}
	calls := tracetest.All[*trace.CapCall](g.rec.Events())
	var clientCalls []string
	for _, c := range calls {
		if c.Side == trace.Client {
			clientCalls = append(clientCalls, c.Capability)
			if c.Status != 200 || c.Elapsed <= 0 {
				t.Errorf("client CapCall %+v", c)
			}
		}
	}
	if !slices.Equal(clientCalls, []string{SimulatorFeatures, FetchInventoryDescendents2}) {
		t.Errorf("client CapCalls %v", clientCalls)
	}
}

// serveBytes answers every request with status and body.
func serveBytes(t *testing.T, status int, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRequestSeedOpenSimCapture(t *testing.T) {
	srv := serveBytes(t, 200, capture(t, "opensim-seed-response.xml"))
	rec := new(trace.Memory)
	caps, err := RequestSeed(context.Background(), nil, srv.URL+"/CAPS/x/", nodeMetaverseNames, rec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"FetchInventoryDescendents2": "http://127.0.0.1:9000/2180b713-8d80-44ff-8093-559d0d942c26",
		"FetchInventory2":            "http://127.0.0.1:9000/3dc7f259-4c69-4cad-a7cb-dbe2f888dffb",
		"GetTexture":                 "http://127.0.0.1:9000/a3bcc5c0-5ad8-4062-88df-3997a4858dfa",
		"EventQueueGet":              "http://127.0.0.1:9000/CE/7e516770-3d58-4d9f-a1ed-dee984d01fc0",
		"SimulatorFeatures":          "http://127.0.0.1:9000/75ae8a32-9520-4e4c-ac15-6277e81850e2",
		"ViewerAsset":                "http://127.0.0.1:9000/b9abdc90-d711-4e0b-81fd-f473570fc2ae",
		"GetMesh":                    "http://127.0.0.1:9000/289475ca-a694-4669-ac3f-cbfd99a636cf",
	}
	if len(caps) != len(want) {
		t.Errorf("%d capabilities, want %d", len(caps), len(want))
	}
	for k, v := range want {
		if caps[k] != v {
			t.Errorf("%s = %q, want %q", k, caps[k], v)
		}
	}
	grant, _ := tracetest.First[*trace.SeedGrant](rec.Events())
	// Granted: the asked-for names first, in order, then the extras sorted.
	wantGranted := []string{"EventQueueGet", "FetchInventory2", "FetchInventoryDescendents2", "SimulatorFeatures", "ViewerAsset", "GetMesh", "GetTexture"}
	if !slices.Equal(grant.Granted, wantGranted) {
		t.Errorf("Granted %v, want %v", grant.Granted, wantGranted)
	}
	if !slices.Equal(grant.Denied, []string{"AgentPreferences", "EnvironmentSettings", "FetchLib2", "FetchLibDescendents2", "GetDisplayNames"}) {
		t.Errorf("Denied %v", grant.Denied)
	}
}

func TestRequestSeedErrors(t *testing.T) {
	secret := "/CAPS/0123456789abcdef0123456789abcdef/"
	t.Run("status", func(t *testing.T) {
		srv := serveBytes(t, 503, []byte("Service Unavailable: caps not activated\n\n"))
		rec := new(trace.Memory)
		_, err := RequestSeed(context.Background(), nil, srv.URL+secret, []string{EventQueueGet}, rec)
		se, ok := errors.AsType[*StatusError](err)
		if !ok || !errors.Is(err, ErrStatus) || se.Status != 503 || se.Excerpt != "Service Unavailable: caps not activated" {
			t.Fatalf("error %#v", err)
		}
		if strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("error %q shows the capability's secret path", err)
		}
		if gr, ok := tracetest.First[*trace.SeedGrant](rec.Events()); !ok || gr.Status != 503 {
			t.Errorf("SeedGrant %+v", gr)
		}
	})
	t.Run("long body", func(t *testing.T) {
		srv := serveBytes(t, 500, bytes.Repeat([]byte("é"), 500))
		_, err := RequestSeed(context.Background(), nil, srv.URL+secret, nil, nil)
		se, _ := errors.AsType[*StatusError](err)
		if se == nil || len(se.Excerpt) > maxExcerpt+len("…") || !strings.HasSuffix(se.Excerpt, "é…") {
			t.Errorf("excerpt %q", se.Excerpt)
		}
	})
	for _, body := range []string{"not llsd <", "<llsd><array><string>a</string></array></llsd>"} {
		srv := serveBytes(t, 200, []byte(body))
		if _, err := RequestSeed(context.Background(), nil, srv.URL+secret, nil, nil); !errors.Is(err, ErrBadResponse) {
			t.Errorf("answer %q: %v, want ErrBadResponse", body, err)
		}
	}
	// Entries that are not URLs are left out.
	srv := serveBytes(t, 200, []byte(`<llsd><map><key>A</key><string>http://h/a</string><key>B</key><integer>1</integer>`+
		`<key>C</key><string></string><key>D</key><string>/relative</string><key>E</key><uri>https://h/e</uri></map></llsd>`))
	caps, err := RequestSeed(context.Background(), nil, srv.URL, []string{"A", "B", "C", "D", "E"}, nil)
	if err != nil || len(caps) != 2 || caps["A"] != "http://h/a" || caps["E"] != "https://h/e" {
		t.Errorf("%v %v", caps, err)
	}
	// A server that is not there.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = RequestSeed(context.Background(), nil, dead.URL+secret, nil, nil)
	if err == nil || strings.Contains(err.Error(), "0123456789abcdef") {
		t.Errorf("dead server: %v", err)
	}
}

func TestCallLLSDErrors(t *testing.T) {
	srv := serveBytes(t, 403, []byte("no"))
	rec := new(trace.Memory)
	_, err := GetLLSD(context.Background(), nil, rec, "GetDisplayNames", srv.URL)
	if se, ok := errors.AsType[*StatusError](err); !ok || se.Status != 403 || se.Op != "GetDisplayNames" {
		t.Errorf("%v", err)
	}
	if c, ok := tracetest.First[*trace.CapCall](rec.Events()); !ok || c.Status != 403 || c.Side != trace.Client || c.Detail != "no" {
		t.Errorf("CapCall %+v", c)
	}
	srv = serveBytes(t, 200, nil)
	if v, err := PostLLSD(context.Background(), nil, nil, "X", srv.URL, map[string]any{}); v != nil || err != nil {
		t.Errorf("empty answer: %v %v", v, err)
	}
	srv = serveBytes(t, 200, []byte("<llsd><map>"))
	if _, err := GetLLSD(context.Background(), nil, nil, "X", srv.URL); !errors.Is(err, ErrBadResponse) {
		t.Errorf("bad answer: %v", err)
	}
	if _, err := PostLLSD(context.Background(), nil, nil, "X", srv.URL, uint64(1)<<40); err == nil {
		t.Error("unencodable body accepted")
	}
}

// fakeEQ is a scripted EventQueueGet server: each poll gets the next
// answer; past the script, 404.
type fakeEQ struct {
	mu      sync.Mutex
	script  []func(w http.ResponseWriter, r *http.Request)
	polls   []pollRequest
	srv     *httptest.Server
	handled atomic.Int32
}

func newFakeEQ(t *testing.T, script ...func(w http.ResponseWriter, r *http.Request)) *fakeEQ {
	f := &fakeEQ{script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, err := llsd.Unmarshal(body)
		if err != nil {
			t.Errorf("poll body %q: %v", body, err)
		}
		p, err := parsePoll(v)
		if err != nil {
			t.Errorf("poll %q: %v", body, err)
		}
		f.mu.Lock()
		f.polls = append(f.polls, p)
		var step func(w http.ResponseWriter, r *http.Request)
		if len(f.script) > 0 {
			step, f.script = f.script[0], f.script[1:]
		}
		f.mu.Unlock()
		if step == nil || p.done {
			http.Error(w, "no queue", 404)
			return
		}
		step(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func status(code int) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func body(b []byte) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write(b)
	}
}

func (f *fakeEQ) seen() []pollRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.polls)
}

func TestEventQueueClientOpenSimCapture(t *testing.T) {
	f := newFakeEQ(t, body(capture(t, "opensim-eventqueue-first-poll.xml")), status(502))
	rec := new(trace.Memory)
	var got []Event
	c := &EventQueueClient{URL: f.srv.URL, Recorder: rec, Logger: quiet}
	err := c.Run(context.Background(), func(ev Event) { got = append(got, ev) })
	if !errors.Is(err, ErrQueueGone) || !errors.Is(err, ErrStatus) {
		t.Fatalf("Run: %v, want ErrQueueGone", err)
	}
	if len(got) != 1 || got[0].Message != "ParcelProperties" {
		t.Fatalf("events %v", got)
	}
	pd := llsd.Map(got[0].Body)
	parcel, _ := llsd.AsMap(pd.Array("ParcelData")[0])
	if parcel.Int("LocalID") != 1 || parcel.String("Name") != "Your Parcel" || parcel.Int("Area") != 65536 ||
		parcel.U32("ParcelFlags") != 0x2800204b || parcel.UUID("OwnerID").String() != "415dedeb-c035-49dd-afd0-b95641a0dc2a" ||
		len(parcel.Binary("Bitmap")) != 512 {
		t.Errorf("ParcelData %v", parcel)
	}
	polls := f.seen()
	if len(polls) != 3 || polls[0].hasAck || !polls[1].hasAck || polls[1].ack != 26173237 || polls[2].ack != 26173237 {
		t.Errorf("polls %+v", polls)
	}
	tracetest.ExpectOrder(t, rec.Events(), "[CLIENT] [EQ] POLL", "[CLIENT] [EQ] RECV EVENTS", "[CLIENT] [EQ] POLL", "[CLIENT] [EQ] TIMEOUT", "[CLIENT] [EQ] POLL")
	d, _ := tracetest.First[*trace.EQDeliver](rec.Events())
	if d.ID != 26173237 || !slices.Equal(d.Events, []string{"ParcelProperties"}) || d.From != trace.EndCaps || d.To != trace.EndClient {
		t.Errorf("EQDeliver %+v", d)
	}
}

func TestEventQueueClientResendHandledOnce(t *testing.T) {
	batch := []byte(`<llsd><map><key>events</key><array><map><key>message</key><string>A</string><key>body</key><map /></map>` +
		`<map><key>message</key><string /></map><integer>3</integer></array><key>id</key><integer>5</integer></map></llsd>`)
	next := []byte(`<llsd><map><key>events</key><array><map><key>message</key><string>B</string></map></array><key>id</key><integer>6</integer></map></llsd>`)
	f := newFakeEQ(t, body(batch), body(batch), body(next))
	var got []string
	c := &EventQueueClient{URL: f.srv.URL, Logger: quiet}
	if err := c.Run(context.Background(), func(ev Event) { got = append(got, ev.Message) }); !errors.Is(err, ErrQueueGone) {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("handled %v, want [A B]", got)
	}
}

func TestEventQueueClientBacksOff(t *testing.T) {
	f := newFakeEQ(t, status(500), status(500), body([]byte("<llsd><map><key>events</key><array /></map></llsd>")), status(503), status(502))
	c := &EventQueueClient{URL: f.srv.URL, Logger: quiet, RetryMin: 20 * time.Millisecond, RetryMax: 40 * time.Millisecond}
	start := time.Now()
	err := c.Run(context.Background(), nil)
	if !errors.Is(err, ErrQueueGone) {
		t.Fatal(err)
	}
	// Waits: 20 + 40 + 40 (no id) + 40 ms.
	if el := time.Since(start); el < 140*time.Millisecond {
		t.Errorf("finished in %v: no back-off", el)
	}
	if n := len(f.seen()); n != 6 {
		t.Errorf("%d polls, want 6", n)
	}
}

func TestEventQueueClientPollTimeout(t *testing.T) {
	hold := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	f := newFakeEQ(t, hold, status(502))
	rec := new(trace.Memory)
	c := &EventQueueClient{URL: f.srv.URL, Logger: quiet, Recorder: rec, PollTimeout: 250 * time.Millisecond, RetryMin: time.Hour}
	start := time.Now()
	if err := c.Run(context.Background(), nil); !errors.Is(err, ErrQueueGone) {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v: the client-side timeout was not treated as normal", el)
	}
	tos := tracetest.All[*trace.EQTimeout](rec.Events())
	if len(tos) != 2 || tos[0].Status != 0 || tos[1].Status != 502 {
		t.Errorf("timeouts %+v", tos)
	}
}

func TestEventQueueClientAgainstRouter(t *testing.T) {
	g := newTestGrid(t, func(c *Config) { c.EQTimeout = 100 * time.Millisecond })
	caps := g.seed(g.grant(g.alice), EventQueueGet)
	if err := g.router.Enqueue(g.alice.ID, Event{Message: "Early", Body: map[string]any{"N": 1}}); err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 10)
	c := &EventQueueClient{URL: caps[EventQueueGet], HTTPClient: g.srv.Client(), Recorder: g.rec, Logger: quiet}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), func(ev Event) { events <- ev }) }()

	if ev := <-events; ev.Message != "Early" || llsd.Map(ev.Body).Int("N") != 1 {
		t.Errorf("first event %+v", ev)
	}
	// An idle poll is answered 502 and the client polls again.
	tracetest.WaitFor(t, g.rec, 5*time.Second, "a server timeout", func(evs []trace.Event) bool {
		return len(tracetest.All[*trace.EQTimeout](evs)) >= 2
	})
	if err := g.router.Enqueue(g.alice.ID, Event{Message: "Late"}); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Message != "Late" {
		t.Errorf("second event %+v", ev)
	}
	// The Late batch is acknowledged by the next poll.
	tracetest.WaitFor(t, g.rec, 5*time.Second, "the ack of Late", func([]trace.Event) bool {
		st, _ := g.router.QueueStats(g.alice.ID)
		return st.Delivered == 2
	})
	g.router.Revoke(g.alice.ID)
	select {
	case err := <-done:
		if !errors.Is(err, ErrQueueGone) {
			t.Errorf("Run after Revoke: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after Revoke")
	}
	tracetest.ExpectOrder(t, g.rec.Events(),
		"[CLIENT] [EQ] POLL", "[SERVER] [EQ] RECV POLL", "[SERVER] [EQ] DELIVER", "[CLIENT] [EQ] RECV EVENTS",
		"[CLIENT] [EQ] POLL", "[SERVER] [EQ] RECV POLL", "[SERVER] [EQ] TIMEOUT", "[CLIENT] [EQ] TIMEOUT",
		"[SERVER] [EQ] DELIVER", "[CLIENT] [EQ] RECV EVENTS")
}

func TestEventQueueClientCancelSendsDone(t *testing.T) {
	g := newTestGrid(t, func(c *Config) { c.EQTimeout = 10 * time.Second })
	caps := g.seed(g.grant(g.alice), EventQueueGet)
	ctx, cancel := context.WithCancel(context.Background())
	c := &EventQueueClient{URL: caps[EventQueueGet], Recorder: g.rec, Logger: quiet}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, nil) }()
	tracetest.WaitFor(t, g.rec, 5*time.Second, "the server's receipt of a poll", func(evs []trace.Event) bool {
		return len(tracetest.All[*trace.EQPoll](evs)) >= 2
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if err := g.router.Enqueue(g.alice.ID, Event{Message: "X"}); !errors.Is(err, ErrQueueClosed) {
		t.Errorf("Enqueue after the client left: %v, want ErrQueueClosed", err)
	}
	var doneSeen bool
	for _, p := range tracetest.All[*trace.EQPoll](g.rec.Events()) {
		if p.Side == trace.Server && p.Done {
			doneSeen = true
		}
	}
	if !doneSeen {
		t.Error("the server never saw done: true")
	}
}

func TestEventQueueClientBadURL(t *testing.T) {
	for _, u := range []string{"", "/CAPS/x/", "ftp://h/x", "http://"} {
		c := &EventQueueClient{URL: u, Logger: quiet}
		if err := c.Run(context.Background(), nil); err == nil {
			t.Errorf("URL %q: Run returned nil", u)
		}
	}
}
