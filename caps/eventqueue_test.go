package caps

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/trace"
	"ritual/trace/tracetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// eqHarness drives one agent's event queue through Router.ServeHTTP, with
// no sockets, so that it can run inside a synctest bubble.
type eqHarness struct {
	t      *testing.T
	router *Router
	rec    *trace.Memory
	agent  ritual.UUID
	eqURL  string
}

func newEQHarness(t *testing.T, mod func(*Config)) *eqHarness {
	t.Helper()
	h := &eqHarness{t: t, rec: new(trace.Memory), agent: ritual.NewUUID()}
	cfg := Config{BaseURL: "http://127.0.0.1:9000", EQTimeout: 30 * time.Second, Recorder: h.rec, Logger: quiet}
	if mod != nil {
		mod(&cfg)
	}
	h.router = NewRouter(cfg)
	seed, err := h.router.Grant(Agent{ID: h.agent})
	if err != nil {
		t.Fatal(err)
	}
	w := h.serve(seed, xmlDoc(t, []any{EventQueueGet}))
	if w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	h.eqURL = decodeMap(t, w.Body.String()).String(EventQueueGet)
	return h
}

func (h *eqHarness) serve(u, body string) *httptest.ResponseRecorder {
	return h.serveCtx(context.Background(), u, body)
}

func (h *eqHarness) serveCtx(ctx context.Context, u, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/llsd+xml")
	w := httptest.NewRecorder()
	h.router.ServeHTTP(w, req)
	return w
}

// poll starts a poll and returns where its answer will come.
func (h *eqHarness) poll(body string) <-chan *httptest.ResponseRecorder {
	ch := make(chan *httptest.ResponseRecorder, 1)
	go func() { ch <- h.serve(h.eqURL, body) }()
	return ch
}

func (h *eqHarness) enqueue(msg string, body map[string]any) {
	h.t.Helper()
	if err := h.router.Enqueue(h.agent, Event{Message: msg, Body: body}); err != nil {
		h.t.Fatal(err)
	}
}

func pollReq(ack any, done bool) string {
	b, err := llsd.MarshalXML(llsd.OrderedMap{{Key: "ack", Value: ack}, {Key: "done", Value: done}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// answer decodes a 200 answer into its id and message names.
func answer(t *testing.T, w *httptest.ResponseRecorder) (int32, []string) {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("status %d %q, want 200", w.Code, w.Body)
	}
	id, events, err := parseEventAnswer(w.Body.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, w.Body)
	}
	var names []string
	for _, ev := range events {
		names = append(names, ev.Message)
	}
	return id, names
}

func TestEQDeliversToWaitingPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, nil)
		ch := h.poll(pollReq(nil, false))
		synctest.Wait() // the poll is waiting
		select {
		case w := <-ch:
			t.Fatalf("poll answered %d before any event", w.Code)
		default:
		}
		time.Sleep(3 * time.Second)
		h.enqueue("ParcelProperties", map[string]any{"ParcelData": []any{map[string]any{"LocalID": 1}}})
		w := <-ch
		if ct := w.Header().Get("Content-Type"); ct != "application/llsd+xml" {
			t.Errorf("Content-Type %q", ct)
		}
		id, names := answer(t, w)
		if len(names) != 1 || names[0] != "ParcelProperties" || id < 1 || id > 1<<24 {
			t.Errorf("answer id %d events %v", id, names)
		}
		tracetest.ExpectOrder(t, h.rec.Events(), "[SERVER] [CAPS] SEED GRANT", "[SERVER] [EQ] RECV POLL", "[SERVER] [EQ] DELIVER")
		d, _ := tracetest.First[*trace.EQDeliver](h.rec.Events())
		if d.ID != int(id) || len(d.Events) != 1 || d.Events[0] != "ParcelProperties" || d.From != trace.EndCaps || d.To != trace.EndClient {
			t.Errorf("EQDeliver %+v", d)
		}
	})
}

func TestEQTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, func(c *Config) { c.EQTimeout = 0 }) // the default
		start := time.Now()
		w := h.serve(h.eqURL, pollReq(nil, false))
		if w.Code != http.StatusBadGateway || w.Body.Len() != 0 {
			t.Fatalf("status %d body %q, want 502 and no body", w.Code, w.Body)
		}
		if waited := time.Since(start); waited != DefaultEQTimeout {
			t.Errorf("answered after %v, want %v", waited, DefaultEQTimeout)
		}
		to, ok := tracetest.First[*trace.EQTimeout](h.rec.Events())
		if !ok || to.Status != 502 || to.Waited != DefaultEQTimeout || to.Side != trace.Server {
			t.Errorf("EQTimeout %+v", to)
		}
		tracetest.ExpectOrder(t, h.rec.Events(), "[SERVER] [EQ] RECV POLL", "[SERVER] [EQ] TIMEOUT")
	})
}

