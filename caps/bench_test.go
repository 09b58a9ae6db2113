package caps

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ritual"
)

// parcelBody is the body of the captured ParcelProperties event.
func parcelBody(tb testing.TB) map[string]any {
	_, events, err := parseEventAnswer(capture(tb, "opensim-eventqueue-first-poll.xml"))
	if err != nil || len(events) != 1 {
		tb.Fatal(err)
	}
	return events[0].Body
}

// BenchmarkEnqueuePoll is one event through the queue: Enqueue, then a poll
// acknowledging the previous batch and answered with this one.
func BenchmarkEnqueuePoll(b *testing.B) {
	r, agent, _, eq := fuzzRouter(b)
	ev := Event{Message: "ParcelProperties", Body: parcelBody(b)}
	// The first batch's id, read once; each later batch is one more.
	if err := r.Enqueue(agent, ev); err != nil {
		b.Fatal(err)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, eq, strings.NewReader(pollReq(nil, false))))
	id, _, err := parseEventAnswer(w.Body.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Enqueue(agent, ev); err != nil {
			b.Fatal(err)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, eq, strings.NewReader(pollReq(id, false))))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
		id++
	}
	if st, _ := r.QueueStats(agent); st.Batches != st.Delivered+1 {
		b.Fatalf("stats %+v: a batch was resent", st)
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	ev := Event{Message: "ParcelProperties", Body: parcelBody(b)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeEvent(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEventAnswer(b *testing.B) {
	data := capture(b, "opensim-eventqueue-first-poll.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseEventAnswer(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeed is a seed request of node-metaverse's size (over a hundred
// names, a few granted).
func BenchmarkSeed(b *testing.B) {
	r := NewRouter(Config{BaseURL: "http://127.0.0.1:9000", Logger: quiet, Inventory: newMemInventory(ritual.NewUUID())})
	seed, err := r.Grant(Agent{ID: ritual.NewUUID()})
	if err != nil {
		b.Fatal(err)
	}
	names := make([]any, 0, 120)
	for _, n := range nodeMetaverseNames {
		names = append(names, n)
	}
	for len(names) < 120 {
		names = append(names, "Unserved"+string(rune('A'+len(names)%26))+string(rune('a'+len(names)/26)))
	}
	body := xmlDoc(b, names)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, seed, strings.NewReader(body)))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkFetchInventoryDescendents(b *testing.B) {
	agent := ritual.NewUUID()
	inv := newMemInventory(agent)
	r := NewRouter(Config{BaseURL: "http://127.0.0.1:9000", Logger: quiet, Inventory: inv})
	seed, _ := r.Grant(Agent{ID: agent})
	caps, err := RequestSeed(context.Background(), &http.Client{Transport: handlerTransport{r}}, seed, []string{FetchInventoryDescendents2}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := xmlDoc(b, fetchReq(agent, inv.folders[0].ID)) // the root: every system folder
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, caps[FetchInventoryDescendents2], strings.NewReader(body)))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// handlerTransport serves client requests with a handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, req)
	return w.Result(), nil
}
