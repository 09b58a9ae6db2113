package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ritual/trace"
	"ritual/trace/narrative/narrativetest"
)

func writeLog(t *testing.T, evs []trace.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s := trace.NewWriterSink(f, trace.ShowSecrets)
	for _, ev := range evs {
		s.Record(ev)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestView(t *testing.T) {
	log := writeLog(t, narrativetest.Stalled())
	var out, errb bytes.Buffer
	if code := run([]string{"view", log}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	page := string(must(os.ReadFile(strings.TrimSuffix(log, ".jsonl") + ".html")))
	for _, want := range []string{"<!DOCTYPE html>", `id="diagnosis"`, "Stalled at step 3", `<svg class="seq"`, `<svg class="waterfall"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(page, narrativetest.Session) {
		t.Error("the report shows the session id the log holds without --show-secrets")
	}

	// --out, flags after the file, and standard output.
	dest := filepath.Join(t.TempDir(), "r.html")
	if code := run([]string{"view", log, "--out", dest, "--show-secrets", "--title", "Seen again"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	shown := string(must(os.ReadFile(dest)))
	if !strings.Contains(shown, narrativetest.Session) || !strings.Contains(shown, "<h1>Seen again</h1>") {
		t.Error("--show-secrets or --title not applied")
	}
	out.Reset()
	if code := run([]string{"view", "--out", "-", log}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "<!DOCTYPE html>") {
		t.Fatalf("--out -: exit %d, %.60q", code, out.String())
	}
}

func TestViewBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"event\":\"login.start\"}\nnot json\n"), 0o644)
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"view"}, 2, "usage"},
		{[]string{"view", filepath.Join(dir, "missing.jsonl")}, 1, "no such file"},
		{[]string{"view", bad}, 1, "line 2"},
		{[]string{"view", empty}, 1, "no events"},
	} {
		var out, errb bytes.Buffer
		if code := run(tt.args, &out, &errb); code != tt.code || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tt.args, code, errb.String(), tt.code, tt.want)
		}
	}
}

func TestConnectOut(t *testing.T) {
	srv := startGrid(t)
	dir := t.TempDir()
	code, _, errs := connect("--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret", "--timeout", "20s", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, name := range []string{"ritual.md", "ritual.html", "events.jsonl", "ritual.mmd", "terrain.png"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	page := string(must(os.ReadFile(filepath.Join(dir, "ritual.html"))))
	if !strings.Contains(page, `<image class="ground"`) || !strings.Contains(page, `class="state complete"`) {
		t.Error("ritual.html lacks the terrain or the completed state")
	}
}
