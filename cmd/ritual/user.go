package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"ritual/account"
	"ritual/store"
	"ritual/store/sqlite"
)

func init() {
	register("user", "manage accounts: create, list, delete, passwd, create-bots", runUser)
}

// Seams for tests: where a password is read from when neither --password
// nor RITUAL_PASSWORD gives one, whether to prompt there, and the hashing
// costs.
var (
	userStdin           io.Reader = os.Stdin
	userStdinIsTerminal           = func() bool {
		fi, err := os.Stdin.Stat()
		return err == nil && fi.Mode()&os.ModeCharDevice != 0
	}
	userHashParams = account.DefaultParams
)

// passwordEnv names the environment variable a password may come from.
const passwordEnv = "RITUAL_PASSWORD"

// maxPasswordLine bounds a password read from standard input.
const maxPasswordLine = 1024

// maxBots bounds `ritual user create-bots N`.
const maxBots = 100000

// defaultDataDir is where Ritual keeps its data when --data is not given:
// $XDG_DATA_HOME/ritual if XDG_DATA_HOME is an absolute path, else
// ~/.local/share/ritual.
func defaultDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "ritual"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --data directory given and no home directory to default to: %w", err)
	}
	return filepath.Join(home, ".local", "share", "ritual"), nil
}

// defaultDataDirHint names the default data directory for help texts: the
// path defaultDataDir resolves to, or the rule when it cannot resolve one.
func defaultDataDirHint() string {
	if d, err := defaultDataDir(); err == nil {
		return d
	}
	return "$XDG_DATA_HOME/ritual or ~/.local/share/ritual"
}

// errNoData reports a data directory without a database.
var errNoData = errors.New("no Ritual data there")

