package circuit

import (
	"net/netip"
	"testing"
	"time"

	"ritual/circuit/simnet"
	"ritual/protocol/msg"
)

// FuzzHandleDatagram feeds a circuit arbitrary datagrams, each twice. It
// must never panic, never owe more acknowledgements than one PacketAck
// carries, and never deliver a reliable packet twice.
func FuzzHandleDatagram(f *testing.F) {
	seed := func(flags msg.Flags, seq uint32, m msg.Message, acks []uint32) {
		b, err := msg.EncodePacket(nil, flags, seq, m, acks)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(msg.FlagReliable, 1, &msg.AgentUpdate{}, nil)
	seed(msg.FlagReliable|msg.FlagZerocoded, 2, &msg.CompleteAgentMovement{}, []uint32{1, 2, 3})
	seed(0, 3, &msg.PacketAck{Packets: []msg.PacketAckPackets{{ID: 1}, {ID: 0xFFFFFFFF}}}, nil)
	seed(msg.FlagReliable, 4, &msg.StartPingCheck{PingID: msg.StartPingCheckPingID{PingID: 7, OldestUnacked: 2}}, nil)
	seed(0, 0xFFFFFFFF, &msg.CompletePingCheck{PingID: msg.CompletePingCheckPingID{PingID: 7}}, nil)
	f.Add([]byte{0x40, 0, 0, 0, 9, 0, 0xff, 0xff, 0xfe, 0xfe})
	f.Add([]byte{0x90, 0, 0, 0, 1, 0, 1, 0, 0, 0, 5, 0xff})

	n := simnet.New(1)
	here, err := n.Listen("127.0.0.1:9000")
	if err != nil {
		f.Fatal(err)
	}
	tr := NewTransport(here, TransportConfig{})
	defer tr.Close()
	f.Fuzz(func(t *testing.T, d []byte) {
		c := newConn(tr, netip.MustParseAddrPort("127.0.0.1:9001"), Config{Deliver: 4, InboundQueue: 4, OutboundQueue: 4, PingInterval: -1})
		c.ackTimer = time.NewTimer(time.Hour)
		defer c.ackTimer.Stop()
		c.handleDatagram(d)
		first := len(c.deliver)
		c.handleDatagram(d)
		if len(c.pendingAcks) > msg.MaxAcks {
			t.Fatalf("owes %d acks", len(c.pendingAcks))
		}
		if len(d) > 0 && d[0]&byte(msg.FlagReliable) != 0 && first == 1 && len(c.deliver) != 1 {
			t.Fatalf("a reliable packet was delivered twice")
		}
	})
}
