package prim

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unhex decodes hex with spaces and newlines allowed, failing the test on
// bad input.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// vector is one of the shared protocol test vectors (copied to testdata).
type vector struct {
	Description string          `json:"description"`
	Fields      json.RawMessage `json:"fields"`
	Hex         string          `json:"hex"`
	DecodedHex  string          `json:"decoded_hex"`
}

func loadVector(t testing.TB, name string) vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// zeroDecode expands a zerocoded packet body: a 00 byte followed by a count
// k stands for k zeros.
func zeroDecode(b []byte) ([]byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			return nil, fmt.Errorf("zero run without a count at %d", i)
		}
		i++
		out = append(out, make([]byte, b[i])...)
	}
	return out, nil
}

// packetBody returns the message part of a datagram (from the message number
// on), with appended acks removed and zerocoding undone.
func packetBody(dgram []byte) ([]byte, error) {
	if len(dgram) < 6 {
		return nil, fmt.Errorf("datagram of %d bytes", len(dgram))
	}
	flags := dgram[0]
	body := dgram[6+int(dgram[5]):]
	if flags&0x10 != 0 { // appended acks: count in the last byte
		n := int(body[len(body)-1])
		body = body[:len(body)-1-4*n]
	}
	if flags&0x80 != 0 {
		return zeroDecode(body)
	}
	return body, nil
}

// captureLine is one datagram of a recorded session.
type captureLine struct {
	T   float64 `json:"t"`
	Dir string  `json:"dir"`
	Hex string  `json:"hex"`
}

// serverMessages returns the bodies of the server_to_client datagrams of a
// capture whose High message number is num.
func serverMessages(t testing.TB, file string, num byte) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l captureLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if l.Dir != "server_to_client" {
			continue
		}
		d, err := hex.DecodeString(l.Hex)
		if err != nil {
			t.Fatal(err)
		}
		body, err := packetBody(d)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(body) > 0 && body[0] == num {
			out = append(out, body)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Field sizes for walking a template block: a fixed size, or variable with a
// 1- or 2-byte length.
const (
	var1 = -1
	var2 = -2
)

type fieldSpec struct {
	name string
	size int
}

// objectUpdateBlock is ObjectUpdate.ObjectData in template order.
var objectUpdateBlock = []fieldSpec{
	{"ID", 4}, {"State", 1}, {"FullID", 16}, {"CRC", 4}, {"PCode", 1}, {"Material", 1}, {"ClickAction", 1},
	{"Scale", 12}, {"ObjectData", var1}, {"ParentID", 4}, {"UpdateFlags", 4},
	{"PathCurve", 1}, {"ProfileCurve", 1}, {"PathBegin", 2}, {"PathEnd", 2}, {"PathScaleX", 1}, {"PathScaleY", 1},
	{"PathShearX", 1}, {"PathShearY", 1}, {"PathTwist", 1}, {"PathTwistBegin", 1}, {"PathRadiusOffset", 1},
	{"PathTaperX", 1}, {"PathTaperY", 1}, {"PathRevolutions", 1}, {"PathSkew", 1},
	{"ProfileBegin", 2}, {"ProfileEnd", 2}, {"ProfileHollow", 2},
	{"TextureEntry", var2}, {"TextureAnim", var1}, {"NameValue", var2}, {"Data", var2}, {"Text", var1},
	{"TextColor", 4}, {"MediaURL", var1}, {"PSBlock", var1}, {"ExtraParams", var1},
	{"Sound", 16}, {"OwnerID", 16}, {"Gain", 4}, {"Flags", 1}, {"Radius", 4},
	{"JointType", 1}, {"JointPivot", 12}, {"JointAxisOrAnchor", 12},
}

// walkBlock splits b into the fields of spec, returning each field's bytes
// (without length prefixes) and its offset in b, and the bytes consumed.
func walkBlock(b []byte, spec []fieldSpec) (fields map[string][]byte, offsets map[string]int, n int, err error) {
	fields, offsets = map[string][]byte{}, map[string]int{}
	for _, f := range spec {
		size := f.size
		switch size {
		case var1:
			if n+1 > len(b) {
				return nil, nil, 0, fmt.Errorf("%s: short", f.name)
			}
			size = int(b[n])
			n++
		case var2:
			if n+2 > len(b) {
				return nil, nil, 0, fmt.Errorf("%s: short", f.name)
			}
			size = int(binary.LittleEndian.Uint16(b[n:]))
			n += 2
		}
		if n+size > len(b) {
			return nil, nil, 0, fmt.Errorf("%s: needs %d bytes at %d, packet has %d", f.name, size, n, len(b))
		}
		fields[f.name], offsets[f.name] = b[n:n+size], n
		n += size
	}
	return fields, offsets, n, nil
}

// objectUpdate returns the fields of the single ObjectData block of an
// ObjectUpdate message body (message number first), with their offsets in
// body.
func objectUpdate(t testing.TB, body []byte) (map[string][]byte, map[string]int) {
	t.Helper()
	// Message number (1), RegionHandle (8), TimeDilation (2), block count (1).
	const head = 1 + 8 + 2 + 1
	if len(body) < head || body[0] != 12 || body[head-1] != 1 {
		t.Fatalf("not an ObjectUpdate with one block: % x", body[:min(len(body), head)])
	}
	fields, offsets, n, err := walkBlock(body[head:], objectUpdateBlock)
	if err != nil {
		t.Fatal(err)
	}
	if head+n != len(body) {
		t.Fatalf("ObjectUpdate: %d bytes after the block", len(body)-head-n)
	}
	for k := range offsets {
		offsets[k] += head
	}
	return fields, offsets
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