// openDataStore opens the store in the data directory dir ("" meaning
// defaultDataDir). With create false a directory without a database is an
// error wrapping errNoData instead of being initialised.
func openDataStore(dir string, create bool) (*sqlite.Store, error) {
	if dir == "" {
		d, err := defaultDataDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if !create {
		if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
			return nil, fmt.Errorf("%s: %w (no %s): create an account first", dir, errNoData, sqlite.FileName)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return sqlite.Open(dir)
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func userUsage(w io.Writer) {
	fmt.Fprint(w, `usage: ritual user <command> [flags]

  create      --first F --last L [--password P] [--data DIR | --db URL]
  list        [--data DIR | --db URL]
  delete      --first F --last L [--data DIR | --db URL]
  passwd      --first F --last L [--password P] [--data DIR | --db URL]
  create-bots N [--prefix NAME] [--last L] [--password P] [--skip-existing] [--data DIR | --db URL]
              creates NAME1 L .. NAMEN L (default Load1 Bot ..) in one transaction

--data DIR is the SQLite database of a grid run with ritual serve --data;
--db postgres://user@host/database the PostgreSQL one of ritual serve --db.

The password comes from --password, else $RITUAL_PASSWORD, else one line of
standard input (prompted for on a terminal; the input is not hidden). A value
"$1$" followed by 32 hex digits is taken as the MD5 form viewers send.
node-metaverse sends only the first 16 characters of a password, so longer
ones cannot log in from it.

Names are 1-31 letters, digits, '-', '_' or '.'; they are matched ignoring case.
Exit status: 0 done, 1 failed, 2 bad command line.
`)
}

func runUser(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		userUsage(stderr)
		return 2
	}
	sub, rest := args[0], args[1:]
	var run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	switch sub {
	case "-h", "--help", "help":
		userUsage(stderr)
		return 0
	case "create":
		run = userCreate
	case "list":
		run = userList
	case "delete":
		run = userDelete
	case "passwd":
		run = userPasswd
	case "create-bots":
		run = userCreateBots
	default:
		fmt.Fprintf(stderr, "ritual user: unknown command %q\n\n", sub)
		userUsage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, rest, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ritual user %s: %v\n", sub, err)
		return 2
	default:
		fmt.Fprintf(stderr, "ritual user %s: %v\n", sub, err)
		return 1
	}
}

// userFlags holds the flags the subcommands share.
type userFlags struct {
	fs       *flag.FlagSet
	data     string
	db       string
	first    string
	last     string
	password string
}

func newUserFlags(name string, stderr io.Writer, names, password bool) *userFlags {
	f := &userFlags{fs: flag.NewFlagSet("ritual user "+name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.data, "data", "", "data directory (default "+defaultDataDirHint()+")")
	f.fs.StringVar(&f.db, "db", "", "PostgreSQL database (postgres://user@host/db) instead of the data directory")
	if names {
		f.fs.StringVar(&f.first, "first", "", "first name")
		f.fs.StringVar(&f.last, "last", "", "last name")
	}
	if password {
		f.fs.StringVar(&f.password, "password", "", "password (else $"+passwordEnv+", else standard input)")
	}
	return f
}

// open opens the accounts' store: the PostgreSQL database of --db, else
// the SQLite database in --data.
func (f *userFlags) open(ctx context.Context, create bool) (store.Store, error) {
	if f.db != "" {
		if f.data != "" {
			return nil, usagef("--db and --data exclude each other")
		}
		return openDB(ctx, f.db)
	}
	return openDataStore(f.data, create)
}

// parse parses args and rejects stray positional arguments.
func (f *userFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if f.fs.NArg() > 0 {
		return usagef("unexpected argument %q", f.fs.Arg(0))
	}
	return nil
}

// names checks --first and --last.
func (f *userFlags) names() error {
	if f.first == "" || f.last == "" {
		return usagef("--first and --last are required")
	}
	if err := account.ValidateName(f.first, f.last); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// readPassword returns the password from --password, RITUAL_PASSWORD or a
// line of standard input, and warns about lengths node-metaverse cannot
// send.
func (f *userFlags) readPassword(who string, stderr io.Writer) (string, error) {
	pw, err := f.passwordSource(who, stderr)
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", usagef("empty password")
	}
	viewerForm := strings.HasPrefix(pw, "$1$") && account.PasswordForm(pw) == strings.ToLower(pw[3:])
	if !viewerForm && utf8.RuneCountInString(pw) > 16 {
		fmt.Fprintf(stderr, "warning: the password has more than 16 characters; node-metaverse clients send only the first 16 and cannot log in with it\n")
	}
	return pw, nil
}

func (f *userFlags) passwordSource(who string, stderr io.Writer) (string, error) {
	passwordSet := false
	f.fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "password" {
			passwordSet = true
		}
	})
	if passwordSet {
		return f.password, nil
	}
	if pw := os.Getenv(passwordEnv); pw != "" {
		return pw, nil
	}
	if userStdinIsTerminal() {
		fmt.Fprintf(stderr, "Password for %s (shown as typed): ", who)
	}
	r := bufio.NewReader(io.LimitReader(userStdin, maxPasswordLine+2))
	line, err := r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading a password from standard input: %w", err)
	}
	if len(line) > maxPasswordLine && !strings.HasSuffix(line, "\n") {
		return "", usagef("password line on standard input is longer than %d bytes", maxPasswordLine)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("no password: give --password, set $%s or write it to standard input", passwordEnv)
	}
	return line, nil
}

func userCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newUserFlags("create", stderr, true, true)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.names(); err != nil {
		return err
	}
	pw, err := f.readPassword(f.first+" "+f.last, stderr)
	if err != nil {
		return err
	}
	st, err := f.open(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Accounts().ByName(ctx, f.first, f.last); err == nil {
		return fmt.Errorf("account %s %s already exists", f.first, f.last)
	}
	h, err := account.Hash(pw, userHashParams)
	if err != nil {
		return err
	}
	a := &store.Account{First: f.first, Last: f.last, PasswordHash: h}
	if err := st.Accounts().Create(ctx, a); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("account %s %s already exists", f.first, f.last)
		}
		return err
	}
	fmt.Fprintf(stdout, "created %s %s\n", a.Name(), a.ID)
	return nil
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newUserFlags("list", stderr, false, false)
	if err := f.parse(args); err != nil {
		return err
	}
	st, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Accounts().List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tCREATED")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name(), a.ID, a.Created.Format(time.RFC3339))
	}
	return tw.Flush()
}

// lookUp finds the account named by --first and --last.
func lookUp(ctx context.Context, st store.Store, f *userFlags) (store.Account, error) {
	a, err := st.Accounts().ByName(ctx, f.first, f.last)
	if errors.Is(err, store.ErrNotFound) {
		return a, fmt.Errorf("no account %s %s", f.first, f.last)
	}
	return a, err
}

func userDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newUserFlags("delete", stderr, true, false)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.names(); err != nil {
		return err
	}
	st, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := lookUp(ctx, st, f)
	if err != nil {
		return err
	}
	if err := st.Accounts().Delete(ctx, a.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted %s %s\n", a.Name(), a.ID)
	return nil
}

func userPasswd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newUserFlags("passwd", stderr, true, true)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.names(); err != nil {
		return err
	}
	st, err := f.open(ctx, false)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := lookUp(ctx, st, f)
	if err != nil {
		return err
	}
	pw, err := f.readPassword(a.Name(), stderr)
	if err != nil {
		return err
	}
	h, err := account.Hash(pw, userHashParams)
	if err != nil {
		return err
	}
	if err := st.Accounts().SetPassword(ctx, a.ID, h); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "changed the password of %s %s\n", a.Name(), a.ID)
	return nil
}

func userCreateBots(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// N may come before or after the flags.
	var nArg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		nArg, args = args[0], args[1:]
	}
	f := newUserFlags("create-bots", stderr, false, true)
	prefix := f.fs.String("prefix", "Load", "first name prefix: bots are PREFIX1 .. PREFIXN")
	f.fs.StringVar(&f.last, "last", "Bot", "last name of every bot")
	skip := f.fs.Bool("skip-existing", false, "leave bots that already exist alone instead of failing")
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	switch {
	case nArg == "" && f.fs.NArg() > 0:
		nArg = f.fs.Arg(0)
		if f.fs.NArg() > 1 {
			return usagef("unexpected argument %q", f.fs.Arg(1))
		}
	case f.fs.NArg() > 0:
		return usagef("unexpected argument %q", f.fs.Arg(0))
	case nArg == "":
		return usagef("how many bots? give N, as in: ritual user create-bots 2000")
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 1 || n > maxBots {
		return usagef("N = %q: want a number from 1 to %d", nArg, maxBots)
	}
	// The longest name decides whether all fit.
	if err := account.ValidateName(*prefix+strconv.Itoa(n), f.last); err != nil {
		return usageError{err.Error()}
	}
	pw, err := f.readPassword("the bots", stderr)
	if err != nil {
		return err
	}
	st, err := f.open(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()

	start := time.Now()
	var todo []*store.Account
	var existing []string
	for i := 1; i <= n; i++ {
		first := *prefix + strconv.Itoa(i)
		_, err := st.Accounts().ByName(ctx, first, f.last)
		switch {
		case err == nil:
			existing = append(existing, first+" "+f.last)
			continue
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		todo = append(todo, &store.Account{First: first, Last: f.last})
	}
	if len(existing) > 0 && !*skip {
		return fmt.Errorf("%d of the bots already exist (first %s); nothing created (use --skip-existing to add the others)", len(existing), existing[0])
	}
	if err := hashAll(ctx, todo, pw); err != nil {
		return err
	}
	if err := st.Accounts().Create(ctx, todo...); err != nil {
		return err
	}
	switch {
	case len(todo) == 0:
		fmt.Fprintf(stdout, "all %d bots already exist\n", n)
	default:
		fmt.Fprintf(stdout, "created %d bots (%s%d %s .. %s%d %s)", len(todo), *prefix, 1, f.last, *prefix, n, f.last)
		if len(existing) > 0 {
			fmt.Fprintf(stdout, ", %d already existed", len(existing))
		}
		fmt.Fprintf(stdout, " in %v\n", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// hashAll sets PasswordHash of every account to a hash of pw, each with its
// own salt, hashing on GOMAXPROCS goroutines.
func hashAll(ctx context.Context, accts []*store.Account, pw string) error {
	work := make(chan *store.Account)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range min(runtime.GOMAXPROCS(0), max(len(accts), 1)) {
		wg.Go(func() {
			for a := range work {
				h, err := account.Hash(pw, userHashParams)
				if err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				a.PasswordHash = h
			}
		})
	}
	var err error
feed:
	for _, a := range accts {
		select {
		case work <- a:
		case <-ctx.Done():
			err = fmt.Errorf("interrupted while hashing passwords; nothing created: %w", ctx.Err())
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	return firstErr
}
