package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A test binary run without RITUAL_TEST_POSTGRES (go test ./store/postgres
// by hand) starts a throwaway cluster of its own, as scripts/with-postgres
// does, when the PostgreSQL server programs are installed; Main stops it.

var (
	// mainRuns is set by Main, which stops what own starts.
	mainRuns bool

	ownOnce sync.Once
	ownDSN  string
	ownErr  error
	ownStop func()
)

// Main runs the tests of a package that uses this one and stops the
// cluster they may have started. Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	mainRuns = true
	code := m.Run()
	if ownStop != nil {
		ownStop()
	}
	return code
}

// own returns the DSN of the cluster this test binary started, starting it
// on first use.
func own() (string, error) {
	ownOnce.Do(func() { ownDSN, ownStop, ownErr = startCluster() })
	return ownDSN, ownErr
}

// binDir finds initdb and pg_ctl: Debian's /usr/lib/postgresql/N/bin
// (the newest), else PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found (install Debian's postgresql package)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// startCluster makes a cluster in a temporary directory listening on a
// unix socket there only, as the "postgres" user when running as root.
func startCluster() (dsn string, stop func(), err error) {
	bin, err := binDir()
	if err != nil {
		return "", nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", nil, errors.New("running as root and there is no 'postgres' user to run the server")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Under /tmp whatever TMPDIR says: the server's user must reach it, and
	// a unix socket's path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("/tmp", "ritual-pg.")
	if err != nil {
		return "", nil, err
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	os.Chmod(dir, 0o755)
	os.Mkdir(data, 0o700)
	os.Mkdir(sock, 0o755)
	if cred != nil {
		for _, p := range []string{dir, data, sock} {
			os.Chown(p, int(cred.Uid), int(cred.Gid))
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", name, err, out)
		}
		return nil
	}
	cleanup := func() {
		run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	}
	if err := run("initdb", "-D", data, "-U", "ritual", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	opts := "-c listen_addresses= -c unix_socket_directories=" + sock +
		" -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if err := run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		cleanup()
		return "", nil, err
	}
	dsn = "postgres://ritual@/postgres?host=" + sock + "&sslmode=disable"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	c.Close(ctx)
	return dsn, cleanup, nil
}
