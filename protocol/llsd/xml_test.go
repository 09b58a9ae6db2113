package llsd

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"ritual"
)

var (
	testUUID = ritual.MustParseUUID("2e3fc297-1d6f-493e-aa23-d69777db3cbe")
	testDate = time.Date(2006, 2, 1, 14, 29, 53, 430000000, time.UTC)
)

func wrap(s string) string { return "<llsd>" + s + "</llsd>" }

func TestXMLDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"undef", wrap("<undef />"), nil},
		{"undef open-close", wrap("<undef></undef>"), nil},
		{"empty llsd", "<llsd/>", nil},
		{"empty llsd pair", "<llsd></llsd>", nil},
		{"true word", wrap("<boolean>true</boolean>"), true},
		{"true digit", wrap("<boolean>1</boolean>"), true},
		{"false word", wrap("<boolean>false</boolean>"), false},
		{"false digit", wrap("<boolean>0</boolean>"), false},
		{"boolean empty is false", wrap("<boolean />"), false},
		{"integer", wrap("<integer>42</integer>"), int32(42)},
		{"integer negative, spaced", wrap("<integer> -2147483648 </integer>"), int32(math.MinInt32)},
		{"integer empty is 0", wrap("<integer />"), int32(0)},
		{"real", wrap("<real>1.5</real>"), 1.5},
		{"real exponent", wrap("<real>1e+21</real>"), 1e21},
		{"real nan", wrap("<real>nan</real>"), math.NaN()},
		{"real NaNS (LLSD spec)", wrap("<real>NaNS</real>"), math.NaN()},
		{"real inf", wrap("<real>inf</real>"), math.Inf(1)},
		{"real -Infinity", wrap("<real>-Infinity</real>"), math.Inf(-1)},
		{"real +Infinity", wrap("<real>+Infinity</real>"), math.Inf(1)},
		{"real -Zero", wrap("<real>-Zero</real>"), math.Copysign(0, -1)},
		{"real empty is 0", wrap("<real></real>"), 0.0},
		{"uuid", wrap("<uuid>2e3fc297-1d6f-493e-aa23-d69777db3cbe</uuid>"), testUUID},
		{"uuid empty is zero", wrap("<uuid />"), ritual.UUID{}},
		{"string", wrap("<string>hello world</string>"), "hello world"},
		{"string empty", wrap("<string />"), ""},
		{"string keeps spaces", wrap("<string>  a  </string>"), "  a  "},
		{"string entities", wrap("<string>&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos; &#65;&#x42;</string>"), `<a> & "b" 'c' AB`},
		{"string CDATA and comment", wrap("<string>x<![CDATA[<y>]]><!-- no -->z</string>"), "x<y>z"},
		{"string CRLF normalised", wrap("<string>a\r\nb\rc&#13;</string>"), "a\nb\nc\r"},
		{"string UTF-8", wrap("<string>Grüße ✓</string>"), "Grüße ✓"},
		{"date", wrap("<date>2006-02-01T14:29:53.43Z</date>"), testDate},
		{"date without fraction", wrap("<date>2026-11-25T14:12:05Z</date>"), time.Date(2026, 11, 25, 14, 12, 5, 0, time.UTC)},
		{"date with offset", wrap("<date>2006-02-01T15:29:53.43+01:00</date>"), testDate},
		{"date empty is epoch", wrap("<date />"), time.Unix(0, 0).UTC()},
		{"uri", wrap("<uri>http://127.0.0.1:9000/CAPS/x/</uri>"), URI("http://127.0.0.1:9000/CAPS/x/")},
		{"uri keeps spaces", wrap("<uri>  http://127.0.0.1:9000/CAPS/x/ </uri>"), URI("  http://127.0.0.1:9000/CAPS/x/ ")},
		{"uri keeps newlines and tabs", wrap("<uri>\n\thttp://a/b\n</uri>"), URI("\n\thttp://a/b\n")},
		{"uri of white space only", wrap("<uri> </uri>"), URI(" ")},
		{"uri empty", wrap("<uri />"), URI("")},
		{"binary default base64", wrap("<binary>KAAgSw==</binary>"), []byte{0x28, 0x00, 0x20, 0x4b}},
		{"binary base64 wrapped", wrap("<binary encoding=\"base64\">KAAg\n  Sw==\n</binary>"), []byte{0x28, 0x00, 0x20, 0x4b}},
		{"binary base64 unpadded", wrap("<binary>KAAgSw</binary>"), []byte{0x28, 0x00, 0x20, 0x4b}},
		{"binary base16", wrap("<binary encoding='base16'>28 00 20 4B</binary>"), []byte{0x28, 0x00, 0x20, 0x4b}},
		{"binary empty", wrap("<binary encoding=\"base64\" />"), []byte{}},
		{"map", wrap("<map><key>a</key><integer>1</integer><key>b</key><string>x</string></map>"),
			map[string]any{"a": int32(1), "b": "x"}},
		{"map empty", wrap("<map />"), map[string]any{}},
		{"map empty key", wrap("<map><key /><boolean>1</boolean></map>"), map[string]any{"": true}},
		{"map duplicate key: last wins", wrap("<map><key>a</key><integer>1</integer><key>a</key><integer>2</integer></map>"),
			map[string]any{"a": int32(2)}},
		{"array", wrap("<array><integer>1</integer><real>2</real><undef/></array>"), []any{int32(1), 2.0, nil}},
		{"array empty", wrap("<array></array>"), []any{}},
		{"nested", wrap("<map><key>events</key><array><map><key>id</key><integer>7</integer></map></array></map>"),
			map[string]any{"events": []any{map[string]any{"id": int32(7)}}}},
		{"prolog, whitespace, comments", "\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->\n<llsd>\n  <map>\n    <key>a</key>\n    <integer>1</integer>\n  </map>\n</llsd>\n",
			map[string]any{"a": int32(1)}},
		{"LL legacy header", "<? LLSD/XML ?>\n<llsd><integer>3</integer></llsd>", int32(3)},
		{"attributes ignored", `<llsd xmlns:x="y"><string lang='en'>a</string></llsd>`, "a"},
		{"end tag with space", "<llsd><integer>3</integer ></llsd >", int32(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnmarshalXML([]byte(tt.in))
			if err != nil {
				t.Fatalf("UnmarshalXML(%q): %v", tt.in, err)
			}
			if !Equal(got, tt.want) {
				t.Fatalf("UnmarshalXML(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if f, ok := got.(float64); ok && f == 0 && math.Signbit(f) != math.Signbit(tt.want.(float64)) {
				t.Fatalf("sign of zero lost: %v", got)
			}
		})
	}
}

