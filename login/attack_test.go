package login_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ritual/account"
	"ritual/login"
	"ritual/protocol/xmlrpc"
)

// slowKDF makes every password check take long enough that concurrent
// attempts overlap.
var slowKDF = account.Params{Memory: 2048, Time: 2, Threads: 1}

// outcome is what one concurrent attempt got.
type outcome struct {
	ok        bool
	throttled bool
	msg       string
}

// try is attempt for goroutines other than the test's: it reports
// problems as an error.
func try(h http.Handler, remote, first, last, passwd string) (outcome, error) {
	body, err := (&xmlrpc.Request{Method: login.MethodName, Params: []any{xmlrpc.Struct{
		{Name: "first", Value: first}, {Name: "last", Value: last}, {Name: "passwd", Value: passwd},
	}}}).Marshal()
	if err != nil {
		return outcome{}, err
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return outcome{}, fmt.Errorf("status %d: %s", rec.Code, rec.Body)
	}
	_, err = login.ParseResponse(rec.Header().Get("Content-Type"), rec.Body.Bytes())
	if err == nil {
		return outcome{ok: true}, nil
	}
	f, isFailure := err.(*login.Failure)
	if !isFailure {
		return outcome{}, err
	}
	return outcome{throttled: strings.Contains(f.Message, "Too many failed logins"), msg: f.Message}, nil
}

// burst sends n attempts, width at a time, each from remote(i) with name(i)
// and passwd(i), and returns their outcomes.
func burst(t *testing.T, h http.Handler, n, width int, remote, name, passwd func(int) string) []outcome {
	t.Helper()
	out := make([]outcome, n)
	errs := make(chan error, n)
	for start := 0; start < n; start += width {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := start; i < min(n, start+width); i++ {
			wg.Go(func() {
				<-gate
				first, last, _ := strings.Cut(name(i), " ")
				o, err := try(h, remote(i), first, last, passwd(i))
				if err != nil {
					errs <- fmt.Errorf("attempt %d: %w", i, err)
				}
				out[i] = o
			})
		}
		close(gate)
		wg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

func same(s string) func(int) string { return func(int) string { return s } }

func tally(out []outcome) (ok, throttled, wrong int) {
	for _, o := range out {
		switch {
		case o.ok:
			ok++
		case o.throttled:
			throttled++
		default:
			wrong++
		}
	}
	return ok, throttled, wrong
}

// TestConcurrentGuessesOneAccount sends 200 wrong passwords for one account
// from one address, 50 at a time: however many arrive at once, no more
// passwords are checked than the account's allowance from that address.
func TestConcurrentGuessesOneAccount(t *testing.T) {
	g := newGrid(t, slowKDF, nil) // the default throttles, a clock that stands still
	out := burst(t, g.srv, 200, 50, same("198.51.100.1:4000"), same("Test User"),
		func(i int) string { return fmt.Sprintf("guess%d", i) })
	ok, throttled, wrong := tally(out)
	checks := g.srv.PasswordChecks()
	t.Logf("200 guesses, 50 at a time: %d password checks, %d refused as wrong, %d throttled", checks, wrong, throttled)
	limit := login.DefaultAccountAddressThrottle.Burst
	if ok != 0 || wrong != limit || throttled != 200-limit {
		t.Errorf("%d ok, %d wrong, %d throttled; want 0, %d, %d", ok, wrong, throttled, limit, 200-limit)
	}
	if checks != uint64(limit) {
		t.Errorf("%d password checks, want %d (the account's allowance)", checks, limit)
	}
	c := g.srv.Counts()
	if c.Credentials != uint64(limit) || c.ThrottledAccount != uint64(200-limit) {
		t.Errorf("counts %+v", c)
	}
}

// TestConcurrentGuessesManyNames sends 200 guesses at 200 names (most
// unknown) from one address, 50 at a time: the address's allowance bounds
// the checks, unknown names' dummy verification included.
func TestConcurrentGuessesManyNames(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	login.SetDummyParams(g.srv, slowKDF)
	out := burst(t, g.srv, 200, 50, same("[2001:db8::1]:4000"),
		func(i int) string { return fmt.Sprintf("Name%d Guess", i) }, same("pw"))
	_, throttled, wrong := tally(out)
	limit := login.DefaultAddressThrottle.Burst
	checks := g.srv.PasswordChecks()
	t.Logf("200 names, 50 at a time: %d password checks, %d throttled", checks, throttled)
	if wrong != limit || checks != uint64(limit) {
		t.Errorf("%d refused as wrong after %d checks, want %d of each (the address's allowance)", wrong, checks, limit)
	}
	if c := g.srv.Counts(); c.ThrottledAddress != uint64(200-limit) {
		t.Errorf("%d throttled by address, want %d", c.ThrottledAddress, 200-limit)
	}
}

// TestConcurrentCorrectLogins: attempts beyond an allowance wait for the
// verdicts of those in flight instead of being refused, so a burst of
// correct logins from one address all get in.
func TestConcurrentCorrectLogins(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) {
		c.AccountAddressThrottle = login.Throttle{Burst: 2, Every: time.Hour}
		c.AccountThrottle = login.Throttle{Burst: 2, Every: time.Hour}
		c.AddressThrottle = login.Throttle{Burst: 3, Every: time.Hour}
	})
	out := burst(t, g.srv, 60, 30, same("192.0.2.8:1"), same("Test User"), same(testPassword))
	if ok, throttled, wrong := tally(out); ok != 60 {
		t.Fatalf("%d of 60 correct logins in, %d throttled, %d refused", ok, throttled, wrong)
	}
}

