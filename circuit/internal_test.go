package circuit

import (
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ritual/circuit/simnet"
	"ritual/protocol/msg"
)

// TestGracefulCloseAcknowledgesQueued: a circuit closing gracefully whose
// last unacknowledged packet is acknowledged by a datagram that also
// carries a reliable message, with another datagram right behind it,
// delivers and acknowledges both before it closes. (It used to close as
// soon as nothing was unacknowledged: the first message was delivered and
// never acknowledged, so the peer gave it up, and the second was dropped.)
func TestGracefulCloseAcknowledgesQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(1)
		here, err := n.Listen("127.0.0.1:9000")
		if err != nil {
			t.Fatal(err)
		}
		peer, err := n.Listen("127.0.0.1:9001")
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		tr := NewTransport(here, TransportConfig{})
		c := newConn(tr, netip.MustParseAddrPort("127.0.0.1:9001"), Config{PingInterval: -1})
		tr.conns[c.remote] = c

		// The state the run loop would be in: draining, one packet (seq
		// 7) awaiting its acknowledgement, two datagrams queued.
		bp := getBuf()
		b, err := msg.EncodePacket((*bp)[:0], msg.FlagReliable, 7, &msg.LogoutReply{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.unacked[7] = unacked{out: outgoing{buf: bp, n: len(b), reliable: true, name: "LogoutReply"}, seq: 7, lastSent: time.Now(), rto: time.Second}
		c.order = append(c.order, 7)
		c.seq = 7
		c.draining, c.closeReason = true, "logout"
		for _, d := range []struct {
			seq  uint32
			acks []uint32
		}{{seq: 30, acks: []uint32{7}}, {seq: 31}} {
			raw, err := msg.EncodePacket(nil, msg.FlagReliable, d.seq, &msg.AgentUpdate{}, d.acks)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Inject(raw) {
				t.Fatal("inbound queue full")
			}
		}
		go c.run()
		var delivered []uint32
		for in := range c.Inbox() {
			delivered = append(delivered, in.Seq)
		}
		if !slices.Equal(delivered, []uint32{30, 31}) {
			t.Errorf("delivered %v, want [30 31]", delivered)
		}

		var acked []uint32
		buf := make([]byte, readSize)
		var p msg.Packet
		var ack msg.PacketAck
		for {
			peer.SetReadDeadline(time.Now().Add(time.Second))
			k, _, err := peer.ReadFrom(buf)
			if err != nil {
				break
			}
			if err := p.Parse(buf[:k], nil); err != nil {
				t.Fatal(err)
			}
			acked = append(acked, p.Acks...)
			if p.ID == msg.IDPacketAck {
				if err := ack.Decode(p.Body); err != nil {
					t.Fatal(err)
				}
				for _, a := range ack.Packets {
					acked = append(acked, a.ID)
				}
			}
		}
		slices.Sort(acked)
		if !slices.Equal(acked, []uint32{30, 31}) {
			t.Errorf("acknowledged %v, want [30 31]", acked)
		}
		tr.Close()
	})
}