func TestXMLEncode(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"undef", nil, "<undef />"},
		{"true as 1", true, "<boolean>1</boolean>"},
		{"false as 0", false, "<boolean>0</boolean>"},
		{"integer", int32(-7), "<integer>-7</integer>"},
		{"int fits", 1011700466, "<integer>1011700466</integer>"},
		{"uint16", uint16(9000), "<integer>9000</integer>"},
		{"real whole", 256.0, "<real>256</real>"},
		{"real fraction", 0.1, "<real>0.1</real>"},
		{"real tiny", 1.5e-7, "<real>1.5e-07</real>"},
		{"real huge", 1e21, "<real>1e+21</real>"},
		{"real nan", math.NaN(), "<real>NaN</real>"},
		{"real +inf", math.Inf(1), "<real>Infinity</real>"},
		{"real -inf", math.Inf(-1), "<real>-Infinity</real>"},
		{"real negative zero", math.Copysign(0, -1), "<real>-0</real>"},
		{"float32 shortest", float32(0.9991014), "<real>0.9991014</real>"},
		{"string escaped", "a<b>&c\r\n\"'", "<string>a&lt;b&gt;&amp;c&#13;\n\"'</string>"},
		{"string empty", "", "<string />"},
		{"string bad bytes replaced", "a\x00b\xffc", "<string>a\uFFFDb\uFFFDc</string>"},
		{"uuid", testUUID, "<uuid>2e3fc297-1d6f-493e-aa23-d69777db3cbe</uuid>"},
		{"uuid zero", ritual.UUID{}, "<uuid>00000000-0000-0000-0000-000000000000</uuid>"},
		{"date", testDate, "<date>2006-02-01T14:29:53.43Z</date>"},
		{"date other zone", testDate.In(time.FixedZone("x", 3600)), "<date>2006-02-01T14:29:53.43Z</date>"},
		{"uri", URI("http://a/b?c=d&e"), "<uri>http://a/b?c=d&amp;e</uri>"},
		{"uri with spaces", URI(" http://a/ "), "<uri> http://a/ </uri>"},
		{"binary", []byte{0x28, 0x00, 0x20, 0x4b}, `<binary encoding="base64">KAAgSw==</binary>`},
		{"binary empty", []byte{}, `<binary encoding="base64" />`},
		{"U32 as binary", U32Binary(0x2800204b), `<binary encoding="base64">KAAgSw==</binary>`},
		{"map sorted", map[string]any{"b": 1, "a": "x"}, "<map><key>a</key><string>x</string><key>b</key><integer>1</integer></map>"},
		{"map empty", map[string]any{}, "<map />"},
		{"ordered map keeps order", OrderedMap{{"b", 1}, {"a", 2}}, "<map><key>b</key><integer>1</integer><key>a</key><integer>2</integer></map>"},
		{"array", []any{1, "x", nil}, "<array><integer>1</integer><string>x</string><undef /></array>"},
		{"array empty", []any{}, "<array />"},
		{"typed slice", []string{"inventory-root"}, "<array><string>inventory-root</string></array>"},
		{"typed map", map[string]int32{"z": 1, "y": 2}, "<map><key>y</key><integer>2</integer><key>z</key><integer>1</integer></map>"},
		{"vector3", ritual.Vector3{X: 128, Y: 0.5, Z: 25}, "<array><real>128</real><real>0.5</real><real>25</real></array>"},
		{"pointer", func() any { s := "p"; return &s }(), "<string>p</string>"},
		{"nil pointer", (*string)(nil), "<undef />"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendXML(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := XMLProlog + "<llsd>" + tt.want + "</llsd>"
			if string(got) != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	self := map[string]any{}
	self["me"] = self
	tests := []struct {
		name     string
		in       any
		sentinel error
		msg      string
	}{
		{"uint32 too big", map[string]any{"circuit_code": uint32(3000000000)}, ErrUnsupported, ".circuit_code: integer 3000000000 does not fit"},
		{"int64 too big", []any{int64(1) << 40}, ErrUnsupported, "[0]: integer"},
		{"channel", map[string]any{"c": make(chan int)}, ErrUnsupported, "Go type chan int"},
		{"int keys", map[int]string{1: "a"}, ErrUnsupported, "map key type int"},
		{"date out of range", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ErrUnsupported, "outside years 1 to 9999"},
		{"cycle", self, ErrDepth, "nested deeper than 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []Format{FormatXML, FormatBinary, FormatNotation} {
				prefix := []byte("keep")
				out, err := appendDoc(prefix, f, tt.in, true)
				if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("%s: err = %v, want %v containing %q", f, err, tt.sentinel, tt.msg)
				}
				if string(out) != "keep" {
					t.Fatalf("%s: buffer not restored: %q", f, out)
				}
			}
		})
	}
}

