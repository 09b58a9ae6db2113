package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"ritual/internal/testenv"
	"ritual/protocol/template"
)

// every type and block kind, and a message without blocks.
const small = `version 2.0
{
	Everything Low 7 Trusted Zerocoded UDPDeprecated
	{
		Ints Single
		{ A U8 } { B U16 } { C U32 } { D U64 }
		{ E S8 } { F S16 } { G S32 } { H S64 }
	}
	{
		Others Multiple 2
		{ F1 F32 } { F2 F64 } { Yes BOOL } { Key LLUUID }
		{ V3 LLVector3 } { V3d LLVector3d } { V4 LLVector4 } { Q LLQuaternion }
		{ IP IPADDR } { Port IPPORT } { Raw Fixed 3 }
	}
	{
		Bytes Variable
		{ Short Variable 1 } { N U8 } { Long Variable 2 }
	}
}
{ Ping High 1 NotTrusted Unencoded { PingID Single { PingID U8 } } }
{ Tiny Medium 2 NotTrusted Unencoded { B Single { X U8 } } }
{ Nothing Fixed 0xFFFFFFFD NotTrusted Unencoded }
`

var update = flag.Bool("update", false, "rewrite testdata/small.golden from the generator's output")

func parse(t *testing.T, src string) *template.File {
	t.Helper()
	f, err := template.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func msgDir(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "protocol", "msg")
}

