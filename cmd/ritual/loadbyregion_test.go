package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/account"
	"ritual/grid"
	"ritual/store"
)

// TestLoadByRegion: with bots spread over two regions, the report splits
// the bots, their chat and their update rates by region, and the parts add
// up to the whole; with one region there is no split.
func TestLoadByRegion(t *testing.T) {
	const bots = 4
	srv, err := grid.Start(t.Context(), grid.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger(),
		Regions: []grid.RegionSpec{{Name: "West", GridX: 2000, GridY: 2000}, {Name: "East", GridX: 2001, GridY: 2000}},
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
		accts = append(accts, &store.Account{First: "Rg" + strconv.Itoa(i), Last: "Bot", PasswordHash: h})
	}
	if err := srv.Store.Accounts().Create(t.Context(), accts...); err != nil {
		t.Fatal(err)
	}
	base := []string{"--login-uri", srv.LoginURI(), "--prefix", "Rg", "--password", "botpass", "--ramp", "0",
		"--duration", "10s", "--timeout", "30s", "--walk", "--chat-every", "1s"}
	code, out, errout := runLoadCmd(append(base, "--bots", strconv.Itoa(bots), "--regions", "West,East", "--json")...)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errout)
	}
	var rep struct {
		Completed int
		Chat      chatReport
		Rates     avatarRates            `json:"avatar_updates_hz"`
		ByRegion  map[string]regionCrowd `json:"by_region"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Completed != bots || len(rep.ByRegion) != 2 {
		t.Fatalf("completed %d, by region %+v", rep.Completed, rep.ByRegion)
	}
	var lines, expected, heard, measured int
	for _, name := range []string{"West", "East"} {
		r, ok := rep.ByRegion[name]
		if !ok {
			t.Fatalf("no figures for %s: %+v", name, rep.ByRegion)
		}
		// Two bots in each region, starting together at 128,128: each
		// hears the other's early lines and sees it walk.
		if r.Bots != bots/2 || r.Completed != bots/2 || r.Failed != 0 || len(r.Failures) != 0 {
			t.Errorf("%s: %+v", name, r)
		}
		if r.Chat.N == 0 || r.Chat.Expected == 0 || r.Chat.Heard == 0 || r.Chat.P50 <= 0 {
			t.Errorf("%s chat: %+v", name, r.Chat)
		}
		if r.AvatarUpdatesHz.Bots != bots/2 || r.AvatarUpdatesHz.Nearest10P50 <= 0 || r.RecvBytesPerBotPerS <= 0 {
			t.Errorf("%s rates %+v, received %v B/s", name, r.AvatarUpdatesHz, r.RecvBytesPerBotPerS)
		}
		lines, expected, heard, measured = lines+r.Chat.N, expected+r.Chat.Expected, heard+r.Chat.Heard, measured+r.AvatarUpdatesHz.Bots
	}
	if c := rep.Chat; lines != c.N || expected != c.Expected || heard != c.Heard || measured != rep.Rates.Bots {
		t.Errorf("regions add up to %d lines, %d expected, %d heard, %d bots measured; the whole is %+v, %+v", lines, expected, heard, measured, c, rep.Rates)
	}

	// The table says the same; one region alone has no split.
	code, out, errout = runLoadCmd(append(base, "--bots", "2", "--regions", "West,East", "--duration", "1s")...)
	if code != 0 || !strings.Contains(out, "by region") || !strings.Contains(out, "West") || !strings.Contains(out, "East") {
		t.Errorf("table: exit %d\n%s\n%s", code, out, errout)
	}
	code, out, errout = runLoadCmd(append(base, "--bots", "2", "--regions", "West", "--duration", "1s", "--json")...)
	if code != 0 || strings.Contains(out, "by_region") {
		t.Errorf("one region: exit %d\n%s\n%s", code, out, errout)
	}
}
