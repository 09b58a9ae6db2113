package caps

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/store"
)

// fuzzRouter is a Router with one agent whose seed and event queue are
// granted, and an event always waiting, so that no poll is held.
func fuzzRouter(tb testing.TB) (*Router, ritual.UUID, string, string) {
	r := NewRouter(Config{BaseURL: "http://127.0.0.1:9000", EQTimeout: time.Millisecond, Logger: quiet, MaxBody: 4096})
	agent := ritual.NewUUID()
	seed, err := r.Grant(Agent{ID: agent})
	if err != nil {
		tb.Fatal(err)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, seed, strings.NewReader(xmlDoc(tb, []any{EventQueueGet}))))
	v, err := llsd.Unmarshal(w.Body.Bytes())
	if err != nil {
		tb.Fatal(err)
	}
	m, _ := llsd.AsMap(v)
	return r, agent, seed, m.String(EventQueueGet)
}

func FuzzSeedRequest(f *testing.F) {
	f.Add([]byte(xmlDoc(f, []any{EventQueueGet, SimulatorFeatures, "Bogus"})))
	f.Add([]byte(`<?xml version="1.0" ?><llsd><array><string>EventQueueGet</string></array></llsd>`))
	f.Add([]byte(`['EventQueueGet','SimulatorFeatures']`))
	f.Add([]byte("<llsd><map /></llsd>"))
	f.Add(capture(f, "opensim-seed-response.xml"))
	f.Add([]byte{})
	r, _, seed, _ := fuzzRouter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, seed, strings.NewReader(string(body))))
		switch w.Code {
		case 200:
			v, err := llsd.Unmarshal(w.Body.Bytes())
			m, ok := llsd.AsMap(v)
			if err != nil || !ok {
				t.Fatalf("200 answer is not a map: %v\n%s", err, w.Body)
			}
			for name, u := range m {
				s, _ := u.(string)
				if pu, err := url.Parse(s); err != nil || !strings.HasPrefix(s, "http://127.0.0.1:9000/CAPS/") || pu.Host == "" {
					t.Fatalf("%s → %v", name, u)
				}
			}
		case 400, 413:
			if w.Body.Len() == 0 {
				t.Fatalf("%d without a reason", w.Code)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

func FuzzEventQueueRequest(f *testing.F) {
	f.Add([]byte(pollReq(nil, false)))
	f.Add([]byte(pollReq(int32(26173237), false)))
	f.Add([]byte(pollReq(int32(1), true)))
	f.Add([]byte(`{'ack':i5,'done':0}`))
	f.Add([]byte("<llsd><map><key>ack</key><real>1e40</real></map></llsd>"))
	f.Add(capture(f, "opensim-eventqueue-first-poll.xml"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		r, agent, _, eq := fuzzRouter(t)
		if err := r.Enqueue(agent, Event{Message: "Ready"}); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, eq, strings.NewReader(string(body))))
		switch w.Code {
		case 200:
			if _, err := llsd.Unmarshal(w.Body.Bytes()); err != nil {
				t.Fatalf("200 answer is not LLSD: %v", err)
			}
		case 400, 413:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// memInventory is an in-memory inventory of one account: a root and its
// system folders.
type memInventory struct {
	store.InventoryFolders // the methods the Router does not call
	folders                []store.Folder
}

func newMemInventory(owner ritual.UUID) *memInventory {
	return &memInventory{folders: store.DefaultSkeleton(owner)}
}

func (m *memInventory) Get(_ context.Context, id ritual.UUID) (store.Folder, error) {
	for _, f := range m.folders {
		if f.ID == id {
			return f, nil
		}
	}
	return store.Folder{}, store.ErrNotFound
}

func (m *memInventory) Skeleton(_ context.Context, owner ritual.UUID) ([]store.Folder, error) {
	var out []store.Folder
	for _, f := range m.folders {
		if f.Owner == owner {
			out = append(out, f)
		}
	}
	if out == nil {
		return nil, store.ErrNotFound
	}
	return out, nil
}

func FuzzFetchInventoryRequest(f *testing.F) {
	agent := ritual.NewUUID()
	inv := newMemInventory(agent)
	r := NewRouter(Config{BaseURL: "http://127.0.0.1:9000", Logger: quiet, MaxBody: 8192, Inventory: inv})
	seed, err := r.Grant(Agent{ID: agent})
	if err != nil {
		f.Fatal(err)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, seed, strings.NewReader(xmlDoc(f, []any{FetchInventoryDescendents2}))))
	fetchURL := decodeMap(f, w.Body.String()).String(FetchInventoryDescendents2)

	f.Add([]byte(xmlDoc(f, fetchReq(agent, inv.folders[0].ID, ritual.NewUUID(), ritual.UUID{}))))
	f.Add([]byte(xmlDoc(f, fetchReq(ritual.NewUUID(), inv.folders[3].ID))))
	f.Add([]byte("<llsd><map><key>folders</key><array><map><key>folder_id</key><string>x</string></map></array></map></llsd>"))
	f.Add([]byte("<llsd><map><key>folders</key><integer>1</integer></map></llsd>"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, fetchURL, strings.NewReader(string(body))))
		switch w.Code {
		case 200:
			m := decodeMap(t, w.Body.String())
			if _, ok := m.Lookup("folders"); !ok {
				t.Fatalf("answer without folders: %s", w.Body)
			}
		case 400, 413:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// The client's readers of server answers: no panic, and what they accept
// reads back the same after re-encoding.
func FuzzEventAnswer(f *testing.F) {
	f.Add(capture(f, "opensim-eventqueue-first-poll.xml"))
	f.Add([]byte("<llsd><map><key>events</key><array /><key>id</key><integer>1</integer></map></llsd>"))
	f.Add([]byte("<llsd><map><key>id</key><string>7</string></map></llsd>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, events, err := parseEventAnswer(data)
		if err != nil {
			return
		}
		arr := make([]any, len(events))
		for i, ev := range events {
			arr[i] = map[string]any{"message": ev.Message, "body": ev.Body}
		}
		again, err := llsd.MarshalXML(map[string]any{"events": arr, "id": id})
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		id2, events2, err := parseEventAnswer(again)
		if err != nil || id2 != id || len(events2) != len(events) {
			t.Fatalf("round trip: %d %d events, then %d %d events, %v", id, len(events), id2, len(events2), err)
		}
		for i := range events {
			if events[i].Message != events2[i].Message || !llsd.Equal(map[string]any(events[i].Body), map[string]any(events2[i].Body)) {
				t.Fatalf("event %d changed: %+v → %+v", i, events[i], events2[i])
			}
		}
	})
}

func FuzzSeedAnswer(f *testing.F) {
	f.Add(capture(f, "opensim-seed-response.xml"))
	f.Add([]byte("<llsd><map><key>A</key><uri>http://h/</uri></map></llsd>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		caps, err := parseSeedAnswer(data)
		if err != nil {
			return
		}
		for name, u := range caps {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				t.Fatalf("%s → %q kept", name, u)
			}
		}
	})
}
