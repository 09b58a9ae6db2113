package login

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle bounds the failed logins of one key (a source address, an
// account name, or an account name from one address) with a token bucket:
// Burst failures may come at once, and one more is allowed every Every.
// Only failed attempts (a wrong password, an unknown name) use up the
// bucket, so a key that logs in correctly is never slowed, however often it
// does.
//
// An attempt holds one token of each of its buckets from before its
// password is checked until the verdict: a failure keeps it, a success
// gives it back. So however many attempts arrive at once, no more of them
// are checked than the bucket allows; the rest wait for the verdicts of
// those being checked, and are heard (a success gave the token back) or
// refused (a failure kept it).
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
	// in a row from all addresses together, then once every 20 seconds
	// (180 guesses an hour). Once it is spent, only addresses that have
	// failed for the account are refused; others are heard after
	// DefaultAccountDelay (see Config.AccountThrottle).
	DefaultAccountThrottle = Throttle{Burst: 5, Every: 20 * time.Second}
	// DefaultAccountAddressThrottle lets one address guess at one
	// account's password 5 times in a row, then once every 20 seconds.
	DefaultAccountAddressThrottle = Throttle{Burst: 5, Every: 20 * time.Second}
	// DefaultAddressThrottle lets one address fail 30 times in a row, then
	// once every 2 seconds: enough for many people behind one NAT
	// mistyping, too little to try many passwords on many names. The
	// address is the HTTP peer's: behind a reverse proxy, name it in
	// Config.TrustedProxies, or every login comes from the proxy.
	DefaultAddressThrottle = Throttle{Burst: 30, Every: 2 * time.Second}
)

// DefaultAccountDelay is how long an attempt on an account whose allowance
// is spent waits before its password is checked, when its address has not
// failed for the account.
const DefaultAccountDelay = time.Second

// DefaultThrottleEntries bounds how many keys each throttle remembers.
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

// bucket is one key's failed-attempt budget: tokens at time at, of which
// inflight are held by attempts whose verdict is not in yet.
type bucket struct {
	tokens   float64
	at       time.Time
	inflight int
}

// limiter is a bounded set of buckets. It has no lock of its own: the
// throttles' lock guards every limiter.
type limiter struct {
	cfg     Throttle
	max     int
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

// state tells what key's bucket allows at now: the tokens it has and the
// tokens not held by attempts in flight.
func (l *limiter) state(key string, now time.Time) (tokens, free float64) {
	b := l.buckets[key]
	if b == nil {
		return float64(l.cfg.Burst), float64(l.cfg.Burst)
	}
	lv := l.level(b, now)
	return lv, lv - float64(b.inflight)
}

// wait returns how long key must wait for its next attempt to be heard
// (zero: it may try now).
func (l *limiter) wait(key string, now time.Time) time.Duration {
	lv, _ := l.state(key, now)
	if lv >= 1 {
		return 0
	}
	return time.Duration((1 - lv) * float64(l.cfg.Every))
}

// failing reports whether key has failed recently: its bucket is not full.
func (l *limiter) failing(key string, now time.Time) bool {
	b := l.buckets[key]
	return b != nil && l.level(b, now) < float64(l.cfg.Burst)
}

// clean reports whether key has neither failed lately nor an attempt in
// flight.
func (l *limiter) clean(key string, now time.Time) bool {
	b := l.buckets[key]
	return b == nil || (b.inflight == 0 && l.level(b, now) >= float64(l.cfg.Burst))
}

// bucket returns key's bucket, made full if it is new.
func (l *limiter) bucket(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.cfg.Burst), at: now}
		l.buckets[key] = b
	}
	return b
}

// take uses up one token of key's bucket.
func (l *limiter) take(key string, now time.Time) {
	b := l.bucket(key, now)
	b.tokens = max(0, l.level(b, now)-1)
	if now.After(b.at) {
		b.at = now
	}
}

// fail takes one token from key's bucket (an attempt that held none).
func (l *limiter) fail(key string, now time.Time) { l.take(key, now) }

