package client

import (
	"context"
	"testing"
	"time"

	"ritual/account"
	"ritual/grid"
	"ritual/login"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// testHashParams keep account creation cheap in tests.
var testHashParams = account.Params{Memory: 1024, Time: 1}

// startGrid starts a whole Ritual grid on loopback with one account.
func startGrid(t testing.TB, rec trace.Recorder) *grid.Server {
	t.Helper()
	ctx := context.Background()
	g, err := grid.Start(ctx, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("closing the grid: %v", err)
		}
	})
	h, err := account.Hash("password", testHashParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Store.Accounts().Create(ctx, &store.Account{First: "Test", Last: "User", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRitualAgainstGrid runs the client against the real grid (login,
// capabilities and region wired by package grid) in both login forms: the
// whole ritual completes and the logout is answered.
func TestRitualAgainstGrid(t *testing.T) {
	var serverMem trace.Memory
	g := startGrid(t, &serverMem)
	for _, format := range []login.Format{login.FormatXMLRPC, login.FormatLLSD} {
		t.Run(format.String(), func(t *testing.T) {
			var mem trace.Memory
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Login(ctx, Config{
				LoginURI: g.LoginURI(), First: "Test", Last: "User", Password: "password", Format: format,
				Recorder: &mem,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.WaitRitual(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := s.World().Avatar(); !ok {
				t.Error("the agent's own avatar was not recognised")
			}
			if tr := s.Terrain(); !tr.Complete() {
				t.Errorf("terrain %d/%d", tr.Patches, tr.Of)
			}
			if rg := s.Region(); rg.Name == "" || rg.ID.IsZero() {
				t.Errorf("region = %+v", rg)
			}
			res, err := s.Logout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !res.ReplyReceived {
				t.Errorf("the grid did not answer LogoutRequest (waited %v)", res.Waited)
			}
			evs := mem.Events()
			tracetest.ExpectOrder(t, evs,
				"[CLIENT] [LOGIN] START", "[CLIENT] [LOGIN] PROGRESS ConnectingToSim",
				"[CLIENT] [UDP] SEND UseCircuitCode", "[CLIENT] [UDP] RECV RegionHandshake",
				"[CLIENT] [UDP] CONNECTED", "[CLIENT] [UDP] RECV LayerData",
				"[CLIENT] [UDP] COMPLETE", "[CLIENT] [UDP] LOGOUT")
			// The grid sends the agent's own avatar right after
			// AgentMovementComplete, before the handshake reply.
			tracetest.ExpectOrder(t, evs, "[CLIENT] [UDP] RECV AgentMovementComplete", "[CLIENT] [UDP] RECV ObjectUpdate", "[CLIENT] [UDP] COMPLETE")
			for _, a := range tracetest.All[*trace.Anomaly](evs) {
				t.Errorf("anomaly: %s (%s)", trace.Tag(a), a.Reason)
			}
		})
	}
	tracetest.ExpectOrder(t, serverMem.Events(), "[SERVER] [LOGIN] AUTH SUCCESS", "[SERVER] [UDP] RECV UseCircuitCode",
		"[SERVER] [UDP] SEND RegionHandshake", "[SERVER] [UDP] SEND AgentMovementComplete")
}
