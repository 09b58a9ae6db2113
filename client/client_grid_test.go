package client

import (
	"context"
	"testing"
	"time"

	"ritual/internal/gridtest"
	"ritual/login"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// TestRitualAgainstGrid runs the client against the real grid (login,
// capabilities and region wired by package grid) in both login forms: the
// whole ritual completes and the logout is answered.
func TestRitualAgainstGrid(t *testing.T) {
	var serverMem trace.Memory
	g := gridtest.Start(t, gridtest.WithRecorder(&serverMem))
	a := g.Accounts[0]
	for _, format := range []login.Format{login.FormatXMLRPC, login.FormatLLSD} {
		t.Run(format.String(), func(t *testing.T) {
			var mem trace.Memory
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := Login(ctx, Config{
				LoginURI: g.LoginURI, First: a.First, Last: a.Last, Password: a.Password, Format: format,
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
