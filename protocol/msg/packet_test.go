package msg

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		wire  string
		flags Flags
		seq   uint32
		id    ID
		body  string
		acks  []uint32
	}{
		{"high", "00 00000008 00 01 0934120000", 0, 8, IDStartPingCheck, "0934120000", nil},
		{"medium", "40 00000100 00 ff06 00 00000000 00", FlagReliable, 256, IDCoarseLocationUpdate, "000000000000", nil},
		{"low", "40 01020304 00 ffff0003 15cd5b07", FlagReliable, 0x01020304, IDUseCircuitCode, "15cd5b07", nil},
		{"fixed", "00 ffffffff 00 fffffffb 00", 0, 0xFFFFFFFF, IDPacketAck, "00", nil},
		{"resent", "60 00000009 00 02 05", FlagReliable | FlagResent, 9, IDCompletePingCheck, "05", nil},
		// The message number is inside the zerocoded part: FF FF 00 95
		// travels as FF FF 00 01 95.
		{"zerocoded low number", "c0 00000002 00 ffff000195 0002", FlagReliable | FlagZerocoded, 2, IDRegionHandshakeReply, "0000", nil},
		{"zerocoded runs", "80 00000003 00 04 00ff002d 01", FlagZerocoded, 3, IDAgentUpdate, strings.Repeat("00", 300) + "01", nil},
		// A lone 00 at the end of the coded part is one zero.
		{"zerocoded lone trailing zero", "80 00000003 00 02 00", FlagZerocoded, 3, IDCompletePingCheck, "00", nil},
		{"appended acks", "10 00000007 00 02 05 00000001 00000002 02", FlagAcks, 7, IDCompletePingCheck, "05", []uint32{1, 2}},
		// The ack tail is taken off before zero-decoding and is never coded.
		{"zerocoded with acks", "90 00000007 00 02 0001 00000100 01", FlagZerocoded | FlagAcks, 7, IDCompletePingCheck, "00", []uint32{0x100}},
		{"ack flag with zero count", "10 00000007 00 02 05 00", FlagAcks, 7, IDCompletePingCheck, "05", nil},
		{"extra header skipped", "00 00000001 02 aabb 02 05", 0, 1, IDCompletePingCheck, "05", nil},
		// With zerocoding the extra bytes are inside the coded part, as
		// OpenSimulator and LibreMetaverse read it.
		{"zerocoded extra header", "80 00000001 01 0001 02 0001", FlagZerocoded, 1, IDCompletePingCheck, "00", nil},
		{"empty body", "00 00000001 00 fffffffd", 0, 1, IDCloseCircuit, "", nil},
		{"unknown number parses", "00 00000001 00 ffff03e7 01", 0, 1, 0xFFFF03E7, "01", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			if err := p.Parse(unhex(t, tt.wire), make([]byte, 0, 64)); err != nil {
				t.Fatal(err)
			}
			if p.Flags != tt.flags || p.Sequence != tt.seq || p.ID != tt.id {
				t.Errorf("got %v %d %v, want %v %d %v", p.Flags, p.Sequence, p.ID, tt.flags, tt.seq, tt.id)
			}
			if want := unhex(t, tt.body); !bytes.Equal(p.Body, want) {
				t.Errorf("body = %x, want %x", p.Body, want)
			}
			if len(p.Acks) != len(tt.acks) || len(tt.acks) > 0 && !reflect.DeepEqual(p.Acks, tt.acks) {
				t.Errorf("acks = %v, want %v", p.Acks, tt.acks)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		wire   string
		field  string
		offset int
		err    error
		says   string
	}{
		{"empty", "", "header", 0, ErrShortBuffer, "header needs 6 bytes, datagram has 0"},
		{"short header", "4000000001", "header", 5, ErrShortBuffer, "datagram has 5"},
		{"no number", "40 00000001 00", "message number", 6, ErrShortBuffer, "message number needs 1 bytes, 0 remain"},
		{"short medium", "40 00000001 00 ff", "message number", 6, ErrShortBuffer, "needs 2 bytes, 1 remain"},
		{"short low", "40 00000001 00 ffff00", "message number", 6, ErrShortBuffer, "needs 4 bytes, 3 remain"},
		{"short zerocoded number", "c0 00000001 00 ffff0001", "message number", 6, ErrShortBuffer, "needs 4 bytes, 3 remain"},
		{"too many acks", "10 00000001 00 01 05", "appended acks", 7, ErrShortBuffer, "5 appended acks need 21 bytes after the header, 2 remain"},
		{"acks eat header", "10 00000001 01", "appended acks", 5, ErrShortBuffer, "1 appended acks need 5 bytes after the header, 0 remain"},
		{"extra header too long", "00 00000001 05 0102", "extra header", 6, ErrShortBuffer, "extra header of 5 bytes, 2 remain"},
		{"zerocode bomb", "80 00000001 00" + strings.Repeat("00ff", 40), "zerocoding", 6 + 64, ErrBadZerocode, "run of 255 zeros exceeds the 8192-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Packet
			err := p.Parse(unhex(t, tt.wire), nil)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Parse = %v, want a *DecodeError", err)
			}
			if de.Field != tt.field || de.Offset != tt.offset || !errors.Is(err, tt.err) {
				t.Errorf("error %q: field %q offset %d, want %q %d (%v)", err, de.Field, de.Offset, tt.field, tt.offset, tt.err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

func TestAppendPacket(t *testing.T) {
	long := make([]byte, 1100) // lone zeros: coding would double them
	for i := range long {
		long[i] = byte(i & 1)
	}
	tests := []struct {
		name  string
		flags Flags
		seq   uint32
		m     Message
		acks  []uint32
		want  string
	}{
		{"unreliable", 0, 8, &StartPingCheck{PingID: StartPingCheckPingID{PingID: 9, OldestUnacked: 0x1234}}, nil,
			"00 00000008 00 01 09 34120000"},
		{"acks set the flag", FlagReliable, 7, &CompletePingCheck{PingID: CompletePingCheckPingID{PingID: 5}}, []uint32{1, 0xA0B0C0D0},
			"50 00000007 00 02 05 00000001 a0b0c0d0 02"},
		{"ack flag without acks is cleared", FlagAcks, 7, &CompletePingCheck{}, nil,
			"00 00000007 00 02 00"},
		{"zerocoded, acks not coded", FlagZerocoded, 0x100, &CompletePingCheck{}, []uint32{0x200},
			"90 00000100 00 02 0001 00000200 01"},
		{"zerocoded number", FlagZerocoded | FlagReliable, 2, &RegionHandshakeReply{RegionInfo: RegionHandshakeReplyRegionInfo{Flags: 7}}, nil,
			"c0 00000002 00 ffff000195 0020 07 0003"},
		{"medium", 0, 1, &CoarseLocationUpdate{}, nil,
			"00 00000001 00 ff06 00 00000000 00"},
		{"fixed", 0, 1, &PacketAck{Packets: []PacketAckPackets{{ID: 0x0A}}}, nil,
			"00 00000001 00 fffffffb 01 0a000000"},
		{"coding past MTU is dropped", FlagZerocoded | FlagReliable, 1, &LayerData{LayerData: LayerDataLayerData{Data: long}}, nil,
			"40 00000001 00 0b 00 4c04" + strings.Repeat("0001", 550)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.want)
			got := AppendPacket(nil, tt.flags, tt.seq, tt.m, tt.acks)
			if !bytes.Equal(got, want) {
				t.Errorf("AppendPacket =\n%x\nwant\n%x", got, want)
			}
			prefix := []byte("prefix")
			got2, err := EncodePacket(prefix, tt.flags, tt.seq, tt.m, tt.acks)
			if err != nil || !bytes.Equal(got2[:6], prefix) || !bytes.Equal(got2[6:], want) {
				t.Errorf("EncodePacket = %x, %v", got2, err)
			}
			// And it parses back.
			var p Packet
			if err := p.Parse(got, nil); err != nil {
				t.Fatal(err)
			}
			m, _ := New(p.ID)
			if err := m.Decode(p.Body); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.AppendTo(nil), tt.m.AppendTo(nil)) {
				t.Errorf("decoded body differs")
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	long := make([]byte, 256)
	tests := []struct {
		name string
		m    Message
		want EncodeError
		says string
	}{
		{"variable 1", &RegionHandshake{RegionInfo3: RegionHandshakeRegionInfo3{ProductName: long}},
			EncodeError{Message: "RegionHandshake", Block: "RegionInfo3", Field: "ProductName", Len: 256, Max: 255},
			"msg: encode RegionHandshake.RegionInfo3[0].ProductName: length 256 exceeds 255: too long"},
		{"variable 2", &LayerData{LayerData: LayerDataLayerData{Data: make([]byte, 65536)}},
			EncodeError{Message: "LayerData", Block: "LayerData", Field: "Data", Len: 65536, Max: 65535},
			"LayerData.LayerData[0].Data: length 65536 exceeds 65535"},
		{"variable block entry", &ObjectUpdate{ObjectData: make([]ObjectUpdateObjectData, 3)},
			EncodeError{Message: "ObjectUpdate", Block: "ObjectData", Field: "Text", Index: 2, Len: 256, Max: 255},
			"ObjectUpdate.ObjectData[2].Text: length 256 exceeds 255"},
		{"variable block count", &PacketAck{Packets: make([]PacketAckPackets, 256)},
			EncodeError{Message: "PacketAck", Block: "Packets", Len: 256, Max: 255},
			"msg: encode PacketAck.Packets: count 256 exceeds 255: too long"},
	}
	tests[2].m.(*ObjectUpdate).ObjectData[2].Text = long
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			var ee *EncodeError
			if !errors.As(err, &ee) || !errors.Is(err, ErrTooLong) {
				t.Fatalf("Validate = %v, want an *EncodeError wrapping ErrTooLong", err)
			}
			if *ee != tt.want {
				t.Errorf("Validate = %+v, want %+v", *ee, tt.want)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			b := []byte("keep")
			out, err := EncodePacket(b, FlagReliable, 1, tt.m, nil)
			if !errors.Is(err, ErrTooLong) || string(out) != "keep" {
				t.Errorf("EncodePacket = %q, %v", out, err)
			}
			func() {
				defer func() {
					r := recover()
					pe, ok := r.(*EncodeError)
					if !ok || *pe != tt.want {
						t.Errorf("AppendTo panicked with %v, want %+v", r, tt.want)
					}
				}()
				tt.m.AppendTo(nil)
				t.Errorf("AppendTo did not panic")
			}()
		})
	}

	// Too many acks and too big a datagram.
	m := &CompletePingCheck{}
	if _, err := EncodePacket(nil, 0, 1, m, make([]uint32, 256)); !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "appended acks: length 256 exceeds 255") {
		t.Errorf("EncodePacket with 256 acks = %v", err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Errorf("AppendPacket with 256 acks did not panic")
			}
		}()
		AppendPacket(nil, 0, 1, m, make([]uint32, 256))
	}()
	big := &LayerData{LayerData: LayerDataLayerData{Data: make([]byte, MaxDatagram)}}
	if _, err := EncodePacket(nil, 0, 1, big, nil); !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "exceeds 1400") {
		t.Errorf("EncodePacket of an oversized datagram = %v", err)
	}
}

func TestMaxAppendedAcks(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{0, 255}, {100, 255}, {1000, 49}, {1195, 1}, {1196, 0}, {1200, 0}, {5000, 0}} {
		if got := MaxAppendedAcks(tt.n); got != tt.want {
			t.Errorf("MaxAppendedAcks(%d) = %d, want %d", tt.n, got, tt.want)
		}
		if got := MaxAppendedAcks(tt.n); got > 0 && tt.n+4*got+1 > MTU {
			t.Errorf("MaxAppendedAcks(%d) = %d overflows MTU", tt.n, got)
		}
	}
}

