package e2e_test

import (
	"context"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"ritual"
	"ritual/circuit/simnet"
	"ritual/client"
	"ritual/internal/gridtest"
	"ritual/sim"
)

// worldEventBuffer is the bots' Config.WorldEventBuffer.
const worldEventBuffer = 64

// crowd logs in n bots (Bot1 User …) over the lossy in-memory network and
// waits for each one's ritual.
func crowd(t *testing.T, n int) (*gridtest.Grid, []*client.Session, func(name string) *client.Session) {
	t.Helper()
	net0 := simnet.New(7)
	net0.SetDefault(lossy)
	pc, err := net0.Listen(regionAddr)
	if err != nil {
		t.Fatal(err)
	}
	g := startGrid(t, pc, 0, fastResend, nil)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	login := func(name string) *client.Session {
		t.Helper()
		cfg := clientConfig(g, &http.Client{Transport: tr}, func() (net.PacketConn, error) { return net0.Listen("10.0.0.2:0") })
		cfg.First = name
		cfg.Circuit = fastResend
		cfg.AgentUpdateInterval = 200 * time.Millisecond
		cfg.DrawDistance = 64
		cfg.WorldEventBuffer = worldEventBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := client.Login(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.WaitRitual(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}
	var bots []*client.Session
	for i := range n {
		g.AddAccount(botName(i), last, password)
		bots = append(bots, login(botName(i)))
	}
	g.AddAccount("Absent", last, password)
	return g, bots, login
}

// waitEvent reads s's world events until match accepts one.
func waitEvent(t *testing.T, s *client.Session, within time.Duration, what string, match func(client.WorldEvent) bool) client.WorldEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.WorldEvents():
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("%s: no %s within %v (avatars %d)", s.LoginResponse().FirstName, what, within, len(s.Avatars()))
			return client.WorldEvent{}
		}
	}
}

func heard(text string) func(client.WorldEvent) bool {
	return func(ev client.WorldEvent) bool { return ev.Kind == client.ChatHeard && ev.Chat.Text == text }
}

// drain empties s's world events.
func drain(s *client.Session) {
	for {
		select {
		case <-s.WorldEvents():
		default:
			return
		}
	}
}

