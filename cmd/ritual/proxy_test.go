package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProxyCommand runs `ritual proxy` until the returned stop is called,
// and returns the login URI it prints.
func startProxyCommand(t *testing.T, args ...string) (uri string, stdout, stderr *lockedBuffer, stop func() int) {
	t.Helper()
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- proxyUntil(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), stdout, stderr) }()
	re := regexp.MustCompile(`log in with (\S+)`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			uri = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("ritual proxy exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ritual proxy printed no login URI: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return uri, stdout, stderr, stop
}

// TestProxyCommandWritesStories: `ritual connect` through `ritual proxy
// --out DIR` completes, and the session's directory holds events.jsonl,
// ritual.md and ritual.mmd telling both sides, with secrets masked.
func TestProxyCommandWritesStories(t *testing.T) {
	srv := startGrid(t)
	dir := t.TempDir()
	uri, _, stderr, stop := startProxyCommand(t, "--upstream", srv.LoginURI(), "--out", dir, "--stall-after", "10s")
	code, out, errs := connect("--login-uri", uri, "--first", "Test", "--last", "User", "--password", "secret", "--timeout", "20s")
	if code != 0 {
		t.Fatalf("connect through the proxy: exit %d: %s\n%s", code, errs, out)
	}
	if c := stop(); c != 0 {
		t.Fatalf("ritual proxy exited %d: %s", c, stderr.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(dir, "Test-User-*"))
	if len(dirs) != 1 {
		t.Fatalf("session directories %v, want one (stderr %s)", dirs, stderr.String())
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	md, mmd, jl := read("ritual.md"), read("ritual.mmd"), read("events.jsonl")
	for _, want := range []string{"[CLIENT] [UDP] SEND UseCircuitCode", "[SERVER] [UDP] SEND RegionHandshake", "256/256", "PROXY REWRITE login reply", "PROXY SESSION END"} {
		if !strings.Contains(md, want) {
			t.Errorf("ritual.md lacks %q", want)
		}
	}
	if !strings.Contains(mmd, "sequenceDiagram") {
		t.Errorf("ritual.mmd is not a sequence diagram:\n%s", mmd)
	}
	if !strings.Contains(jl, `"event":"proxy.session_end"`) || !strings.Contains(jl, `"event":"udp.packet"`) {
		t.Errorf("events.jsonl lacks the session's events")
	}
	if regexp.MustCompile(`/ritual-proxy/[0-9a-f]{32}`).MatchString(md + jl + mmd) {
		t.Errorf("a capability URL is shown unmasked")
	}
}

// TestProxyCommandPrintsStory: without --out, the story of a session is
// printed when it ends (here at shutdown, with the login refused before).
func TestProxyCommandPrintsStory(t *testing.T) {
	srv := startGrid(t)
	uri, stdout, stderr, stop := startProxyCommand(t, "--upstream", srv.LoginURI())
	code, _, _ := connect("--login-uri", uri, "--first", "Test", "--last", "User", "--password", "wrong", "--timeout", "10s")
	if code == 0 {
		t.Fatal("a wrong password connected")
	}
	stop()
	out := stdout.String()
	for _, want := range []string{"# The Ritual", "[SERVER] [LOGIN] SEND Response", "key", "At fault: the client."} {
		if !strings.Contains(out, want) {
			t.Errorf("story lacks %q:\n%s\nstderr: %s", want, out, stderr.String())
		}
	}
}

func TestProxyCommandFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"--upstream", "http://127.0.0.1:1/", "--format", "pdf"}, {"--upstream", "http://127.0.0.1:1/", "extra"}} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"proxy"}, args...), &out, &errb); code != 2 {
			t.Errorf("ritual proxy %v: exit %d, want 2", args, code)
		}
	}
}
