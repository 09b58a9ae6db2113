package msg

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"ritual/protocol/template"
)

// FuzzPacketParse: any datagram parses or fails with a *DecodeError; a
// known message decodes (perhaps with trailing blocks absent, which
// Absent and AbsentBlocks agree on) or fails with a *DecodeError; what
// decodes re-encodes in full to a body that decodes again, and encoding is then a fixed
// point; the whole packet rebuilt by AppendPacket parses back to the same
// header, acks and body.
func FuzzPacketParse(f *testing.F) {
	for _, tt := range packetVectors(f) {
		f.Add(unhex(f, loadVector(f, tt.name).Hex))
	}
	f.Add(unhex(f, loadVector(f, "zerocode_long_run").Hex))
	for _, d := range loadCaptures(f) {
		f.Add(d.data)
	}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		var p Packet
		if err := p.Parse(datagram, make([]byte, 0, 64)); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Parse error %v is not a *DecodeError", err)
			}
			return
		}
		if len(p.Body) > MaxBody {
			t.Fatalf("body of %d bytes exceeds MaxBody", len(p.Body))
		}
		m, ok := New(p.ID)
		if !ok {
			if _, err := p.Decode(); !errors.Is(err, ErrUnknownMessage) {
				t.Fatalf("Decode of unknown %v = %v", p.ID, err)
			}
			return
		}
		if err := m.Decode(p.Body); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Message != m.Name() {
				t.Fatalf("Decode error %v is not a *DecodeError naming %s", err, m.Name())
			}
			if !errors.Is(err, ErrTrailingData) {
				return
			}
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded value does not validate: %v", err)
		}
		info, _ := Lookup(p.ID)
		if n := m.Absent(); n < 0 || n > len(info.Blocks) || len(AbsentBlocks(m)) != n {
			t.Fatalf("%s: Absent %d, AbsentBlocks %v, of %d blocks", m.Name(), n, AbsentBlocks(m), len(info.Blocks))
		}
		body := m.AppendTo(nil)
		m2, _ := New(p.ID)
		if err := m2.Decode(body); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v\n%x", m.Name(), err, body)
		}
		if m2.Absent() != 0 {
			t.Fatalf("re-encoded %s lacks %v: AppendTo must write every block", m.Name(), AbsentBlocks(m2))
		}
		body2 := m2.AppendTo(nil)
		if !bytes.Equal(body, body2) {
			t.Fatalf("%s: encoding is not stable:\n%x\n%x", m.Name(), body, body2)
		}
		// Decoding what was encoded gives the value back. The first
		// decode may hold quaternions no sender should produce (NaN, or
		// X, Y, Z longer than 1), which encoding normalises, so compare
		// from the second generation on, and from the first when the
		// message has no quaternion.
		m3, _ := New(p.ID)
		if err := m3.Decode(body2); err != nil || !sameValue(m2, m3) {
			t.Fatalf("%s: re-decoded value differs (%v):\n%+v\n%+v", m.Name(), err, m2, m3)
		}
		if !hasQuaternion(m.ID()) && !sameValue(m, m2) {
			t.Fatalf("%s: re-decoded value differs:\n%+v\n%+v", m.Name(), m, m2)
		}

		out := AppendPacket(nil, p.Flags, p.Sequence, m, p.Acks)
		var q Packet
		if err := q.Parse(out, nil); err != nil {
			t.Fatalf("rebuilt packet does not parse: %v\n%x", err, out)
		}
		if q.ID != p.ID || q.Sequence != p.Sequence || !bytes.Equal(q.Body, body) ||
			len(q.Acks) != len(p.Acks) || len(p.Acks) > 0 && !reflect.DeepEqual(q.Acks, p.Acks) {
			t.Fatalf("rebuilt packet differs: %+v vs %+v", q, p)
		}
		if want := p.Flags &^ (FlagAcks | FlagZerocoded); q.Flags&^(FlagAcks|FlagZerocoded) != want {
			t.Fatalf("flags %v, want %v", q.Flags, p.Flags)
		}
	})
}

func hasQuaternion(id ID) bool {
	info, _ := Lookup(id)
	for _, b := range info.Blocks {
		for _, f := range b.Fields {
			if f.Type == template.TypeLLQuaternion {
				return true
			}
		}
	}
	return false
}

// sameValue compares decoded values, treating NaNs with equal printing as
// equal (DeepEqual says NaN != NaN). Whether either was short does not
// count: only the blocks are compared.
func sameValue(a, b Message) bool {
	return sameBlocks(a, b) || fmt.Sprintf("%+v", blocksOf(a)) == fmt.Sprintf("%+v", blocksOf(b))
}

// sameBlocks reports whether a and b are messages of one type with deeply
// equal blocks (Absent is not compared).
func sameBlocks(a, b Message) bool {
	return reflect.DeepEqual(blocksOf(a), blocksOf(b))
}

// blocksOf returns the exported fields (the blocks) of a message.
func blocksOf(m Message) []any {
	v := reflect.ValueOf(m).Elem()
	out := []any{v.Type().Name()}
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			out = append(out, v.Field(i).Interface())
		}
	}
	return out
}
