package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"ritual/client"
	"ritual/internal/pgtest"
	"ritual/login"
	"ritual/store/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestRegionAndServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"region"},
		{"region", "--db", "postgres://x@127.0.0.1/db", "--name", "A"},
		{"region", "--db", "postgres://x@127.0.0.1/db", "--location", "1,1"},
		{"region", "--db", "postgres://x@127.0.0.1/db", "--name", "A", "--location", "1"},
		{"region", "--db", "postgres://x@127.0.0.1/db", "--name", " A", "--location", "1,1"},
		{"region", "--db", "not a url", "--name", "A", "--location", "1,1"},
		{"serve", "--db", "postgres://x@127.0.0.1/db", "--data", "/tmp/x"},
		{"serve", "--no-region", "--data", "/tmp/x"},
		{"serve", "--db", "postgres://x@127.0.0.1/db", "--no-region", "--region", "A@1,1"},
		{"serve", "--region", "A@1"},
		{"user", "list", "--db", "postgres://x@127.0.0.1/db", "--data", "/tmp/x"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d (stderr %q), want 2", args, code, errb.String())
		}
	}
}

func TestUserDB(t *testing.T) {
	userEnv(t, "")
	dsn := pgtest.Database(t, "")
	userMustRun(t, "user", "create", "--db", dsn, "--first", "Test", "--last", "User", "--password", "hunter2")
	r := userMustRun(t, "user", "list", "--db", dsn)
	if !strings.Contains(r.out, "Test User ") {
		t.Errorf("list printed:\n%s", r.out)
	}
	userMustRun(t, "user", "create-bots", "3", "--db", dsn, "--password", "b")
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if l, err := st.Accounts().List(t.Context()); err != nil || len(l) != 4 {
		t.Errorf("accounts in the database: %d, %v", len(l), err)
	}
	userWantExit(t, 1, "", "user", "list", "--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
}

// proc is a ritual command running as its own process.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// waitLine returns the first submatch of re in the process's output.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("%v ended before printing %v", p.cmd.Args, re)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m[len(m)-1]
			}
		case <-timeout:
			t.Fatalf("%v printed no %v within 30 s", p.cmd.Args, re)
		}
	}
}

// TestRegionProcesses runs a grid as separate processes sharing one
// PostgreSQL database: a login service (ritual serve --no-region) and two
// regions (ritual region). The client logs in to each by its uri: start;
// one region is killed (SIGKILL: no goodbye), the map forgets it after its
// heartbeats stop, and logins there fail naming it while the other region
// goes on.
func TestRegionProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ritual binary")
	}
	dsn := pgtest.Database(t, "")
	bin := filepath.Join(t.TempDir(), "ritual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	userEnv(t, "")
	userMustRun(t, "user", "create", "--db", dsn, "--first", "Grid", "--last", "Walker", "--password", "secret")

	beat := []string{"--heartbeat", "100ms", "--heartbeat-timeout", "500ms", "--log-level", "warn"}
	lg := startProc(t, bin, append([]string{"serve", "--db", dsn, "--no-region", "--listen", "127.0.0.1:0"}, beat...)...)
	uri := lg.waitLine(t, regexp.MustCompile(`login URI (\S+)`))
	north := startProc(t, bin, append([]string{"region", "--db", dsn, "--name", "North", "--location", "1000,1001"}, beat...)...)
	north.waitLine(t, regexp.MustCompile(`capabilities on`))
	south := startProc(t, bin, append([]string{"region", "--db", dsn, "--name", "South", "--location", "1000,1000"}, beat...)...)
	south.waitLine(t, regexp.MustCompile(`capabilities on`))

	loginAt := func(start string) (*client.Session, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		s, err := client.Login(ctx, client.Config{LoginURI: uri, First: "Grid", Last: "Walker", Password: "secret", Start: start, Logger: quietLogger()})
		if err != nil {
			return nil, err
		}
		if err := s.WaitRitual(ctx); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	for _, name := range []string{"North", "South"} {
		s, err := loginAt("uri:" + name + "&128&128&30")
		if err != nil {
			t.Fatalf("login to %s: %v", name, err)
		}
		if s.Region().Name != name {
			t.Errorf("uri:%s landed in %q", name, s.Region().Name)
		}
		s.Logout(t.Context())
		s.Close()
	}

	north.cmd.Process.Signal(syscall.SIGKILL)
	north.cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := loginAt("uri:North&128&128&30")
		if f, ok := errors.AsType[*login.Failure](err); ok && strings.Contains(f.Message, `"North"`) && strings.Contains(f.Message, "not running") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after North was killed, a login there gives %v; want a failure saying North is not running", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s, err := loginAt("uri:South&128&128&30"); err != nil {
		t.Errorf("South after North was killed: %v", err)
	} else {
		s.Close()
	}
	// A clean stop: SIGINT, and South leaves the map at once.
	south.cmd.Process.Signal(os.Interrupt)
	if err := south.cmd.Wait(); err != nil {
		t.Errorf("ritual region after SIGINT: %v", err)
	}
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if hosts, err := st.Hosts().List(t.Context()); err != nil || len(hosts) != 0 {
		t.Errorf("map after South's clean stop and North's sweep: %+v, %v", hosts, err)
	}
}

func TestConnectStart(t *testing.T) {
	srv := startGrid(t)
	base := []string{"--login-uri", srv.LoginURI(), "--first", "Test", "--last", "User", "--password", "secret", "--timeout", "20s"}
	code, out, _ := connect(append(base, "--start", "uri:Nowhere&1&2&3")...)
	if code != 1 || !strings.Contains(out, `no region named \"Nowhere\"`) && !strings.Contains(out, `no region named "Nowhere"`) {
		t.Errorf("connect to a region that does not exist: exit %d\n%s", code, out)
	}
	code, out, _ = connect(append(base, "--start", "uri:Ritual&30&40&50")...)
	if code != 0 {
		t.Errorf("connect to uri:Ritual: exit %d\n%s", code, out)
	}
}
