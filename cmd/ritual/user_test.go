package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ritual/account"
	"ritual/store"
	"ritual/store/sqlite"
)

// userEnv makes the user command testable: cheap hashing, no terminal,
// standard input from stdin, no password in the environment. The seams are
// package variables, so these tests do not run in parallel.
func userEnv(t *testing.T, stdin string) {
	t.Helper()
	oldIn, oldTerm, oldParams := userStdin, userStdinIsTerminal, userHashParams
	t.Cleanup(func() { userStdin, userStdinIsTerminal, userHashParams = oldIn, oldTerm, oldParams })
	userStdin = strings.NewReader(stdin)
	userStdinIsTerminal = func() bool { return false }
	userHashParams = account.Params{Memory: 64, Time: 1, Threads: 1}
	t.Setenv(passwordEnv, "")
}

type userResult struct {
	code        int
	out, errout string
}

func userRun(args ...string) userResult {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return userResult{code, out.String(), errb.String()}
}

func (r userResult) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.errout)
}

func userMustRun(t *testing.T, args ...string) userResult {
	t.Helper()
	r := userRun(args...)
	if r.code != 0 {
		t.Fatalf("ritual %s: %v", strings.Join(args, " "), r)
	}
	return r
}

func userWantExit(t *testing.T, code int, errText string, args ...string) userResult {
	t.Helper()
	r := userRun(args...)
	if r.code != code || !strings.Contains(r.errout, errText) {
		t.Errorf("ritual %s: %v\nwant exit %d and stderr containing %q", strings.Join(args, " "), r, code, errText)
	}
	return r
}

// userAccountIn reads an account back from the data directory.
func userAccountIn(t *testing.T, dir, first, last string) (store.Account, error) {
	t.Helper()
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.Accounts().ByName(context.Background(), first, last)
}

func userVerifies(t *testing.T, a store.Account, pw string) bool {
	t.Helper()
	ok, err := account.Verify(a.PasswordHash, account.ViewerForm(pw))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestUserLifecycle(t *testing.T) {
	userEnv(t, "")
	dir := t.TempDir()

	r := userMustRun(t, "user", "create", "--data", dir, "--first", "Test", "--last", "User", "--password", "hunter2")
	a, err := userAccountIn(t, dir, "test", "user")
	if err != nil {
		t.Fatal(err)
	}
	if r.out != "created Test User "+a.ID.String()+"\n" {
		t.Errorf("create printed %q", r.out)
	}
	if !userVerifies(t, a, "hunter2") || userVerifies(t, a, "hunter3") {
		t.Error("stored password does not verify as expected")
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Error(err)
	}
	// The root folder and Current Outfit came with it.
	s, _ := sqlite.Open(dir)
	sk, err := s.Inventory().Skeleton(context.Background(), a.ID)
	s.Close()
	if err != nil || len(sk) != len(store.DefaultSkeleton(a.ID)) {
		t.Errorf("inventory of the new account: %d folders, %v", len(sk), err)
	}

	userWantExit(t, 1, "account test user already exists", "user", "create", "--data", dir, "--first", "test", "--last", "user", "--password", "x")

	userMustRun(t, "user", "create", "-data", dir, "-first", "alpha", "-last", "Zed", "-password", "pw")
	r = userMustRun(t, "user", "list", "--data", dir)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "alpha Zed ") || !strings.HasPrefix(lines[2], "Test User ") {
		t.Errorf("list printed:\n%s", r.out)
	}
	if !strings.Contains(lines[2], a.ID.String()) || !strings.Contains(lines[2], a.Created.Format("2006-01-02T")) {
		t.Errorf("list line %q lacks the id or the date", lines[2])
	}

	r = userMustRun(t, "user", "passwd", "--data", dir, "--first", "TEST", "--last", "USER", "--password", "correct horse")
	if !strings.Contains(r.out, "changed the password of Test User") {
		t.Errorf("passwd printed %q", r.out)
	}
	a, _ = userAccountIn(t, dir, "Test", "User")
	if !userVerifies(t, a, "correct horse") || userVerifies(t, a, "hunter2") {
		t.Error("passwd did not replace the password")
	}
	userWantExit(t, 1, "no account No Body", "user", "passwd", "--data", dir, "--first", "No", "--last", "Body", "--password", "x")

	r = userMustRun(t, "user", "delete", "--data", dir, "--first", "test", "--last", "user")
	if r.out != "deleted Test User "+a.ID.String()+"\n" {
		t.Errorf("delete printed %q", r.out)
	}
	if _, err := userAccountIn(t, dir, "Test", "User"); err == nil {
		t.Error("account still there after delete")
	}
	userWantExit(t, 1, "no account test user", "user", "delete", "--data", dir, "--first", "test", "--last", "user")
	r = userMustRun(t, "user", "list", "--data", dir)
	if strings.Contains(r.out, "Test User") || !strings.Contains(r.out, "alpha Zed") {
		t.Errorf("list after delete:\n%s", r.out)
	}
}

