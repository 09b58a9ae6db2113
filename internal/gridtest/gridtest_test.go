package gridtest_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/client"
	"ritual/grid"
	"ritual/internal/gridtest"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
)

// TestStartDefault: with no options the grid has Test User, whose password
// logs in and completes the ritual over loopback; Stop closes the grid and
// its store once, however often it is called.
func TestStartDefault(t *testing.T) {
	var rec trace.Memory
	g := gridtest.Start(t, gridtest.WithRecorder(&rec))
	if len(g.Accounts) != 1 {
		t.Fatalf("%d accounts, want the default one", len(g.Accounts))
	}
	a := g.Accounts[0]
	if a.Name() != "Test User" || a.Password != gridtest.DefaultPassword || a.ID.IsZero() {
		t.Errorf("default account %+v", a)
	}
	u, err := url.Parse(g.LoginURI)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "0" || g.LoginURI != g.Server.LoginURI() {
		t.Errorf("login URI %q", g.LoginURI)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Login(ctx, client.Config{LoginURI: g.LoginURI, First: a.First, Last: a.Last, Password: a.Password, AgentUpdateInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitRitual(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Logout(ctx); err != nil || !res.ReplyReceived {
		t.Errorf("logout %+v, %v", res, err)
	}
	if len(rec.Events()) == 0 {
		t.Error("the recorder saw nothing of the grid")
	}
	g.Stop()
	g.Stop()
	if _, err := g.Store.Accounts().ByName(ctx, "Test", "User"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("after Stop the store answers %v, want ErrClosed", err)
	}
}

// TestStartOptions: named accounts (and none by default), a store prepared
// before the start (a region the grid, told its name, finds in place), the
// KDF, and accounts added later.
func TestStartOptions(t *testing.T) {
	regionID := ritual.NewUUID()
	kdf := account.Params{Memory: 16, Time: 2, Threads: 1}
	g := gridtest.Start(t,
		gridtest.WithAccount("Alpha", "Bot", "alpha-pass"),
		gridtest.WithAccount("Beta", "Bot", "beta-pass"),
		gridtest.WithKDF(kdf),
		gridtest.WithStore(func(tb testing.TB, st store.Store) {
			r := store.Region{ID: regionID, Name: "Prepared", GridX: 1000, GridY: 1000, SizeX: ritual.RegionSize, SizeY: ritual.RegionSize}
			if err := st.Regions().Create(context.Background(), &r); err != nil {
				tb.Fatal(err)
			}
			hm := sim.GenerateTerrain(int(r.SizeX), int(r.SizeY))
			if err := st.Terrain().Save(context.Background(), r.ID, hm); err != nil {
				tb.Fatal(err)
			}
		}),
		gridtest.WithConfig(func(c *grid.Config) { c.RegionName = "Prepared" }),
	)
	ctx := context.Background()
	if len(g.Accounts) != 2 || g.Accounts[0].Name() != "Alpha Bot" || g.Accounts[1].Name() != "Beta Bot" {
		t.Fatalf("accounts %+v, want Alpha Bot and Beta Bot only", g.Accounts)
	}
	if _, err := g.Store.Accounts().ByName(ctx, gridtest.DefaultFirst, gridtest.DefaultLast); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the default account exists beside named ones: %v", err)
	}
	for _, a := range g.Accounts {
		stored, err := g.Store.Accounts().ByName(ctx, a.First, a.Last)
		if err != nil || stored.ID != a.ID {
			t.Fatalf("%s: stored %+v, %v", a.Name(), stored, err)
		}
		if ok, err := account.Verify(stored.PasswordHash, a.Password); !ok || err != nil {
			t.Errorf("%s: the password does not verify: %v", a.Name(), err)
		}
		if d, err := account.Decode(stored.PasswordHash); err != nil || d.Params.Memory != kdf.Memory || d.Params.Time != kdf.Time {
			t.Errorf("%s: hash %v (%v), want cost %v", a.Name(), d, err, kdf)
		}
	}
	if info := g.Server.Region.Info(); info.ID != regionID || info.Name != "Prepared" {
		t.Errorf("region %+v, want the prepared one", info)
	}
	c := g.AddAccount("Gamma", "Bot", "gamma-pass")
	if _, err := g.Store.Accounts().Get(ctx, c.ID); err != nil {
		t.Errorf("added account: %v", err)
	}
	if _, err := g.CreateAccount("gamma", "bot", "again"); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second Gamma Bot: %v, want ErrExists", err)
	}
}
