package grid

import "testing"

func TestParseRegionSpec(t *testing.T) {
	good := map[string]RegionSpec{
		"North@1000,1001":     {"North", 1000, 1001},
		"Two Words@0, 7":      {"Two Words", 0, 7},
		"at@home@5,5":         {"at@home", 5, 5},
		"X@16777184,16777184": {"X", 16777184, 16777184},
	}
	for in, want := range good {
		if got, err := ParseRegionSpec(in); err != nil || got != want {
			t.Errorf("ParseRegionSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"North", "North@", "North@1", "North@1,", "North@-1,2", "@1,2", " North@1,2", "North@1,99999999", "North@1.5,2"} {
		if got, err := ParseRegionSpec(bad); err == nil {
			t.Errorf("ParseRegionSpec(%q) = %+v, want an error", bad, got)
		}
	}
}

func FuzzParseRegionSpec(f *testing.F) {
	f.Add("North@1000,1001")
	f.Add("a@b@1,2")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRegionSpec(s)
		if err != nil {
			return
		}
		back, err := ParseRegionSpec(r.String())
		if err != nil || back != r {
			t.Fatalf("%q read as %+v, which reads back as %+v, %v", s, r, back, err)
		}
	})
}