func TestUserUsageErrors(t *testing.T) {
	userEnv(t, "")
	dir := t.TempDir()
	userWantExit(t, 2, "usage: ritual user", "user")
	userWantExit(t, 0, "create-bots", "user", "help")
	userWantExit(t, 2, `unknown command "frobnicate"`, "user", "frobnicate")
	userWantExit(t, 2, "--first and --last are required", "user", "create", "--data", dir, "--last", "User", "--password", "x")
	userWantExit(t, 2, "--first and --last are required", "user", "delete", "--data", dir)
	userWantExit(t, 2, "--first and --last are required", "user", "create", "--data", dir, "--first", "", "--last", "User")
	userWantExit(t, 2, "character ' ' at offset 3", "user", "create", "--data", dir, "--first", "Two Words", "--last", "User", "--password", "x")
	userWantExit(t, 2, "32 characters long", "user", "passwd", "--data", dir, "--first", strings.Repeat("a", 32), "--last", "User")
	userWantExit(t, 2, "flag provided but not defined: -nope", "user", "list", "--nope")
	userWantExit(t, 2, `unexpected argument "extra"`, "user", "list", "--data", dir, "extra")
	userWantExit(t, 2, "empty password", "user", "create", "--data", dir, "--first", "A", "--last", "B", "--password", "")
	userWantExit(t, 2, "no password", "user", "create", "--data", dir, "--first", "A", "--last", "B")
	userWantExit(t, 0, "-first", "user", "create", "-h")
	// None of that created anything.
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err == nil {
		t.Error("usage errors created a database")
	}
	// Commands that read need existing data.
	empty := filepath.Join(dir, "empty")
	userWantExit(t, 1, "no Ritual data there", "user", "list", "--data", empty)
	userWantExit(t, 1, "no Ritual data there", "user", "delete", "--data", empty, "--first", "A", "--last", "B")
	if _, err := os.Stat(empty); err == nil {
		t.Error("list created the data directory")
	}
}

