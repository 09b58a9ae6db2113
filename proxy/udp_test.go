package proxy

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"ritual/login"
	"ritual/protocol/msg"
	"ritual/trace"
)

// relayFixture is a session with a relay to a region socket the test
// plays, and a client socket the test plays.
type relayFixture struct {
	p      *Proxy
	s      *Session
	rl     *relay
	region net.PacketConn
	client net.PacketConn
}

func newRelayFixture(t testing.TB) *relayFixture {
	t.Helper()
	cfg := Config{Upstream: "http://127.0.0.1:1/", Listen: "127.0.0.1:0", Logger: quietLog}
	u, err := cfg.populate()
	if err != nil {
		t.Fatal(err)
	}
	p := New(cfg, u)
	p.base = "http://127.0.0.1:9010"
	s := p.newSession(login.RequestSummary{First: "Test", Last: "User"})
	s.code = 42
	listen := func() net.PacketConn {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		return pc
	}
	f := &relayFixture{p: p, s: s, region: listen(), client: listen()}
	f.rl, err = s.relayFor(addrPort(f.region.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.closeNow()
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stop)
		p.wg.Wait()
	})
	return f
}

func encode(t testing.TB, seq uint32, m msg.Message, flags msg.Flags, acks ...uint32) []byte {
	t.Helper()
	b, err := msg.EncodePacket(nil, flags, seq, m, acks)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ucc(t testing.TB, code uint32) []byte {
	m := &msg.UseCircuitCode{}
	m.CircuitCode.Code = code
	return encode(t, 1, m, msg.FlagReliable)
}

// send writes b from pc to the address to.
func send(t testing.TB, pc net.PacketConn, to netip.AddrPort, b []byte) {
	t.Helper()
	if _, err := pc.WriteTo(b, net.UDPAddrFromAddrPort(to)); err != nil {
		t.Fatal(err)
	}
}

// recv reads one datagram, or nil after wait.
func recv(t testing.TB, pc net.PacketConn, wait time.Duration) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(wait))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		t.Fatal(err)
	}
	return buf[:n]
}

// TestRelayIsNotOpen: the relay passes datagrams only between the
// session's client (who sent its UseCircuitCode) and the region the grid
// handed out; everything else is refused and told.
func TestRelayIsNotOpen(t *testing.T) {
	f := newRelayFixture(t)
	relay := f.rl.public
	stranger, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()

	send(t, f.region, relay, []byte("region first"))
	send(t, stranger, relay, ucc(t, 41)) // the wrong circuit code
	send(t, stranger, relay, []byte("garbage"))
	if b := recv(t, f.region, 100*time.Millisecond); b != nil {
		t.Fatalf("the region got %x from a stranger", b)
	}
	hello := ucc(t, 42)
	send(t, f.client, relay, hello)
	if b := recv(t, f.region, time.Second); !bytes.Equal(b, hello) {
		t.Fatalf("the region got %x, want the client's UseCircuitCode %x", b, hello)
	}
	ack := encode(t, 1, &msg.PacketAck{Packets: []msg.PacketAckPackets{{ID: 1}}}, 0)
	send(t, f.region, relay, ack)
	if b := recv(t, f.client, time.Second); !bytes.Equal(b, ack) {
		t.Fatalf("the client got %x, want the region's %x", b, ack)
	}
	send(t, stranger, relay, ucc(t, 42)) // the right code, from another address
	if b := recv(t, f.region, 100*time.Millisecond); b != nil {
		t.Fatalf("the region got %x from a second client", b)
	}
	junk := []byte{0x40, 0, 0, 0, 9, 0, 0xff, 0xff, 0xff, 0xee}
	send(t, f.client, relay, junk)
	if b := recv(t, f.region, time.Second); !bytes.Equal(b, junk) {
		t.Fatalf("an undecodable datagram was not relayed as it was: %x", b)
	}
	time.Sleep(50 * time.Millisecond)
	rejects, undecoded, packets := 0, 0, 0
	for _, ev := range f.s.Events() {
		switch e := ev.(type) {
		case *trace.Anomaly:
			if e.Kind == trace.AnomalyReject {
				rejects++
			}
		case *trace.Undecoded:
			undecoded++
			if e.Side != trace.Client || e.Size != len(junk) || e.Error == "" {
				t.Errorf("undecoded datagram told as %+v", e)
			}
		case *trace.Packet:
			packets++
		}
	}
	if rejects != 4 || undecoded != 1 || packets != 2 {
		t.Errorf("told %d refusals (want 4), %d undecodable (want 1), %d packets (want 2)", rejects, undecoded, packets)
	}
}

