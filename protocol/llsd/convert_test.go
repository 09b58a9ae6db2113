package llsd

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"ritual"
)

func TestAsBool(t *testing.T) {
	tests := []struct {
		in     any
		want   bool
		wantOK bool
	}{
		{true, true, true}, {false, false, true},
		{int32(1), true, true}, {int32(0), false, true},
		{0.5, true, true}, {0.0, false, true}, {math.NaN(), false, true},
		{"true", true, true}, {"TRUE", true, true}, {"1", true, true}, {"Y", true, true},
		{"false", false, true}, {"0", false, true}, {"", false, true}, {"N", false, true},
		{"2", true, true}, {"maybe", false, false},
		{testUUID, true, true}, {ritual.UUID{}, false, true},
		{nil, false, false}, {[]byte{1}, false, false},
	}
	for _, tt := range tests {
		got, ok := AsBool(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("AsBool(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAsInt(t *testing.T) {
	tests := []struct {
		in     any
		want   int32
		wantOK bool
	}{
		{int32(-3), -3, true},
		{true, 1, true}, {false, 0, true},
		{2.9, 2, true}, {-2.9, -2, true},
		{1e10, math.MaxInt32, false}, {-1e10, math.MinInt32, false}, {math.NaN(), 0, false},
		{"42", 42, true}, {" 42 ", 42, true}, {"1.9", 1, true}, {"-7", -7, true},
		{"4294967295", math.MaxInt32, false}, {"x", 0, false},
		{nil, 0, false}, {testUUID, 0, false},
	}
	for _, tt := range tests {
		got, ok := AsInt(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("AsInt(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAsReal(t *testing.T) {
	tests := []struct {
		in     any
		want   float64
		wantOK bool
	}{
		{1.5, 1.5, true}, {int32(3), 3, true}, {true, 1, true},
		{"2.5", 2.5, true}, {"-Infinity", math.Inf(-1), true}, {"x", 0, false},
		{time.Unix(1199218231, 500000000), 1199218231.5, true},
		{nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := AsReal(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("AsReal(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAsString(t *testing.T) {
	tests := []struct {
		in   any
		want string
		ok   bool
	}{
		{"x", "x", true}, {URI("http://a/"), "http://a/", true}, {int32(-4), "-4", true},
		{0.25, "0.25", true}, {true, "true", true}, {testUUID, "2e3fc297-1d6f-493e-aa23-d69777db3cbe", true},
		{testDate, "2006-02-01T14:29:53.43Z", true}, {nil, "", false}, {[]byte("x"), "", false},
	}
	for _, tt := range tests {
		got, ok := AsString(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("AsString(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestAsUUIDDateURIBinary(t *testing.T) {
	if u, ok := AsUUID("2e3fc297-1d6f-493e-aa23-d69777db3cbe"); !ok || u != testUUID {
		t.Errorf("AsUUID(string) = %v, %v", u, ok)
	}
	if u, ok := AsUUID("2E3FC2971D6F493EAA23D69777DB3CBE"); !ok || u != testUUID {
		t.Errorf("AsUUID(bare hex) = %v, %v", u, ok)
	}
	if u, ok := AsUUID(testUUID[:]); !ok || u != testUUID {
		t.Errorf("AsUUID(16 bytes) = %v, %v", u, ok)
	}
	if u, ok := AsUUID("nope"); ok || !u.IsZero() {
		t.Errorf("AsUUID(bad) = %v, %v", u, ok)
	}
	if d, ok := AsDate("2006-02-01T14:29:53.43Z"); !ok || !d.Equal(testDate) {
		t.Errorf("AsDate(string) = %v, %v", d, ok)
	}
	if d, ok := AsDate(1199218231.0); !ok || d.Unix() != 1199218231 {
		t.Errorf("AsDate(real) = %v, %v", d, ok)
	}
	if d, ok := AsDate(int32(86400)); !ok || d.Unix() != 86400 {
		t.Errorf("AsDate(integer) = %v, %v", d, ok)
	}
	if d, ok := AsDate(nil); ok || !d.IsZero() {
		t.Errorf("AsDate(nil) = %v, %v", d, ok)
	}
	if u, ok := AsURI("http://x/"); !ok || u != "http://x/" {
		t.Errorf("AsURI(string) = %v, %v", u, ok)
	}
	if b, ok := AsBinary([]byte{1}); !ok || !bytes.Equal(b, []byte{1}) {
		t.Errorf("AsBinary = %v, %v", b, ok)
	}
	if _, ok := AsBinary("x"); ok {
		t.Error("AsBinary(string) succeeded")
	}
}

func TestAsU32U64(t *testing.T) {
	tests := []struct {
		in     any
		want32 uint32
		ok32   bool
		want64 uint64
		ok64   bool
	}{
		{U32Binary(0x2800204b), 0x2800204b, true, 0x2800204b, true},
		{U64Binary(0x0003e800_0003e800), 0, false, 0x0003e800_0003e800, true},
		{int32(-1), 0xffffffff, true, 0xffffffff, true},
		{4294967295.0, 0xffffffff, true, 0xffffffff, true},
		{1099511627776.0, 0, false, 1 << 40, true},
		{-1.0, 0, false, 0, false},
		{1.5, 0, false, 0, false},
		{"4294967295", 0xffffffff, true, 0xffffffff, true},
		{"1099511627776", 0, false, 1 << 40, true},
		{"-1", 0xffffffff, true, 0, false},
		{[]byte{1, 2, 3}, 0, false, 0, false},
		{nil, 0, false, 0, false},
	}
	for _, tt := range tests {
		if got, ok := AsU32(tt.in); got != tt.want32 || ok != tt.ok32 {
			t.Errorf("AsU32(%#v) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want32, tt.ok32)
		}
		if got, ok := AsU64(tt.in); got != tt.want64 || ok != tt.ok64 {
			t.Errorf("AsU64(%#v) = %#x, %v; want %#x, %v", tt.in, got, ok, tt.want64, tt.ok64)
		}
	}
	if got := U64Binary(0x0102030405060708); !bytes.Equal(got, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("U64Binary = % x", got)
	}
}

func TestMapAccessors(t *testing.T) {
	v, err := UnmarshalXML([]byte(wrap(`<map>
		<key>agent_id</key><string>2e3fc297-1d6f-493e-aa23-d69777db3cbe</string>
		<key>circuit_code</key><string>1011700466</string>
		<key>agree_to_tos</key><integer>1</integer>
		<key>sim_port</key><real>9000</real>
		<key>seed</key><string>http://x/</string>
		<key>flags</key><binary>KAAgSw==</binary>
		<key>look_at</key><string>[r0.5,r1,r0]</string>
		<key>pos</key><array><real>1</real><integer>2</integer><string>3.5</string></array>
		<key>body</key><map><key>n</key><integer>5</integer></map>
		<key>when</key><date>2006-02-01T14:29:53.43Z</date>
	</map>`)))
	if err != nil {
		t.Fatal(err)
	}
	m := Map(v.(map[string]any))
	switch {
	case m.UUID("agent_id") != testUUID:
		t.Error("UUID from string")
	case m.Int("circuit_code") != 1011700466:
		t.Error("Int from string")
	case !m.Bool("agree_to_tos"):
		t.Error("Bool from integer")
	case m.Int("sim_port") != 9000 || m.Real("sim_port") != 9000:
		t.Error("Int from real")
	case m.URI("seed") != "http://x/":
		t.Error("URI from string")
	case m.U32("flags") != 0x2800204b:
		t.Error("U32 from binary")
	case m.Vector3("look_at") != (ritual.Vector3{X: 0.5, Y: 1}):
		t.Error("Vector3 from notation string")
	case m.Vector3("pos") != (ritual.Vector3{X: 1, Y: 2, Z: 3.5}):
		t.Error("Vector3 from mixed array")
	case m.Map("body").Int("n") != 5:
		t.Error("nested Map")
	case !m.Date("when").Equal(testDate):
		t.Error("Date")
	case m.String("missing") != "" || m.Has("missing") || m.Map("missing") != nil || m.Array("body") != nil:
		t.Error("missing or mistyped keys must read as zero values")
	case !m.Has("body"):
		t.Error("Has")
	}
	if x, ok := m.Lookup("circuit_code"); !ok || x != "1011700466" {
		t.Errorf("Lookup = %#v, %v", x, ok)
	}
}

func TestOrderedMap(t *testing.T) {
	var om OrderedMap
	om.Set("b", 1)
	om.Set("a", 2)
	om.Set("b", 3)
	om = append(om, KV{"a", 4})
	if v, _ := om.Get("a"); v != 4 {
		t.Errorf("Get returns the last occurrence, got %v", v)
	}
	if _, ok := om.Get("z"); ok {
		t.Error("Get of a missing key")
	}
	if len(om) != 3 || om[0] != (KV{"b", 3}) {
		t.Errorf("Set must replace in place: %#v", om)
	}
	if m, ok := AsMap(om); !ok || m["a"] != 4 || m["b"] != 3 {
		t.Errorf("AsMap(OrderedMap) = %#v", m)
	}
}

func TestEqual(t *testing.T) {
	same := [][2]any{
		{nil, nil}, {math.NaN(), math.NaN()}, {[]byte(nil), []byte{}},
		{testDate, testDate.In(time.FixedZone("x", 7200))},
		{map[string]any{"a": int32(1)}, Map{"a": int32(1)}},
		{OrderedMap{{"a", int32(1)}}, map[string]any{"a": int32(1)}},
		{[]any{int32(1), "x"}, []any{int32(1), "x"}},
	}
	for _, p := range same {
		if !Equal(p[0], p[1]) || !Equal(p[1], p[0]) {
			t.Errorf("Equal(%#v, %#v) = false", p[0], p[1])
		}
	}
	differ := [][2]any{
		{int32(1), 1.0}, {"x", URI("x")}, {nil, false}, {[]any{}, map[string]any{}},
		{map[string]any{"a": int32(1)}, map[string]any{"b": int32(1)}},
		{map[string]any{"a": int32(1)}, map[string]any{"a": int32(1), "b": nil}},
		{[]any{int32(1)}, []any{int32(2)}}, {1, 1},
	}
	for _, p := range differ {
		if Equal(p[0], p[1]) {
			t.Errorf("Equal(%#v, %#v) = true", p[0], p[1])
		}
	}
}

func TestFormatHelpers(t *testing.T) {
	for ct, want := range map[string]Format{
		"application/llsd+xml":            FormatXML,
		"application/xml; charset=utf-8":  FormatXML,
		"text/xml":                        FormatXML,
		"application/llsd+binary":         FormatBinary,
		"application/octet-stream":        FormatBinary,
		"application/llsd+notation":       FormatNotation,
		"APPLICATION/LLSD+XML":            FormatXML,
		"application/json":                FormatAuto,
		"":                                FormatAuto,
		"application/llsd+xml;;;garbage=": FormatXML,
	} {
		if got := FormatOf(ct); got != want {
			t.Errorf("FormatOf(%q) = %s, want %s", ct, got, want)
		}
	}
	for _, f := range []Format{FormatXML, FormatBinary, FormatNotation} {
		if FormatOf(f.ContentType()) != f {
			t.Errorf("%s: ContentType %q does not map back", f, f.ContentType())
		}
	}
	for in, want := range map[string]Format{
		"<llsd/>":                    FormatXML,
		"\ufeff <?xml?><llsd/>":      FormatXML,
		"<? LLSD/XML ?>\n<llsd/>":    FormatXML,
		BinaryHeader + "!":           FormatBinary,
		"<?llsd/binary?>!":           FormatBinary,
		"[\x00\x00\x00\x01!]":        FormatBinary,
		NotationHeader + "!":         FormatNotation,
		"{'a':i1}":                   FormatNotation,
		"[r1,r2]":                    FormatNotation,
		"":                           FormatNotation,
		strings.Repeat(" ", 3) + "!": FormatNotation,
	} {
		if got := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDecoderEncoderStreams(t *testing.T) {
	v := map[string]any{"a": []any{int32(1), "b"}}
	for _, f := range []Format{FormatXML, FormatBinary, FormatNotation} {
		var buf bytes.Buffer
		if err := NewEncoder(&buf, f).Encode(v); err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(&buf)
		got, err := d.Decode()
		if err != nil || !Equal(got, v) {
			t.Fatalf("%s: Decode = %#v, %v", f, got, err)
		}
	}
	d := NewDecoder(strings.NewReader(wrap("<string>" + strings.Repeat("x", 100) + "</string>")))
	d.MaxBytes = 50
	if _, err := d.Decode(); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("oversized document: err = %v", err)
	}
	d = NewDecoder(strings.NewReader("[i1,i2]"))
	d.Format = FormatXML
	if _, err := d.Decode(); err == nil {
		t.Fatal("notation decoded as XML")
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf, FormatBinary)
	enc.SetHeader(false)
	if err := enc.Encode(true); err != nil || buf.String() != "1" {
		t.Fatalf("headerless binary = %q, %v", buf.String(), err)
	}
}