// release ends an attempt that held a token of key: a failure keeps the
// token, a success gives it back. A full bucket nobody holds is dropped.
func (l *limiter) release(key string, now time.Time, failed bool) {
	b := l.buckets[key]
	if b == nil {
		return
	}
	b.inflight--
	if failed {
		l.take(key, now)
	}
	l.tidy(key, b, now)
}

// forget gives key a full bucket again: an account that logged in
// correctly starts afresh.
func (l *limiter) forget(key string, now time.Time) {
	b := l.buckets[key]
	if b == nil {
		return
	}
	b.tokens, b.at = float64(l.cfg.Burst), now
	l.tidy(key, b, now)
}

func (l *limiter) tidy(key string, b *bucket, now time.Time) {
	if b.inflight <= 0 && l.level(b, now) >= float64(l.cfg.Burst) {
		delete(l.buckets, key)
	}
}

// evict makes room for one more key: every bucket that has refilled is
// dropped (it would behave as a new one); if none has, the one nearest to
// full goes, so that the keys being refused are the last forgotten. A
// bucket held by an attempt in flight stays.
func (l *limiter) evict(now time.Time) {
	var fullest string
	best := -1.0
	for k, b := range l.buckets {
		if b.inflight > 0 {
			continue
		}
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

func (l *limiter) len() int { return len(l.buckets) }

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

// throttles are the server's failed-login throttles: per source address,
// per account name from one address (pair), and per account name from
// every address. One lock guards them all, so that an attempt reserves its
// tokens in every bucket at once.
type throttles struct {
	address, pair, account *limiter
	// pairRefuses is false when the per-pair throttle is off: pair then
	// only remembers which addresses have failed for an account.
	pairRefuses bool
	delay       time.Duration

	mu   sync.Mutex
	wake chan struct{} // closed and replaced whenever a verdict comes in
}

func newThrottles(c *Config) *throttles {
	t := &throttles{wake: make(chan struct{}), delay: c.AccountDelay}
	if !c.AddressThrottle.off() {
		t.address = newLimiter(c.AddressThrottle, c.ThrottleEntries)
	}
	if !c.AccountThrottle.off() {
		t.account = newLimiter(c.AccountThrottle, c.ThrottleEntries)
	}
	switch {
	case !c.AccountAddressThrottle.off():
		t.pair, t.pairRefuses = newLimiter(c.AccountAddressThrottle, c.ThrottleEntries), true
	case t.account != nil:
		t.pair = newLimiter(c.AccountThrottle, c.ThrottleEntries)
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

// ticket is an attempt admitted by the throttles: the tokens it holds
// until its verdict.
type ticket struct {
	t *throttles
	// addr, pair and acct are the keys whose tokens the attempt holds;
	// empty when it holds none there.
	addr, pair, acct string
	// pairKey and acctKey are the account's keys the verdict is told to
	// (held or not); empty for a name no account can have.
	pairKey, acctKey string
	// delay is how long to wait before the password is checked.
	delay    time.Duration
	finished bool
}

// admit reserves a token in each of the attempt's buckets before its
// password is checked, or refuses it. The address's bucket always counts;
// when account (a possible name) is set, the account's from this address,
// and the account's from every address too, but that one only refuses
// addresses that have failed for the account: an attempt from any other
// address is heard once the ticket's delay has passed, so nobody's guesses
// lock an account's owner out. When a bucket's tokens are all held by
// attempts in flight, admit waits for their verdicts (or for ctx).
func (t *throttles) admit(ctx context.Context, addr netip.Addr, account string, now func() time.Time) (*ticket, error) {
	ak := addressKey(addr)
	var pk string
	if account != "" && ak != "" {
		pk = account + "\x00" + ak
	}
	for {
		t.mu.Lock()
		at := now()
		tk, pending, err := t.tryLocked(ak, pk, account, at)
		wake := t.wake
		t.mu.Unlock()
		if !pending {
			return tk, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryLocked admits or refuses an attempt now, or reports that it must wait
// for a verdict.
func (t *throttles) tryLocked(ak, pk, account string, now time.Time) (_ *ticket, pending bool, _ error) {
	tk := &ticket{t: t}
	var holdAddress, holdPair, holdAccount bool
	if t.address != nil && ak != "" {
		tokens, free := t.address.state(ak, now)
		if tokens < 1 {
			return nil, false, &throttledError{byAddress: true, wait: t.address.wait(ak, now)}
		}
		if free < 1 {
			return nil, true, nil
		}
		holdAddress = true
	}
	if account != "" {
		if t.pair != nil && pk != "" {
			tk.pairKey = pk
			tokens, free := t.pair.state(pk, now)
			if t.pairRefuses && tokens < 1 {
				return nil, false, &throttledError{wait: t.pair.wait(pk, now)}
			}
			if t.pairRefuses && free < 1 {
				return nil, true, nil
			}
			holdPair = true
		}
		if t.account != nil {
			tk.acctKey = account
			tokens, free := t.account.state(account, now)
			var clean bool
			if t.pair != nil && pk != "" {
				clean = t.pair.clean(pk, now)
			}
			switch {
			case free >= 1:
				holdAccount = true
			case clean:
				// Someone else spent the account's allowance: hear this
				// address, later.
				tk.delay = t.delay
			case tokens < 1 && (pk == "" || t.pair.failing(pk, now)):
				return nil, false, &throttledError{wait: t.account.wait(account, now)}
			default:
				// The allowance is held by attempts in flight, or this
				// clean address has an attempt in flight: wait for a
				// verdict.
				return nil, true, nil
			}
		}
	}
	// Admitted: hold the tokens.
	if holdAddress {
		tk.addr = ak
		t.address.bucket(ak, now).inflight++
	}
	if holdPair {
		tk.pair = pk
		t.pair.bucket(pk, now).inflight++
	}
	if holdAccount {
		tk.acct = account
		t.account.bucket(account, now).inflight++
	}
	return tk, false, nil
}

// The verdicts a ticket is given.
type verdict int

const (
	verdictNone   verdict = iota // no verdict (a store error, the client left)
	verdictFailed                // a wrong password or an unknown name
	verdictOK                    // the password was right
)

// done gives the attempt's verdict: a failure uses up its tokens (and takes
// one from the buckets it did not hold), a success gives them back and
// starts the account afresh, from this address and from all; no verdict
// gives the tokens back and changes nothing else. The address keeps its
// failures: a guesser that owns one account must not be able to reset its
// address by logging into it. Attempts waiting for a verdict are woken.
func (tk *ticket) done(now time.Time, v verdict) {
	if tk == nil || tk.finished {
		return
	}
	tk.finished = true
	t := tk.t
	t.mu.Lock()
	defer t.mu.Unlock()
	failed := v == verdictFailed
	if tk.addr != "" {
		t.address.release(tk.addr, now, failed)
	}
	if tk.pair != "" {
		t.pair.release(tk.pair, now, failed)
	}
	if tk.acct != "" {
		t.account.release(tk.acct, now, failed)
	}
	switch v {
	case verdictFailed:
		if tk.pairKey != "" && tk.pair == "" {
			t.pair.fail(tk.pairKey, now)
		}
		if tk.acctKey != "" && tk.acct == "" {
			t.account.fail(tk.acctKey, now)
		}
	case verdictOK:
		if tk.pairKey != "" {
			t.pair.forget(tk.pairKey, now)
		}
		if tk.acctKey != "" {
			t.account.forget(tk.acctKey, now)
		}
	}
	close(t.wake)
	t.wake = make(chan struct{})
}

// sizes returns how many keys each throttle remembers (address, pair,
// account), for tests.
func (t *throttles) sizes() (addr, pair, acct int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.address != nil {
		addr = t.address.len()
	}
	if t.pair != nil {
		pair = t.pair.len()
	}
	if t.account != nil {
		acct = t.account.len()
	}
	return addr, pair, acct
}
