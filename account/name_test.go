package account

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := [][2]string{
		{"Test", "User"},
		{"a", "b"},
		{"Load17", "Bot"},
		{"Jean-Luc", "O.Neil_2"},
		{strings.Repeat("x", MaxNameLen), strings.Repeat("y", MaxNameLen)},
	}
	for _, n := range good {
		if err := ValidateName(n[0], n[1]); err != nil {
			t.Errorf("ValidateName(%q, %q) = %v", n[0], n[1], err)
		}
	}
	bad := []struct{ first, last, why string }{
		{"", "User", "empty first name"},
		{"Test", "", "empty last name"},
		{"Te st", "User", `character ' ' at offset 2`},
		{"Test", "Us\ter", `character '\t' at offset 2`},
		{"José", "User", `character 'é' at offset 3`},
		{"Test", "User\n", `offset 4`},
		{"Test", "Us'er", `character '\''`},
		{strings.Repeat("x", MaxNameLen+1), "User", "32 characters long"},
	}
	for _, tt := range bad {
		err := ValidateName(tt.first, tt.last)
		if !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ValidateName(%q, %q) = %v, want ErrBadName mentioning %q", tt.first, tt.last, err, tt.why)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	f.Add("Test", "User")
	f.Add("Te st", "\xff")
	f.Fuzz(func(t *testing.T, first, last string) {
		err := ValidateName(first, last)
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Fatalf("error %v does not wrap ErrBadName", err)
		}
		if err == nil && (strings.ContainsAny(first+last, " \t\r\n\x00") || len(first) > MaxNameLen) {
			t.Fatalf("accepted %q %q", first, last)
		}
	})
}
