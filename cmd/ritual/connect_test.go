package main

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"net/netip"
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
			[]string{"stalled at step 1", "connection refused"},
			[]string{"## Stall", "is wrong, or no grid is running there"}},
		{"login refused", srv.LoginURI(), "wrong",
			[]string{"stalled at step 2", `reason "key"`},
			[]string{`reason "key"`, "## Stall"}},
		{"region unreachable", hs.URL + "/", "secret",
			[]string{"stalled at step 3", "never acknowledged"},
			[]string{"[CLIENT] [UDP] SEND UseCircuitCode", "## Stall", "firewall blocks UDP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := connect("--login-uri", tt.uri, "--first", "Test", "--last", "User", "--password", tt.password, "--timeout", "3s")
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, errs, out)
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
}
