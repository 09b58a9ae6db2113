package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/grid"
	"ritual/login"
	"ritual/store"
	"ritual/store/sqlite"
)

var cheap = account.Params{Memory: 64, Time: 1}

func createUser(t *testing.T, st store.Store, first, last, pw string) {
	t.Helper()
	hash, err := account.Hash(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Accounts().Create(t.Context(), &store.Account{ID: ritual.NewUUID(), First: first, Last: last, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
}

func startGrid(t *testing.T) *grid.Server {
	t.Helper()
	srv, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	createUser(t, srv.Store, "Test", "User", "secret")
	return srv
}

func connect(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"connect"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestConnectCompletes(t *testing.T) {
	srv := startGrid(t)
	for _, format := range []string{"md", "jsonl", "mermaid"} {
		code, out, errs := connect("--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret", "--format", format, "--timeout", "20s")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s\n%s", format, code, errs, out)
		}
		switch format {
		case "md":
			for _, want := range []string{"[CLIENT] [LOGIN] START", "[CLIENT] [UDP] CONNECTED", "256/256", "Outcome**: the ritual completed"} {
				if !strings.Contains(out, want) {
					t.Errorf("story lacks %q", want)
				}
			}
			if strings.Contains(out, "[SERVER]") {
				t.Error("the client's story tells server probes")
			}
		case "jsonl":
			if !strings.Contains(out, `"event":"login.start"`) || strings.Count(out, "\n") < 20 {
				t.Errorf("jsonl output: %.200s", out)
			}
			// The ritual waits for the event queue's first delivery:
			// the region's ParcelProperties.
			if !regexp.MustCompile(`"event":"eq\.[a-z]+"[^\n]*"ParcelProperties"`).MatchString(out) {
				t.Errorf("the story tells no ParcelProperties from the event queue:\n%s", out)
			}
		case "mermaid":
			if !strings.Contains(out, "sequenceDiagram") {
				t.Errorf("mermaid output: %.200s", out)
			}
		}
	}
}

func TestConnectSay(t *testing.T) {
	srv := startGrid(t)
	code, out, errs := connect("--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret", "--timeout", "20s", "--say", "hello from connect")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	for _, want := range []string{"SEND ChatFromViewer", "RECV ChatFromSimulator", "Outcome**: the ritual completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("story lacks %q:\n%s", want, out)
		}
	}
	if st := srv.Region.World(); st.ChatHeard != 1 {
		t.Errorf("the region handed on %d chat lines, want 1", st.ChatHeard)
	}
}

func TestConnectMasksSecrets(t *testing.T) {
	srv := startGrid(t)
	_, masked, _ := connect("--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret", "--format", "jsonl")
	_, shown, _ := connect("--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret", "--format", "jsonl", "--show-secrets")
	if strings.Contains(masked, "/CAPS/") {
		t.Error("masked output shows a capability path")
	}
	if !strings.Contains(shown, "/CAPS/") {
		t.Error("--show-secrets output hides the capability paths")
	}
}

func TestConnectStalls(t *testing.T) {
	srv := startGrid(t)

	// A login URI where nothing listens.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + l.Addr().String() + "/"
	l.Close()

	// A login service that sends clients to a UDP port where no region is.
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	createUser(t, st, "Test", "User", "secret")
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	deadPort := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	pc.Close()
	ls, err := login.NewServer(login.Config{Accounts: st.Accounts(), Inventory: st.Inventory(), Region: deadRegion{deadPort}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ls)
	defer hs.Close()

	tests := []struct {
		name, uri, password string
		stderr              []string
		story               []string
	}{
		{"login URI unreachable", closed, "secret",
			[]string{"stalled at step 1", "nothing is listening at " + strings.TrimSuffix(strings.TrimPrefix(closed, "http://"), "/"), "at fault: the login service"},
			[]string{"## Stall", "is wrong, or no grid is running there"}},
		{"login refused", srv.LoginURI(), "wrong",
			[]string{"stalled at step 2", `reason "key"`, "at fault: the client"},
			[]string{`reason "key"`, "## Stall"}},
		{"region unreachable", hs.URL + "/", "secret",
			[]string{"stalled at step 3", "the region never answered UseCircuitCode (sent "},
			[]string{"[CLIENT] [UDP] SEND UseCircuitCode", "## Stall", "firewall blocks UDP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := connect("--login-uri", tt.uri, "--first", "Test", "--last", "User", "--password", tt.password, "--timeout", "3s")
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, errs, out)
			}
			if strings.Contains(errs, "connection refused") || strings.Contains(errs, "context deadline") {
				t.Errorf("stderr speaks Go:\n%s", errs)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			for _, want := range tt.story {
				if !strings.Contains(out, want) {
					t.Errorf("story lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// deadRegion provisions every circuit at a UDP port where nothing listens.
type deadRegion struct{ port uint16 }

func (d deadRegion) Provision(ctx context.Context, c login.Circuit) (login.Destination, error) {
	return login.Destination{
		RegionName: "Nowhere", RegionID: ritual.NewUUID(),
		SimIP: netip.MustParseAddr("127.0.0.1"), SimPort: d.port,
		Handle: ritual.HandleFromGrid(1000, 1000), SizeX: 256, SizeY: 256,
		SeedCapability: "http://127.0.0.1:1/CAPS/nowhere/",
		Position:       ritual.Vector3{X: 128, Y: 128, Z: 25}, LookAt: ritual.Vector3{X: 1},
	}, nil
}

func TestConnectUsage(t *testing.T) {
	if code, _, errs := connect("--first", "A"); code != 2 || !strings.Contains(errs, "required") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, _ := connect("--login-uri", "x", "--first", "A", "--last", "B", "--password", "p", "--format", "pdf"); code != 2 {
		t.Fatalf("bad format: exit %d", code)
	}
	if code, _, errs := connect("--login-uri", "x", "--first", "A", "--last", "B", "--password", "p", "--eq-silence", "0s"); code != 2 || !strings.Contains(errs, "--eq-silence") {
		t.Fatalf("--eq-silence 0: exit %d: %s", code, errs)
	}
}

// faultyFront is a login URI in front of a real grid that changes what the
// grid's login reply says of the seed capability: blank, or pointing at a
// seed capability that answers status.
func faultyFront(t *testing.T, srv *grid.Server, blankSeed bool, status int) string {
	t.Helper()
	up, err := url.Parse(srv.LoginURI())
	if err != nil {
		t.Fatal(err)
	}
	seedRE := regexp.MustCompile(`(<name>seed_capability</name><value><string>)[^<]*`)
	var front *httptest.Server
	proxy := httputil.NewSingleHostReverseProxy(up)
	proxy.ModifyResponse = func(r *http.Response) error {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		seed := ""
		if !blankSeed {
			seed = front.URL + "/failing-seed"
		}
		body = seedRE.ReplaceAll(body, []byte("${1}"+seed))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/failing-seed", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "Internal Server Error", status)
	})
	mux.Handle("/", proxy)
	front = httptest.NewServer(mux)
	t.Cleanup(front.Close)
	return front.URL + up.Path
}

// TestConnectSeedFaults: a blank seed capability, or one that answers 500,
// no longer ends the login: the UDP ritual completes, the fault is named
// with the side at fault, and connect exits 1 (the ritual is not whole).
func TestConnectSeedFaults(t *testing.T) {
	srv := startGrid(t)
	for _, tt := range []struct {
		name   string
		blank  bool
		status int
		want   string
		fault  string
	}{
		{"blank", true, 0, "the login reply's seed capability is blank", "at fault: the login service"},
		{"500", false, 500, "the seed capability answered HTTP 500", "at fault: the capabilities"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			uri := faultyFront(t, srv, tt.blank, tt.status)
			code, out, errs := connect("--login-uri", uri, "--first", "Test", "--last", "User", "--password", "secret", "--timeout", "20s")
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, errs, out)
			}
			for _, want := range []string{"the ritual completed but is not whole", tt.want, tt.fault} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			for _, want := range []string{"[CLIENT] [UDP] RECV RegionHandshake", "256/256", "FAULT", tt.want, "but it is not whole"} {
				if !strings.Contains(out, want) {
					t.Errorf("story lacks %q", want)
				}
			}
			if strings.Contains(out, "## Stall") {
				t.Error("a ritual that completed is told as stalled")
			}
		})
	}
}

// TestConnectLoginNeverAnswers: a login service that holds the request is
// told in plain words with the wait.
func TestConnectLoginNeverAnswers(t *testing.T) {
	hold := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	defer close(hold)
	code, out, errs := connect("--login-uri", hs.URL+"/", "--first", "Test", "--last", "User", "--password", "secret", "--timeout", "1s")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, errs, out)
	}
	if !strings.Contains(errs, "the login service did not answer within 1 s") || !strings.Contains(errs, "at fault: the login service") {
		t.Errorf("stderr:\n%s", errs)
	}
	if strings.Contains(errs, "context deadline") || strings.Contains(errs, "Post \"") {
		t.Errorf("stderr speaks Go:\n%s", errs)
	}
}

func TestParseTeleportTarget(t *testing.T) {
	good := []struct {
		in     string
		region string
		pos    ritual.Vector3
	}{
		{"Ritual East/128/128/30", "Ritual East", ritual.Vector3{X: 128, Y: 128, Z: 30}},
		{"Default Region/250.5/0/25", "Default Region", ritual.Vector3{X: 250.5, Z: 25}},
		{"A/B/1/2/3", "A/B", ritual.Vector3{X: 1, Y: 2, Z: 3}},
	}
	for _, g := range good {
		got, err := parseTeleportTarget(g.in)
		if err != nil || got.region != g.region || got.pos != g.pos {
			t.Errorf("%q = %+v, %v", g.in, got, err)
		}
	}
	for _, bad := range []string{"", "Region", "Region/1/2", "/1/2/3", " /1/2/3", "R/x/2/3", "R/1/2/NaN", "R/-1/2/3", "R/1/2/5000", "R/1/2/Inf"} {
		if _, err := parseTeleportTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	code, _, errs := connect("--login-uri", "http://127.0.0.1:1/", "--first", "A", "--last", "B", "--password", "x", "--teleport", "Region/1/2")
	if code != 2 || !strings.Contains(errs, "--teleport") {
		t.Errorf("bad --teleport: exit %d, %s", code, errs)
	}
}

// TestConnectTeleportNowhere: the first ritual completes, the map knows no
// region of the name asked for; both rituals are told and the exit status
// says the second did not complete.
func TestConnectTeleportNowhere(t *testing.T) {
	srv := startGrid(t)
	code, out, errs := connect("--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret",
		"--teleport", "Nowhere At All/128/128/25", "--timeout", "20s")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s\n%s", code, errs, out)
	}
	if !strings.Contains(errs, "Nowhere At All") || !strings.Contains(errs, "no region of that name") {
		t.Errorf("stderr: %s", errs)
	}
	for _, want := range []string{"Outcome**: the ritual completed", "## Part V: A Teleport to Nowhere At All", "TELEPORT REQUEST", "SEND MapNameRequest", "RECV MapBlockReply", "TELEPORT FAILED"} {
		if !strings.Contains(out, want) {
			t.Errorf("story lacks %q:\n%s", want, out)
		}
	}
}