func TestUserPasswordSources(t *testing.T) {
	dir := t.TempDir()
	check := func(first, pw string) {
		t.Helper()
		a, err := userAccountIn(t, dir, first, "User")
		if err != nil {
			t.Fatal(err)
		}
		if !userVerifies(t, a, pw) {
			t.Errorf("%s User: password %q does not verify", first, pw)
		}
	}

	// Standard input, one line, CRLF tolerated, no prompt when not a terminal.
	userEnv(t, "from stdin\r\nsecond line ignored\n")
	r := userMustRun(t, "user", "create", "--data", dir, "--first", "Stdin", "--last", "User")
	if r.errout != "" {
		t.Errorf("stderr %q, want nothing (not a terminal)", r.errout)
	}
	check("Stdin", "from stdin")

	// A terminal gets a prompt on stderr; a last line without newline works.
	userEnv(t, "typed")
	userStdinIsTerminal = func() bool { return true }
	r = userMustRun(t, "user", "create", "--data", dir, "--first", "Term", "--last", "User")
	if !strings.Contains(r.errout, "Password for Term User") || strings.Contains(r.out, "Password") {
		t.Errorf("prompt: stdout %q, stderr %q", r.out, r.errout)
	}
	check("Term", "typed")

	// The environment beats standard input; the flag beats both.
	userEnv(t, "not this\n")
	t.Setenv(passwordEnv, "from env")
	userMustRun(t, "user", "create", "--data", dir, "--first", "Env", "--last", "User")
	check("Env", "from env")
	userMustRun(t, "user", "create", "--data", dir, "--first", "Flag", "--last", "User", "--password", "from flag")
	check("Flag", "from flag")

	// The viewer's MD5 form is taken as already hashed.
	userEnv(t, "")
	userMustRun(t, "user", "create", "--data", dir, "--first", "Md5", "--last", "User", "--password", account.ViewerForm("plain"))
	check("Md5", "plain")

	// Longer than node-metaverse can send: stored whole, with a warning.
	r = userMustRun(t, "user", "create", "--data", dir, "--first", "Long", "--last", "User", "--password", "abcdefghijklmnopq")
	if !strings.Contains(r.errout, "more than 16 characters") {
		t.Errorf("no warning for a 17-character password: %q", r.errout)
	}
	check("Long", "abcdefghijklmnopq")
	r = userMustRun(t, "user", "create", "--data", dir, "--first", "Short", "--last", "User", "--password", "abcdefghijklmnop")
	if r.errout != "" {
		t.Errorf("warning for a 16-character password: %q", r.errout)
	}

	// An overlong line is refused, not read without end.
	userEnv(t, strings.Repeat("x", 5000))
	userWantExit(t, 2, "longer than 1024 bytes", "user", "create", "--data", dir, "--first", "Huge", "--last", "User")
	userEnv(t, "\n")
	userWantExit(t, 2, "no password", "user", "create", "--data", dir, "--first", "Blank", "--last", "User")
}

type userFailingReader struct{}

