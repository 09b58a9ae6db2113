package sim

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCstr1 cuts texts to a Variable 1 field (255 bytes with the NUL) on a
// UTF-8 boundary.
func TestCstr1(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		cut  bool
	}{
		{"short", "The region at 1,2 cannot take you.", false},
		{"254 bytes", strings.Repeat("a", 254), false},
		{"255 bytes", strings.Repeat("a", 255), true},
		{"multibyte at the cut", strings.Repeat("a", 250) + strings.Repeat("é", 20), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := cstr1(tt.in)
			if len(b) > 255 || b[len(b)-1] != 0 {
				t.Fatalf("%d bytes, last %#x", len(b), b[len(b)-1])
			}
			s := string(b[:len(b)-1])
			if !utf8.ValidString(s) {
				t.Errorf("cut inside a character: %q", s)
			}
			if got := strings.HasSuffix(s, "…"); got != tt.cut {
				t.Errorf("cut %v, want %v: %q", got, tt.cut, s)
			}
			if !tt.cut && s != tt.in {
				t.Errorf("changed %q", s)
			}
		})
	}
}