// TestOwnerLogsInDuringAttack: guesses from other addresses, one address
// hammering and many spraying, do not keep the account's owner out; they
// only make the owner's login wait AccountDelay.
func TestOwnerLogsInDuringAttack(t *testing.T) {
	const delay = 30 * time.Millisecond
	g := newGrid(t, slowKDF, func(c *login.Config) { c.AccountDelay = delay })
	owner := "192.0.2.50:5000"

	// One address guesses 200 times, 50 at a time, and is refused
	// after its allowance.
	burst(t, g.srv, 200, 50, same("198.51.100.1:4000"), same("Test User"), same("wrong"))
	// The attacker's own attempts are refused, right password or not.
	if o, err := try(g.srv, "198.51.100.1:4001", testFirst, testLast, testPassword); err != nil || o.ok || !o.throttled {
		t.Fatalf("the guessing address with the right password: %+v, %v; want it refused as throttled", o, err)
	}
	// The owner, from an address that has not failed, gets in.
	start := time.Now()
	if o, err := try(g.srv, owner, testFirst, testLast, testPassword); err != nil || !o.ok {
		t.Fatalf("the owner during the attack: %+v, %v", o, err)
	}
	t.Logf("the owner's login took %v", time.Since(start))

	// Many addresses, each guessing 10 times, while the owner logs in
	// again and again.
	before := g.srv.PasswordChecks()
	var owned atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			o, err := try(g.srv, owner, testFirst, testLast, testPassword)
			if err != nil || !o.ok {
				t.Errorf("the owner during the spray: %+v, %v", o, err)
				return
			}
			owned.Add(1)
		}
	})
	const addrs = 20
	burst(t, g.srv, addrs*10, addrs*2, func(i int) string { return fmt.Sprintf("203.0.113.%d:1", i%addrs+1) },
		same("Test User"), same("wrong"))
	close(stop)
	wg.Wait()
	guesses := g.srv.PasswordChecks() - before - uint64(owned.Load())
	t.Logf("%d addresses guessing 10 times each: %d password checks; the owner logged in %d times meanwhile", addrs, guesses, owned.Load())
	// Each spraying address gets at most one guess heard once the
	// account's allowance is spent (it has failed for the account from
	// then on); the owner's logins give the allowance back each time, so
	// at most Burst more per owner login.
	if max := uint64(addrs) + uint64(login.DefaultAccountThrottle.Burst)*uint64(owned.Load()+1); guesses > max {
		t.Errorf("%d guesses checked, want at most %d", guesses, max)
	}
	if owned.Load() == 0 {
		t.Error("the owner never logged in during the spray")
	}
}