// TestWorldOverLossyNetwork: many sessions in one region over a network
// losing, duplicating and reordering packets see each other arrive, move
// and leave, chat in and out of range, and exchange instant messages with
// agents online and offline.
func TestWorldOverLossyNetwork(t *testing.T) {
	const n = 6
	g, bots, login := crowd(t, n)

	// Everyone sees everyone else, with the right name.
	deadline := time.Now().Add(20 * time.Second)
	for i, s := range bots {
		for len(s.Avatars()) < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %d avatars, want %d", botName(i), len(s.Avatars()), n-1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	a, ok := bots[0].AvatarByID(bots[1].AgentID())
	if !ok || a.Name != "Bot2 User" || a.Position.X < 100 {
		t.Fatalf("Bot1's view of Bot2: %+v %v", a, ok)
	}
	for _, s := range bots {
		drain(s)
	}

	// Chat in range: everyone hears Bot1, with its name and position.
	if err := bots[0].Say("hello, crowd"); err != nil {
		t.Fatal(err)
	}
	for _, s := range bots[1:] {
		ev := waitEvent(t, s, 10*time.Second, "Bot1's line", heard("hello, crowd"))
		c := ev.Chat
		if c.FromName != "Bot1 User" || c.SourceID != bots[0].AgentID() || c.Type != client.Say || math.Abs(float64(c.Position.X-bots[0].Position().X)) > 1 {
			t.Errorf("chat as heard: %+v (Bot1 at %v)", c, bots[0].Position())
		}
	}

	// Bot2 flies 40 m up: out of speech, within a shout.
	up := bots[1].Position()
	up.Z += 40
	bots[1].FlyTo(up)
	flyBy := time.Now().Add(20 * time.Second)
	for bots[1].Moving() || bots[1].Position().Z < up.Z-2 {
		if time.Now().After(flyBy) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if z := bots[1].Position().Z; z < up.Z-2 {
		t.Fatalf("Bot2 at height %v, want about %v", z, up.Z)
	}
	// Bot1 sees Bot2 high up.
	waitEvent(t, bots[0], 10*time.Second, "Bot2 up high", func(ev client.WorldEvent) bool {
		return ev.Kind == client.AvatarMoved && ev.Avatar.ID == bots[1].AgentID() && ev.Avatar.Position.Z > up.Z-3
	})
	drain(bots[1])
	bots[0].Say("only nearby")
	bots[0].Shout("everyone")
	waitEvent(t, bots[2], 10*time.Second, "the spoken line", heard("only nearby"))
	ev := waitEvent(t, bots[1], 10*time.Second, "the shout", func(ev client.WorldEvent) bool { return ev.Kind == client.ChatHeard })
	if ev.Chat.Text != "everyone" {
		t.Errorf("Bot2, 40 m up, heard %q first; want only the shout", ev.Chat.Text)
	}

	// Bot3 walks 12 m east: Bot1 sees it move.
	start := bots[2].Position()
	goal := start
	goal.X += 12
	bots[2].WalkTo(goal)
	waitEvent(t, bots[0], 15*time.Second, "Bot3 walking east", func(ev client.WorldEvent) bool {
		return ev.Kind == client.AvatarMoved && ev.Avatar.ID == bots[2].AgentID() && ev.Avatar.Position.X > start.X+8
	})

	// An IM to an agent online arrives at once.
	drain(bots[3])
	if err := bots[0].SendIM(bots[3].AgentID(), "psst, Bot4"); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, bots[3], 10*time.Second, "the IM", func(ev client.WorldEvent) bool { return ev.Kind == client.IMReceived })
	if ev.IM.Text != "psst, Bot4" || ev.IM.FromName != "Bot1 User" || ev.IM.From != bots[0].AgentID() || ev.IM.Offline {
		t.Errorf("IM as received: %+v", ev.IM)
	}

	// An IM to an account offline is kept and the sender told.
	absent0, err := g.Store.Accounts().ByName(context.Background(), "Absent", last)
	if err != nil {
		t.Fatal(err)
	}
	absentID := absent0.ID
	drain(bots[0])
	if err := bots[0].SendIM(absentID, "for later"); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, bots[0], 10*time.Second, "the offline reply", func(ev client.WorldEvent) bool { return ev.Kind == client.IMReceived })
	if ev.IM.Text != sim.OfflineReply || ev.IM.From != absentID {
		t.Errorf("reply to an IM to an offline account: %+v", ev.IM)
	}
	absent := login("Absent")
	ev = waitEvent(t, absent, 10*time.Second, "the saved IM", func(ev client.WorldEvent) bool { return ev.Kind == client.IMReceived })
	if ev.IM.Text != "for later" || !ev.IM.Offline || ev.IM.FromName != "Bot1 User" {
		t.Errorf("saved IM as delivered: %+v", ev.IM)
	}

	// Bot4 logs out: the others see it go.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gone := bots[3].AgentID()
	if _, err := bots[3].Logout(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bots[0], 10*time.Second, "Bot4 leaving", func(ev client.WorldEvent) bool {
		return ev.Kind == client.AvatarLeft && ev.Avatar.ID == gone
	})
	if _, ok := bots[0].AvatarByID(gone); ok {
		t.Error("Bot1 still sees Bot4 after it left")
	}
}

// TestWorldEventsBounded: a session whose application never reads its
// world events keeps at most their buffer and counts the rest as dropped,
// while its circuit keeps up with the region.
func TestWorldEventsBounded(t *testing.T) {
	_, bots, _ := crowd(t, 4)
	// Bots 2-4 walk about; bot 1 never reads its events.
	for k := range 3 {
		s := bots[k+1]
		go func() {
			for i := 0; ; i++ {
				p := s.Position()
				goal := ritual.Vector3{X: p.X + float32(6*math.Cos(float64(i+k))), Y: p.Y + float32(6*math.Sin(float64(i+k))), Z: p.Z}
				s.WalkTo(goal)
				select {
				case <-s.Done():
					return
				case <-time.After(time.Second):
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for bots[0].WorldEventsDropped() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no world event dropped after 30 s; %d queued", len(bots[0].WorldEvents()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if q := len(bots[0].WorldEvents()); q > worldEventBuffer {
		t.Errorf("%d world events queued, buffer %d", q, worldEventBuffer)
	}
	// The session still follows the world.
	if got := len(bots[0].Avatars()); got != 3 {
		t.Errorf("the non-reading session sees %d avatars, want 3", got)
	}
}
