package peer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header is the HTTP header carrying a call's signature:
// "v1 t=<unix seconds> n=<32 hex digits> s=<64 hex digits>".
const Header = "X-Ritual-Signature"

// PathPrefix is where every region's calls are served:
// PathPrefix + "{regionID}/{op}".
const PathPrefix = "/grid/v1/regions/"

// Limits of a call.
const (
	// MaxBody bounds a call's body (and an answer's).
	MaxBody = 64 << 10
	// MaxSkew is how far a call's time may be from the receiver's clock.
	MaxSkew = 60 * time.Second
	// DefaultSeen bounds the nonces a Verifier remembers (those of calls
	// within 2×MaxSkew).
	DefaultSeen = 1 << 18
)

const (
	version  = "v1"
	nonceLen = 16
	keyLabel = "ritual region-to-region calls v1"
)

// Errors of verification.
var (
	ErrUnsigned     = errors.New("peer: the call is not signed")
	ErrBadSignature = errors.New("peer: the call's signature is malformed or wrong")
	ErrStale        = errors.New("peer: the call's time is too far from this process's clock")
	ErrReplay       = errors.New("peer: the call was already made (replayed nonce)")
	ErrBusy         = errors.New("peer: too many calls to remember their nonces")
	ErrNoSecret     = errors.New("peer: the grid's secret is missing or short")
)

// key derives the signing key from the grid's secret: the secret itself
// keys nothing but this derivation.
func key(secret []byte) ([]byte, error) {
	if len(secret) < 16 {
		return nil, ErrNoSecret
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(keyLabel))
	return m.Sum(nil), nil
}

// mac is the signature of a call.
func mac(k []byte, method, path string, unix int64, nonce, bodyHash []byte) []byte {
	m := hmac.New(sha256.New, k)
	var buf [20]byte
	m.Write([]byte(method))
	m.Write([]byte{'\n'})
	m.Write([]byte(path))
	m.Write([]byte{'\n'})
	m.Write(strconv.AppendInt(buf[:0], unix, 10))
	m.Write([]byte{'\n'})
	m.Write(nonce)
	m.Write([]byte{'\n'})
	m.Write(bodyHash)
	return m.Sum(nil)
}

// Signer signs calls with the grid's secret.
type Signer struct {
	key []byte
	now func() time.Time
}

// NewSigner returns a Signer for secret (store.SecretSize bytes).
func NewSigner(secret []byte) (*Signer, error) {
	k, err := key(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{key: k, now: time.Now}, nil
}

// Sign returns the Header value for a call.
func (s *Signer) Sign(method, path string, body []byte) string {
	var nonce [nonceLen]byte
	rand.Read(nonce[:]) // never fails (crypto/rand aborts the program instead)
	h := sha256.Sum256(body)
	t := s.now().Unix()
	sig := mac(s.key, method, path, t, nonce[:], h[:])
	return version + " t=" + strconv.FormatInt(t, 10) + " n=" + hex.EncodeToString(nonce[:]) + " s=" + hex.EncodeToString(sig)
}

// signature is a parsed Header value.
type signature struct {
	unix  int64
	nonce [nonceLen]byte
	sig   [sha256.Size]byte
}

// parseSignature parses a Header value; every malformed one is
// ErrBadSignature, an empty one ErrUnsigned.
func parseSignature(v string) (signature, error) {
	var s signature
	if strings.TrimSpace(v) == "" {
		return s, ErrUnsigned
	}
	f := strings.Fields(v)
	if len(f) != 4 || f[0] != version {
		return s, fmt.Errorf("%w: want %q and three fields", ErrBadSignature, version)
	}
	t, ok := strings.CutPrefix(f[1], "t=")
	if !ok || len(t) == 0 || len(t) > 12 {
		return s, fmt.Errorf("%w: time", ErrBadSignature)
	}
	unix, err := strconv.ParseInt(t, 10, 64)
	if err != nil || unix <= 0 {
		return s, fmt.Errorf("%w: time", ErrBadSignature)
	}
	s.unix = unix
	n, ok := strings.CutPrefix(f[2], "n=")
	if !ok || hex.DecodedLen(len(n)) != nonceLen {
		return s, fmt.Errorf("%w: nonce", ErrBadSignature)
	}
	if _, err := hex.Decode(s.nonce[:], []byte(n)); err != nil {
		return s, fmt.Errorf("%w: nonce", ErrBadSignature)
	}
	g, ok := strings.CutPrefix(f[3], "s=")
	if !ok || hex.DecodedLen(len(g)) != sha256.Size {
		return s, fmt.Errorf("%w: signature", ErrBadSignature)
	}
	if _, err := hex.Decode(s.sig[:], []byte(g)); err != nil {
		return s, fmt.Errorf("%w: signature", ErrBadSignature)
	}
	return s, nil
}

// Verifier checks the signatures of the calls a process receives and
// remembers their nonces. It is safe for concurrent use.
type Verifier struct {
	key []byte
	now func() time.Time
	max int

	mu   sync.Mutex
	seen map[[nonceLen]byte]struct{}
	ring []seenNonce // oldest first, from head
	head int
}

type seenNonce struct {
	nonce  [nonceLen]byte
	expiry int64 // Unix seconds after which the nonce's call is stale anyway
}

// NewVerifier returns a Verifier for secret remembering at most max
// nonces (DefaultSeen when max <= 0).
func NewVerifier(secret []byte, max int) (*Verifier, error) {
	k, err := key(secret)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		max = DefaultSeen
	}
	return &Verifier{key: k, now: time.Now, max: max, seen: map[[nonceLen]byte]struct{}{}}, nil
}

// Verify checks a call: its Header value v against the method, path and
// body. It fails with ErrUnsigned, ErrBadSignature, ErrStale, ErrReplay or
// ErrBusy (wrapped).
func (v *Verifier) Verify(method, path, header string, body []byte) error {
	s, err := parseSignature(header)
	if err != nil {
		return err
	}
	h := sha256.Sum256(body)
	want := mac(v.key, method, path, s.unix, s.nonce[:], h[:])
	if !hmac.Equal(want, s.sig[:]) {
		return ErrBadSignature
	}
	now := v.now().Unix()
	skew := int64(MaxSkew / time.Second)
	if s.unix < now-skew || s.unix > now+skew {
		return fmt.Errorf("%w: %d s off", ErrStale, s.unix-now)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// Forget the nonces whose calls would be stale now.
	for v.head < len(v.ring) && v.ring[v.head].expiry < now {
		delete(v.seen, v.ring[v.head].nonce)
		v.head++
	}
	if v.head > 0 && v.head*2 >= len(v.ring) {
		v.ring = append(v.ring[:0], v.ring[v.head:]...)
		v.head = 0
	}
	if _, dup := v.seen[s.nonce]; dup {
		return ErrReplay
	}
	if len(v.seen) >= v.max {
		return ErrBusy
	}
	v.seen[s.nonce] = struct{}{}
	// A nonce is kept until its call's time is stale: a replay after that
	// fails as stale.
	v.ring = append(v.ring, seenNonce{nonce: s.nonce, expiry: s.unix + skew})
	return nil
}
