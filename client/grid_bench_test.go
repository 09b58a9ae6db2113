package client

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
)

// BenchmarkTeleportRoundTrip teleports between the two regions of the
// fake grid and back, over loopback: the request, TeleportStart, the
// TeleportFinish event, UseCircuitCode on the reused circuit,
// CompleteAgentMovement and AgentMovementComplete — the client's side of a
// teleport (the fake regions answer at once). One op is two teleports.
func BenchmarkTeleportRoundTrip(b *testing.B) {
	g := &twoRegions{}
	g.ids.Store(1)
	finish := func(f *fakeGrid, to *fakeGrid, file string) func(*fakeGrid, *circuit.Conn, msg.Message) {
		return func(f *fakeGrid, conn *circuit.Conn, m msg.Message) {
			if r, ok := m.(*msg.TeleportLocationRequest); ok && ritual.RegionHandle(r.Info.RegionHandle) == to.handle() {
				f.send(conn, &msg.TeleportStart{Info: msg.TeleportStartInfo{TeleportFlags: TeleportViaLocation}})
				f.push(g.answer(b, file))
			}
		}
	}
	var west, east *fakeGrid
	west = newFakeGrid(b, fakeOptions{logoutReply: true, onMessage: func(f *fakeGrid, c *circuit.Conn, m msg.Message) {
		finish(f, east, "opensim-eq-teleportfinish.xml")(f, c, m)
	}})
	east = newFakeGrid(b, fakeOptions{name: eastName, gridX: 1001, gridY: 1000, child: true, onMessage: func(f *fakeGrid, c *circuit.Conn, m msg.Message) {
		finish(f, west, "opensim-eq-teleportfinish-back.xml")(f, c, m)
	}})
	g.west, g.east = west, east
	cfg := west.config(login.FormatXMLRPC)
	cfg.AgentUpdateInterval = -1
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := Login(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitMovementComplete(ctx); err != nil {
		b.Fatal(err)
	}
	east.expect(s.AgentID(), s.SessionID(), s.CircuitCode())
	pos := ritual.Vector3{X: 128, Y: 128, Z: 30}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.TeleportToHandle(ctx, east.handle(), pos, pos); err != nil {
			b.Fatal(err)
		}
		if _, err := s.TeleportToHandle(ctx, west.handle(), pos, pos); err != nil {
			b.Fatal(err)
		}
	}
}