type marshalerPoint struct{ x, y int32 }

func (p marshalerPoint) MarshalLLSD() (any, error) {
	return OrderedMap{{"x", p.x}, {"y", p.y}}, nil
}

func TestMarshaler(t *testing.T) {
	got, err := MarshalNotation([]any{marshalerPoint{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[{'x':i1,'y':i2}]"; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestXMLErrors(t *testing.T) {
	deep := strings.Repeat("<array>", 129) + strings.Repeat("</array>", 129)
	tests := []struct {
		name     string
		in       string
		sentinel error
		msg      string // a piece of the message: what and where
	}{
		{"empty input", "", ErrTruncated, "byte 0: no <llsd> element"},
		{"not xml", "hello", ErrSyntax, `text "hello" before <llsd>`},
		{"wrong root", "<map></map>", ErrSyntax, "root element is <map>, want <llsd>"},
		{"unknown element", wrap("<map><key>a</key><foo>1</foo></map>"), ErrSyntax, "byte 23 at .a: unknown element <foo>"},
		{"unclosed llsd", "<llsd><integer>1</integer>", ErrTruncated, "unclosed <llsd>"},
		{"unclosed map", wrap("<map><key>a</key><integer>1</integer>"), ErrSyntax, "</llsd> closes <map>"},
		{"unclosed string", "<llsd><string>abc", ErrTruncated, "unclosed <string>"},
		{"mismatched end", wrap("<string>a</integer>"), ErrSyntax, "</integer> closes <string>"},
		{"unclosed tag", "<llsd><string", ErrTruncated, "unclosed tag <string"},
		{"element in scalar", wrap("<string>a<b/></string>"), ErrSyntax, "element inside <string>"},
		{"key without value", wrap("<map><key>a</key></map>"), ErrSyntax, `key "a" has no value`},
		{"value without key", wrap("<map><integer>1</integer></map>"), ErrSyntax, "<integer> in <map> where a <key> belongs"},
		{"key outside map", wrap("<key>a</key>"), ErrSyntax, "<key> outside a map"},
		{"text in array", wrap("<array>junk</array>"), ErrSyntax, `text "junk</array></llsd>" inside <array>`},
		{"bad boolean", wrap("<boolean>yes</boolean>"), ErrBadValue, "boolean"},
		{"bad integer", wrap("<integer>12abc</integer>"), ErrBadValue, `integer "12abc"`},
		{"integer overflow", wrap("<integer>2147483648</integer>"), ErrBadValue, "signed 32-bit"},
		{"bad real", wrap("<real>1.2.3</real>"), ErrBadValue, `real "1.2.3"`},
		{"bad uuid", wrap("<array><uuid>not-a-uuid</uuid></array>"), ErrBadValue, `at [0]: uuid "not-a-uuid"`},
		{"bad date", wrap("<date>yesterday</date>"), ErrBadValue, "date"},
		{"bad base64", wrap("<map><key>Bitmap</key><binary>@@@@</binary></map>"), ErrBadValue, "at .Bitmap: base64 binary: illegal base64 data"},
		{"bad base16", wrap("<binary encoding='base16'>zz</binary>"), ErrBadValue, "base16"},
		{"base85 unsupported", wrap("<binary encoding='base85'>abc</binary>"), ErrUnsupported, "base85"},
		{"unknown encoding", wrap("<binary encoding='rot13'>abc</binary>"), ErrBadValue, `unknown binary encoding "rot13"`},
		{"unknown entity", wrap("<string>&nbsp;</string>"), ErrSyntax, "unknown entity &nbsp;"},
		{"bad char ref", wrap("<string>&#0;</string>"), ErrSyntax, "bad character reference"},
		{"raw control char", wrap("<string>a\x01</string>"), ErrSyntax, "byte 15: character XML does not allow"},
		{"invalid utf-8", wrap("<string>\xff</string>"), ErrSyntax, "character XML does not allow"},
		{"doctype refused", "<!DOCTYPE llsd [<!ENTITY a 'b'>]><llsd/>", ErrSyntax, "not allowed"},
		{"trailing data", wrap("<undef/>") + "<llsd/>", ErrSyntax, "data after </llsd>"},
		{"two values", wrap("<integer>1</integer><integer>2</integer>"), ErrSyntax, "expected </llsd>"},
		{"depth bomb", wrap(deep), ErrDepth, "nested deeper than 128"},
		{"unclosed comment", "<llsd><!-- ", ErrTruncated, "unclosed comment"},
		{"unquoted attribute", "<llsd><binary encoding=base64>AA==</binary></llsd>", ErrSyntax, "not quoted"},
		{"nested path", wrap("<map><key>events</key><array><map><key>body</key><integer>x</integer></map></array></map>"),
			ErrBadValue, "at .events[0].body: integer"},
		{"odd key path", wrap("<map><key>a b</key><integer>x</integer></map>"), ErrBadValue, `at ["a b"]: integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := UnmarshalXML([]byte(tt.in))
			if err == nil {
				t.Fatalf("UnmarshalXML(%q) = %#v, want an error", tt.in, v)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error %v does not wrap %v", err, tt.sentinel)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Format != FormatXML {
				t.Fatalf("error %v is not an XML *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestXMLKeepOrder(t *testing.T) {
	in := wrap("<map><key>z</key><integer>1</integer><key>a</key><map><key>y</key><undef /><key>b</key><undef /></map></map>")
	v, err := Options{KeepOrder: true}.Unmarshal(FormatXML, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	om, ok := v.(OrderedMap)
	if !ok || len(om) != 2 || om[0].Key != "z" || om[1].Key != "a" {
		t.Fatalf("got %#v", v)
	}
	inner, ok := om[1].Value.(OrderedMap)
	if !ok || inner[0].Key != "y" || inner[1].Key != "b" {
		t.Fatalf("inner %#v", om[1].Value)
	}
	out, err := MarshalXML(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != XMLProlog+in {
		t.Fatalf("re-encoded in a different order:\n%s\n%s", out, in)
	}
}

func TestXMLMaxDepthOption(t *testing.T) {
	in := wrap("<array><array><array></array></array></array>")
	if _, err := (Options{MaxDepth: 3}).Unmarshal(FormatXML, []byte(in)); err != nil {
		t.Fatalf("depth 3 within limit 3: %v", err)
	}
	if _, err := (Options{MaxDepth: 2}).Unmarshal(FormatXML, []byte(in)); !errors.Is(err, ErrDepth) {
		t.Fatalf("depth 3 over limit 2: err = %v", err)
	}
	// Our own encoder refuses what decoders would refuse.
	v := any(nil)
	for range DefaultMaxDepth {
		v = []any{v}
	}
	if _, err := MarshalXML(v); err != nil {
		t.Fatalf("depth %d: %v", DefaultMaxDepth, err)
	}
	if _, err := MarshalXML([]any{v}); !errors.Is(err, ErrDepth) {
		t.Fatalf("depth %d: err = %v", DefaultMaxDepth+1, err)
	}
}
