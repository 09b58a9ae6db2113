package login_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/login"
	"ritual/store"
	"ritual/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestGoldenReply pins down the exact bytes of a successful reply in both
// forms, for a fixed account, circuit, clock and region. The inventory
// folder ids, which the store draws at random, read as folder-N.
func TestGoldenReply(t *testing.T) {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := account.Hash(testPassword, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	acct := &store.Account{ID: ritual.MustParseUUID("2e3fc297-1d6f-493e-aa23-d69777db3cbe"), First: testFirst, Last: testLast, PasswordHash: hash}
	if err := st.Accounts().Create(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	region := newFakeRegion()
	region.dest.SeedCapability = "http://127.0.0.1:9000/CAPS/fe6e667f-34d0-41c8-b862-def06fd07fed0000/"
	srv, err := login.NewServer(login.Config{
		Accounts: st.Accounts(), Inventory: st.Inventory(), Region: region, Logger: discardLogger(),
		Now: func() time.Time { return testNow }, MapServerURL: "http://127.0.0.1:9000/",
	})
	if err != nil {
		t.Fatal(err)
	}
	login.SetIDs(srv, func() (uint32, ritual.UUID, ritual.UUID) {
		return 296610768, ritual.MustParseUUID("475d12d5-fcc6-44b3-9761-da81ee792858"), ritual.MustParseUUID("2e3da8d0-49ff-4549-b30d-bdf1f2445611")
	})
	folders, err := st.Inventory().Skeleton(context.Background(), acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for i, f := range folders {
		names[f.ID.String()] = fmt.Sprintf("folder-%02d-%s", i, f.Name)
	}

	for _, tc := range []struct{ file, ct, req string }{
		{"reply-xmlrpc.golden", "text/xml", "opensim-login-request.xml"},
		{"reply-llsd.golden", "application/llsd+xml", "opensim-login-llsd-request.xml"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rec := httptestRecorder(t, srv, tc.ct, readTestdata(t, tc.req))
			got := uuidRE.ReplaceAllStringFunc(rec, func(u string) string {
				if n, ok := names[u]; ok {
					return n
				}
				return u
			})
			// One member per line, so that a diff reads well.
			got = string(bytes.ReplaceAll([]byte(got), []byte("<member>"), []byte("\n<member>")))
			got = string(bytes.ReplaceAll([]byte(got), []byte("<key>"), []byte("\n<key>"))) + "\n"
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("reply differs from %s (run with -update if intended):\n%s", path, firstDiff(got, string(want)))
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := range min(len(al), len(bl)) {
		if !bytes.Equal(al[i], bl[i]) {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}
