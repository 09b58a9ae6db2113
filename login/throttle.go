package login

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle bounds the failed logins of one key (an account name, or a
// source address) with a token bucket: Burst failures may come at once, and
// one more is allowed every Every. Only failed attempts (a wrong password,
// an unknown name) take from the bucket, so a key that logs in correctly is
// never slowed, however often it does. While a key's bucket is empty its
// attempts are refused before the password is checked.
type Throttle struct {
	// Burst is how many failed attempts the key may make before it is
	// refused. Zero means the default; negative turns the throttle off.
	Burst int
	// Every is how long it takes to earn one more attempt. Zero means the
	// default.
	Every time.Duration
}

// Defaults of the failed-login throttles.
var (
	// DefaultAccountThrottle lets an account's name be guessed at 5 times
	// in a row, then once every 20 seconds (180 guesses an hour).
	DefaultAccountThrottle = Throttle{Burst: 5, Every: 20 * time.Second}
	// DefaultAddressThrottle lets one address fail 30 times in a row, then
	// once every 2 seconds: enough for many people behind one NAT
	// mistyping, too little to try many passwords on many names. The
	// address is the HTTP peer's: behind a reverse proxy every login comes
	// from the proxy, so raise this or turn it off there.
	DefaultAddressThrottle = Throttle{Burst: 30, Every: 2 * time.Second}
)

// DefaultThrottleEntries bounds how many accounts (and how many addresses)
// the throttle remembers.
const DefaultThrottleEntries = 10000

func (t Throttle) fill(def Throttle) Throttle {
	if t.Burst == 0 {
		t.Burst = def.Burst
	}
	if t.Every <= 0 {
		t.Every = def.Every
	}
	return t
}

func (t Throttle) off() bool { return t.Burst < 0 }

// bucket is one key's failed-attempt budget: tokens at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

// limiter is a bounded set of buckets.
type limiter struct {
	cfg Throttle
	max int

	mu      sync.Mutex
	buckets map[string]*bucket
}

func newLimiter(cfg Throttle, maxEntries int) *limiter {
	return &limiter{cfg: cfg, max: maxEntries, buckets: make(map[string]*bucket)}
}

// level returns the tokens of b at now.
func (l *limiter) level(b *bucket, now time.Time) float64 {
	el := now.Sub(b.at)
	if el <= 0 {
		return b.tokens
	}
	return min(float64(l.cfg.Burst), b.tokens+float64(el)/float64(l.cfg.Every))
}

// wait returns how long key must wait before its next attempt is heard
// (zero: it may try now).
func (l *limiter) wait(key string, now time.Time) time.Duration {
	if l == nil || key == "" {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return 0
	}
	lv := l.level(b, now)
	if lv >= 1 {
		return 0
	}
	return time.Duration((1 - lv) * float64(l.cfg.Every))
}

// fail takes one token from key's bucket.
func (l *limiter) fail(key string, now time.Time) {
	if l == nil || key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evictLocked(now)
		}
		b = &bucket{tokens: float64(l.cfg.Burst), at: now}
		l.buckets[key] = b
	}
	b.tokens = max(0, l.level(b, now)-1)
	if now.After(b.at) {
		b.at = now
	}
}

// forget drops key's bucket: an account that logged in correctly starts
// afresh.
func (l *limiter) forget(key string) {
	if l == nil || key == "" {
		return
	}
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
}

// evictLocked makes room for one more key: every bucket that has refilled
// is dropped (it would behave as a new one); if none has, the one nearest
// to full goes, so that the keys being refused are the last forgotten.
func (l *limiter) evictLocked(now time.Time) {
	var fullest string
	best := -1.0
	for k, b := range l.buckets {
		lv := l.level(b, now)
		if lv >= float64(l.cfg.Burst) {
			delete(l.buckets, k)
			continue
		}
		if lv > best {
			fullest, best = k, lv
		}
	}
	if len(l.buckets) >= l.max && fullest != "" {
		delete(l.buckets, fullest)
	}
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// accountKey is the throttle's key of a name: names match ignoring case.
func accountKey(first, last string) string {
	return strings.ToLower(first) + " " + strings.ToLower(last)
}

// addressKey is the throttle's key of a source address: an IPv4 address, or
// the /64 an IPv6 address belongs to (one host's share of a network).
func addressKey(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.Unmap()
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.String()
}

// throttles are the server's two failed-login throttles.
type throttles struct {
	account, address *limiter
}

func newThrottles(c *Config) throttles {
	var t throttles
	if !c.AccountThrottle.off() {
		t.account = newLimiter(c.AccountThrottle, c.ThrottleEntries)
	}
	if !c.AddressThrottle.off() {
		t.address = newLimiter(c.AddressThrottle, c.ThrottleEntries)
	}
	return t
}

// throttledError refuses an attempt from a key whose bucket is empty.
type throttledError struct {
	byAddress bool
	wait      time.Duration
}

func (e *throttledError) Error() string {
	what := "account"
	if e.byAddress {
		what = "address"
	}
	return "login: too many failed logins for this " + what + "; retry in " + e.wait.String()
}

// check refuses an attempt whose account or address has no failed attempts
// left.
func (t throttles) check(req *loginRequest, now time.Time) error {
	if w := t.address.wait(addressKey(req.clientAddr), now); w > 0 {
		return &throttledError{byAddress: true, wait: w}
	}
	if w := t.account.wait(accountKey(req.first, req.last), now); w > 0 {
		return &throttledError{wait: w}
	}
	return nil
}

// failed counts a failed attempt against the request's account and
// address.
func (t throttles) failed(req *loginRequest, now time.Time) {
	t.address.fail(addressKey(req.clientAddr), now)
	t.account.fail(accountKey(req.first, req.last), now)
}

// succeeded clears the account's failures. The address keeps its own: a
// guesser that owns one account must not be able to reset its address by
// logging into it.
func (t throttles) succeeded(req *loginRequest) {
	t.account.forget(accountKey(req.first, req.last))
}
