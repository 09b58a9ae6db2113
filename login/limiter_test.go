package login

import (
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
