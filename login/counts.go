package login

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Counts are the outcomes of the login requests a Server has answered.
type Counts struct {
	OK               uint64 // logged in
	Credentials      uint64 // unknown name or wrong password (reason "key")
	Missing          uint64 // no first, last or passwd (reason "key")
	ThrottledAccount uint64 // refused: too many failures for the account (reason "key")
	ThrottledAddress uint64 // refused: too many failures from the address (reason "key")
	RegionFull       uint64 // the region admits no more agents (reason "presence")
	Refused          uint64 // the region refused with its own *Failure
	Connect          uint64 // the region could not provision the circuit (reason "connect")
	Internal         uint64 // a fault of the grid (reason "Internal Error")
	Malformed        uint64 // not a login request: an XML-RPC fault or 400
	HTTPRefused      uint64 // not POST, body too large or unreadable
}

// Outcomes returns the counts named, in a fixed order; the names are the
// labels metrics use.
func (c Counts) Outcomes() []Outcome {
	return []Outcome{
		{"ok", c.OK},
		{"bad_credentials", c.Credentials},
		{"missing_credentials", c.Missing},
		{"throttled_account", c.ThrottledAccount},
		{"throttled_address", c.ThrottledAddress},
		{"region_full", c.RegionFull},
		{"refused", c.Refused},
		{"connect", c.Connect},
		{"internal", c.Internal},
		{"malformed", c.Malformed},
		{"http_refused", c.HTTPRefused},
	}
}

// Outcome is one named count of Counts.Outcomes.
type Outcome struct {
	Name  string
	Count uint64
}

type counters struct {
	ok, credentials, missing, throttledAccount, throttledAddress,
	regionFull, refused, connect, internal, malformed, httpRefused atomic.Uint64
}

// count records the outcome of one login.
func (c *counters) count(err error) {
	if err == nil {
		c.ok.Add(1)
		return
	}
	if t, ok := errors.AsType[*throttledError](err); ok {
		if t.byAddress {
			c.throttledAddress.Add(1)
		} else {
			c.throttledAccount.Add(1)
		}
		return
	}
	_, refused := errors.AsType[*Failure](err)
	_, provision := errors.AsType[*provisionError](err)
	switch {
	case errors.Is(err, errMissing):
		c.missing.Add(1)
	case errors.Is(err, errCredentials):
		c.credentials.Add(1)
	case errors.Is(err, ErrRegionFull):
		c.regionFull.Add(1)
	case refused:
		c.refused.Add(1)
	case provision:
		c.connect.Add(1)
	default:
		c.internal.Add(1)
	}
}

// Counts returns the outcomes of the requests answered so far.
func (s *Server) Counts() Counts {
	c := &s.counts
	return Counts{
		OK: c.ok.Load(), Credentials: c.credentials.Load(), Missing: c.missing.Load(),
		ThrottledAccount: c.throttledAccount.Load(), ThrottledAddress: c.throttledAddress.Load(),
		RegionFull: c.regionFull.Load(), Refused: c.refused.Load(), Connect: c.connect.Load(),
		Internal: c.internal.Load(), Malformed: c.malformed.Load(), HTTPRefused: c.httpRefused.Load(),
	}
}

// refusal reports whether err refused the client for what it sent (bad or
// missing credentials, too many failures), not for a fault of the grid or
// of the region.
func refusal(err error) bool {
	if _, ok := errors.AsType[*throttledError](err); ok {
		return true
	}
	return errors.Is(err, errCredentials) || errors.Is(err, errMissing)
}

// PasswordChecks returns how many password verifications (argon2id runs)
// the server has made, unknown names' included.
func (s *Server) PasswordChecks() uint64 { return s.checks.Load() }

// RefusedAddresses returns how many distinct source addresses (an IPv6
// address counts with its /64) were refused since the last call: bad or
// missing credentials, too many failures, requests that were not logins.
// capped reports that there were more than it remembers
// (MaxRefusedAddresses). It is meant for one reader that summarises
// refusals now and then.
func (s *Server) RefusedAddresses() (n int, capped bool) { return s.refused.take() }

// MaxRefusedAddresses bounds the distinct addresses RefusedAddresses
// remembers between two calls.
const MaxRefusedAddresses = 4096

// sources is a bounded set of address keys.
type sources struct {
	mu     sync.Mutex
	keys   map[string]struct{}
	capped bool
}

func (s *sources) add(key string) {
	if key == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return
	}
	if len(s.keys) >= MaxRefusedAddresses {
		s.capped = true
		return
	}
	if s.keys == nil {
		s.keys = make(map[string]struct{})
	}
	s.keys[key] = struct{}{}
}

// addRemote adds the address of an http.Request's RemoteAddr.
func (s *sources) addRemote(remote string) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		s.add(addressKey(ap.Addr()))
	}
}

func (s *sources) take() (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, capped := len(s.keys), s.capped
	clear(s.keys)
	s.capped = false
	return n, capped
}
