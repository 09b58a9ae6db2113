package gridtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"ritual/account"
	"ritual/circuit"
	"ritual/grid"
	"ritual/store"
	"ritual/store/sqlite"
	"ritual/trace"
)

// The account Start creates when no Account option is given.
const (
	DefaultFirst    = "Test"
	DefaultLast     = "User"
	DefaultPassword = "password"
)

// CheapKDF is the password-hash cost of the accounts gridtest creates:
// the least argon2id allows, so that tests hash and log in quickly. It
// protects nothing.
var CheapKDF = account.Params{Memory: 8, Time: 1, Threads: 1}

// StopTimeout bounds how long Stop waits for the grid's agents to leave.
const StopTimeout = 10 * time.Second

// Account is an account of a test grid with its password in the clear.
type Account struct {
	store.Account
	Password string
}

// Grid is a running test grid.
type Grid struct {
	// Server is the grid itself: its region, capabilities, login service
	// and store.
	Server *grid.Server
	// LoginURI is where clients log in.
	LoginURI string
	// Accounts are the accounts created at start, in the order of the
	// options (or the default account alone).
	Accounts []Account
	// Store is the grid's storage; Stop closes it after the grid.
	Store store.Store

	tb   testing.TB
	kdf  account.Params
	once sync.Once
}

// Option changes how Start builds the grid.
type Option func(*settings)

type settings struct {
	cfg      grid.Config
	accounts [][3]string
	kdf      account.Params
	prepare  []func(testing.TB, store.Store)
}

// WithAccount has Start create the account first last with password. Give
// it once per account; without any, Start creates Test User with the
// password "password".
func WithAccount(first, last, password string) Option {
	return func(s *settings) { s.accounts = append(s.accounts, [3]string{first, last, password}) }
}

// WithRecorder records the grid's trace events in rec.
func WithRecorder(rec trace.Recorder) Option {
	return func(s *settings) { s.cfg.Recorder = rec }
}

// WithLogger has the grid log to l (by default its log is discarded).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.cfg.Logger = l }
}

// WithPacketConn has the region serve UDP on pc (an in-memory network's
// endpoint, say) instead of a loopback socket; the grid closes it.
func WithPacketConn(pc net.PacketConn) Option {
	return func(s *settings) { s.cfg.PacketConn = pc }
}

// WithCircuit tunes every agent's circuit.
func WithCircuit(cc circuit.Config) Option {
	return func(s *settings) { s.cfg.Circuit = cc }
}

// WithKDF sets the password-hash cost of the accounts (default CheapKDF).
func WithKDF(p account.Params) Option {
	return func(s *settings) { s.kdf = p }
}

// WithStore runs prepare on the store before the grid starts, as a test
// that wants a region with a particular scene or terrain needs: the grid
// then finds the region in place rather than creating its own.
func WithStore(prepare func(tb testing.TB, st store.Store)) Option {
	return func(s *settings) { s.prepare = append(s.prepare, prepare) }
}

// WithConfig changes any other setting of the grid's configuration
// (EQTimeout, throttles, a region name, ...). The store is always Start's;
// the listen address may be changed, but stay on loopback.
func WithConfig(change func(*grid.Config)) Option {
	return func(s *settings) { change(&s.cfg) }
}

// Start starts a grid on 127.0.0.1:0 with a fresh store in tb.TempDir and
// the accounts the options name, and stops it at the end of the test. It
// fails the test if anything goes wrong.
func Start(tb testing.TB, opts ...Option) *Grid {
	tb.Helper()
	s := settings{
		cfg: grid.Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		kdf: CheapKDF,
	}
	for _, o := range opts {
		o(&s)
	}
	if len(s.accounts) == 0 {
		s.accounts = [][3]string{{DefaultFirst, DefaultLast, DefaultPassword}}
	}
	ctx := context.Background()
	st, err := sqlite.OpenContext(ctx, tb.TempDir())
	if err != nil {
		if s.cfg.PacketConn != nil {
			s.cfg.PacketConn.Close()
		}
		tb.Fatalf("gridtest: opening the store: %v", err)
	}
	for _, prepare := range s.prepare {
		prepare(tb, st)
	}
	s.cfg.Store = st
	srv, err := grid.Start(ctx, s.cfg)
	if err != nil {
		st.Close()
		tb.Fatalf("gridtest: starting the grid: %v", err)
	}
	g := &Grid{Server: srv, LoginURI: srv.LoginURI(), Store: st, tb: tb, kdf: s.kdf}
	tb.Cleanup(g.Stop)
	for _, a := range s.accounts {
		g.Accounts = append(g.Accounts, g.AddAccount(a[0], a[1], a[2]))
	}
	return g
}

// AddAccount creates one more account and returns it, failing the test
// (Fatal) if it cannot; call it from the test's goroutine, and
// CreateAccount from others.
func (g *Grid) AddAccount(first, last, password string) Account {
	g.tb.Helper()
	a, err := g.CreateAccount(first, last, password)
	if err != nil {
		g.tb.Fatal(err)
	}
	return a
}

// CreateAccount creates one more account and returns it, or the error:
// for a test that expects it to fail, or that creates accounts from other
// goroutines (where Fatal must not be called).
func (g *Grid) CreateAccount(first, last, password string) (Account, error) {
	h, err := account.Hash(password, g.kdf)
	if err != nil {
		return Account{}, err
	}
	a := Account{Account: store.Account{First: first, Last: last, PasswordHash: h}, Password: password}
	if err := g.Store.Accounts().Create(context.Background(), &a.Account); err != nil {
		return Account{}, err
	}
	return a, nil
}

// Stop closes the grid (telling every agent it is being disconnected and
// waiting up to StopTimeout for them) and then its store, reporting
// failures, and a grid that stopped serving on its own, as test errors.
// It runs once, however often it is called; Start arranges a call at the
// end of the test.
func (g *Grid) Stop() {
	g.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		if err := g.Server.Close(ctx); err != nil {
			g.tb.Errorf("gridtest: closing the grid: %v", err)
		}
		if err := g.Server.Err(); err != nil {
			g.tb.Errorf("gridtest: the grid stopped serving: %v", err)
		}
		if err := g.Store.Close(); err != nil {
			g.tb.Errorf("gridtest: closing the store: %v", err)
		}
	})
}
