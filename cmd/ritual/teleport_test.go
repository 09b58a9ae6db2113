package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConnectTeleportBetweenRegions: `ritual connect --teleport` against
// `ritual serve` running two regions exits 0: the login's ritual in A,
// the teleport to B and the ritual there complete, and the story tells
// them.
func TestConnectTeleportBetweenRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ritual binary")
	}
	bin := filepath.Join(t.TempDir(), "ritual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	userEnv(t, "")
	userMustRun(t, "user", "create", "--data", data, "--first", "Test", "--last", "User", "--password", "secret")
	srv := startProc(t, bin, "serve", "--data", data, "--listen", "127.0.0.1:0", "--log-level", "warn",
		"--region", "A@1000,1000", "--region", "B@1001,1000")
	uri := srv.waitLine(t, regexp.MustCompile(`login URI (\S+)`))
	code, out, errs := connect("--login-uri", uri, "--first", "Test", "--last", "User", "--password", "secret",
		"--start", "uri:A&128&128&25", "--teleport", "B/100/120/25", "--timeout", "30s")
	if code != 0 {
		t.Fatalf("exit %d, want 0: %s\n%s", code, errs, out)
	}
	for _, want := range []string{"TELEPORT REQUEST", "TELEPORT FINISH"} {
		if !strings.Contains(strings.ToUpper(out), want) {
			t.Errorf("story lacks %q:\n%s", want, out)
		}
	}
}
