package narrative_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"ritual/trace"
	"ritual/trace/narrative"
	"ritual/trace/narrative/narrativetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// streams are the recorded rituals the golden files tell.
var streams = []struct {
	name   string
	events func() []trace.Event
	opt    narrative.Options
}{
	{"ritual", narrativetest.Ritual, narrative.Options{ServerName: "Ritual grid", ClientName: "Ritual client"}},
	{"client_only", func() []trace.Event { return narrativetest.Only(narrativetest.Ritual(), trace.Client) }, narrative.Options{}},
	{"server_only", func() []trace.Event { return narrativetest.Only(narrativetest.Ritual(), trace.Server) }, narrative.Options{}},
	{"stalled", narrativetest.Stalled, narrative.Options{}},
	{"troubled", narrativetest.Troubled, narrative.Options{ServerName: "Ritual grid", ClientName: "Ritual client"}},
	{"login_refused", narrativetest.LoginRefused, narrative.Options{}},
	{"unwhole", narrativetest.Unwhole, narrative.Options{}},
	{"grid", narrativetest.Grid, narrative.Options{}},
	{"ritual_shown", narrativetest.Ritual, narrative.Options{Show: trace.ShowSecrets, Title: "The Ritual, Secrets Shown"}},
}

func TestGolden(t *testing.T) {
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := narrative.Render(&b, st.events(), st.opt); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", st.name+".md")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./trace/narrative -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from the golden file; got:\n%s", golden, b.String())
			}
		})
	}
}
