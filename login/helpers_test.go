package login_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/login"
	"ritual/store"
	"ritual/store/sqlite"
	"ritual/trace"
)

// fastKDF are argon2id costs low enough for tests.
var fastKDF = account.Params{Memory: 8, Time: 1, Threads: 1}

const (
	testFirst    = "Test"
	testLast     = "User"
	testPassword = "password" // "$1$5f4dcc3b5aa765d61d8327deb882cf99", as in the captures
	testViewerPW = "$1$5f4dcc3b5aa765d61d8327deb882cf99"
)

// fakeRegion records the circuits it is asked to provision and answers
// with dest (a fresh seed capability each time), or with err.
type fakeRegion struct {
	mu       sync.Mutex
	circuits []login.Circuit
	dest     login.Destination
	err      error
}

func newFakeRegion() *fakeRegion {
	return &fakeRegion{dest: login.Destination{
		RegionName: "Ritual Region",
		RegionID:   ritual.MustParseUUID("6a1a8b2c-0d3e-4f50-8a6b-7c8d9e0f1a2b"),
		SimIP:      netip.MustParseAddr("127.0.0.1"),
		SimPort:    9000,
		Handle:     ritual.HandleFromGrid(1000, 1000),
		SizeX:      256, SizeY: 256,
		Position: ritual.Vector3{X: 128, Y: 128, Z: 25},
		LookAt:   ritual.Vector3{X: 0.9991014, Y: 0.04238612, Z: 0},
	}}
}

func (r *fakeRegion) Provision(ctx context.Context, c login.Circuit) (login.Destination, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return login.Destination{}, r.err
	}
	if len(r.circuits) >= 1000 { // fuzzing logs in without end
		r.circuits = r.circuits[:0]
	}
	r.circuits = append(r.circuits, c)
	d := r.dest
	if d.SeedCapability == "" {
		d.SeedCapability = fmt.Sprintf("http://127.0.0.1:9000/CAPS/%s0000/", ritual.NewUUID())
	}
	return d, nil
}

func (r *fakeRegion) last(t testing.TB) login.Circuit {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.circuits) == 0 {
		t.Fatal("no circuit was provisioned")
	}
	return r.circuits[len(r.circuits)-1]
}

func (r *fakeRegion) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.circuits)
}

// grid is a login service over a SQLite store with one account, served on
// 127.0.0.1.
type grid struct {
	url    string
	store  *sqlite.Store
	region *fakeRegion
	rec    *trace.Memory
	acct   store.Account
	srv    *login.Server
}

var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newGrid(t testing.TB, kdf account.Params, mod func(*login.Config)) *grid {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hash, err := account.Hash(testPassword, kdf)
	if err != nil {
		t.Fatal(err)
	}
	acct := &store.Account{First: testFirst, Last: testLast, PasswordHash: hash}
	if err := st.Accounts().Create(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	g := &grid{store: st, region: newFakeRegion(), rec: &trace.Memory{}, acct: *acct}
	cfg := login.Config{
		Accounts:  st.Accounts(),
		Inventory: st.Inventory(),
		Region:    g.region,
		Recorder:  g.rec,
		Logger:    discardLogger(),
		Now:       func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	g.srv, err = login.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	login.SetDummyParams(g.srv, fastKDF)
	hs := httptest.NewServer(g.srv)
	t.Cleanup(hs.Close)
	g.url = hs.URL + "/"
	return g
}

// post sends body with a content type and returns the status, the
// Content-Type and the body of the answer.
func post(t testing.TB, url, contentType string, body []byte) (int, string, []byte) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// httptestRecorder serves one request to h without the network and returns
// the body of its 200 answer.
func httptestRecorder(t testing.TB, h http.Handler, contentType string, body []byte) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
