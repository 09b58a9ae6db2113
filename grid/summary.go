package grid

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DefaultSummaryInterval is how often the grid logs what it refused and
// dropped.
const DefaultSummaryInterval = time.Minute

// refusals are the counts the summary tells, read from the counters the
// login service, the region, the capabilities and the listener keep
// anyway (the ones /metrics serves).
type refusals struct {
	badCredentials uint64 // logins refused: unknown name, wrong password, none given
	throttled      uint64 // logins refused: too many failures
	malformed      uint64 // requests at the login URL that could not be read as logins
	addresses      int    // distinct addresses the login refusals came from
	addressesMore  bool   // more addresses than login.MaxRefusedAddresses

	noCircuit  uint64 // datagrams from addresses without a circuit
	oversized  uint64 // datagrams too large to be one
	queueFull  uint64 // datagrams dropped for a full circuit queue
	useRefused uint64 // UseCircuitCode refused

	unknownCaps  uint64 // requests for paths that name no capability
	connsRefused uint64 // connections over the per-address cap
}

// readRefusals reads the cumulative counts (addresses excepted: those are
// taken since the last read).
func (s *Server) readRefusals() refusals {
	lc := s.Login.Counts()
	rc := s.Region.Counters()
	dropped := s.Region.Traffic().Dropped
	r := refusals{
		badCredentials: lc.Credentials + lc.Missing,
		throttled:      lc.ThrottledAccount + lc.ThrottledAddress,
		malformed:      lc.Malformed + lc.HTTPRefused,
		noCircuit:      rc.Stray + dropped.Unaccepted,
		oversized:      dropped.Oversized,
		queueFull:      dropped.QueueFull,
		useRefused:     rc.Rejected,
		unknownCaps:    s.Caps.UnknownPaths(),
		connsRefused:   s.ConnsRefused(),
	}
	r.addresses, r.addressesMore = s.Login.RefusedAddresses()
	return r
}

// since returns the counts of r that came after prev (addresses as r has
// them).
func (r refusals) since(prev refusals) refusals {
	d := func(now, then uint64) uint64 { return now - min(now, then) }
	return refusals{
		badCredentials: d(r.badCredentials, prev.badCredentials),
		throttled:      d(r.throttled, prev.throttled),
		malformed:      d(r.malformed, prev.malformed),
		addresses:      r.addresses,
		addressesMore:  r.addressesMore,
		noCircuit:      d(r.noCircuit, prev.noCircuit),
		oversized:      d(r.oversized, prev.oversized),
		queueFull:      d(r.queueFull, prev.queueFull),
		useRefused:     d(r.useRefused, prev.useRefused),
		unknownCaps:    d(r.unknownCaps, prev.unknownCaps),
		connsRefused:   d(r.connsRefused, prev.connsRefused),
	}
}

func (r refusals) logins() uint64 { return r.badCredentials + r.throttled + r.malformed }

func (r refusals) datagrams() uint64 { return r.noCircuit + r.oversized + r.queueFull }

func (r refusals) any() bool {
	return r.logins()+r.datagrams()+r.useRefused+r.unknownCaps+r.connsRefused > 0
}

// String tells r in one line, e.g. "refused 4,812 logins for bad
// credentials from 3 addresses; dropped 61,844 datagrams with no circuit".
func (r refusals) String() string {
	var parts []string
	if r.logins() > 0 {
		p := "refused " + kinds(" login", " logins",
			kind{r.badCredentials, "for bad credentials", "for bad credentials"},
			kind{r.throttled, "for too many failures", "for too many failures"},
			kind{r.malformed, "that could not be read", "that could not be read"})
		switch {
		case r.addressesMore:
			p += " from more than " + thousands(uint64(r.addresses)) + " addresses"
		case r.addresses == 1:
			p += " from 1 address"
		case r.addresses > 1:
			p += " from " + thousands(uint64(r.addresses)) + " addresses"
		}
		parts = append(parts, p)
	}
	if r.connsRefused > 0 {
		parts = append(parts, "refused "+count(r.connsRefused, "connection", "connections")+" over the per-address cap")
	}
	if r.datagrams() > 0 {
		parts = append(parts, "dropped "+kinds(" datagram", " datagrams",
			kind{r.noCircuit, "with no circuit", "with no circuit"},
			kind{r.oversized, "too large", "too large"},
			kind{r.queueFull, "on a full circuit queue", "on full circuit queues"}))
	}
	if r.useRefused > 0 {
		parts = append(parts, "refused "+thousands(r.useRefused)+" UseCircuitCode")
	}
	if r.unknownCaps > 0 {
		parts = append(parts, "answered "+count(r.unknownCaps, "request", "requests")+" for unknown capabilities")
	}
	return strings.Join(parts, "; ")
}

// attrs are r's nonzero counts, for structured logs.
func (r refusals) attrs() []any {
	var out []any
	add := func(key string, n uint64) {
		if n > 0 {
			out = append(out, slog.Uint64(key, n))
		}
	}
	add("logins_bad_credentials", r.badCredentials)
	add("logins_throttled", r.throttled)
	add("logins_malformed", r.malformed)
	if r.logins() > 0 {
		out = append(out, slog.Int("login_addresses", r.addresses))
	}
	add("connections_refused", r.connsRefused)
	add("datagrams_no_circuit", r.noCircuit)
	add("datagrams_oversized", r.oversized)
	add("datagrams_queue_full", r.queueFull)
	add("use_circuit_code_refused", r.useRefused)
	add("caps_unknown", r.unknownCaps)
	return out
}

// kind is one count of a kinds list, with its words for one and for
// many.
type kind struct {
	n         uint64
	one, many string
}

// kinds tells the nonzero counts of ks, the noun after the first only:
// "5 logins for bad credentials and 1 that was not a login request".
func kinds(one, many string, ks ...kind) string {
	var items []string
	for _, k := range ks {
		if k.n == 0 {
			continue
		}
		noun, what := many, k.many
		if k.n == 1 {
			noun, what = one, k.one
		}
		if len(items) > 0 {
			noun = ""
		}
		items = append(items, thousands(k.n)+noun+" "+what)
	}
	return joinAnd(items)
}

func count(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// thousands writes n with commas between groups of three digits.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// summarise logs, every interval, what was refused and dropped since the
// last time, at warning level and only when something was: one line a
// minute however hard the grid is hit, and nothing while all is well.
func (s *Server) summarise(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev := s.readRefusals()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		now := s.readRefusals()
		d := now.since(prev)
		prev = now
		if !d.any() {
			continue
		}
		attrs := append([]any{slog.Duration("interval", interval)}, d.attrs()...)
		s.cfg.Logger.Log(context.Background(), slog.LevelWarn, "grid: in the last "+interval.String()+": "+d.String(), attrs...)
	}
}
