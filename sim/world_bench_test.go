package sim

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/circuit"
	"ritual/login"
	"ritual/sim/motion"
	"ritual/store/sqlite"
)

// sink is a PacketConn that takes every datagram and never delivers one.
type sink struct {
	once   sync.Once
	closed chan struct{}
}

func (s *sink) ReadFrom([]byte) (int, net.Addr, error) {
	<-s.closed
	return 0, nil, net.ErrClosed
}
func (s *sink) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }
func (s *sink) Close() error                              { s.once.Do(func() { close(s.closed) }); return nil }
func (s *sink) LocalAddr() net.Addr                       { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9} }
func (s *sink) SetDeadline(time.Time) error               { return nil }
func (s *sink) SetReadDeadline(time.Time) error           { return nil }
func (s *sink) SetWriteDeadline(time.Time) error          { return nil }

// BenchmarkWorldStep is one frame of a crowd walking about the region, each
// agent with a 64 m view: movement, the snapshot, the interest passes due
// (half the agents) and what they send, encoded onto circuits whose peer
// is a sink. Reported per frame; frames/s at 10 Hz need under 100 ms.
func BenchmarkWorldStep(b *testing.B) {
	for _, n := range []int{200, 1000, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchWorld(b, n, 0) })
	}
}

// BenchmarkWorldStepChildViews is BenchmarkWorldStep with child agents
// (root in the neighbours) standing 10 m beyond the west and south edges,
// each with a 64 m view and an interest pass of its own.
func BenchmarkWorldStepChildViews(b *testing.B) {
	for _, n := range []int{200, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchWorld(b, n, n/4) })
	}
}

func benchWorld(b *testing.B, n, children int) {
	st, err := sqlite.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := Open(b.Context(), Config{Store: st, Caps: caps.NewRouter(caps.Config{BaseURL: "http://127.0.0.1:9"}), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	pc := &sink{closed: make(chan struct{})}
	tr := circuit.NewTransport(pc, circuit.TransportConfig{Logger: quiet, MaxConns: n + children + 1})
	go tr.Serve()
	defer tr.Close()
	w := r.world
	open := func(i int) *agent {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1000)
		conn, err := tr.Open(addr, circuit.Config{Logger: quiet, PingInterval: -1, Timeout: time.Hour, Unacked: 1 << 14, OutboundQueue: 4096})
		if err != nil {
			b.Fatal(err)
		}
		return newAgent(r, conn, login.Circuit{Agent: ritual.NewUUID(), First: "Bench", Last: fmt.Sprint(i)})
	}
	for i := range n {
		a := open(i)
		// Spread over the region, walking in all directions.
		pos := ritual.Vector3{X: 8 + float32((i*97)%240) + float32(i%7)/7, Y: 8 + float32((i*61)%240) + float32(i%5)/5}
		pos.Z = w.ground.At(pos.X, pos.Y) + motion.HalfHeight
		a.av.in = motion.Input{Controls: motion.AtPos, BodyRotation: motion.Heading(float64(i))}
		w.join(a.av, pos)
	}
	for i := range children {
		a := open(n + i)
		along := float32((i*53)%256) + 0.5
		pos := ritual.Vector3{X: -10, Y: along, Z: 30}
		if i%2 == 1 {
			pos = ritual.Vector3{X: along, Y: -10, Z: 30}
		}
		w.observe(a.av, pos, DefaultDrawDistance)
	}
	for range 20 { // everyone sees everyone near: the full updates are out
		w.step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.step()
	}
	b.StopTimer()
	st2 := w.stats()
	b.ReportMetric(float64(st2.TerseUpdates)/float64(st2.Frames), "terse/frame")
	if children > 0 && st2.ChildViews != children {
		b.Fatalf("%d child views, want %d", st2.ChildViews, children)
	}
}

func TestSelectSmallest(t *testing.T) {
	for n := 1; n < 200; n += 7 {
		for k := 1; k <= n; k += 3 {
			c := make([]candidate, n)
			for i := range c {
				c[i].prio = float32((i * 7919) % 101) // repeats included
			}
			want := make([]float32, n)
			for i := range c {
				want[i] = c[i].prio
			}
			slices.Sort(want)
			selectSmallest(c, k, func(c *candidate) float32 { return c.prio })
			var maxIn float32 = -1
			for _, x := range c[:k] {
				maxIn = max(maxIn, x.prio)
			}
			for _, x := range c[k:] {
				if x.prio < maxIn {
					t.Fatalf("n=%d k=%d: %v outside the first k is below %v inside", n, k, x.prio, maxIn)
				}
			}
			if maxIn != want[k-1] {
				t.Fatalf("n=%d k=%d: largest of the first k %v, want %v", n, k, maxIn, want[k-1])
			}
		}
	}
}
