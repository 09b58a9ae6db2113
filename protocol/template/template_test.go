package template

import (
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"ritual/internal/testenv"
)

func TestRealTemplate(t *testing.T) {
	f, err := ParseFile(testenv.Template(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != "2.0" {
		t.Errorf("Version = %q, want 2.0", f.Version)
	}
	if len(f.Messages) != 483 {
		t.Errorf("%d messages, want 483", len(f.Messages))
	}
	count := map[Frequency]int{}
	maxNum := map[Frequency]uint32{}
	deps := map[Deprecation]int{}
	types := map[FieldType]int{}
	for _, m := range f.Messages {
		count[m.Frequency]++
		maxNum[m.Frequency] = max(maxNum[m.Frequency], m.Number)
		deps[m.Deprecation]++
		for _, b := range m.Blocks {
			for _, fld := range b.Fields {
				types[fld.Type]++
			}
		}
	}
	want := map[Frequency]int{Low: 431, Medium: 17, High: 32, Fixed: 3}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("messages per frequency = %v, want %v", count, want)
	}
	wantMax := map[Frequency]uint32{Low: 431, Medium: 17, High: 32, Fixed: 0xFFFFFFFD}
	if !reflect.DeepEqual(maxNum, wantMax) {
		t.Errorf("highest numbers = %v, want %v", maxNum, wantMax)
	}
	wantDeps := map[Deprecation]int{NotDeprecated: 483 - 17 - 5 - 4, UDPDeprecated: 17, Deprecated: 5, UDPBlackListed: 4}
	if !reflect.DeepEqual(deps, wantDeps) {
		t.Errorf("deprecations = %v, want %v", deps, wantDeps)
	}
	// Every type the template grammar lists is in use except S64.
	for ty := TypeU8; ty <= TypeVariable; ty++ {
		if types[ty] == 0 && ty != TypeS64 {
			t.Errorf("no field of type %v: is the type table wrong?", ty)
		}
	}

	spot := []struct {
		name      string
		freq      Frequency
		num       uint32
		id        uint32
		trusted   bool
		zerocoded bool
		dep       Deprecation
		blocks    string
	}{
		{"UseCircuitCode", Low, 3, 0xFFFF0003, false, false, NotDeprecated, "CircuitCode Single 1"},
		{"RegionHandshake", Low, 148, 0xFFFF0094, true, true, NotDeprecated, "RegionInfo Single 1,RegionInfo2 Single 1,RegionInfo3 Single 1,RegionInfo4 Variable 0"},
		{"PacketAck", Fixed, 0xFFFFFFFB, 0xFFFFFFFB, false, false, NotDeprecated, "Packets Variable 0"},
		{"OpenCircuit", Fixed, 0xFFFFFFFC, 0xFFFFFFFC, false, false, UDPBlackListed, "CircuitInfo Single 1"},
		{"CloseCircuit", Fixed, 0xFFFFFFFD, 0xFFFFFFFD, false, false, NotDeprecated, ""},
		{"StartPingCheck", High, 1, 1, false, false, NotDeprecated, "PingID Single 1"},
		{"CoarseLocationUpdate", Medium, 6, 0xFF06, true, false, NotDeprecated, "Location Variable 0,Index Single 1,AgentData Variable 0"},
		{"TestMessage", Low, 1, 0xFFFF0001, false, true, NotDeprecated, "TestBlock1 Single 1,NeighborBlock Multiple 4"},
		{"ObjectPosition", Medium, 4, 0xFF04, false, true, Deprecated, "AgentData Single 1,ObjectData Variable 0"},
	}
	for _, s := range spot {
		m, ok := f.Message(s.name)
		if !ok {
			t.Errorf("%s missing", s.name)
			continue
		}
		var blocks []string
		for _, b := range m.Blocks {
			blocks = append(blocks, b.Name+" "+b.Kind.String()+" "+strconv.Itoa(b.Count))
		}
		got := []any{m.Frequency, m.Number, m.ID(), m.Trusted, m.Zerocoded, m.Deprecation, strings.Join(blocks, ",")}
		wantv := []any{s.freq, s.num, s.id, s.trusted, s.zerocoded, s.dep, s.blocks}
		if !reflect.DeepEqual(got, wantv) {
			t.Errorf("%s = %v, want %v", s.name, got, wantv)
		}
	}

	// Field details of UseCircuitCode and one of each sized type.
	m, _ := f.Message("UseCircuitCode")
	if got := m.Blocks[0].Fields; !reflect.DeepEqual(stripLines(got), []Field{
		{Name: "Code", Type: TypeU32}, {Name: "SessionID", Type: TypeLLUUID}, {Name: "ID", Type: TypeLLUUID},
	}) {
		t.Errorf("UseCircuitCode fields = %+v", got)
	}
	if m.Blocks[0].FixedSize() != 36 || m.Blocks[0].MinSize() != 36 {
		t.Errorf("UseCircuitCode block size = %d/%d, want 36", m.Blocks[0].FixedSize(), m.Blocks[0].MinSize())
	}
	ld, _ := f.Message("LayerData")
	if fl := ld.Blocks[1].Fields[0]; fl.Name != "Data" || fl.Type != TypeVariable || fl.Size != 2 || fl.FixedSize() != 0 || fl.MinSize() != 2 {
		t.Errorf("LayerData.LayerData.Data = %+v", fl)
	}
}

func stripLines(fs []Field) []Field {
	out := make([]Field, len(fs))
	for i, f := range fs {
		f.Line = 0
		out[i] = f
	}
	return out
}

func stripFile(f *File) *File {
	g := &File{Version: f.Version}
	for _, m := range f.Messages {
		m.Line = 0
		bs := make([]Block, len(m.Blocks))
		for i, b := range m.Blocks {
			b.Line = 0
			b.Fields = stripLines(b.Fields)
			bs[i] = b
		}
		if len(bs) == 0 {
			bs = nil
		}
		m.Blocks = bs
		g.Messages = append(g.Messages, m)
	}
	return g
}

func TestRealTemplateRoundTrip(t *testing.T) {
	f, err := ParseFile(testenv.Template(t))
	if err != nil {
		t.Fatal(err)
	}
	text := f.AppendText(nil)
	g, err := Parse(text)
	if err != nil {
		t.Fatalf("reparse of printed template: %v", err)
	}
	if !reflect.DeepEqual(stripFile(f), stripFile(g)) {
		t.Fatal("printed template parses to a different value")
	}
}

const small = `// a comment
version 2.0 // trailing comment

{
	Ping High 1 NotTrusted Unencoded
	{
		PingID Single
		{ PingID U8 }
		{ OldestUnacked U32 }
	}
}
{
	Grid Low 65279 Trusted Zerocoded UDPDeprecated
	{	Pos	Multiple 2	{ P LLVector3d } }
	{	Names	Variable
		{ Name Variable 1 }
		{ Blob Variable 2 }
		{ Key Fixed 32 }
		{ Addr IPADDR } { Port IPPORT }
		{ Q LLQuaternion } { V LLVector4 } { S S64 }
	}
}
{ Done Fixed 0xFFFFFFFF NotTrusted Unencoded Deprecated }
{ Medium1 Medium 254 NotTrusted Unencoded UDPBlackListed { B Single { X F64 } } }
`

func TestParseSmall(t *testing.T) {
	f, err := Parse([]byte(small))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Version: "2.0", Messages: []Message{
		{Name: "Ping", Frequency: High, Number: 1, Blocks: []Block{
			{Name: "PingID", Kind: Single, Count: 1, Fields: []Field{{Name: "PingID", Type: TypeU8}, {Name: "OldestUnacked", Type: TypeU32}}},
		}},
		{Name: "Grid", Frequency: Low, Number: 65279, Trusted: true, Zerocoded: true, Deprecation: UDPDeprecated, Blocks: []Block{
			{Name: "Pos", Kind: Multiple, Count: 2, Fields: []Field{{Name: "P", Type: TypeLLVector3d}}},
			{Name: "Names", Kind: Variable, Fields: []Field{
				{Name: "Name", Type: TypeVariable, Size: 1}, {Name: "Blob", Type: TypeVariable, Size: 2},
				{Name: "Key", Type: TypeFixed, Size: 32}, {Name: "Addr", Type: TypeIPADDR}, {Name: "Port", Type: TypeIPPORT},
				{Name: "Q", Type: TypeLLQuaternion}, {Name: "V", Type: TypeLLVector4}, {Name: "S", Type: TypeS64},
			}},
		}},
		{Name: "Done", Frequency: Fixed, Number: 0xFFFFFFFF, Deprecation: Deprecated},
		{Name: "Medium1", Frequency: Medium, Number: 254, Deprecation: UDPBlackListed, Blocks: []Block{
			{Name: "B", Kind: Single, Count: 1, Fields: []Field{{Name: "X", Type: TypeF64}}},
		}},
	}}
	if got := stripFile(f); !reflect.DeepEqual(got, stripFile(want)) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if f.Messages[0].Line != 4 || f.Messages[0].Blocks[0].Line != 6 || f.Messages[0].Blocks[0].Fields[1].Line != 9 {
		t.Errorf("lines = %d %d %d, want 4 6 9", f.Messages[0].Line, f.Messages[0].Blocks[0].Line, f.Messages[0].Blocks[0].Fields[1].Line)
	}
	if n := f.Messages[1].Blocks[1].MinSize(); n != 1+2+32+4+2+12+16+8 {
		t.Errorf("Names MinSize = %d", n)
	}
	if n := f.Messages[1].Blocks[1].FixedSize(); n != 0 {
		t.Errorf("Names FixedSize = %d, want 0 (has Variable fields)", n)
	}
	if id := f.Messages[3].ID(); id != 0xFFFE {
		t.Errorf("Medium 254 ID = %#x", id)
	}
	g, err := Parse([]byte(f.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stripFile(f), stripFile(g)) {
		t.Errorf("round trip differs:\n%s", f.String())
	}
}

func TestParseErrors(t *testing.T) {
	const hdr = "version 2.0\n"
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"empty", "", 1, `expected "version" at the start`},
		{"no version", "{ A Low 1 Trusted Unencoded }", 1, `expected "version" at the start of the template, found "{"`},
		{"version missing number", "version", 1, "unexpected end of file: expected a version number"},
		{"bad version", "version two", 1, `version "two" is not a number`},
		{"version brace", "version {", 1, `expected a version number after "version", found "{"`},
		{"junk between messages", hdr + "Foo", 2, `expected '{' to open a message, found "Foo"`},
		{"unclosed message", hdr + "{ A Low 1 Trusted Unencoded\n", 3, "unexpected end of file: expected a block or '}' closing message A"},
		{"missing name", hdr + "{ }", 2, `expected a message name after '{', found "}"`},
		{"bad name", hdr + "{ 9A Low 1 Trusted Unencoded }", 2, `message name "9A" is not an identifier`},
		{"bad frequency", hdr + "{ A Lowish 1 Trusted Unencoded }", 2, `message A: unknown frequency "Lowish"`},
		{"bad number", hdr + "{ A Low 1x Trusted Unencoded }", 2, `message A: number "1x" is not a decimal or 0x hexadecimal number`},
		{"octal-looking is decimal", hdr + "{ A Low 0x Trusted Unencoded }", 2, `number "0x" is not`},
		{"number too big", hdr + "{ A Low 99999999999 Trusted Unencoded }", 2, `number "99999999999" is not`},
		{"high zero", hdr + "{ A High 0 Trusted Unencoded }", 2, "message A: High number 0 is out of range 1-254"},
		{"high 255", hdr + "{ A High 255 Trusted Unencoded }", 2, "High number 255 is out of range"},
		{"medium 255", hdr + "{ A Medium 255 Trusted Unencoded }", 2, "Medium number 255 is out of range"},
		{"low in fixed space", hdr + "{ A Low 65280 Trusted Unencoded }", 2, "Low number 65280 is out of range 1-65279"},
		{"fixed too small", hdr + "{ A Fixed 0xFFFFFEFF Trusted Unencoded }", 2, "Fixed number 0xFFFFFEFF is out of range"},
		{"bad trust", hdr + "{ A Low 1 Trust Unencoded }", 2, `message A: expected Trusted or NotTrusted, found "Trust"`},
		{"bad encoding", hdr + "{ A Low 1 Trusted Zipped }", 2, `message A: expected Zerocoded or Unencoded, found "Zipped"`},
		{"bad flag", hdr + "{ A Low 1 Trusted Unencoded Obsolete }", 2, `message A: unknown flag "Obsolete"`},
		{"two flags", hdr + "{ A Low 1 Trusted Unencoded Deprecated UDPDeprecated }", 2, `message A: expected '{' to open a block or '}', found "UDPDeprecated"`},
		{"duplicate message", hdr + "{ A Low 1 Trusted Unencoded }\n{ A Low 2 Trusted Unencoded }", 3, "message A is defined twice (first at line 2)"},
		{"duplicate number", hdr + "{ A Low 1 Trusted Unencoded }\n{ B Low 1 Trusted Unencoded }", 3, "message B: Low number 1 is already used by A"},
		{"duplicate fixed", hdr + "{ A Fixed 0xFFFFFFFB Trusted Unencoded }\n{ B Fixed 0xfffffffb Trusted Unencoded }", 3, "Fixed number 0xFFFFFFFB is already used by A"},
		{"block missing name", hdr + "{ A Low 1 Trusted Unencoded { } }", 2, `expected a block name in message A, found "}"`},
		{"block bad name", hdr + "{ A Low 1 Trusted Unencoded { B-1 Single { F U8 } } }", 2, `message A: block name "B-1" is not an identifier`},
		{"block bad kind", hdr + "{ A Low 1 Trusted Unencoded { B Several { F U8 } } }", 2, `message A: block B: unknown block kind "Several"`},
		{"multiple no count", hdr + "{ A Low 1 Trusted Unencoded { B Multiple { F U8 } } }", 2, `expected a count after Multiple in message A: block B, found "{"`},
		{"multiple zero", hdr + "{ A Low 1 Trusted Unencoded { B Multiple 0 { F U8 } } }", 2, `Multiple count "0" is not a number in 1-255`},
		{"multiple too many", hdr + "{ A Low 1 Trusted Unencoded { B Multiple 256 { F U8 } } }", 2, `Multiple count "256" is not a number in 1-255`},
		{"block no fields", hdr + "{ A Low 1 Trusted Unencoded\n{ B Single } }", 3, "message A: block B has no fields"},
		{"block junk", hdr + "{ A Low 1 Trusted Unencoded { B Single F U8 } }", 2, `message A: block B: expected '{' to open a field or '}', found "F"`},
		{"duplicate block", hdr + "{ A Low 1 Trusted Unencoded\n{ B Single { F U8 } }\n{ B Single { F U8 } } }", 4, "message A: block B is defined twice (first at line 3)"},
		{"unclosed block", hdr + "{ A Low 1 Trusted Unencoded { B Single { F U8 }", 2, "unexpected end of file: expected a field or '}' closing message A: block B"},
		{"field bad name", hdr + "{ A Low 1 Trusted Unencoded { B Single { _F U8 } } }", 2, `message A: block B: field name "_F" is not an identifier`},
		{"field no name", hdr + "{ A Low 1 Trusted Unencoded { B Single { } } }", 2, `expected a field name in message A: block B, found "}"`},
		{"field bad type", hdr + "{ A Low 1 Trusted Unencoded { B Single\n{ F U9 } } }", 3, `message A: block B: field F: unknown type "U9"`},
		{"field no type", hdr + "{ A Low 1 Trusted Unencoded { B Single { F } } }", 2, `expected a type for message A: block B: field F, found "}"`},
		{"fixed no size", hdr + "{ A Low 1 Trusted Unencoded { B Single { F Fixed } } }", 2, `expected a size after Fixed in message A: block B: field F, found "}"`},
		{"fixed zero", hdr + "{ A Low 1 Trusted Unencoded { B Single { F Fixed 0 } } }", 2, `field F: Fixed size "0" is not a number in 1-65535`},
		{"fixed huge", hdr + "{ A Low 1 Trusted Unencoded { B Single { F Fixed 65536 } } }", 2, `Fixed size "65536" is not a number in 1-65535`},
		{"variable 4", hdr + "{ A Low 1 Trusted Unencoded { B Single { F Variable 4 } } }", 2, `field F: Variable length width "4" is not 1 or 2`},
		{"variable no size", hdr + "{ A Low 1 Trusted Unencoded { B Single { F Variable } } }", 2, `expected a length width (1 or 2) after Variable in message A: block B: field F, found "}"`},
		{"size on plain type", hdr + "{ A Low 1 Trusted Unencoded { B Single { F U8 1 } } }", 2, `expected '}' closing message A: block B: field F, found "1"`},
		{"field unclosed", hdr + "{ A Low 1 Trusted Unencoded { B Single { F U8", 2, "unexpected end of file: expected '}' closing message A: block B: field F"},
		{"duplicate field", hdr + "{ A Low 1 Trusted Unencoded { B Single { F U8 }\n{ F U16 } } }", 3, "message A: block B: field F is defined twice (first at line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("parsed without error: %+v", f)
			}
			var te *Error
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T) is not a *Error wrapping ErrInvalid", err, err)
			}
			if te.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", te.Line, tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	if _, err := ParseFile(t.TempDir() + "/missing.msg"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := t.TempDir() + "/bad.msg"
	if err := os.WriteFile(path, []byte("version 2.0\n\n{ A Sometimes 1 }"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(path)
	if err == nil || !strings.Contains(err.Error(), path+":3: message A: unknown frequency") {
		t.Errorf("error %v does not name file and line", err)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{High.String(), "High"}, {Fixed.String(), "Fixed"}, {Frequency(9).String(), "Frequency(9)"},
		{Variable.String(), "Variable"}, {BlockKind(0).String(), "BlockKind(0)"},
		{TypeLLQuaternion.String(), "LLQuaternion"}, {FieldType(99).String(), "FieldType(99)"},
		{NotDeprecated.String(), "NotDeprecated"}, {UDPBlackListed.String(), "UDPBlackListed"}, {Deprecation(7).String(), "Deprecation(7)"},
		{(&Error{Msg: "x"}).Error(), "template: x"},
		{(&Error{File: "f", Msg: "x"}).Error(), "template: f: x"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(small))
	f.Add([]byte("version 2.0 { A Low 1 Trusted Unencoded { B Variable { F Variable 1 } } }"))
	if p := testenv.TemplatePath(); p != "" {
		if src, err := os.ReadFile(p); err == nil {
			// Seed with the first few messages rather than the whole file,
			// which keeps each fuzz iteration short.
			if i := strings.Index(string(src), "// RegionHandshake"); i > 0 {
				f.Add(src[:i])
			}
			f.Add(src[:min(len(src), 4000)])
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		tf, err := Parse(src)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *Error", err)
			}
			return
		}
		text := tf.AppendText(nil)
		tg, err := Parse(text)
		if err != nil {
			t.Fatalf("printed template does not parse: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(stripFile(tf), stripFile(tg)) {
			t.Fatalf("round trip differs:\n%s", text)
		}
		if again := tg.AppendText(nil); string(again) != string(text) {
			t.Fatalf("printing is not stable:\n%s\n----\n%s", text, again)
		}
	})
}
