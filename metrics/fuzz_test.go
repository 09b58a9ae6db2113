package metrics

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and what it reads writes back to text
// that reads the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a 1\n",
		"# HELP a x\n# TYPE a counter\na{b=\"c\",d=\"e\\\"\\n\\\\\"} 1 1700000000000\n",
		"ritual_messages_total{direction=\"in\",message=\"AgentUpdate\"} 20000\nb NaN\nc -Inf\n",
		"a{b=\"\\",
		"a{} 2e9\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		samples, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		w := NewWriter(&b)
		for _, s := range samples {
			// Each sample in a family of its own name; the families are
			// not what is tested.
			w.family = s.Name
			w.Sample(s.Value, s.Labels...)
		}
		if err := w.Flush(); err != nil {
			t.Fatalf("writing back %+v: %v", samples, err)
		}
		again, err := Parse(&b)
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		if len(again) != len(samples) {
			t.Fatalf("%d samples, then %d", len(samples), len(again))
		}
		for i := range again {
			a, s := again[i], samples[i]
			same := a.Value == s.Value || (math.IsNaN(a.Value) && math.IsNaN(s.Value))
			if a.Name != s.Name || !same || len(a.Labels) != len(s.Labels) {
				t.Fatalf("sample %d: %+v then %+v", i, s, a)
			}
			for j := range a.Labels {
				if a.Labels[j] != s.Labels[j] {
					t.Fatalf("sample %d label %d: %+v then %+v", i, j, s.Labels[j], a.Labels[j])
				}
			}
		}
	})
}
