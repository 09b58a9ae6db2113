package caps

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/store"
	"ritual/store/sqlite"
	"ritual/trace"
)

var quiet = slog.New(slog.DiscardHandler)

// testGrid is a Router behind a real HTTP server on 127.0.0.1, with a
// SQLite store holding two accounts.
type testGrid struct {
	t      *testing.T
	srv    *httptest.Server
	router *Router
	rec    *trace.Memory
	store  *sqlite.Store
	alice  store.Account
	bob    store.Account
}

func newTestGrid(t *testing.T, mod func(*Config)) *testGrid {
	t.Helper()
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	g := &testGrid{t: t, store: s, rec: new(trace.Memory)}
	g.alice = store.Account{First: "Alice", Last: "Resident", PasswordHash: "x"}
	g.bob = store.Account{First: "Bob", Last: "Resident", PasswordHash: "x"}
	if err := s.Accounts().Create(context.Background(), &g.alice, &g.bob); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	cfg := Config{
		BaseURL:   g.srv.URL,
		EQTimeout: 200 * time.Millisecond,
		Recorder:  g.rec,
		Logger:    quiet,
		Inventory: s.Inventory(),
	}
	if mod != nil {
		mod(&cfg)
	}
	g.router = NewRouter(cfg)
	mux.Handle(PathPrefix, g.router)
	return g
}

func (g *testGrid) grant(a store.Account) string {
	g.t.Helper()
	seed, err := g.router.Grant(Agent{ID: a.ID, Session: ritual.NewUUID(), First: a.First, Last: a.Last, RegionName: "Test Region"})
	if err != nil {
		g.t.Fatal(err)
	}
	return seed
}

// seed asks a seed URL for names and returns the answer.
func (g *testGrid) seed(seedURL string, names ...string) map[string]string {
	g.t.Helper()
	caps, err := RequestSeed(context.Background(), g.srv.Client(), seedURL, names, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	return caps
}

// post sends body to u and returns the status and answer.
func post(t *testing.T, u, contentType, body string) (int, string) {
	t.Helper()
	return do(t, http.MethodPost, u, contentType, body)
}

func do(t *testing.T, method, u, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// decodeMap decodes an LLSD answer that must be a map.
func decodeMap(t testing.TB, body string) llsd.Map {
	t.Helper()
	v, err := llsd.Unmarshal([]byte(body))
	if err != nil {
		t.Fatalf("answer is not LLSD: %v\n%s", err, body)
	}
	m, ok := llsd.AsMap(v)
	if !ok {
		t.Fatalf("answer is %T, want a map:\n%s", v, body)
	}
	return m
}

func xmlDoc(t testing.TB, v any) string {
	t.Helper()
	b, err := llsd.MarshalXML(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// capture reads a recorded capture from testdata.
func capture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	// The capture files end with the recorder's status line.
	if i := strings.Index(string(b), "</llsd>"); i >= 0 {
		b = b[:i+len("</llsd>")]
	}
	return b
}

// folderOf returns the account's folder of type ft.
func (g *testGrid) folderOf(owner ritual.UUID, ft store.FolderType) store.Folder {
	g.t.Helper()
	fs, err := g.store.Inventory().Skeleton(context.Background(), owner)
	if err != nil {
		g.t.Fatal(err)
	}
	for _, f := range fs {
		if f.Type == ft {
			return f
		}
	}
	g.t.Fatalf("no folder of type %d", ft)
	return store.Folder{}
}