// TestRelayRewritesNextRegions: EnableSimulator, TeleportFinish and
// CrossedRegion from the region name a new relay for the region they
// announce (and a proxy seed capability); the datagram keeps its flags,
// sequence number and appended acks, and the new relay leads to the
// announced region.
func TestRelayRewritesNextRegions(t *testing.T) {
	f := newRelayFixture(t)
	send(t, f.client, f.rl.public, ucc(t, 42))
	recv(t, f.region, time.Second)
	next, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	nextAddr := addrPort(next.LocalAddr())
	const seed = "http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/"

	es := &msg.EnableSimulator{}
	es.SimulatorInfo.Handle, es.SimulatorInfo.IP, es.SimulatorInfo.Port = 1<<40, nextAddr.Addr().As4(), nextAddr.Port()
	tf := &msg.TeleportFinish{}
	tf.Info.SimIP, tf.Info.SimPort, tf.Info.SeedCapability = nextAddr.Addr().As4(), nextAddr.Port(), []byte(seed+"\x00")
	cr := &msg.CrossedRegion{}
	cr.RegionData.SimIP, cr.RegionData.SimPort, cr.RegionData.SeedCapability = nextAddr.Addr().As4(), nextAddr.Port(), []byte(seed)

	var relayed netip.AddrPort
	for i, m := range []msg.Message{es, tf, cr} {
		seq := uint32(10 + i)
		in := encode(t, seq, m, msg.FlagReliable|msg.FlagZerocoded, 7, 8)
		send(t, f.region, f.rl.public, in)
		out := recv(t, f.client, time.Second)
		var pkt msg.Packet
		if err := pkt.Parse(out, make([]byte, msg.MaxBody)); err != nil {
			t.Fatal(err)
		}
		if pkt.Sequence != seq || pkt.Flags&msg.FlagReliable == 0 || len(pkt.Acks) != 2 || pkt.Acks[0] != 7 || pkt.Acks[1] != 8 {
			t.Errorf("%s: relayed with seq %d flags %v acks %v", m.Name(), pkt.Sequence, pkt.Flags, pkt.Acks)
		}
		got, err := pkt.Decode()
		if err != nil {
			t.Fatal(err)
		}
		var ip [4]byte
		var port uint16
		var gotSeed []byte
		switch g := got.(type) {
		case *msg.EnableSimulator:
			ip, port = g.SimulatorInfo.IP, g.SimulatorInfo.Port
			if g.SimulatorInfo.Handle != 1<<40 {
				t.Errorf("EnableSimulator's handle changed to %d", g.SimulatorInfo.Handle)
			}
		case *msg.TeleportFinish:
			ip, port, gotSeed = g.Info.SimIP, g.Info.SimPort, g.Info.SeedCapability
		case *msg.CrossedRegion:
			ip, port, gotSeed = g.RegionData.SimIP, g.RegionData.SimPort, g.RegionData.SeedCapability
		}
		r := netip.AddrPortFrom(netip.AddrFrom4(ip), port)
		if r == nextAddr || r == f.rl.public {
			t.Errorf("%s: announces %s, want a new relay", m.Name(), r)
		}
		if relayed.IsValid() && r != relayed {
			t.Errorf("%s: a second relay %s for the same region (first %s)", m.Name(), r, relayed)
		}
		relayed = r
		if gotSeed != nil {
			u := cString(gotSeed)
			pu, err := url.Parse(u)
			if err != nil || !strings.HasPrefix(pu.Path, CapPrefix) || strings.Contains(u, "cfcc2d97") {
				t.Errorf("%s: seed capability %q is not a proxy URL", m.Name(), u)
			} else if c := f.p.lookupCap(strings.Trim(strings.TrimPrefix(pu.Path, CapPrefix), "/")); c == nil || c.url != seed || c.s != f.s {
				t.Errorf("%s: proxy seed URL leads to %+v", m.Name(), c)
			}
		}
	}
	// The new relay leads to the announced region.
	hello := ucc(t, 42)
	send(t, f.client, relayed, hello)
	if b := recv(t, next, time.Second); !bytes.Equal(b, hello) {
		t.Errorf("the next region got %x through the new relay", b)
	}
}