func TestSetResent(t *testing.T) {
	b := AppendPacket(nil, FlagReliable, 3, &CompletePingCheck{}, nil)
	SetResent(b)
	if Flags(b[0]) != FlagReliable|FlagResent {
		t.Errorf("flags = %v", Flags(b[0]))
	}
	SetResent(nil) // no panic
}

func TestZerocode(t *testing.T) {
	tests := []struct {
		name, plain, coded string
	}{
		{"empty", "", ""},
		{"no zeros", "0102ff", "0102ff"},
		{"one zero", "00", "0001"},
		{"two zeros", "0000", "0002"},
		{"between", "01000002", "01000202"},
		{"255", strings.Repeat("00", 255), "00ff"},
		{"256", strings.Repeat("00", 256), "00ff0001"},
		{"300", strings.Repeat("00", 300) + "01", "00ff002d01"},
		{"510", strings.Repeat("00", 510), "00ff00ff"},
		{"number", "ffff0095", "ffff000195"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, coded := unhex(t, tt.plain), unhex(t, tt.coded)
			if got := AppendZeroEncode([]byte{0xAA}, plain); !bytes.Equal(got, append([]byte{0xAA}, coded...)) {
				t.Errorf("AppendZeroEncode = %x, want aa%x", got, coded)
			}
			if n := ZeroEncodedLen(plain); n != len(coded) {
				t.Errorf("ZeroEncodedLen = %d, want %d", n, len(coded))
			}
			got, err := AppendZeroDecode([]byte{0xAA}, coded, len(plain))
			if err != nil || !bytes.Equal(got, append([]byte{0xAA}, plain...)) {
				t.Errorf("AppendZeroDecode = %x, %v; want aa%x", got, err, plain)
			}
		})
	}

	decodeOnly := []struct {
		name, coded, plain string
	}{
		{"lone trailing zero is one zero", "0100", "0100"},
		{"zero count is no zeros", "01000002", "0102"},
	}
	for _, tt := range decodeOnly {
		got, err := AppendZeroDecode(nil, unhex(t, tt.coded), 100)
		if err != nil || !bytes.Equal(got, unhex(t, tt.plain)) {
			t.Errorf("%s: AppendZeroDecode(%s) = %x, %v; want %s", tt.name, tt.coded, got, err, tt.plain)
		}
	}

	bad := []struct {
		name, coded string
		limit, off  int
	}{
		{"run past limit", "0100ff", 10, 1},
		{"bytes past limit", "010203", 2, 2},
		{"zero limit", "01", 0, 0},
		{"second run past limit", "0005 0005", 9, 2},
		{"lone zero past limit", "0105 00", 2, 2},
	}
	for _, tt := range bad {
		got, err := AppendZeroDecode(nil, unhex(t, tt.coded), tt.limit)
		var de *DecodeError
		if !errors.Is(err, ErrBadZerocode) || !errors.As(err, &de) || de.Offset != tt.off {
			t.Errorf("%s: AppendZeroDecode = %x, %v; want ErrBadZerocode at %d", tt.name, got, err, tt.off)
		}
		if len(got) > tt.limit {
			t.Errorf("%s: wrote %d bytes past the limit %d", tt.name, len(got), tt.limit)
		}
	}
}

