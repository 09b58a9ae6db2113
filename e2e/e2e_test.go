package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/circuit/simnet"
	"ritual/client"
	"ritual/internal/gridtest"
	"ritual/sim"
	"ritual/store"
	"ritual/trace"
)

const (
	first, last, password = "Test", "User", "password"
	regionAddr            = "10.0.0.1:9000"
)

// quiet is a logger for the grid and the client that drops everything.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// lossy is the network of the loss tests, in each direction.
var lossy = simnet.Link{Loss: 0.2, Duplicate: 0.1, Reorder: 0.2, Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond}

// fastResend keeps resends quick: the loss tests run in real time (their
// HTTP is on real sockets, which testing/synctest cannot hold).
var fastResend = circuit.Config{ResendTimeout: 200 * time.Millisecond, MaxResendTimeout: 800 * time.Millisecond, PingInterval: time.Second}

// startGrid starts a grid with the account first last and a region whose
// scene is the generated one plus extra copies of it (extra×16 more
// prims); pc, when not nil, carries its UDP. The grid and its store are
// closed at the end of the test, or earlier by calling g.Stop.
func startGrid(tb testing.TB, pc net.PacketConn, extra int, cc circuit.Config, rec trace.Recorder) *gridtest.Grid {
	tb.Helper()
	opts := []gridtest.Option{
		gridtest.WithAccount(first, last, password),
		gridtest.WithStore(func(tb testing.TB, st store.Store) { seedRegion(tb, st, extra) }),
		gridtest.WithCircuit(cc), gridtest.WithRecorder(rec), gridtest.WithLogger(quiet),
	}
	if pc != nil {
		opts = append(opts, gridtest.WithPacketConn(pc))
	}
	return gridtest.Start(tb, opts...)
}

func botName(i int) string { return fmt.Sprintf("Bot%d", i+1) }

// seedRegion creates the grid's region in st before the grid starts, as
// the region does on first start, with extra shifted copies of the
// generated scene.
func seedRegion(tb testing.TB, st store.Store, extra int) {
	tb.Helper()
	ctx := context.Background()
	info := store.Region{ID: ritual.NewUUID(), Name: "Ritual", GridX: 1000, GridY: 1000, SizeX: ritual.RegionSize, SizeY: ritual.RegionSize}
	if err := st.Regions().Create(ctx, &info); err != nil {
		tb.Fatal(err)
	}
	hm := sim.GenerateTerrain(int(info.SizeX), int(info.SizeY))
	if err := st.Terrain().Save(ctx, info.ID, hm); err != nil {
		tb.Fatal(err)
	}
	base := sim.GenerateScene(hm, ritual.ZeroUUID, 1000)
	objs := slices.Clone(base)
	for k := 1; k <= extra; k++ {
		for _, o := range base {
			o.ID = ritual.NewUUID()
			o.LocalID = uint32(100000 + k*len(base) + len(objs))
			o.Position.X = float32(math.Mod(float64(o.Position.X)+float64(k)*7, 250)) + 3
			objs = append(objs, o)
		}
	}
	if err := st.Objects().Save(ctx, info.ID, objs...); err != nil {
		tb.Fatal(err)
	}
}

// clientConfig logs in to g; listen, when not nil, opens the client's UDP
// socket.
func clientConfig(g *gridtest.Grid, hc *http.Client, listen func() (net.PacketConn, error)) client.Config {
	return client.Config{
		LoginURI: g.LoginURI, First: first, Last: last, Password: password,
		HTTPClient: hc, Logger: quiet, ListenPacket: listen,
	}
}

// serverCounts counts what the region's circuits did, from its probe
// events: messages delivered to the region (duplicates are not), and
// messages sent for the first time (resends are not).
type serverCounts struct {
	recv, sent         map[string]int
	resent, duplicates int
}

func countServer(events []trace.Event) serverCounts {
	c := serverCounts{recv: map[string]int{}, sent: map[string]int{}}
	for _, ev := range events {
		if a, ok := ev.(*trace.Anomaly); ok && a.Side == trace.Server && a.Kind == trace.AnomalyDuplicate {
			c.duplicates++
		}
		p, ok := ev.(*trace.Packet)
		if !ok || p.Side != trace.Server {
			continue
		}
		switch {
		case p.Dir == trace.Recv:
			c.recv[p.Message]++
		case p.Resent:
			c.resent++
		default:
			c.sent[p.Message]++
		}
	}
	return c
}

