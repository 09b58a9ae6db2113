package login_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual/account"
	"ritual/login"
	"ritual/protocol/xmlrpc"
	"ritual/store"
)

// clock is a settable clock for the throttle tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// attempt is one login from the address remote (host:port), answered
// without the network.
func attempt(t *testing.T, h http.Handler, remote, first, last, passwd string) (*login.Response, *login.Failure) {
	t.Helper()
	body := xmlrpcLogin(t, xmlrpc.Struct{
		{Name: "first", Value: first}, {Name: "last", Value: last}, {Name: "passwd", Value: passwd},
	})
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	r, err := login.ParseResponse(rec.Header().Get("Content-Type"), rec.Body.Bytes())
	if err != nil {
		f := refusal(t, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		return nil, f
	}
	return r, nil
}

func addAccount(t *testing.T, g *grid, first, last, pw string) {
	t.Helper()
	h, err := account.Hash(pw, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.store.Accounts().Create(context.Background(), &store.Account{First: first, Last: last, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleAccount(t *testing.T) {
	clk := &clock{now: testNow}
	g := newGrid(t, fastKDF, func(c *login.Config) {
		c.Now = clk.Now
		c.AccountThrottle = login.Throttle{Burst: 3, Every: 10 * time.Second}
		c.AddressThrottle = login.Throttle{Burst: -1}
	})
	addAccount(t, g, "Other", "Person", "secret")
	const addr = "192.0.2.7:5000"
	wantKey := func(f *login.Failure, text string) {
		t.Helper()
		if f == nil || f.Reason != login.ReasonKey || !strings.Contains(f.Message, text) {
			t.Fatalf("refusal %+v, want reason key and a message with %q", f, text)
		}
	}
	for range 3 {
		_, f := attempt(t, g.srv, addr, "Test", "User", "wrong")
		wantKey(f, "not correct")
	}
	// The fourth attempt is refused before the password is looked at,
	// however right it is; the name matches ignoring case.
	_, f := attempt(t, g.srv, addr, "test", "USER", testPassword)
	wantKey(f, "Too many failed logins for this account. Please wait 10 seconds")
	// Other accounts are untouched.
	if _, f := attempt(t, g.srv, addr, "Other", "Person", "secret"); f != nil {
		t.Fatalf("another account refused: %+v", f)
	}
	// One attempt is earned back every 10 s.
	clk.Advance(4 * time.Second)
	_, f = attempt(t, g.srv, addr, "Test", "User", testPassword)
	wantKey(f, "Please wait 6 seconds")
	clk.Advance(6 * time.Second)
	_, f = attempt(t, g.srv, addr, "Test", "User", "wrong")
	wantKey(f, "not correct")
	_, f = attempt(t, g.srv, addr, "Test", "User", testPassword)
	wantKey(f, "Too many failed logins")
	clk.Advance(10 * time.Second)
	if _, f := attempt(t, g.srv, addr, "Test", "User", testPassword); f != nil {
		t.Fatalf("refused after waiting: %+v", f)
	}
	// A correct login starts the account afresh: three more failures.
	for range 3 {
		_, f := attempt(t, g.srv, addr, "Test", "User", "wrong")
		wantKey(f, "not correct")
	}
	_, f = attempt(t, g.srv, addr, "Test", "User", "wrong")
	wantKey(f, "Too many failed logins")

	c := g.srv.Counts()
	if c.OK != 2 || c.Credentials != 7 || c.ThrottledAccount != 4 || c.ThrottledAddress != 0 {
		t.Errorf("counts %+v, want 2 ok, 7 bad credentials, 4 throttled by account", c)
	}
}

func TestThrottleAddress(t *testing.T) {
	clk := &clock{now: testNow}
	g := newGrid(t, fastKDF, func(c *login.Config) {
		c.Now = clk.Now
		c.AccountThrottle = login.Throttle{Burst: -1}
		c.AddressThrottle = login.Throttle{Burst: 2, Every: time.Minute}
	})
	for _, tc := range []struct{ guesser, neighbour, stranger string }{
		{"198.51.100.1:1000", "198.51.100.1:2000", "198.51.100.2:1000"},
		{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2::ffff]:1000", "[2001:db8:1:3::1]:1000"},
		{"[::ffff:203.0.113.9]:1000", "203.0.113.9:7", "203.0.113.10:7"},
	} {
		// Guesses at many names, each failing.
		for _, name := range []string{"Alice", "Bob"} {
			if _, f := attempt(t, g.srv, tc.guesser, name, "Guess", "pw"); f == nil || f.Reason != login.ReasonKey {
				t.Fatalf("%s: guess %s: %+v", tc.guesser, name, f)
			}
		}
		// The address (any port; for IPv6 its /64) is now refused, even
		// for a name never tried and a right password.
		_, f := attempt(t, g.srv, tc.neighbour, "Test", "User", testPassword)
		if f == nil || f.Reason != login.ReasonKey || !strings.Contains(f.Message, "from your address. Please wait 60 seconds") {
			t.Fatalf("%s: %+v, want a refusal naming the address", tc.neighbour, f)
		}
		if _, f := attempt(t, g.srv, tc.stranger, "Test", "User", testPassword); f != nil {
			t.Fatalf("%s: another address refused: %+v", tc.stranger, f)
		}
	}
	// Impossible names count against the address too.
	if _, f := attempt(t, g.srv, "192.0.2.99:1", "Not A", "Name", "pw"); f == nil {
		t.Fatal("impossible name accepted")
	}
	attempt(t, g.srv, "192.0.2.99:1", "Not A", "Name", "pw")
	if _, f := attempt(t, g.srv, "192.0.2.99:1", "Test", "User", testPassword); f == nil || !strings.Contains(f.Message, "Too many failed logins") {
		t.Fatalf("after two impossible names: %+v", f)
	}
	if c := g.srv.Counts(); c.ThrottledAddress != 4 || c.OK != 3 {
		t.Errorf("counts %+v, want 4 throttled by address and 3 ok", c)
	}
}

// TestThrottleSparesCorrectLogins logs in 2,000 times from one address with
// the default throttles and a clock that never moves, with a few mistakes
// among them: correct logins take nothing from any bucket.
func TestThrottleSparesCorrectLogins(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	n := 2000
	if testing.Short() {
		n = 300
	}
	const addr = "127.0.0.1:40000"
	for i := range n {
		pw := testPassword
		if i%100 == 99 {
			pw = "typo"
		}
		_, f := attempt(t, g.srv, addr, "Test", "User", pw)
		if (f != nil) != (pw == "typo") || (f != nil && strings.Contains(f.Message, "Too many")) {
			t.Fatalf("login %d: %+v", i, f)
		}
	}
	c := g.srv.Counts()
	if c.ThrottledAccount+c.ThrottledAddress != 0 || int(c.OK) != n-n/100 {
		t.Errorf("counts %+v", c)
	}
}

func TestThrottleConfig(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	_, err := login.NewServer(login.Config{
		Accounts: g.store.Accounts(), Inventory: g.store.Inventory(), Region: g.region,
		ThrottleEntries: -1,
	})
	if err == nil || !strings.Contains(err.Error(), "ThrottleEntries") {
		t.Errorf("negative ThrottleEntries: %v", err)
	}
}
