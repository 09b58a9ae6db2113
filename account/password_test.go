package account

import (
	"crypto/md5"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// cheap are costs low enough for tests; the defaults are measured in the
// benchmarks.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestPasswordForm(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// md5("password"), the example of the protocol notes (section 1.6).
		{"password", "5f4dcc3b5aa765d61d8327deb882cf99"},
		{"$1$5f4dcc3b5aa765d61d8327deb882cf99", "5f4dcc3b5aa765d61d8327deb882cf99"},
		{"$1$5F4DCC3B5AA765D61D8327DEB882CF99", "5f4dcc3b5aa765d61d8327deb882cf99"},
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		// Not the viewer form: too short, too long, not hex. Hashed as text.
		{"$1$abc", md5hexOf("$1$abc")},
		{"$1$5f4dcc3b5aa765d61d8327deb882cf990", md5hexOf("$1$5f4dcc3b5aa765d61d8327deb882cf990")},
		{"$1$5f4dcc3b5aa765d61d8327deb882cfzz", md5hexOf("$1$5f4dcc3b5aa765d61d8327deb882cfzz")},
		{"$2$5f4dcc3b5aa765d61d8327deb882cf99", md5hexOf("$2$5f4dcc3b5aa765d61d8327deb882cf99")},
	}
	for _, tt := range tests {
		if got := PasswordForm(tt.in); got != tt.want {
			t.Errorf("PasswordForm(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := ViewerForm("password"), "$1$5f4dcc3b5aa765d61d8327deb882cf99"; got != want {
		t.Errorf("ViewerForm = %q, want %q", got, want)
	}
}

// md5hexOf is computed without PasswordForm's prefix handling.
func md5hexOf(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }

func TestHashVerifyBothForms(t *testing.T) {
	enc, err := Hash("secret", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("stored form %q", enc)
	}
	for _, tt := range []struct {
		passwd string
		ok     bool
	}{
		{"secret", true},
		{ViewerForm("secret"), true},
		{strings.ToUpper(ViewerForm("secret")[3:]), false}, // bare hex without "$1$" is a plain password
		{"$1$" + strings.ToUpper(PasswordForm("secret")), true},
		{"Secret", false},
		{ViewerForm("Secret"), false},
		{"", false},
	} {
		ok, err := Verify(enc, tt.passwd)
		if err != nil {
			t.Fatalf("Verify(%q): %v", tt.passwd, err)
		}
		if ok != tt.ok {
			t.Errorf("Verify(%q) = %v, want %v", tt.passwd, ok, tt.ok)
		}
	}
	// Hashing the viewer form stores the same secret as hashing the text.
	enc2, err := Hash(ViewerForm("secret"), cheap)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Verify(enc2, "secret"); !ok {
		t.Error("hash of the viewer form does not verify the plain password")
	}
	if enc2 == enc {
		t.Error("two hashes share a salt")
	}
}

func TestNodeMetaverseTruncation(t *testing.T) {
	// node-metaverse sends the MD5 of the first 16 characters only. We do not
	// truncate: such a login fails for longer passwords, as documented.
	long := "abcdefghijklmnopqrstuvwxyz"
	enc, err := Hash(long, cheap)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Verify(enc, ViewerForm(long[:16])); ok {
		t.Error("a 16-character prefix verified a longer password")
	}
	if ok, _ := Verify(enc, ViewerForm(long)); !ok {
		t.Error("the full password did not verify")
	}
}

func TestHashErrors(t *testing.T) {
	if _, err := Hash("", cheap); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty password: %v", err)
	}
	for _, p := range []Params{
		{Memory: 4, Time: 1, Threads: 1},
		{Memory: MaxMemory + 1},
		{Time: MaxTime + 1, Memory: 64},
		{SaltLen: 4, Memory: 64},
		{KeyLen: 8, Memory: 64},
		{KeyLen: MaxKeyLen + 1, Memory: 64},
		{Memory: 64, Threads: 16}, // 8*16 > 64
	} {
		if _, err := Hash("x", p); !errors.Is(err, ErrBadParams) {
			t.Errorf("Hash with %+v: %v, want ErrBadParams", p, err)
		}
	}
}

func TestDefaultsFilled(t *testing.T) {
	p, err := Params{}.withDefaults()
	if err != nil || p != DefaultParams {
		t.Fatalf("Params{}.withDefaults() = %+v, %v", p, err)
	}
}