// TestSprayWithoutOwner: guesses from many addresses at one account are
// bounded by the account's own allowance plus one guess per address.
func TestSprayWithoutOwner(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) { c.AccountDelay = -1 })
	const addrs = 40
	out := burst(t, g.srv, addrs*10, addrs, func(i int) string { return fmt.Sprintf("203.0.113.%d:1", i%addrs+1) },
		same("Test User"), same("wrong"))
	_, throttled, wrong := tally(out)
	checks := g.srv.PasswordChecks()
	t.Logf("%d addresses, 10 guesses each: %d checked, %d throttled", addrs, checks, throttled)
	// Without the account's own allowance each address would get 5
	// (its allowance for the account): 200. With it, the first 5 failures
	// spend it and every address after that is heard once.
	if max := uint64(addrs + login.DefaultAccountThrottle.Burst); checks > max || wrong > int(max) {
		t.Errorf("%d checked, %d refused as wrong; want at most %d", checks, wrong, max)
	}
	if checks < addrs {
		t.Errorf("%d checked: every address's first guess should be heard", checks)
	}
}

// TestTrustedProxies: behind a trusted reverse proxy the throttles count
// the address X-Forwarded-For names; anyone else's X-Forwarded-For is
// ignored.
func TestTrustedProxies(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) {
		c.AccountThrottle = login.Throttle{Burst: -1}
		c.AccountAddressThrottle = login.Throttle{Burst: -1}
		c.AddressThrottle = login.Throttle{Burst: 2, Every: time.Hour}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	send := func(peer, xff, passwd string) outcome {
		t.Helper()
		body := xmlrpcLogin(t, xmlrpc.Struct{
			{Name: "first", Value: testFirst}, {Name: "last", Value: testLast}, {Name: "passwd", Value: passwd},
		})
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		req.RemoteAddr = peer
		rec := httptest.NewRecorder()
		g.srv.ServeHTTP(rec, req)
		_, err := login.ParseResponse(rec.Header().Get("Content-Type"), rec.Body.Bytes())
		if err == nil {
			return outcome{ok: true}
		}
		f, _ := err.(*login.Failure)
		if f == nil {
			t.Fatalf("reply: %v", err)
		}
		return outcome{throttled: strings.Contains(f.Message, "from your address"), msg: f.Message}
	}
	// Through the proxy, one client fails twice and is refused...
	for range 2 {
		if o := send("10.0.0.1:5000", "198.51.100.1", "wrong"); o.ok || o.throttled {
			t.Fatalf("a guess through the proxy: %+v", o)
		}
	}
	if o := send("10.0.0.1:5000", "198.51.100.1", testPassword); !o.throttled {
		t.Fatalf("the guessing client through the proxy: %+v, want refused", o)
	}
	// ...also through a second trusted proxy, and only the rightmost
	// untrusted hop counts (the client may have sent its own header).
	if o := send("10.0.0.2:5000", "1.2.3.4, 198.51.100.1, 10.9.9.9", testPassword); !o.throttled {
		t.Fatalf("the guessing client through two proxies: %+v, want refused", o)
	}
	// Another client behind the same proxy gets in.
	if o := send("10.0.0.1:5000", "198.51.100.2", testPassword); !o.ok {
		t.Fatalf("another client through the proxy: %+v", o)
	}
	// An untrusted peer's X-Forwarded-For is ignored: it is counted as
	// itself, whatever it claims.
	for i := range 2 {
		send("192.0.2.1:5000", fmt.Sprintf("198.51.100.%d", 10+i), "wrong")
	}
	if o := send("192.0.2.1:5000", "198.51.100.99", testPassword); !o.throttled {
		t.Fatalf("an untrusted peer naming a fresh address: %+v, want refused", o)
	}
	// A malformed entry stops the walk at the proxy that added it.
	for range 2 {
		send("10.0.0.3:5000", "not-an-address", "wrong")
	}
	if o := send("10.0.0.3:5000", "", testPassword); !o.throttled {
		t.Fatalf("the proxy itself after two malformed forwards: %+v, want refused", o)
	}
}