func FuzzZerocode(f *testing.F) {
	f.Add([]byte{}, 10)
	f.Add([]byte{0, 0, 1, 0}, 10)
	f.Add(make([]byte, 600), 1000)
	for _, name := range []string{"region_handshake", "object_update_box", "zerocode_long_run", "agent_throttle"} {
		v := loadVector(f, name)
		f.Add(unhex(f, v.Hex)[HeaderLen:], MaxBody)
		f.Add(unhex(f, v.DecodedHex)[HeaderLen:], MaxBody)
	}
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		limit = max(0, limit%(1<<16))
		// Any plain data round-trips.
		coded := AppendZeroEncode(nil, data)
		if len(coded) != ZeroEncodedLen(data) {
			t.Fatalf("ZeroEncodedLen = %d, encoded %d", ZeroEncodedLen(data), len(coded))
		}
		back, err := AppendZeroDecode(nil, coded, len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("round trip of %x: %x, %v", data, back, err)
		}
		// Any input decodes within the limit or fails, and what decodes
		// re-encodes to something that decodes the same.
		dec, err := AppendZeroDecode(nil, data, limit)
		if len(dec) > limit {
			t.Fatalf("decoded %d bytes past limit %d", len(dec), limit)
		}
		if err != nil {
			if !errors.Is(err, ErrBadZerocode) {
				t.Fatalf("error %v is not ErrBadZerocode", err)
			}
			return
		}
		again, err := AppendZeroDecode(nil, AppendZeroEncode(nil, dec), len(dec))
		if err != nil || !bytes.Equal(again, dec) {
			t.Fatalf("re-encode of %x: %x, %v", dec, again, err)
		}
	})
}
