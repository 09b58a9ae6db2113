package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ritual/client"
	"ritual/internal/gridtest"
	"ritual/observatory"
)

// getObservatory GETs path on the proxy and returns the answer's status
// and body.
func getObservatory(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
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

// waitSessionState polls the proxy's sessions.json until the one session
// of agent reaches state.
func waitSessionState(t *testing.T, base, agent, state string) observatory.Summary {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last []observatory.Summary
	for {
		code, body := getObservatory(t, base, "/observatory/sessions.json")
		last = nil
		if code != http.StatusOK {
			t.Fatalf("GET /observatory/sessions.json: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &last); err != nil {
			t.Fatalf("sessions.json: %v: %s", err, body)
		}
		if len(last) == 1 && last[0].Agent == agent && last[0].State == state {
			return last[0]
		}
		if len(last) > 1 {
			t.Fatalf("sessions.json lists %d sessions, want 1: %+v", len(last), last)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session of %s never reached %q on the proxy's observatory: %+v", agent, state, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProxyCommandObservatory: our client logs in through `ritual proxy
// --out DIR` in front of an in-process grid. While it is in the region,
// the proxy's own /observatory/ lists its session as complete (nothing of
// it forwarded to the grid) and the session's page shows the relayed
// handshake; after its logout the session is listed as logged out, and
// the session's directory holds ritual.html with the diagram, the
// waterfall and the narrative, capability URLs masked.
func TestProxyCommandObservatory(t *testing.T) {
	g := gridtest.Start(t, gridtest.WithAccount("Test", "User", "secret"))
	dir := t.TempDir()
	uri, _, stderr, stop := startProxyCommand(t, "--upstream", g.LoginURI, "--out", dir, "--stall-after", "10s")
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + u.Host
	if !strings.Contains(stderr.String(), "observatory at "+base+"/observatory/ (the observatory is open on loopback)") {
		t.Errorf("the proxy does not say where its observatory is: %s", stderr.String())
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{LoginURI: uri, First: "Test", Last: "User", Password: "secret", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitRitual(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	sum := waitSessionState(t, base, "Test User", observatory.StateComplete)
	if code, page := getObservatory(t, base, "/observatory/?name=test"); code != http.StatusOK || !strings.Contains(page, "Test User") {
		t.Errorf("GET /observatory/?name=test: %d, lists Test User: %t", code, strings.Contains(page, "Test User"))
	}
	code, page := getObservatory(t, base, "/observatory/s/"+sum.ID)
	if code != http.StatusOK {
		t.Fatalf("GET /observatory/s/%s: %d", sum.ID, code)
	}
	for _, want := range []string{"UseCircuitCode", "RegionHandshake", "RegionHandshakeReply", "CompleteAgentMovement", `<svg class="seq"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the live session page lacks %q", want)
		}
	}
	if regexp.MustCompile(`/ritual-proxy/[0-9a-f]{32}`).MatchString(page) {
		t.Errorf("the live session page shows a capability URL unmasked")
	}

	if _, err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	waitSessionState(t, base, "Test User", observatory.StateLoggedOut)
	if c := stop(); c != 0 {
		t.Fatalf("ritual proxy exited %d: %s", c, stderr.String())
	}

	dirs, _ := filepath.Glob(filepath.Join(dir, "Test-User-*"))
	if len(dirs) != 1 {
		t.Fatalf("session directories %v, want one (stderr %s)", dirs, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dirs[0], "ritual.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"<!DOCTYPE html>", `<svg class="seq"`, `<svg class="waterfall"`, `id="narrative"`,
		"RegionHandshakeReply", "the upstream grid, as relayed by ritual proxy", "PROXY SESSION END"} {
		if !strings.Contains(html, want) {
			t.Errorf("ritual.html lacks %q", want)
		}
	}
	if regexp.MustCompile(`/ritual-proxy/[0-9a-f]{32}`).MatchString(html) {
		t.Errorf("ritual.html shows a capability URL unmasked")
	}
	if strings.Contains(html, "http://") && strings.Contains(html, "<script src=") {
		t.Errorf("ritual.html fetches a script")
	}
}

// TestProxyCommandObservatoryOff: --no-observatory leaves /observatory/
// answering 404 from the proxy itself, never forwarded to the grid.
func TestProxyCommandObservatoryOff(t *testing.T) {
	g := gridtest.Start(t)
	uri, _, stderr, _ := startProxyCommand(t, "--upstream", g.LoginURI, "--no-observatory")
	u, _ := url.Parse(uri)
	if !strings.Contains(stderr.String(), "the observatory is off (--no-observatory)") {
		t.Errorf("the proxy does not say its observatory is off: %s", stderr.String())
	}
	for _, path := range []string{"/observatory/", "/observatory/sessions.json"} {
		if code, body := getObservatory(t, "http://"+u.Host, path); code != http.StatusNotFound || !strings.Contains(body, "ritual proxy: the observatory is off") {
			t.Errorf("GET %s with --no-observatory: %d %q", path, code, body)
		}
	}
}

// TestProxyCommandObservatoryToken: with a token (here from the
// environment) the proxy's observatory answers only its holders.
func TestProxyCommandObservatoryToken(t *testing.T) {
	t.Setenv(observatoryTokenEnv, "s3cret-token")
	g := gridtest.Start(t)
	uri, _, _, _ := startProxyCommand(t, "--upstream", g.LoginURI)
	u, _ := url.Parse(uri)
	base := "http://" + u.Host
	if code, _ := getObservatory(t, base, "/observatory/sessions.json"); code != http.StatusUnauthorized {
		t.Errorf("GET sessions.json without the token: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/observatory/sessions.json", nil)
	req.Header.Set("Authorization", "Bearer s3cret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET sessions.json with the token: %d, want 200", resp.StatusCode)
	}
}

// TestObservatoryAccess: how `ritual serve` and `ritual proxy` decide on
// their observatory. On loopback it is open; on any other address it needs
// a token, from --observatory-token or else the environment, or it is
// off; --no-observatory turns it off everywhere.
func TestObservatoryAccess(t *testing.T) {
	for _, tc := range []struct {
		name, listen, flag, env string
		off                     bool
		on                      bool
		token                   string
	}{
		{"loopback", "127.0.0.1:9010", "", "", false, true, ""},
		{"loopback v6", "[::1]:9010", "", "", false, true, ""},
		{"localhost", "localhost:9010", "", "", false, true, ""},
		{"every address, no token", "0.0.0.0:9010", "", "", false, false, ""},
		{"public address, no token", "192.0.2.7:9010", "", "", false, false, ""},
		{"every address, flag token", "0.0.0.0:9010", "flag-tok", "", false, true, "flag-tok"},
		{"public address, env token", "192.0.2.7:9010", "", "env-tok", false, true, "env-tok"},
		{"the flag wins over the environment", "192.0.2.7:9010", "flag-tok", "env-tok", false, true, "flag-tok"},
		{"off on loopback", "127.0.0.1:9010", "", "", true, false, ""},
		{"off with a token", "0.0.0.0:9010", "flag-tok", "", true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(observatoryTokenEnv, tc.env)
			token, on, why := observatoryAccess(tc.listen, tc.flag, tc.off)
			if on != tc.on || (on && token != tc.token) || why == "" {
				t.Errorf("observatoryAccess(%q, %q, %t) with $%s=%q = %q, %t, %q; want %q, %t", tc.listen, tc.flag, tc.off, observatoryTokenEnv, tc.env, token, on, why, tc.token, tc.on)
			}
			if !on && !tc.off && !strings.Contains(why, "--observatory-token") {
				t.Errorf("off without a token, but the reason does not name --observatory-token: %q", why)
			}
		})
	}
}
