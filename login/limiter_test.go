package login

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Throttle{Burst: 2, Every: time.Minute}, 3)
	// A key refused twice over is kept while keys spraying once each come
	// and go.
	l.fail("target", now)
	l.fail("target", now)
	for i := range 100 {
		l.fail(fmt.Sprintf("spray%d", i), now)
		if n := l.len(); n > 3 {
			t.Fatalf("after %d keys the limiter holds %d, want at most 3", i+1, n)
		}
	}
	if w := l.wait("target", now); w != time.Minute {
		t.Errorf("target waits %v, want 1m (it must not be evicted)", w)
	}
	// Refilled buckets are dropped first.
	later := now.Add(10 * time.Minute)
	l.fail("new", later)
	if n := l.len(); n != 1 {
		t.Errorf("after every bucket refilled, %d kept, want 1", n)
	}
	if w := l.wait("target", later); w != 0 {
		t.Errorf("target still waits %v after 10 minutes", w)
	}
}

func TestLimiterClockBackwards(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Throttle{Burst: 1, Every: time.Minute}, 10)
	l.fail("k", now)
	if w := l.wait("k", now.Add(-time.Hour)); w != time.Minute {
		t.Errorf("wait with the clock set back = %v, want 1m", w)
	}
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	} {
		if got := addressKey(netip.MustParseAddr(tc.in)); got != tc.want {
			t.Errorf("addressKey(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := addressKey(netip.Addr{}); got != "" {
		t.Errorf("addressKey(invalid) = %q", got)
	}
}

// TestAdmitWaitsForVerdicts: with one failure allowed, a second attempt
// made while the first is being checked waits for its verdict, and is
// refused if it failed, heard if it succeeded; a client that leaves while
// waiting is let go.
func TestAdmitWaitsForVerdicts(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	addr := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		name    string
		verdict verdict
		refused bool
	}{
		{"first fails", verdictFailed, true},
		{"first succeeds", verdictOK, false},
		{"first has no verdict", verdictNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := newThrottles(&Config{
				AddressThrottle: Throttle{Burst: 1, Every: time.Hour},
				AccountThrottle: Throttle{Burst: -1}, AccountAddressThrottle: Throttle{Burst: -1},
				ThrottleEntries: 10,
			})
			first, err := th.admit(context.Background(), addr, "a b", clock)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				tk  *ticket
				err error
			}
			second := make(chan result, 1)
			go func() {
				tk, err := th.admit(context.Background(), addr, "a b", clock)
				second <- result{tk, err}
			}()
			select {
			case r := <-second:
				t.Fatalf("second attempt answered while the first is checked: %+v", r)
			case <-time.After(50 * time.Millisecond):
			}
			first.done(now, tc.verdict)
			r := <-second
			if _, throttled := r.err.(*throttledError); throttled != tc.refused {
				t.Fatalf("second attempt: %v, want refused %t", r.err, tc.refused)
			}
			if r.tk != nil {
				r.tk.done(now, verdictOK)
			}
			if a, p, c := th.sizes(); (a != 0) == !tc.refused || p != 0 || c != 0 {
				t.Errorf("buckets left: %d address, %d pair, %d account", a, p, c)
			}
		})
	}
	t.Run("client leaves", func(t *testing.T) {
		th := newThrottles(&Config{AddressThrottle: Throttle{Burst: 1, Every: time.Hour}, ThrottleEntries: 10,
			AccountThrottle: Throttle{Burst: 1, Every: time.Hour}, AccountAddressThrottle: Throttle{Burst: 1, Every: time.Hour}})
		first, err := th.admit(context.Background(), addr, "a b", clock)
		if err != nil {
			t.Fatal(err)
		}
		defer first.done(now, verdictNone)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		if _, err := th.admit(ctx, addr, "a b", clock); err != context.Canceled {
			t.Fatalf("waiting attempt whose client left: %v", err)
		}
	})
}

// BenchmarkAdmit is the throttles' cost per login attempt (a reservation
// and a verdict in three buckets), next to the milliseconds of argon2id.
func BenchmarkAdmit(b *testing.B) {
	th := newThrottles(&Config{
		AddressThrottle: DefaultAddressThrottle, AccountThrottle: DefaultAccountThrottle,
		AccountAddressThrottle: DefaultAccountAddressThrottle, ThrottleEntries: DefaultThrottleEntries,
	})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	addr := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		tk, err := th.admit(context.Background(), addr, "test user", clock)
		if err != nil {
			b.Fatal(err)
		}
		tk.done(now, verdictOK)
	}
}