// TestRitualUnderLoss: with 20 % loss, 10 % duplication and 20 %
// reordering in each direction between client and region, the client
// completes the ritual within a bounded time and every reliable message
// reaches the application exactly once, on both sides.
func TestRitualUnderLoss(t *testing.T) {
	const bound = 20 * time.Second
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			n := simnet.New(seed)
			n.SetDefault(lossy)
			pc, err := n.Listen(regionAddr)
			if err != nil {
				t.Fatal(err)
			}
			var serverEvents trace.Memory
			g := startGrid(t, pc, 25, fastResend, &serverEvents)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			cfg := clientConfig(g, &http.Client{Transport: tr}, func() (net.PacketConn, error) { return n.Listen("10.0.0.2:0") })
			cfg.Circuit = fastResend
			cfg.AgentUpdateInterval = 100 * time.Millisecond

			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			start := time.Now()
			s, err := client.Login(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.WaitRitual(ctx); err != nil {
				t.Fatalf("no ritual within %v: %v (client %+v, network %+v)", bound, err, s.Stats(), n.Stats())
			}
			took := time.Since(start)
			// The ritual completes at the first object; the rest of the
			// scene may still be on its way (resent).
			prims := g.Server.Region.Objects()
			if err := s.WaitObjects(ctx, prims+1); err != nil {
				t.Fatalf("the scene did not arrive within %v: %v (client %+v, network %+v)", bound, err, s.Stats(), n.Stats())
			}
			// Let resends and duplicates still on the way arrive: none may
			// be delivered again.
			time.Sleep(2 * time.Second)

			st := s.Stats()
			sc := countServer(serverEvents.Events())
			for _, m := range []string{"RegionHandshake", "AgentMovementComplete", "AgentWearablesUpdate", "AgentDataUpdate"} {
				if st.Messages[m] != 1 {
					t.Errorf("the client got %s %d times, want once", m, st.Messages[m])
				}
			}
			for _, m := range []string{"ObjectUpdate", "LayerData"} {
				if st.Messages[m] != sc.sent[m] || sc.sent[m] == 0 {
					t.Errorf("the client got %s %d times; the region sent %d", m, st.Messages[m], sc.sent[m])
				}
			}
			if got := s.World().Len(); got != prims+1 {
				t.Errorf("the world has %d objects, want %d prims and the avatar", got, prims)
			}
			if ws := st.World; ws.FullUpdates != prims+1 || ws.TerseUpdates != 0 || ws.Killed != 0 {
				t.Errorf("object updates applied: %+v, want exactly one full update per object (%d)", ws, prims+1)
			}
			if tr := s.Terrain(); !tr.Complete() {
				t.Errorf("terrain %d/%d", tr.Patches, tr.Of)
			}
			for _, m := range []string{"UseCircuitCode", "CompleteAgentMovement", "RegionHandshakeReply", "AgentThrottle", "AgentWearablesRequest", "AgentDataUpdateRequest"} {
				if sc.recv[m] != 1 {
					t.Errorf("the region got %s %d times, want once", m, sc.recv[m])
				}
			}
			if c := g.Server.Region.Counters(); c.Accepted != 1 || c.Rejected != 0 {
				t.Errorf("region counters %+v: want one circuit accepted, none refused", c)
			}
			cs, ns := st.Circuit, n.Stats()
			if ns.Lost == 0 || ns.Duplicated == 0 || ns.Reordered == 0 || cs.Resent+sc.resent == 0 || cs.Duplicates+sc.duplicates == 0 {
				t.Errorf("loss not exercised: network %+v, client circuit %+v, region resent %d, duplicates %d", ns, cs, sc.resent, sc.duplicates)
			}
			if cs.ReliableLost != 0 {
				t.Errorf("the client gave up %d reliable packets", cs.ReliableLost)
			}

			res, err := s.Logout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !res.ReplyReceived {
				t.Errorf("no LogoutReply (waited %v)", res.Waited)
			}
			t.Logf("ritual in %v; %d prims; client circuit %+v; region resent %d, duplicates %d; network %+v; logout in %v",
				took.Round(time.Millisecond), prims, cs, sc.resent, sc.duplicates, n.Stats(), res.Waited.Round(time.Millisecond))
		})
	}
}