func TestEQAcknowledgement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, nil)
		h.enqueue("A", nil)
		h.enqueue("B", nil)

		id, names := answer(t, h.serve(h.eqURL, pollReq(nil, false)))
		if strings.Join(names, ",") != "A,B" {
			t.Fatalf("first answer %v", names)
		}
		// Not acknowledged (the answer was lost): the same batch again.
		for _, ack := range []any{nil, id - 1, int32(0)} {
			again, names := answer(t, h.serve(h.eqURL, pollReq(ack, false)))
			if again != id || strings.Join(names, ",") != "A,B" {
				t.Errorf("ack %v: answer %d %v, want the batch %d again", ack, again, names, id)
			}
		}
		// An event arriving meanwhile waits for the batch to be acknowledged.
		h.enqueue("C", nil)
		if again, names := answer(t, h.serve(h.eqURL, pollReq(id+5, false))); again != id || len(names) != 2 {
			t.Errorf("wrong ack: answer %d %v, want the batch %d again", again, names, id)
		}
		// Acknowledged: the next batch, numbered one more, with C only.
		next, names := answer(t, h.serve(h.eqURL, pollReq(id, false)))
		if next != id+1 || strings.Join(names, ",") != "C" {
			t.Errorf("after ack: %d %v, want %d [C]", next, names, id+1)
		}
		// Acknowledged and nothing new: the poll waits, then times out.
		start := time.Now()
		if w := h.serve(h.eqURL, pollReq(next, false)); w.Code != 502 || time.Since(start) != 30*time.Second {
			t.Errorf("after the last ack: %d after %v", w.Code, time.Since(start))
		}
		st, _ := h.router.QueueStats(h.agent)
		if st.Delivered != 3 || st.Batches != 6 || st.Pending != 0 || st.Unacked != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestEQIDsStartRandom(t *testing.T) {
	ids := map[int32]bool{}
	for range 4 {
		h := newEQHarness(t, nil)
		h.enqueue("X", nil)
		id, _ := answer(t, h.serve(h.eqURL, pollReq(nil, false)))
		ids[id] = true
	}
	if len(ids) < 3 { // four draws from 2^24 values
		t.Errorf("first ids %v: not random", ids)
	}
}

func TestEQQueueFull(t *testing.T) {
	h := newEQHarness(t, func(c *Config) { c.QueueLimit = 3 })
	for i := range 3 {
		h.enqueue("E"+string(rune('0'+i)), nil)
	}
	err := h.router.Enqueue(h.agent, Event{Message: "Overflow"})
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth Enqueue: %v, want ErrQueueFull", err)
	}
	st, _ := h.router.QueueStats(h.agent)
	if st.Dropped != 1 || st.Pending != 3 {
		t.Errorf("stats %+v", st)
	}
	an, ok := tracetest.First[*trace.Anomaly](h.rec.Events())
	if !ok || an.Kind != trace.AnomalyDropped || an.Message != "Overflow" || an.Layer != trace.EQ {
		t.Errorf("anomaly %+v", an)
	}
	// Delivering makes room again.
	id, names := answer(t, h.serve(h.eqURL, pollReq(nil, false)))
	if len(names) != 3 {
		t.Errorf("delivered %v", names)
	}
	h.enqueue("After", nil)
	if _, names := answer(t, h.serve(h.eqURL, pollReq(id, false))); len(names) != 1 || names[0] != "After" {
		t.Errorf("after room: %v", names)
	}
}

func TestEQDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, nil)
		waiting := h.poll(pollReq(nil, false))
		synctest.Wait()
		w := h.serve(h.eqURL, pollReq(nil, true))
		if w.Code != 200 {
			t.Fatalf("done: %d %s", w.Code, w.Body)
		}
		if w := <-waiting; w.Code != 404 {
			t.Errorf("poll waiting at done: %d, want 404", w.Code)
		}
		if w := h.serve(h.eqURL, pollReq(nil, false)); w.Code != 404 {
			t.Errorf("poll after done: %d, want 404", w.Code)
		}
		if err := h.router.Enqueue(h.agent, Event{Message: "Late"}); !errors.Is(err, ErrQueueClosed) {
			t.Errorf("Enqueue after done: %v, want ErrQueueClosed", err)
		}
		p := tracetest.All[*trace.EQPoll](h.rec.Events())
		if len(p) != 3 || !p[1].Done {
			t.Errorf("polls %+v", p)
		}
	})
}

func TestEQNewPollSupersedes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, nil)
		first := h.poll(pollReq(nil, false))
		synctest.Wait()
		second := h.poll(pollReq(nil, false))
		w := <-first
		if w.Code != http.StatusConflict {
			t.Errorf("superseded poll: %d, want 409", w.Code)
		}
		synctest.Wait()
		h.enqueue("ForTheSecond", nil)
		if _, names := answer(t, <-second); len(names) != 1 {
			t.Errorf("second poll got %v", names)
		}
	})
}

func TestEQRevokeEndsWaitingPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, nil)
		waiting := h.poll(pollReq(nil, false))
		synctest.Wait()
		h.router.Revoke(h.agent)
		if w := <-waiting; w.Code != 404 {
			t.Errorf("waiting poll at Revoke: %d, want 404", w.Code)
		}
	})
}

func TestEQAbandonedPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newEQHarness(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *httptest.ResponseRecorder)
		go func() { done <- h.serveCtx(ctx, h.eqURL, pollReq(nil, false)) }()
		synctest.Wait()
		cancel()
		<-done
		// The event enqueued after the client left is kept for its next poll.
		h.enqueue("Kept", nil)
		if _, names := answer(t, h.serve(h.eqURL, pollReq(nil, false))); len(names) != 1 || names[0] != "Kept" {
			t.Errorf("next poll got %v", names)
		}
		if n := len(tracetest.All[*trace.EQTimeout](h.rec.Events())); n != 0 {
			t.Errorf("%d timeouts recorded for an abandoned poll", n)
		}
	})
}

func TestEQBadRequests(t *testing.T) {
	h := newEQHarness(t, func(c *Config) { c.MaxBody = 256 })
	h.enqueue("Ready", nil) // so that good polls answer at once
	tests := []struct {
		name, body string
		status     int
		says       string
	}{
		{"array", "<llsd><array /></llsd>", 400, "want a map {ack, done}"},
		{"ack string", "<llsd><map><key>ack</key><string>x</string></map></llsd>", 400, "ack is a string"},
		{"done map", "<llsd><map><key>done</key><map /></map></llsd>", 400, "done is a map"},
		{"garbage", "<llsd><map><key>ack</key>", 400, "not LLSD"},
		{"too large", "<llsd><map><key>ack</key><integer>1</integer>" + strings.Repeat(" ", 300) + "</map></llsd>", 413, "larger than 256"},
		{"empty body", "", 200, ""},
		{"ack as a string number", "<llsd><map><key>ack</key><string>12</string><key>done</key><boolean>false</boolean></map></llsd>", 200, ""},
	}
	for _, tt := range tests {
		w := h.serve(h.eqURL, tt.body)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tt.name, w.Code, w.Body, tt.status, tt.says)
		}
	}
	req := httptest.NewRequest(http.MethodGet, h.eqURL, nil)
	w := httptest.NewRecorder()
	h.router.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestEnqueueErrors(t *testing.T) {
	h := newEQHarness(t, nil)
	if err := h.router.Enqueue(ritual.NewUUID(), Event{Message: "X"}); !errors.Is(err, ErrUnknownAgent) {
		t.Errorf("unknown agent: %v", err)
	}
	if err := h.router.Enqueue(h.agent, Event{}); !errors.Is(err, ErrBadEvent) {
		t.Errorf("no message: %v", err)
	}
	if err := h.router.Enqueue(h.agent, Event{Message: "X", Body: map[string]any{"Big": uint64(1) << 40}}); !errors.Is(err, ErrBadEvent) {
		t.Errorf("unencodable body: %v", err)
	}
	// The body is encoded at Enqueue: changing it afterwards changes nothing.
	body := map[string]any{"V": int32(1)}
	h.enqueue("Snapshot", body)
	body["V"] = int32(2)
	w := h.serve(h.eqURL, pollReq(nil, false))
	if !strings.Contains(w.Body.String(), "<key>V</key><integer>1</integer>") {
		t.Errorf("answer %s", w.Body)
	}
}

// The answer's wire form, against a golden file (go test -update rewrites it).
func TestEQAnswerGolden(t *testing.T) {
	q := newQueue(8)
	q.nextID = 26173237
	for _, ev := range []Event{
		{Message: "EnableSimulator", Body: map[string]any{"SimulatorInfo": []any{map[string]any{
			"Handle": llsd.U64Binary(1099511628032000), "IP": []byte{127, 0, 0, 1}, "Port": 9000,
			"RegionSizeX": llsd.U32Binary(256), "RegionSizeY": llsd.U32Binary(256),
		}}}},
		{Message: "EstablishAgentCommunication", Body: map[string]any{
			"agent-id": ritual.MustParseUUID("415dedeb-c035-49dd-afd0-b95641a0dc2a"), "sim-ip-and-port": "127.0.0.1:9000",
			"seed-capability": "http://127.0.0.1:9000/CAPS/00000000000000000000000000000000/",
		}},
		{Message: "Empty"},
	} {
		frag, err := encodeEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.push(queuedEvent{message: ev.Message, xml: frag}); err != nil {
			t.Fatal(err)
		}
	}
	q.mu.Lock()
	b := q.newBatchLocked()
	q.mu.Unlock()
	golden := filepath.Join("testdata", "eq-answer.golden.xml")
	if *update {
		if err := os.WriteFile(golden, b.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.body, want) {
		t.Errorf("answer\n%s\nwant\n%s", b.body, want)
	}
	// And it reads back.
	id, events, err := parseEventAnswer(b.body)
	if err != nil || id != 26173237 || len(events) != 3 || events[0].Body["SimulatorInfo"] == nil {
		t.Errorf("read back: %d %v %v", id, events, err)
	}
	if q.nextID != 26173238 {
		t.Errorf("next id %d", q.nextID)
	}
}
