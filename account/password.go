package account

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Errors returned by this package. They are wrapped with detail; test for
// them with errors.Is.
var (
	// ErrEmptyPassword reports an empty password.
	ErrEmptyPassword = errors.New("account: empty password")
	// ErrBadParams reports key-derivation parameters out of range.
	ErrBadParams = errors.New("account: bad password hashing parameters")
	// ErrBadHash reports a stored password string that is not in the
	// $argon2id$ form this package writes.
	ErrBadHash = errors.New("account: malformed password hash")
)

// Params are the argon2id costs. The zero value of a field means its default
// (see DefaultParams), so Params{} hashes with the defaults.
type Params struct {
	// Memory is the memory cost in KiB (argon2 m).
	Memory uint32
	// Time is the number of passes over the memory (argon2 t).
	Time uint32
	// Threads is the degree of parallelism (argon2 p).
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes.
	KeyLen uint32
}

// DefaultParams are the costs used when a Params field is zero: OWASP's
// minimum recommendation for argon2id (19 MiB, two passes, one lane), a
// 16-byte salt and a 32-byte key. On a 2-core machine of 2026 one
// verification takes a few tens of milliseconds, so 2,000 bots log in within
// about half a minute of hashing while an offline guesser pays the same per
// guess.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, both when hashing and when reading a stored string:
// a stored value cannot make a verification allocate or loop without limit.
const (
	MaxMemory  = 1 << 20 // KiB (1 GiB)
	MaxTime    = 64
	MinSaltLen = 8
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 64
)

// withDefaults fills zero fields from DefaultParams and checks the bounds.
func (p Params) withDefaults() (Params, error) {
	if p.Memory == 0 {
		p.Memory = DefaultParams.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultParams.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultParams.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultParams.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultParams.KeyLen
	}
	return p, p.check()
}