func TestGenerateSmall(t *testing.T) {
	f := parse(t, small)
	src, err := Generate(f, map[string]string{"Packet": "packet.go"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(src, []byte(Header+"\n\npackage msg\n")) {
		t.Errorf("output does not start with the header:\n%s", src[:100])
	}
	again, _ := Generate(parse(t, small), map[string]string{"Packet": "packet.go"})
	if !bytes.Equal(src, again) {
		t.Errorf("output is not deterministic")
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "z.go", src, 0); err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	golden := filepath.Join("testdata", "small.golden")
	if *update {
		if err := os.WriteFile(golden, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil {
		t.Errorf("%v (run go test -update to create it)", err)
	} else if !bytes.Equal(src, want) {
		t.Errorf("output differs from %s (review the change, then run go test -update)", golden)
	}
	for _, want := range []string{
		"IDEverything ID = 0xFFFF0007 // Low 7, Trusted, Zerocoded, UDPDeprecated",
		"IDPing       ID = 0x00000001 // High 1, NotTrusted, Unencoded",
		"IDNothing    ID = 0xFFFFFFFD",
		"Others [2]EverythingOthers // Multiple 2",
		"Bytes  []EverythingBytes   // Variable",
		"H int64 // S64",
		"Q   ritual.Quaternion // LLQuaternion",
		"IP  [4]byte           // IPADDR",
		"Raw [3]byte           // Fixed 3",
		"Long  []byte // Variable 2",
		"e.Port = getIPPort(p[",
		"func (m *Nothing) Decode(b []byte) error {",
		"if n*4 > len(b)-off {", // Bytes: 1 + 1 + 2 bytes at least
		"var highIndex = [256]uint16{",
		// A body may end where a block starts: the rest are absent.
		"func (m *Ping) Absent() int { return int(m.absent) }",
		"func (*Nothing) Absent() int { return 0 }",
		"m.absentFrom(2)",
		"m.absent = uint8(3 - k)",
		"m.Others = [2]EverythingOthers{}",
		"m.Bytes = m.Bytes[:0]",
		"var lowIndex = [8]uint16{",
	} {
		if !strings.Contains(squash(string(src)), squash(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// squash collapses runs of spaces and tabs, which gofmt's alignment varies.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
}

// TestGeneratedSmallCompiles builds protocol/msg with the small template's
// output in place of zmessages.go (through a build overlay, leaving the
// tree untouched), so every field type's code is known to compile.
func TestGeneratedSmallCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	dir := msgDir(t)
	reserved, err := declaredNames(dir, "zmessages.go")
	if err != nil {
		t.Fatal(err)
	}
	src, err := Generate(parse(t, small), reserved)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	gen := filepath.Join(tmp, "zmessages.go")
	if err := os.WriteFile(gen, src, 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(dir, "zmessages.go"): gen}})
	ov := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"build", "-overlay", ov, "ritual/protocol/msg"}} {
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s: %v\n%s", args[0], err, out)
		}
	}
}

func TestGenerateCollisions(t *testing.T) {
	tests := []struct {
		name, src string
		reserved  map[string]string
		says      []string
	}{
		{"block type", `version 2.0
{ Foo Low 1 Trusted Unencoded { BarBaz Single { X U8 } } }
{ FooBar Low 2 Trusted Unencoded { Baz Single { X U8 } } }`, nil,
			[]string{"FooBarBaz is the type of block Foo.BarBaz (line 2) and the type of block FooBar.Baz (line 3)"}},
		{"message and block type", `version 2.0
{ AgentData Low 1 Trusted Unencoded { X Single { X U8 } } }
{ Agent Low 2 Trusted Unencoded { Data Single { X U8 } } }`, nil,
			[]string{"AgentData is message AgentData (line 2) and the type of block Agent.Data (line 3)"}},
		{"hand-written name", `version 2.0
{ Packet Low 1 Trusted Unencoded }
{ Lookup Low 2 Trusted Unencoded }`, map[string]string{"Packet": "packet.go", "Lookup": "message.go"},
			[]string{"Packet is a declaration in packet.go and message Packet (line 2)", "Lookup is a declaration in message.go and message Lookup (line 3)"}},
		{"number constant", `version 2.0
{ Foo Low 1 Trusted Unencoded }
{ IDFoo Low 2 Trusted Unencoded }`, nil,
			[]string{"IDFoo is the number constant of message Foo (line 2) and message IDFoo (line 3)"}},
		{"method name", `version 2.0
{ Foo Low 1 Trusted Unencoded { Decode Single { X U8 } } }`, nil,
			[]string{"block Foo.Decode (line 2) would be a field named as the method Decode"}},
		{"Absent method", `version 2.0
{ Foo Low 1 Trusted Unencoded { Absent Single { X U8 } } }`, nil,
			[]string{"block Foo.Absent (line 2) would be a field named as the method Absent"}},
		{"unexported", `version 2.0
{ foo Low 1 Trusted Unencoded { bar Single { baz U8 } } }`, nil,
			[]string{`message foo (line 2): "foo" does not start with an upper-case letter`,
				`block foo.bar (line 2): "bar" does not start`, `field foo.bar.baz (line 2): "baz" does not start`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(parse(t, tt.src), tt.reserved)
			if !errors.Is(err, ErrCollision) {
				t.Fatalf("Generate = %v, want ErrCollision", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestCommittedOutputIsFresh regenerates from the real template and
// compares with protocol/msg/zmessages.go.
func TestCommittedOutputIsFresh(t *testing.T) {
	path := testenv.Template(t)
	dir := msgDir(t)
	f, err := template.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reserved, err := declaredNames(dir, "zmessages.go")
	if err != nil {
		t.Fatal(err)
	}
	src, err := Generate(f, reserved)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(dir, "zmessages.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, committed) {
		t.Errorf("protocol/msg/zmessages.go is stale: run go generate in protocol/msg")
	}
	for _, name := range []string{"Packet", "Message", "Info", "ID", "New", "Lookup", "ByName", "AppendPacket", "High"} {
		if reserved[name] == "" {
			t.Errorf("hand-written name %s not found in protocol/msg", name)
		}
	}
}

func TestRun(t *testing.T) {
	tmp := t.TempDir()
	tmpl := filepath.Join(tmp, "t.msg")
	if err := os.WriteFile(tmpl, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "pkg", "z.go")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	// A hand-written file in the output's package reserves its names.
	if err := os.WriteFile(filepath.Join(tmp, "pkg", "hand.go"), []byte("package msg\n\ntype Ping struct{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(tmpl, out); !errors.Is(err, ErrCollision) || !strings.Contains(err.Error(), "Ping is a declaration in hand.go") {
		t.Fatalf("run with a clashing hand-written name = %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output written despite the error")
	}
	os.Remove(filepath.Join(tmp, "pkg", "hand.go"))
	if err := run(tmpl, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(data, []byte(Header)) {
		t.Fatalf("output %q, %v", data[:min(len(data), 80)], err)
	}

	// The template comes from $RITUAL_TEMPLATE when no flag names it.
	t.Setenv("RITUAL_TEMPLATE", tmpl)
	if p, err := findTemplate(); err != nil || p != tmpl {
		t.Errorf("findTemplate = %q, %v", p, err)
	}
	// Template errors carry the file and line.
	bad := filepath.Join(tmp, "bad.msg")
	os.WriteFile(bad, []byte("version 2.0\n{ X Low 1 Trusted Sometimes }"), 0o644)
	if err := run(bad, out); err == nil || !strings.Contains(err.Error(), bad+":2:") {
		t.Errorf("run with a bad template = %v", err)
	}
}