// FuzzRelayDatagram: whatever a region or client sends, the relay passes
// it on (rewritten only when it is a well-formed EnableSimulator,
// TeleportFinish or CrossedRegion) and records it without panicking.
func FuzzRelayDatagram(f *testing.F) {
	es := &msg.EnableSimulator{}
	es.SimulatorInfo.IP, es.SimulatorInfo.Port = [4]byte{127, 0, 0, 1}, 9001
	tf := &msg.TeleportFinish{}
	tf.Info.SimIP, tf.Info.SimPort, tf.Info.SeedCapability = [4]byte{127, 0, 0, 1}, 9001, []byte("http://127.0.0.1:9000/CAPS/x/\x00")
	cr := &msg.CrossedRegion{}
	cr.RegionData.SimIP, cr.RegionData.SimPort = [4]byte{127, 0, 0, 1}, 9002
	lay := &msg.LayerData{}
	lay.LayerData.Data = []byte{1, 2, 3}
	for _, m := range []msg.Message{es, tf, cr, lay, &msg.UseCircuitCode{}, &msg.PacketAck{Packets: []msg.PacketAckPackets{{ID: 3}}}} {
		b, err := msg.EncodePacket(nil, msg.FlagReliable|msg.FlagZerocoded, 9, m, []uint32{1, 2})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	f.Add([]byte{0x80, 0, 0, 0, 1, 0, 0xff}, false)
	fx := newRelayFixture(f)
	fx.rl.client = addrPort(fx.client.LocalAddr())
	fx.rl.clientNet = fx.client.LocalAddr()
	out := make([]byte, 0, maxDatagram)
	f.Fuzz(func(t *testing.T, d []byte, fromRegion bool) {
		if len(d) > maxDatagram {
			return
		}
		in := bytes.Clone(d)
		now := time.Now()
		if fromRegion {
			sent := fx.rl.forwardRegion(d, out[:0])
			fx.rl.observe(now, trace.Server, d, sent)
		} else {
			fx.rl.observe(now, trace.Client, d, nil)
		}
		if !bytes.Equal(in, d) {
			t.Fatal("the relay modified the datagram it received")
		}
	})
}

// TestLongSessionBounded: past StoryEvents, routine packets are counted,
// not kept; everything else still is, and the end tells how many.
func TestLongSessionBounded(t *testing.T) {
	f := newRelayFixture(t)
	var ends []trace.Event
	f.p.cfg.Ended = func(_ *Session, evs []trace.Event) { ends = evs }
	for i := range StoryEvents + 100 {
		f.s.record(&trace.Packet{Header: hdr(time.Now(), trace.Client, trace.UDP, trace.EndClient, trace.EndRegion), Dir: trace.Send, Message: "AgentUpdate", Seq: uint32(i)})
	}
	f.s.record(&trace.Packet{Header: hdr(time.Now(), trace.Client, trace.UDP, trace.EndClient, trace.EndRegion), Dir: trace.Send, Message: "LogoutRequest"})
	if n := len(f.s.Events()); n != StoryEvents+1 {
		t.Errorf("%d events kept, want %d", n, StoryEvents+1)
	}
	f.s.end(endLogout, time.Now())
	last, ok := ends[len(ends)-1].(*trace.SessionEnd)
	if !ok || last.Untold != 100 {
		t.Errorf("the story ends with %+v, want 100 untold packets", ends[len(ends)-1])
	}
}
