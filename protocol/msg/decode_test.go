package msg

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"ritual"
	"ritual/protocol/template"
)

func TestDecodeErrors(t *testing.T) {
	rh := loadVector(t, "region_handshake")
	rhBody := unhex(t, rh.DecodedHex)[HeaderLen+4:] // after header and FF FF 00 94
	tests := []struct {
		name         string
		m            Message
		body         string
		block, field string
		offset       int
		err          error
		says         string
	}{
		{"cut inside the first block", &StartPingCheck{}, "09", "PingID", "OldestUnacked", 1, ErrShortBuffer,
			"msg: decode StartPingCheck.PingID.OldestUnacked at offset 1: short buffer: U32 needs 4 bytes, 0 remain"},
		{"cut inside a run", &StartPingCheck{}, "09 3412", "PingID", "OldestUnacked", 1, ErrShortBuffer,
			"StartPingCheck.PingID.OldestUnacked at offset 1: short buffer: U32 needs 4 bytes, 2 remain"},
		{"trailing bytes", &StartPingCheck{}, "09 34120000 ff", "", "", 5, ErrTrailingData,
			"msg: decode StartPingCheck at offset 5: trailing data after message: 1 bytes after the last block"},
		{"trailing bytes, no blocks", &CloseCircuit{}, "00", "", "", 0, ErrTrailingData, "CloseCircuit at offset 0"},
		{"variable 1 length missing", &RegionHandshake{}, "00000000 0d", "RegionInfo", "SimName", 5, ErrShortBuffer,
			"RegionHandshake.RegionInfo.SimName at offset 5: short buffer: Variable 1 length needs 1 bytes, 0 remain"},
		{"variable 1 data short", &RegionHandshake{}, "00000000 0d 0c 5465", "RegionInfo", "SimName", 6, ErrShortBuffer,
			"RegionHandshake.RegionInfo.SimName at offset 6: short buffer: Variable 1 length 12, 2 bytes remain"},
		{"variable 2 data short", &LayerData{}, "4c 0e00 0102", "LayerData", "Data", 3, ErrShortBuffer,
			"Variable 2 length 14, 2 bytes remain"},
		{"variable 2 length cut", &LayerData{}, "4c 0e", "LayerData", "Data", 1, ErrShortBuffer,
			"Variable 2 length needs 2 bytes, 1 remain"},
		{"count beyond data", &PacketAck{}, "03 01000000 02000000", "Packets", "", 0, ErrShortBuffer,
			"PacketAck.Packets at offset 0: short buffer: count 3 needs at least 12 bytes, 8 remain"},
		{"count of 255 with no data", &ObjectUpdate{}, "0000000000000000 ffff ff", "ObjectData", "", 10, ErrShortBuffer,
			"count 255 needs at least"},
		{"entry cut", &PacketAck{}, "02 01000000 020000", "Packets", "", 0, ErrShortBuffer, "count 2 needs at least 8 bytes, 7 remain"},
		{"multiple block cut", &TestMessage{}, "01000000 01000000 02000000 03000000 04000000", "NeighborBlock", "Test1", 20, ErrShortBuffer,
			"TestMessage.NeighborBlock.Test1 at offset 20: short buffer: U32 needs 4 bytes, 0 remain"},
		{"region handshake cut in RegionInfo3", &RegionHandshake{}, hexOf(rhBody[:249]), "RegionInfo3", "ProductName", 246, ErrShortBuffer,
			"Variable 1 length 9, 3 bytes remain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Decode(unhex(t, tt.body))
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, tt.err) {
				t.Fatalf("Decode = %v, want a *DecodeError wrapping %v", err, tt.err)
			}
			want := DecodeError{Message: tt.m.Name(), Block: tt.block, Field: tt.field, Offset: tt.offset}
			if got := (DecodeError{de.Message, de.Block, de.Field, de.Offset, nil}); got != want {
				t.Errorf("error at %+v, want %+v (%v)", got, want, err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// Decoding into a reused value keeps capacity, grows and shrinks Variable
// blocks, and never aliases the input.
func TestDecodeReuse(t *testing.T) {
	var m ObjectUpdate
	first := &ObjectUpdate{ObjectData: []ObjectUpdateObjectData{
		{ID: 1, Text: []byte("first text"), NameValue: []byte("a")},
		{ID: 2, Text: []byte("second"), TextureEntry: bytes.Repeat([]byte{7}, 40)},
	}}
	body := first.AppendTo(nil)
	if err := m.Decode(body); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&m, first) {
		t.Fatalf("decoded %+v", m)
	}
	for i := range body {
		body[i] = 0xEE // the decoded value must not change
	}
	if !reflect.DeepEqual(&m, first) {
		t.Fatalf("decoded value aliases the input")
	}
	textPtr := &m.ObjectData[1].Text[0]
	arrayPtr := &m.ObjectData[0]

	// Fewer entries: the slice shrinks in place.
	one := &ObjectUpdate{ObjectData: []ObjectUpdateObjectData{{ID: 9, Text: []byte("x")}}}
	if err := m.Decode(one.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.ObjectData[0].Text, []byte("x")) || len(m.ObjectData) != 1 || &m.ObjectData[0] != arrayPtr {
		t.Fatalf("after shrinking: %+v", m.ObjectData)
	}
	// Two again: the second entry's old buffers are reused.
	second := &ObjectUpdate{ObjectData: []ObjectUpdateObjectData{{ID: 3}, {ID: 4, Text: []byte("new")}}}
	if err := m.Decode(second.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if string(m.ObjectData[1].Text) != "new" || &m.ObjectData[1].Text[0] != textPtr {
		t.Errorf("second entry text %q not decoded into its old buffer", m.ObjectData[1].Text)
	}
	if len(m.ObjectData[0].Text) != 0 || len(m.ObjectData[1].TextureEntry) != 0 {
		t.Errorf("stale data survived: %+v", m.ObjectData)
	}
	// Three: grows, keeping the first two.
	three := &ObjectUpdate{ObjectData: make([]ObjectUpdateObjectData, 3)}
	three.ObjectData[2].ID = 5
	if err := m.Decode(three.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if len(m.ObjectData) != 3 || m.ObjectData[2].ID != 5 {
		t.Errorf("after growing: %+v", m.ObjectData)
	}
}

func TestQuaternionWire(t *testing.T) {
	// Decoding implies W; encoding writes X, Y, Z of the packed form.
	q := ritual.Quaternion{X: 0, Y: 0, Z: 0.6, W: 0.8}
	m := &AgentUpdate{AgentData: AgentUpdateAgentData{BodyRotation: q, HeadRotation: ritual.Quaternion{Z: -1.2, W: -1.6}}}
	var back AgentUpdate
	if err := back.Decode(m.AppendTo(nil)); err != nil {
		t.Fatal(err)
	}
	if got := back.AgentData.BodyRotation; got != ritual.QuaternionFromXYZ(0, 0, 0.6) || got.W < 0.7999 || got.W > 0.8001 {
		t.Errorf("BodyRotation = %v", got)
	}
	// {0,0,-1.2,-1.6} normalises to {0,0,-0.6,-0.8} and flips to W >= 0.
	if got := back.AgentData.HeadRotation; got.Z < 0.5999 || got.Z > 0.6001 || got.W < 0.7999 || got.W > 0.8001 {
		t.Errorf("HeadRotation = %v, want about <0, 0, 0.6, 0.8>", got)
	}
	// A decoded quaternion re-encodes to the same bytes.
	body := back.AppendTo(nil)
	var again AgentUpdate
	if err := again.Decode(body); err != nil || !bytes.Equal(again.AppendTo(nil), body) || again != back {
		t.Errorf("re-encoding a decoded quaternion changed it: %v %v", again.AgentData.BodyRotation, err)
	}
	// Out-of-range wire values are normalised on the way out: X longer
	// than 1, and NaN.
	for _, tt := range []struct{ in, want string }{
		{"00000040 00000000 00000000", "0000803f 00000000 00000000"}, // x = 2 -> 1
		{"0000c07f 00000000 00000000", "00000000 00000000 00000000"}, // NaN -> identity
		{"0000803f 00000000 00000000", "0000803f 00000000 00000000"}, // x = 1 kept
	} {
		var s ObjectSpinUpdate
		body := append(make([]byte, 48), unhex(t, tt.in)...)
		if err := s.Decode(body); err != nil {
			t.Fatal(err)
		}
		if got := s.AppendTo(nil)[48:]; !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("quaternion %s re-encodes as %x, want %s", tt.in, got, tt.want)
		}
	}
	// The zero value is sent as the identity.
	if got := (&AgentUpdate{}).AppendTo(nil)[32:44]; !bytes.Equal(got, make([]byte, 12)) {
		t.Errorf("zero quaternion encodes as %x", got)
	}
}

func TestFieldEncodings(t *testing.T) {
	// IPPORT is big-endian, IPADDR network order, U16 little-endian.
	m := &OpenCircuit{CircuitInfo: OpenCircuitCircuitInfo{IP: [4]byte{127, 0, 0, 1}, Port: 9000}}
	if got, want := m.AppendTo(nil), unhex(t, "7f000001 2328"); !bytes.Equal(got, want) {
		t.Errorf("OpenCircuit body = %x, want %x", got, want)
	}
}

// fill sets every field reachable from v to a pseudo-random value that
// survives the wire unchanged: quaternions in wire form, empty slices nil.
func fill(v reflect.Value, r *rand.Rand) {
	switch v.Kind() {
	case reflect.Struct:
		if q, ok := v.Addr().Interface().(*ritual.Quaternion); ok {
			*q = ritual.QuaternionFromXYZ(r.Float32()-0.5, r.Float32()-0.5, r.Float32()-0.5)
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() { // not a message's absent count
				fill(v.Field(i), r)
			}
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), r)
		}
	case reflect.Slice:
		n := r.IntN(4)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = r.IntN(40)
		}
		if n == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := 0; i < n; i++ {
			fill(v.Index(i), r)
		}
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.Uint64())
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(r.Uint64()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(float32((r.Float64() - 0.5) * 1e6)))
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// Every message, with every field set, survives AppendTo and Decode, and
// its body is as long as the template layout says.
func TestRoundTripAllMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, info := range Infos() {
		for range 3 {
			m, _ := New(info.ID)
			fill(reflect.ValueOf(m).Elem(), r)
			if err := m.Validate(); err != nil {
				t.Fatalf("%s: %v", info.Name, err)
			}
			body := m.AppendTo(nil)
			if n := layoutSize(t, info, reflect.ValueOf(m).Elem()); n != len(body) {
				t.Errorf("%s: body is %d bytes, the template layout says %d", info.Name, len(body), n)
			}
			m2, _ := New(info.ID)
			if err := m2.Decode(body); err != nil {
				t.Fatalf("%s: %v", info.Name, err)
			}
			if !reflect.DeepEqual(m, m2) {
				t.Fatalf("%s: round trip\n%+v\ngave\n%+v", info.Name, m, m2)
			}
		}
	}
}

// layoutSize computes a body's size from the registry's block layout.
func layoutSize(t *testing.T, info Info, v reflect.Value) int {
	n := 0
	for _, b := range info.Blocks {
		f := v.FieldByName(b.Name)
		var entries []reflect.Value
		switch b.Kind {
		case template.Single:
			entries = []reflect.Value{f}
		case template.Variable:
			n++
			fallthrough
		default:
			for i := 0; i < f.Len(); i++ {
				entries = append(entries, f.Index(i))
			}
		}
		for _, e := range entries {
			for _, fl := range b.Fields {
				n += fl.MinSize()
				if fl.Type == template.TypeVariable {
					n += e.FieldByName(fl.Name).Len()
				}
			}
		}
	}
	return n
}

func TestRegistry(t *testing.T) {
	infos := Infos()
	if len(infos) != 483 {
		t.Fatalf("%d messages, want 483", len(infos))
	}
	count := map[Frequency]int{}
	for i, info := range infos {
		count[info.Frequency]++
		if i > 0 && infos[i-1].ID >= info.ID {
			t.Errorf("Infos not ordered by ID at %s", info.Name)
		}
		if info.ID.Frequency() != info.Frequency {
			t.Errorf("%s: ID %#x implies %v, info says %v", info.Name, uint32(info.ID), info.ID.Frequency(), info.Frequency)
		}
		m, ok := New(info.ID)
		if !ok {
			t.Errorf("New(%s) failed", info.Name)
			continue
		}
		if m.ID() != info.ID || m.Name() != info.Name || m.Trusted() != info.Trusted || m.Zerocoded() != info.Zerocoded {
			t.Errorf("New(%s) = %s %v %v %v", info.Name, m.Name(), m.ID(), m.Trusted(), m.Zerocoded())
		}
		if got := reflect.TypeOf(m).Elem().Name(); got != info.Name {
			t.Errorf("New(%s) has type %s", info.Name, got)
		}
		if info.ID.String() != info.Name {
			t.Errorf("ID.String = %q, want %q", info.ID.String(), info.Name)
		}
		if b, ok := ByName(info.Name); !ok || b.ID != info.ID {
			t.Errorf("ByName(%s) = %v, %v", info.Name, b.ID, ok)
		}
		// Every zero value encodes, and decodes to a value that encodes
		// the same (a zero quaternion comes back as the identity).
		body := m.AppendTo(nil)
		m2, _ := New(info.ID)
		if err := m2.Decode(body); err != nil {
			t.Errorf("%s: zero value does not decode: %v", info.Name, err)
		} else if !bytes.Equal(m2.AppendTo(nil), body) {
			t.Errorf("%s: zero value decodes as %+v", info.Name, m2)
		}
	}
	want := map[Frequency]int{Low: 431, Medium: 17, High: 32, Fixed: 3}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("messages per frequency = %v, want %v", count, want)
	}

	info, ok := Lookup(IDRegionHandshake)
	if !ok || info.Name != "RegionHandshake" || info.ID != 0xFFFF0094 || info.Frequency != Low || !info.Trusted || !info.Zerocoded ||
		info.Deprecation != NotDeprecated || len(info.Blocks) != 4 || info.Blocks[0].Fields[2].Name != "SimName" {
		t.Errorf("Lookup(RegionHandshake) = %+v, %v", info, ok)
	}
	info, ok = ByName("UseCircuitCode")
	if !ok || info.ID != IDUseCircuitCode || IDUseCircuitCode != 0xFFFF0003 || info.Trusted || info.Zerocoded {
		t.Errorf("ByName(UseCircuitCode) = %+v, %v", info, ok)
	}
	if info, ok := Lookup(IDPacketAck); !ok || info.ID != 0xFFFFFFFB || info.Frequency != Fixed {
		t.Errorf("Lookup(PacketAck) = %+v", info)
	}
	if info, _ := ByName("EnableSimulator"); info.Deprecation != UDPBlackListed {
		t.Errorf("EnableSimulator deprecation = %v", info.Deprecation)
	}
	for _, id := range []ID{0, 0xFF, 0xFF00, 0xFFFF, 0xFFFF0000, 0xFFFF01B0, 0xFFFFFFFA, 0x12345, 200, 0xFF80} {
		if _, ok := Lookup(id); ok {
			t.Errorf("Lookup(%#x) found a message", uint32(id))
		}
		if _, ok := New(id); ok {
			t.Errorf("New(%#x) found a message", uint32(id))
		}
	}
	if _, ok := ByName("NoSuchMessage"); ok {
		t.Errorf("ByName found NoSuchMessage")
	}

	var p Packet
	if err := p.Parse(unhex(t, "00 00000001 00 ffff03e7 01"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Decode(); !errors.Is(err, ErrUnknownMessage) || !strings.Contains(err.Error(), "no message has number Low 999") {
		t.Errorf("Decode of Low 999 = %v", err)
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		id     ID
		freq   Frequency
		number uint32
		wire   string
		str    string
	}{
		{IDStartPingCheck, High, 1, "01", "StartPingCheck"},
		{IDLayerData, High, 11, "0b", "LayerData"},
		{IDCoarseLocationUpdate, Medium, 6, "ff06", "CoarseLocationUpdate"},
		{IDUseCircuitCode, Low, 3, "ffff0003", "UseCircuitCode"},
		{IDRegionHandshake, Low, 148, "ffff0094", "RegionHandshake"},
		{IDPacketAck, Fixed, 0xFFFFFFFB, "fffffffb", "PacketAck"},
		{200, High, 200, "c8", "High 200"},
		{0xFF80, Medium, 0x80, "ff80", "Medium 128"},
		{0xFFFF03E7, Low, 999, "ffff03e7", "Low 999"},
		{0xFFFFFF01, Fixed, 0xFFFFFF01, "ffffff01", "Fixed 0xFFFFFF01"},
		{0xFF, 0, 0xFF, "000000ff", "ID(0xff)"},
		{0x12345, 0, 0x12345, "00012345", "ID(0x12345)"},
	}
	for _, tt := range tests {
		if tt.id.Frequency() != tt.freq || tt.id.Number() != tt.number || tt.id.String() != tt.str {
			t.Errorf("%#x: %v %d %q, want %v %d %q", uint32(tt.id), tt.id.Frequency(), tt.id.Number(), tt.id.String(), tt.freq, tt.number, tt.str)
		}
		wire := unhex(t, tt.wire)
		if got := tt.id.AppendTo(nil); !bytes.Equal(got, wire) {
			t.Errorf("%v AppendTo = %x, want %x", tt.id, got, wire)
		}
		if tt.freq != 0 {
			if tt.id.Len() != len(wire) {
				t.Errorf("%v Len = %d", tt.id, tt.id.Len())
			}
			id, n, err := ReadID(append(wire, 0xAB))
			if id != tt.id || n != len(wire) || err != nil {
				t.Errorf("ReadID(%x) = %v %d %v", wire, id, n, err)
			}
		} else if tt.id.Len() != 0 {
			t.Errorf("invalid %v has Len %d", tt.id, tt.id.Len())
		}
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[Flags]string{
		0: "0", FlagReliable: "RELIABLE", FlagReliable | FlagZerocoded: "RELIABLE|ZEROCODED",
		FlagResent | FlagAcks | 0x01: "RESENT|ACKS|0x1",
	} {
		if f.String() != want {
			t.Errorf("%#x: %q, want %q", uint8(f), f.String(), want)
		}
	}
}
