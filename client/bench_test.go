package client

import (
	"context"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/internal/gridtest"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
)

// BenchmarkRitual measures a whole client ritual: login, UDP handshake,
// seed capability and event queue, every object and terrain patch, and a
// logout answered by the region.
func BenchmarkRitual(b *testing.B) {
	run := func(b *testing.B, cfg Config) {
		cfg.AgentUpdateInterval = -1
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			s, err := Login(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.WaitRitual(ctx); err != nil {
				b.Fatal(err)
			}
			if res, err := s.Logout(ctx); err != nil || !res.ReplyReceived {
				b.Fatalf("Logout = %+v, %v", res, err)
			}
			cancel()
		}
	}
	b.Run("fake", func(b *testing.B) {
		f := newFakeGrid(b, fakeOptions{logoutReply: true, sceneDelay: time.Microsecond})
		run(b, f.config(login.FormatXMLRPC))
	})
	b.Run("grid", func(b *testing.B) {
		// The password cost this benchmark has always measured with, so
		// that its numbers stay comparable.
		g := gridtest.Start(b, gridtest.WithKDF(account.Params{Memory: 1024, Time: 1}))
		a := g.Accounts[0]
		run(b, Config{LoginURI: g.LoginURI, First: a.First, Last: a.Last, Password: a.Password})
	})
}

// BenchmarkHandleCapture measures the session's handling of every message
// OpenSimulator sent in the ten-second capture (scene, terrain, and the
// rest), on a fresh session each time.
func BenchmarkHandleCapture(b *testing.B) {
	caps := readCapture(b, "opensim-nm-ritual-linger10s.jsonl")
	var toClient []msg.Message
	for _, c := range caps {
		if c.ToClient {
			toClient = append(toClient, c.Message)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		s, _ := replaySession(b, caps, nil)
		for _, m := range toClient {
			if err := s.handle(m); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkApplyTerse measures the common steady-state update: one terse
// update of a known avatar.
func BenchmarkApplyTerse(b *testing.B) {
	w, err := NewWorld(testAgent, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Apply(&msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{fullAvatar(7, testAgent)}}); err != nil {
		b.Fatal(err)
	}
	tr := terseBlock(prim.Terse{LocalID: 7, IsAvatar: true, CollisionPlane: ritual.Vector4{Z: 1, W: 25},
		Position: ritual.Vector3{X: 128, Y: 129, Z: 26}, Rotation: ritual.Quaternion{W: 1}}, nil)
	m := &msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{tr}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Apply(m); err != nil {
			b.Fatal(err)
		}
	}
}