// TestWindow walks the duplicate window through the cases it must tell
// apart: new, repeated, reordered, older than the window, the 32-bit wrap
// and LibreMetaverse's rollover from 0xFFFFFF to 1.
func TestWindow(t *testing.T) {
	type step struct {
		seq  uint32
		dup  bool // has() before mark()
		skip bool // only ask, do not mark
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first packet is new", []step{{seq: 0}, {seq: 0, dup: true}}},
		{"in order", []step{{seq: 1}, {seq: 2}, {seq: 3}, {seq: 2, dup: true}}},
		{"reordered", []step{{seq: 5}, {seq: 3}, {seq: 4}, {seq: 3, dup: true}, {seq: 4, dup: true}, {seq: 2, skip: true}}},
		{"gap then late arrival", []step{{seq: 10}, {seq: 4000}, {seq: 11}, {seq: 11, dup: true}}},
		{"older than the window is a duplicate", []step{{seq: 10}, {seq: 10 + windowBits}, {seq: 10, dup: true, skip: true}, {seq: 11, skip: true}}},
		{"a jump past the window forgets the old bits", []step{{seq: 100}, {seq: 150 + windowBits}, {seq: 100 + windowBits, skip: true}}},
		{"a lap later, the same slot is new", []step{{seq: 3}, {seq: 3 + windowBits}, {seq: 3 + windowBits, dup: true, skip: true}}},
		{"32-bit wrap", []step{{seq: 0xFFFFFFFE}, {seq: 0xFFFFFFFF}, {seq: 1}, {seq: 0xFFFFFFFF, dup: true}, {seq: 0}, {seq: 2}, {seq: 1, dup: true}}},
		{"wrap reordered", []step{{seq: 3}, {seq: 0xFFFFFFF0, skip: true}, {seq: 0xFFFFFF00}, {seq: 4, skip: true}}},
		{"24-bit rollover", []step{{seq: 0xFFFFFE}, {seq: 0xFFFFFF}, {seq: 1}, {seq: 2}, {seq: 1, dup: true}, {seq: 0xFFFFFF, skip: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w window
			for i, s := range tc.steps {
				if got := w.has(s.seq); got != s.dup {
					t.Fatalf("step %d: has(%#x) = %v, want %v", i, s.seq, got, s.dup)
				}
				if !s.skip {
					w.mark(s.seq)
				}
			}
		})
	}
}

// TestSpanGate: a circuit takes no new message while the oldest
// unacknowledged packet is maxSpan numbers behind, so a resend always lands
// inside the peer's duplicate window; a resend that would not is given up
// rather than sent to be mistaken for a duplicate.
func TestSpanGate(t *testing.T) {
	var c Conn
	c.unacked = map[uint32]unacked{}
	if !c.spanOK() {
		t.Fatal("nothing unacknowledged and the gate is closed")
	}
	c.seq = 0xFFFFFF00 // across the wrap
	c.unacked[c.seq] = unacked{seq: c.seq}
	c.order = append(c.order, c.seq, c.seq+1)
	for c.seq-0xFFFFFF00 < maxSpan {
		if !c.spanOK() {
			t.Fatalf("gate closed at span %d", c.seq-0xFFFFFF00)
		}
		c.nextSeq()
	}
	if c.spanOK() {
		t.Fatalf("gate open at span %d", c.seq-0xFFFFFF00)
	}
	delete(c.unacked, 0xFFFFFF00)
	if !c.spanOK() || len(c.order) != 0 {
		t.Fatalf("gate closed once the oldest was acknowledged (order %v)", c.order)
	}
}

// TestOwedAcksBounded: a flood of reliable packets that the application
// does not read never makes the circuit owe more than one PacketAck's worth
// of acknowledgements, nor queue more than Config.Deliver messages; what
// finds the application's queue full is dropped unacknowledged, so the
// peer sends it again later.
func TestOwedAcksBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(1)
		here, err := n.Listen("127.0.0.1:9000")
		if err != nil {
			t.Fatal(err)
		}
		tr := NewTransport(here, TransportConfig{})
		defer tr.Close()
		const deliver = 1000
		c := newConn(tr, netip.MustParseAddrPort("127.0.0.1:9001"), Config{Deliver: deliver, PingInterval: -1})
		c.ackTimer = time.NewTimer(time.Hour)
		maxOwed := 0
		const flood = 3000
		for seq := uint32(1); seq <= flood; seq++ {
			raw, err := msg.EncodePacket(nil, msg.FlagReliable, seq, &msg.AgentUpdate{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.handleDatagram(raw)
			maxOwed = max(maxOwed, len(c.pendingAcks))
		}
		if maxOwed > msg.MaxAcks {
			t.Errorf("owed %d acknowledgements at the peak, bound %d", maxOwed, msg.MaxAcks)
		}
		if len(c.deliver) != deliver {
			t.Errorf("%d messages queued for the application, want its bound %d", len(c.deliver), deliver)
		}
		s := c.Stats()
		if s.AcksSent+len(c.pendingAcks) != deliver || s.Dropped != flood-deliver {
			t.Errorf("acknowledged %d (+%d owed), dropped %d; want %d acknowledged, %d dropped", s.AcksSent, len(c.pendingAcks), s.Dropped, deliver, flood-deliver)
		}
	})
}