func (p Params) check() error {
	switch {
	case p.Threads == 0:
		return fmt.Errorf("%w: p=0", ErrBadParams)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("%w: m=%d KiB (want %d..%d)", ErrBadParams, p.Memory, 8*uint32(p.Threads), MaxMemory)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: t=%d (want 1..%d)", ErrBadParams, p.Time, MaxTime)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt of %d bytes (want %d..%d)", ErrBadParams, p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key of %d bytes (want %d..%d)", ErrBadParams, p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// String formats p as the parameter section of a stored hash, "m=..,t=..,p=..".
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// md5Prefix marks a password already in the form viewers send.
const md5Prefix = "$1$"

// PasswordForm returns the lowercase hex MD5 that a viewer would send for
// passwd (without the "$1$" prefix). passwd is either that form already —
// "$1$" followed by exactly 32 hex digits, in any case — or a plain password,
// which is hashed. The empty string maps to the MD5 of the empty string.
func PasswordForm(passwd string) (md5hex string) {
	if rest, ok := strings.CutPrefix(passwd, md5Prefix); ok && len(rest) == 32 && isHex(rest) {
		return strings.ToLower(rest)
	}
	sum := md5.Sum([]byte(passwd))
	return hex.EncodeToString(sum[:])
}

// ViewerForm returns what a viewer sends as passwd for the plain password
// passwd: "$1$" followed by the lowercase hex MD5.
func ViewerForm(passwd string) string { return md5Prefix + PasswordForm(passwd) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Hash derives the string to store for passwd, which may be plain or in the
// "$1$"+md5hex form (see PasswordForm), with a fresh random salt and the
// costs in p (zero fields take DefaultParams).
func Hash(passwd string, p Params) (string, error) {
	if passwd == "" {
		return "", ErrEmptyPassword
	}
	p, err := p.withDefaults()
	if err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("account: reading a salt: %w", err)
	}
	key := argon2.IDKey([]byte(PasswordForm(passwd)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	var sb strings.Builder
	sb.Grow(40 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	sb.WriteString("$argon2id$v=")
	sb.WriteString(strconv.Itoa(argon2.Version))
	sb.WriteByte('$')
	sb.WriteString(p.String())
	sb.WriteByte('$')
	sb.WriteString(b64.EncodeToString(salt))
	sb.WriteByte('$')
	sb.WriteString(b64.EncodeToString(key))
	return sb.String()
}

// Decoded is a stored password string taken apart.
type Decoded struct {
	Params Params // SaltLen and KeyLen are those of Salt and Key
	Salt   []byte
	Key    []byte
}

// Decode parses a stored password string written by Hash. It rejects
// anything else, including parameters outside the package bounds, with an
// error wrapping ErrBadHash.
func Decode(encoded string) (Decoded, error) {
	var d Decoded
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return d, fmt.Errorf("%w: want 5 '$'-separated fields, got %d", ErrBadHash, len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return d, fmt.Errorf("%w: algorithm %q, want argon2id", ErrBadHash, truncate(parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return d, fmt.Errorf("%w: version %q, want v=%d", ErrBadHash, truncate(parts[2]), argon2.Version)
	}
	m, t, p, err := parseCosts(parts[3])
	if err != nil {
		return d, err
	}
	b64 := base64.RawStdEncoding.Strict()
	if n := len(parts[4]); n > b64.EncodedLen(MaxSaltLen) {
		return d, fmt.Errorf("%w: salt field of %d characters is too long", ErrBadHash, n)
	}
	if n := len(parts[5]); n > b64.EncodedLen(MaxKeyLen) {
		return d, fmt.Errorf("%w: key field of %d characters is too long", ErrBadHash, n)
	}
	if d.Salt, err = b64.DecodeString(parts[4]); err != nil {
		return d, fmt.Errorf("%w: salt: %v", ErrBadHash, err)
	}
	if d.Key, err = b64.DecodeString(parts[5]); err != nil {
		return d, fmt.Errorf("%w: key: %v", ErrBadHash, err)
	}
	d.Params = Params{Memory: m, Time: t, Threads: p, SaltLen: uint32(len(d.Salt)), KeyLen: uint32(len(d.Key))}
	if err := d.Params.check(); err != nil {
		return Decoded{}, fmt.Errorf("%w: %v", ErrBadHash, err)
	}
	return d, nil
}

// String re-encodes d in the stored form.
func (d Decoded) String() string { return encode(d.Params, d.Salt, d.Key) }

// parseCosts reads "m=<uint>,t=<uint>,p=<uint>" in exactly that order.
func parseCosts(s string) (m, t uint32, p uint8, err error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, fmt.Errorf("%w: parameters %q, want m=..,t=..,p=..", ErrBadHash, truncate(s))
	}
	var vals [3]uint64
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		// Digits only: no sign, no leading zeros, no more than fit a uint32.
		if !ok || v == "" || len(v) > 10 || (len(v) > 1 && v[0] == '0') || strings.TrimLeft(v, "0123456789") != "" {
			return 0, 0, 0, fmt.Errorf("%w: parameter %q, want %s<number>", ErrBadHash, truncate(fields[i]), name)
		}
		vals[i], err = strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%w: parameter %q: out of range", ErrBadHash, truncate(fields[i]))
		}
	}
	if vals[2] > 255 {
		return 0, 0, 0, fmt.Errorf("%w: p=%d exceeds 255", ErrBadHash, vals[2])
	}
	return uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), nil
}

// truncate shortens attacker-sized text quoted in an error.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Verify reports whether passwd — plain or "$1$"+md5hex, see PasswordForm —
// matches the stored string encoded. The error is non-nil only when encoded
// is malformed (wrapping ErrBadHash); a wrong password is (false, nil). An
// empty password never matches.
func Verify(encoded, passwd string) (bool, error) {
	d, err := Decode(encoded)
	if err != nil {
		return false, err
	}
	if passwd == "" {
		return false, nil
	}
	p := d.Params
	key := argon2.IDKey([]byte(PasswordForm(passwd)), d.Salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(key, d.Key) == 1, nil
}

// NeedsRehash reports whether encoded was made with costs other than p (zero
// fields of p meaning the defaults), so that a service can store a fresh hash
// after a successful login. A malformed string needs rehashing too.
func NeedsRehash(encoded string, p Params) bool {
	d, err := Decode(encoded)
	if err != nil {
		return true
	}
	want, err := p.withDefaults()
	if err != nil {
		return false
	}
	return d.Params != want
}
