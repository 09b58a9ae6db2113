package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/account"
	"ritual/grid"
	"ritual/store"
)

// TestLoadDiscoverRegions: a bare --regions has the first bot ask the
// world map for the regions around the one it lands in, and the bots are
// spread over what it found (that region first), which the report lists;
// a region beyond the reach is not among them.
func TestLoadDiscoverRegions(t *testing.T) {
	const bots = 6
	srv, err := grid.Start(t.Context(), grid.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger(),
		Regions: []grid.RegionSpec{
			{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000},
			{Name: "North", GridX: 2000, GridY: 2001}, {Name: "Away", GridX: 2000 + discoverReach + 1, GridY: 2000},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	h, err := account.Hash("botpass", account.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var accts []*store.Account
	for i := 1; i <= bots; i++ {
		accts = append(accts, &store.Account{First: "Td" + strconv.Itoa(i), Last: "Bot", PasswordHash: h})
	}
	if err := srv.Store.Accounts().Create(t.Context(), accts...); err != nil {
		t.Fatal(err)
	}
	code, out, errout := runLoadCmd("--login-uri", srv.LoginURI(), "--bots", strconv.Itoa(bots),
		"--prefix", "Td", "--password", "botpass", "--ramp", "0", "--regions",
		"--duration", "300ms", "--timeout", "30s", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errout)
	}
	var rep struct {
		Completed, Failed int
		Regions           map[string]int
		Discovered        []discoveredRegion `json:"discovered_regions"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Completed != bots || rep.Failed != 0 {
		t.Fatalf("completed %d failed %d\n%s\n%s", rep.Completed, rep.Failed, out, errout)
	}
	want := []discoveredRegion{{"West", 2000, 2000}, {"East", 2001, 2000}, {"North", 2000, 2001}}
	if !slices.Equal(rep.Discovered, want) {
		t.Errorf("discovered %+v, want %+v", rep.Discovered, want)
	}
	for _, name := range []string{"West", "East", "North"} {
		if rep.Regions[name] != bots/3 {
			t.Errorf("bots by region %v, want %d in each of West, East, North", rep.Regions, bots/3)
			break
		}
	}
	if !strings.Contains(errout, "discovered 3 regions within 32 of West: West, East, North") {
		t.Errorf("stderr does not tell the discovered regions:\n%s", errout)
	}

	var b strings.Builder
	(&loadReport{Discovered: want, Regions: rep.Regions}).writeTable(&b)
	if !strings.Contains(b.String(), "regions discovered on the world map (within 32 of West): West (2000,2000) East (2001,2000) North (2000,2001)") {
		t.Errorf("table:\n%s", b.String())
	}
}

// TestLoadDiscoverNeedsTwo: with --teleport-every, a bare --regions that
// finds one region stops the run before the other bots start.
func TestLoadDiscoverNeedsTwo(t *testing.T) {
	srv := loadGrid(t, "Tn", 3, "botpass")
	code, out, errout := runLoadCmd("--login-uri", srv.LoginURI(), "--bots", "3",
		"--prefix", "Tn", "--password", "botpass", "--ramp", "0", "--teleport-every", "1s",
		"--duration", "300ms", "--timeout", "30s", "--json", "--regions")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errout)
	}
	var rep struct {
		Completed, Failed int
		Failures          []failureCount
		DiscoveryError    string `json:"discovery_error"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Completed != 0 || rep.Failed != 3 || !strings.Contains(rep.DiscoveryError, "needs two regions") {
		t.Errorf("report %+v", rep)
	}
	if !slices.Contains(rep.Failures, failureCount{"not started: region discovery failed", 2}) {
		t.Errorf("failures %+v", rep.Failures)
	}
	if !strings.Contains(errout, "region discovery failed") {
		t.Errorf("stderr: %s", errout)
	}
}

func loadFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("login-uri", "", "")
	fs.Int("bots", 0, "")
	fs.Bool("walk", false, "")
	fs.Bool("json", false, "")
	fs.String("regions", "", "")
	return fs
}

// TestBareRegions: a --regions with no value is found wherever it stands;
// one with a value, in either form, is left alone, and so is a
// "--regions" that is another flag's value or comes after the flags.
func TestBareRegions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
		bare bool
	}{
		{[]string{"--bots", "3", "--regions"}, []string{"--bots", "3"}, true},
		{[]string{"--regions", "--walk", "--bots", "3"}, []string{"--walk", "--bots", "3"}, true},
		{[]string{"-regions", "-json"}, []string{"-json"}, true},
		{[]string{"--walk", "--regions", "--json"}, []string{"--walk", "--json"}, true},
		{[]string{"--regions", "A,B", "--walk"}, []string{"--regions", "A,B", "--walk"}, false},
		{[]string{"--regions=A,B", "--walk"}, []string{"--regions=A,B", "--walk"}, false},
		{[]string{"--regions=", "--walk"}, []string{"--regions=", "--walk"}, false},
		{[]string{"--login-uri", "--regions", "--walk"}, []string{"--login-uri", "--regions", "--walk"}, false},
		{[]string{"--walk=true", "--regions"}, []string{"--walk=true"}, true},
		{[]string{"--", "--regions"}, []string{"--", "--regions"}, false},
		{[]string{"stray", "--regions"}, []string{"stray", "--regions"}, false},
		{[]string{"--unknown", "--regions"}, []string{"--unknown"}, true},
		{nil, nil, false},
	} {
		got, bare := bareRegions(loadFlags(), slices.Clone(tc.args))
		if bare != tc.bare || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q %v, want %q %v", tc.args, got, bare, tc.want, tc.bare)
		}
	}
	// A bare --regions next to one with names is refused.
	code, _, errout := runLoadCmd("--login-uri", "http://127.0.0.1:1/", "--bots", "1", "--password", "x", "--regions", "A,B", "--regions")
	if code != 2 || !strings.Contains(errout, "given twice") {
		t.Errorf("exit %d, stderr %q", code, errout)
	}
}

// FuzzBareRegions: whatever the arguments, bareRegions takes out at most
// one of them, a bare --regions, and leaves the others in order.
func FuzzBareRegions(f *testing.F) {
	f.Add("--bots\x003\x00--regions")
	f.Add("--regions\x00A,B\x00--walk")
	f.Add("--login-uri\x00--regions\x00--\x00--regions")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		got, bare := bareRegions(loadFlags(), slices.Clone(args))
		if !bare {
			if !slices.Equal(got, args) {
				t.Fatalf("%q changed to %q without a bare --regions", args, got)
			}
			return
		}
		if len(got) != len(args)-1 {
			t.Fatalf("%q → %q", args, got)
		}
		i := 0
		for i < len(got) && got[i] == args[i] {
			i++
		}
		if args[i] != "--regions" && args[i] != "-regions" {
			t.Fatalf("%q: took out %q", args, args[i])
		}
		if !slices.Equal(got[i:], args[i+1:]) {
			t.Fatalf("%q → %q", args, got)
		}
	})
}