func TestDecode(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"
	d, err := Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	if d.Params != (Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 12, KeyLen: 30}) {
		t.Errorf("params %+v", d.Params)
	}
	if string(d.Salt) != "saltsaltsalt" {
		t.Errorf("salt %q", d.Salt)
	}
	if d.String() != good {
		t.Errorf("re-encoded %q", d.String())
	}
	bad := []struct{ in, why string }{
		{"", "fields"},
		{"plain", "fields"},
		{"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "algorithm"},
		{"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "version"},
		{"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "parameter"},
		{"$argon2id$v=19$m=64,t=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "parameters"},
		{"$argon2id$v=19$m=-64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "parameter"},
		{"$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "parameter"},
		{"$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "parameter"},
		{"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "m="},
		{"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "t="},
		{"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "p=0"},
		{"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5", "255"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2Fs$a2V5a2V5a2V5a2V5a2V5a2V5", "salt of 3"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5", "key of 3"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0=$a2V5a2V5a2V5a2V5a2V5a2V5", "salt"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5!", "key"},
		{"$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 200) + "$a2V5a2V5a2V5a2V5a2V5a2V5", "too long"},
	}
	for _, tt := range bad {
		_, err := Decode(tt.in)
		if !errors.Is(err, ErrBadHash) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("Decode(%q) = %v, want ErrBadHash mentioning %q", tt.in, err, tt.why)
		}
		if ok, err := Verify(tt.in, "x"); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("Verify(%q) = %v, %v", tt.in, ok, err)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	enc, err := Hash("x", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if NeedsRehash(enc, cheap) {
		t.Error("same params need rehash")
	}
	if !NeedsRehash(enc, Params{}) {
		t.Error("cheap hash does not need rehash to defaults")
	}
	if !NeedsRehash("garbage", cheap) {
		t.Error("garbage does not need rehash")
	}
}

func TestVerifyTimeBounded(t *testing.T) {
	// The slowest string Decode accepts is bounded by MaxMemory and MaxTime;
	// check the defaults stay well below that and take measurable time.
	enc, err := Hash("x", Params{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if ok, err := Verify(enc, "x"); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	t.Logf("one verify with %v: %v", DefaultParams, time.Since(start))
}

func FuzzDecode(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=1,p=1$$")
	f.Add("$1$5f4dcc3b5aa765d61d8327deb882cf99")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrBadHash) {
				t.Fatalf("error %v does not wrap ErrBadHash", err)
			}
			return
		}
		// Round trip: what decodes re-encodes to the same string.
		if got := d.String(); got != s {
			t.Fatalf("re-encoded %q, want %q", got, s)
		}
		if d.Params.Memory > MaxMemory || d.Params.Time > MaxTime {
			t.Fatalf("accepted out-of-bounds %+v", d.Params)
		}
	})
}

func FuzzPasswordForm(f *testing.F) {
	f.Add("password")
	f.Add("$1$5f4dcc3b5aa765d61d8327deb882cf99")
	f.Add("$1$5F4DCC3B5AA765D61D8327DEB882CF99")
	f.Fuzz(func(t *testing.T, s string) {
		h := PasswordForm(s)
		if len(h) != 32 || !isHex(h) || strings.ToLower(h) != h {
			t.Fatalf("PasswordForm(%q) = %q", s, h)
		}
		// The viewer form is a fixed point.
		if got := PasswordForm(ViewerForm(s)); got != h {
			t.Fatalf("PasswordForm(ViewerForm(%q)) = %q, want %q", s, got, h)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, p := range []Params{
		{Memory: 19456, Time: 2, Threads: 1},
		{Memory: 12288, Time: 3, Threads: 1},
		{Memory: 47104, Time: 1, Threads: 1},
		{Memory: 65536, Time: 3, Threads: 1},
	} {
		b.Run(p.String(), func(b *testing.B) {
			enc, err := Hash("password", p)
			if err != nil {
				b.Fatal(err)
			}
			form := ViewerForm("password")
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := Verify(enc, form); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

func BenchmarkPasswordForm(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		PasswordForm("$1$5f4dcc3b5aa765d61d8327deb882cf99")
	}
}

// BenchmarkVerifyParallel measures verifications per second with one per
// core at a time, as a login service bounded to GOMAXPROCS runs them.
func BenchmarkVerifyParallel(b *testing.B) {
	enc, err := Hash("password", Params{})
	if err != nil {
		b.Fatal(err)
	}
	form := ViewerForm("password")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := Verify(enc, form); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
