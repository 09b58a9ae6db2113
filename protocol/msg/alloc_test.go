package msg

import (
	"bytes"
	"testing"

	"ritual"
)

// captured returns the first captured datagram carrying the named message.
func captured(t testing.TB, name string) []byte {
	t.Helper()
	for _, d := range loadCaptures(t) {
		var p Packet
		if p.Parse(d.data, nil) == nil && p.ID.String() == name {
			return d.data
		}
	}
	t.Fatalf("no %s in the captures", name)
	return nil
}

func hotMessages() []struct {
	name  string
	m     Message
	flags Flags
	acks  []uint32
} {
	return []struct {
		name  string
		m     Message
		flags Flags
		acks  []uint32
	}{
		{"AgentUpdate", &AgentUpdate{AgentData: AgentUpdateAgentData{
			AgentID: agentA, SessionID: session1,
			BodyRotation: ritual.QuaternionFromXYZ(0, 0, 0.3), HeadRotation: ritual.IdentityQuaternion,
			CameraCenter: ritual.Vector3{X: 128, Y: 128, Z: 25}, CameraAtAxis: ritual.Vector3{X: 1},
			CameraLeftAxis: ritual.Vector3{Y: 1}, CameraUpAxis: ritual.Vector3{Z: 1}, Far: 64, ControlFlags: 1,
		}}, FlagZerocoded, nil},
		{"PacketAck", &PacketAck{Packets: []PacketAckPackets{{ID: 1}, {ID: 2}, {ID: 3}, {ID: 400}}}, 0, nil},
		{"StartPingCheck", &StartPingCheck{PingID: StartPingCheckPingID{PingID: 7, OldestUnacked: 99}}, FlagReliable, []uint32{10, 11}},
		{"CompletePingCheck", &CompletePingCheck{PingID: CompletePingCheckPingID{PingID: 7}}, 0, []uint32{12}},
	}
}

// TestZeroAllocs guards the hot paths: parsing a datagram and decoding its
// message into a reused value, and encoding into a reused buffer, allocate
// nothing.
func TestZeroAllocs(t *testing.T) {
	for _, tt := range hotMessages() {
		t.Run(tt.name, func(t *testing.T) {
			datagram := AppendPacket(nil, tt.flags, 1, tt.m, tt.acks)
			var p Packet
			scratch := make([]byte, 0, MaxBody)
			dst, _ := New(tt.m.ID())
			decode := func() {
				if err := p.Parse(datagram, scratch); err != nil {
					t.Fatal(err)
				}
				if err := dst.Decode(p.Body); err != nil {
					t.Fatal(err)
				}
			}
			decode() // grow p.Acks and dst's slices once
			if n := testing.AllocsPerRun(200, decode); n != 0 {
				t.Errorf("Parse+Decode allocates %v times", n)
			}
			if !bytes.Equal(dst.AppendTo(nil), tt.m.AppendTo(nil)) {
				t.Errorf("decoded value differs")
			}
			buf := make([]byte, 0, MTU)
			if n := testing.AllocsPerRun(200, func() {
				buf = AppendPacket(buf[:0], tt.flags, 2, tt.m, tt.acks)
			}); n != 0 {
				t.Errorf("AppendPacket allocates %v times", n)
			}
		})
	}
	// Larger messages decode without allocating once the value has grown.
	for _, name := range []string{"ObjectUpdate", "LayerData", "RegionHandshake"} {
		t.Run(name, func(t *testing.T) {
			datagram := captured(t, name)
			var p Packet
			scratch := make([]byte, 0, MaxBody)
			if err := p.Parse(datagram, scratch); err != nil {
				t.Fatal(err)
			}
			dst, _ := New(p.ID)
			decode := func() {
				if err := p.Parse(datagram, scratch); err != nil {
					t.Fatal(err)
				}
				if err := dst.Decode(p.Body); err != nil {
					t.Fatal(err)
				}
			}
			decode()
			if n := testing.AllocsPerRun(100, decode); n != 0 {
				t.Errorf("Parse+Decode allocates %v times", n)
			}
			buf := make([]byte, 0, MaxDatagram)
			if n := testing.AllocsPerRun(100, func() {
				buf = AppendPacket(buf[:0], p.Flags, 2, dst, nil)
			}); n != 0 {
				t.Errorf("AppendPacket allocates %v times", n)
			}
		})
	}
}

func benchMessages(b *testing.B) []struct {
	name     string
	datagram []byte
} {
	var out []struct {
		name     string
		datagram []byte
	}
	for _, tt := range hotMessages() {
		out = append(out, struct {
			name     string
			datagram []byte
		}{tt.name, AppendPacket(nil, tt.flags, 1, tt.m, tt.acks)})
	}
	for _, name := range []string{"ObjectUpdate", "LayerData", "RegionHandshake"} {
		out = append(out, struct {
			name     string
			datagram []byte
		}{name, captured(b, name)})
	}
	return out
}

// BenchmarkDecode parses a datagram and decodes its message into a reused
// value.
func BenchmarkDecode(b *testing.B) {
	for _, bm := range benchMessages(b) {
		b.Run(bm.name, func(b *testing.B) {
			var p Packet
			scratch := make([]byte, 0, MaxBody)
			if err := p.Parse(bm.datagram, scratch); err != nil {
				b.Fatal(err)
			}
			dst, _ := New(p.ID)
			b.SetBytes(int64(len(bm.datagram)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(bm.datagram, scratch); err != nil {
					b.Fatal(err)
				}
				if err := dst.Decode(p.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode writes a whole datagram into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, bm := range benchMessages(b) {
		b.Run(bm.name, func(b *testing.B) {
			var p Packet
			if err := p.Parse(bm.datagram, nil); err != nil {
				b.Fatal(err)
			}
			m, err := p.Decode()
			if err != nil {
				b.Fatal(err)
			}
			acks := append([]uint32(nil), p.Acks...)
			buf := make([]byte, 0, MaxDatagram)
			b.SetBytes(int64(len(bm.datagram)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendPacket(buf[:0], p.Flags, p.Sequence, m, acks)
			}
		})
	}
}

func BenchmarkZerocode(b *testing.B) {
	v := loadVector(b, "object_update_box")
	plain := unhex(b, v.DecodedHex)[HeaderLen:]
	coded := unhex(b, v.Hex)[HeaderLen:]
	b.Run("Encode", func(b *testing.B) {
		buf := make([]byte, 0, 2*len(plain))
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendZeroEncode(buf[:0], plain)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		buf := make([]byte, 0, MaxBody)
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = AppendZeroDecode(buf[:0], coded, MaxBody); err != nil {
				b.Fatal(err)
			}
		}
	})
}