func (userFailingReader) Read([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestUserPasswordReadError(t *testing.T) {
	userEnv(t, "")
	userStdin = userFailingReader{}
	userWantExit(t, 1, "reading a password from standard input", "user", "create", "--data", t.TempDir(), "--first", "A", "--last", "B")
}

func TestUserCreateBots(t *testing.T) {
	userEnv(t, "")
	dir := t.TempDir()
	r := userMustRun(t, "user", "create-bots", "5", "--data", dir, "--prefix", "Load", "--password", "botpw")
	if !strings.HasPrefix(r.out, "created 5 bots (Load1 Bot .. Load5 Bot)") {
		t.Errorf("create-bots printed %q", r.out)
	}
	s, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := s.Accounts().List(context.Background())
	s.Close()
	if len(list) != 5 {
		t.Fatalf("%d accounts, want 5", len(list))
	}
	hashes := map[string]bool{}
	for i, a := range list {
		if want := fmt.Sprintf("Load%d Bot", i+1); a.Name() != want {
			t.Errorf("account %d is %q, want %q", i, a.Name(), want)
		}
		if !userVerifies(t, a, "botpw") {
			t.Errorf("%s: password does not verify", a.Name())
		}
		if hashes[a.PasswordHash] {
			t.Errorf("%s shares a salted hash with another bot", a.Name())
		}
		hashes[a.PasswordHash] = true
	}

	// Again: they exist, and nothing is created.
	userWantExit(t, 1, "5 of the bots already exist (first Load1 Bot); nothing created", "user", "create-bots", "7", "--data", dir, "--password", "botpw")
	if _, err := userAccountIn(t, dir, "Load6", "Bot"); err == nil {
		t.Error("a failed create-bots created Load6")
	}
	// N after the flags, skipping the existing ones.
	r = userMustRun(t, "user", "create-bots", "--data", dir, "--password", "botpw", "--skip-existing", "7")
	if !strings.Contains(r.out, "created 2 bots") || !strings.Contains(r.out, "5 already existed") {
		t.Errorf("create-bots --skip-existing printed %q", r.out)
	}
	if _, err := userAccountIn(t, dir, "load7", "bot"); err != nil {
		t.Error(err)
	}
	r = userMustRun(t, "user", "create-bots", "3", "--data", dir, "--password", "botpw", "--skip-existing")
	if r.out != "all 3 bots already exist\n" {
		t.Errorf("create-bots with nothing to do printed %q", r.out)
	}
	// Another prefix and last name, password from standard input.
	userEnv(t, "stdinpw\n")
	userMustRun(t, "user", "create-bots", "2", "--data", dir, "--prefix", "Crowd", "--last", "Member")
	if a, err := userAccountIn(t, dir, "Crowd2", "Member"); err != nil || !userVerifies(t, a, "stdinpw") {
		t.Errorf("Crowd2 Member: %v", err)
	}

	userEnv(t, "")
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{}, "how many bots?"},
		{[]string{"x"}, `N = "x"`},
		{[]string{"0"}, `N = "0"`},
		{[]string{"--", "-3"}, `N = "-3"`},
		{[]string{"100001"}, `N = "100001"`},
		{[]string{"3", "4"}, `unexpected argument "4"`},
		{[]string{"--prefix", "Bad Prefix", "3"}, "not allowed"},
		{[]string{"10", "--prefix", strings.Repeat("p", 30)}, "32 characters long"},
		{[]string{"3", "--password", ""}, "empty password"},
	} {
		args := append([]string{"user", "create-bots", "--data", dir}, c.args...)
		if len(c.args) > 0 && !strings.HasPrefix(c.args[0], "-") {
			args = append([]string{"user", "create-bots", c.args[0], "--data", dir}, c.args[1:]...)
		}
		userWantExit(t, 2, c.err, args...)
	}
}

func TestDefaultDataDir(t *testing.T) {
	userEnv(t, "")
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	d, err := defaultDataDir()
	if err != nil || d != filepath.Join(xdg, "ritual") {
		t.Errorf("defaultDataDir = %q, %v", d, err)
	}
	// Without --data the commands use it.
	userMustRun(t, "user", "create", "--first", "Default", "--last", "Dir", "--password", "x")
	if _, err := userAccountIn(t, filepath.Join(xdg, "ritual"), "Default", "Dir"); err != nil {
		t.Error(err)
	}
	if r := userMustRun(t, "user", "list"); !strings.Contains(r.out, "Default Dir") {
		t.Errorf("list without --data:\n%s", r.out)
	}

	// A relative XDG_DATA_HOME is ignored, as the XDG spec says.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "relative/path")
	d, err = defaultDataDir()
	if err != nil || d != filepath.Join(home, ".local", "share", "ritual") {
		t.Errorf("defaultDataDir = %q, %v", d, err)
	}
	t.Setenv("XDG_DATA_HOME", "")
	if d2, _ := defaultDataDir(); d2 != d {
		t.Errorf("defaultDataDir without XDG_DATA_HOME = %q, want %q", d2, d)
	}
}

func TestUsageListsUser(t *testing.T) {
	r := userRun("help")
	if !strings.Contains(r.errout, "user") {
		t.Errorf("usage lacks user: %q", r.errout)
	}
}

func TestDefaultDataDirHint(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	if got := defaultDataDirHint(); got != filepath.Join(xdg, "ritual") {
		t.Errorf("hint = %q", got)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "")
	if got := defaultDataDirHint(); !strings.Contains(got, "~/.local/share/ritual") {
		t.Errorf("hint without a home = %q", got)
	}
}
