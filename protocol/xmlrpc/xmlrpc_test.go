package xmlrpc_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ritual/protocol/xmlrpc"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// capture returns a recorded OpenSimulator exchange from testdata. Some
// recordings end with the recorder's note of the HTTP status and timing
// ("\nhttp=200 t=0.001969\n"); that note is checked and cut off.
func capture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndex(b, []byte("\nhttp=")); i >= 0 {
		note := string(bytes.TrimSpace(b[i:]))
		if !strings.HasPrefix(note, "http=200 ") {
			t.Fatalf("%s: recorded status is not 200: %q", name, note)
		}
		b = b[:i]
	}
	return b
}

// diff returns "" if a and b are the same XML-RPC value, else where and how
// they differ.
func diff(path string, a, b any) string {
	switch x := a.(type) {
	case xmlrpc.Struct:
		y, ok := b.(xmlrpc.Struct)
		if !ok {
			return fmt.Sprintf("%s: %T vs %T", path, a, b)
		}
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d members vs %d", path, len(x), len(y))
		}
		for i := range x {
			if x[i].Name != y[i].Name {
				return fmt.Sprintf("%s: member %d named %q vs %q", path, i, x[i].Name, y[i].Name)
			}
			if d := diff(fmt.Sprintf("%s[%q]", path, x[i].Name), x[i].Value, y[i].Value); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok {
			return fmt.Sprintf("%s: %T vs %T", path, a, b)
		}
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d elements vs %d", path, len(x), len(y))
		}
		for i := range x {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); d != "" {
				return d
			}
		}
		return ""
	case []byte:
		if y, ok := b.([]byte); !ok || !bytes.Equal(x, y) {
			return fmt.Sprintf("%s: %#v vs %#v", path, a, b)
		}
		return ""
	case time.Time:
		if y, ok := b.(time.Time); !ok || !x.Equal(y) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		return ""
	case float64:
		if y, ok := b.(float64); !ok || math.Float64bits(x) != math.Float64bits(y) {
			return fmt.Sprintf("%s: %#v vs %#v", path, a, b)
		}
		return ""
	}
	if a != b {
		return fmt.Sprintf("%s: %#v (%T) vs %#v (%T)", path, a, a, b, b)
	}
	return ""
}

func TestParseOpenSimLoginRequest(t *testing.T) {
	for _, tc := range []struct{ file, passwd string }{
		{"opensim-login-request.xml", "$1$5f4dcc3b5aa765d61d8327deb882cf99"},
		{"opensim-login-request-badpw.xml", "$1$00000000000000000000000000000000"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			req, err := xmlrpc.ParseRequest(capture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "login_to_simulator" || len(req.Params) != 1 {
				t.Fatalf("method %q with %d params, want login_to_simulator with 1", req.Method, len(req.Params))
			}
			s, ok := req.Params[0].(xmlrpc.Struct)
			if !ok {
				t.Fatalf("param is %T, want Struct", req.Params[0])
			}
			var names []string
			for _, m := range s {
				names = append(names, m.Name)
			}
			wantNames := "first last passwd start channel version platform platform_version mac id0 agree_to_tos " +
				"read_critical viewer_digest address_size extended_errors last_exec_event options"
			if got := strings.Join(names, " "); got != wantNames {
				t.Errorf("members:\n got %s\nwant %s", got, wantNames)
			}
			for _, want := range []xmlrpc.Member{
				{Name: "first", Value: "Test"},
				{Name: "last", Value: "User"},
				{Name: "passwd", Value: tc.passwd},
				{Name: "start", Value: "last"},
				{Name: "channel", Value: "RigTest Viewer"},
				{Name: "platform", Value: "Lnx"},
				{Name: "agree_to_tos", Value: true},
				{Name: "read_critical", Value: true},
				{Name: "extended_errors", Value: true},
				{Name: "address_size", Value: int32(64)},
				{Name: "last_exec_event", Value: int32(0)},
			} {
				got, _ := s.Get(want.Name)
				if d := diff(want.Name, got, want.Value); d != "" {
					t.Error(d)
				}
			}
			opts, ok := s.Array("options")
			if !ok || len(opts) != 22 {
				t.Fatalf("options: %d elements (ok %v), want 22", len(opts), ok)
			}
			if opts[0] != "inventory-root" || opts[1] != "inventory-skeleton" || opts[21] != "global-textures" {
				t.Errorf("options = %v", opts)
			}
			for i, o := range opts {
				if _, ok := o.(string); !ok {
					t.Errorf("options[%d] is %T, want string", i, o)
				}
			}
			if tos, ok := s.Bool("agree_to_tos"); !ok || !tos {
				t.Errorf("Bool(agree_to_tos) = %v, %v", tos, ok)
			}
			if n, ok := s.Int("address_size"); !ok || n != 64 {
				t.Errorf("Int(address_size) = %v, %v", n, ok)
			}
		})
	}
}

func TestParseOpenSimLoginResponse(t *testing.T) {
	resp, err := xmlrpc.ParseResponse(capture(t, "opensim-login-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Fault != nil || len(resp.Params) != 1 {
		t.Fatalf("fault %v, %d params", resp.Fault, len(resp.Params))
	}
	s, ok := resp.Params[0].(xmlrpc.Struct)
	if !ok {
		t.Fatalf("param is %T, want Struct", resp.Params[0])
	}
	if len(s) != 39 {
		t.Errorf("%d members, want 39", len(s))
	}
	// Every member in document order, with its type and, for scalars, value.
	type want struct {
		name string
		v    any // a scalar value, or an int: the length of an array
	}
	const arr = "array of"
	wants := []struct {
		name string
		val  any
		n    int // array length when val is arr
	}{
		{"login", "true", 0},
		{"region_y", int32(256000), 0},
		{"region_size_x", int32(256), 0},
		{"buddy-list", arr, 0},
		{"look_at", "[r0,r1,r0]", 0},
		{"inventory-lib-root", arr, 1},
		{"seconds_since_epoch", int32(1795615987), 0},
		{"agent_id", "2e3fc297-1d6f-493e-aa23-d69777db3cbe", 0},
		{"region_size_y", int32(256), 0},
		{"inventory-root", arr, 1},
		{"gestures", arr, 0},
		{"http_port", int32(0), 0},
		{"agent_access", "M", 0},
		{"event_categories", arr, 0},
		{"initial-outfit", arr, 1},
		{"sim_ip", "127.0.0.1", 0},
		{"region_x", int32(256000), 0},
		{"real_id", "00000000-0000-0000-0000-000000000000", 0},
		{"first_name", "Test", 0},
		{"seed_capability", "http://127.0.0.1:9000/CAPS/fe6e667f-34d0-41c8-b862-def06fd07fed0000/", 0},
		{"secure_session_id", "2e3da8d0-49ff-4549-b30d-bdf1f2445611", 0},
		{"inventory-skeleton", arr, 20},
		{"message", "Welcome, Avatar!", 0},
		{"event_notifications", arr, 0},
		{"agent_access_max", "A", 0},
		{"max-agent-groups", int32(42), 0},
		{"home", "{'region_handle':[r256000,r256000], 'position':[r128,r128,r0], 'look_at':[r0,r1,r0]}", 0},
		{"inventory-skel-lib", arr, 19},
		{"classified_categories", arr, 9},
		{"inventory-lib-owner", arr, 1},
		{"sim_port", int32(9000), 0},
		{"last_name", "User", 0},
		{"login-flags", arr, 1},
		{"global-textures", arr, 1},
		{"start_location", "safe", 0},
		{"circuit_code", int32(296610768), 0},
		{"session_id", "475d12d5-fcc6-44b3-9761-da81ee792858", 0},
		{"ui-config", arr, 1},
		{"map-server-url", "http://127.0.0.1:9000/", 0},
	}
	if len(s) != len(wants) {
		t.Fatalf("%d members, want %d", len(s), len(wants))
	}
	for i, w := range wants {
		m := s[i]
		if m.Name != w.name {
			t.Errorf("member %d is %q, want %q", i, m.Name, w.name)
			continue
		}
		if w.val == arr {
			a, ok := m.Value.([]any)
			if !ok || len(a) != w.n {
				t.Errorf("%s: %T of %d, want array of %d", w.name, m.Value, len(a), w.n)
			}
			continue
		}
		if d := diff(w.name, m.Value, w.val); d != "" {
			t.Error(d)
		}
	}

	// The nested structs, as login code reads them.
	if ok, _ := s.Bool("login"); !ok {
		t.Error(`Bool("login") is not true`)
	}
	if code, ok := s.Int("circuit_code"); !ok || code != 296610768 {
		t.Errorf("Int(circuit_code) = %d, %v", code, ok)
	}
	skel, _ := s.Array("inventory-skeleton")
	cof := 0
	for i, f := range skel {
		folder, ok := f.(xmlrpc.Struct)
		if !ok {
			t.Fatalf("inventory-skeleton[%d] is %T", i, f)
		}
		for _, k := range []string{"name", "folder_id", "parent_id"} {
			if _, ok := folder.String(k); !ok {
				t.Errorf("inventory-skeleton[%d] has no string %s", i, k)
			}
		}
		td, ok1 := folder.Get("type_default")
		ver, ok2 := folder.Get("version")
		if _, ok := td.(int32); !ok || !ok1 {
			t.Errorf("inventory-skeleton[%d].type_default is %T", i, td)
		}
		if _, ok := ver.(int32); !ok || !ok2 {
			t.Errorf("inventory-skeleton[%d].version is %T", i, ver)
		}
		if td == int32(46) {
			cof++
		}
	}
	if cof != 1 {
		t.Errorf("%d Current Outfit folders (type_default 46), want 1", cof)
	}
	root, _ := s.Array("inventory-root")
	rootID, _ := root[0].(xmlrpc.Struct).String("folder_id")
	if rootID != "de750c77-6b39-4023-a315-1f4e7c0ad004" {
		t.Errorf("inventory-root folder_id = %q", rootID)
	}
	flags, _ := s.Array("login-flags")
	lf := flags[0].(xmlrpc.Struct)
	for name, want := range map[string]bool{"daylight_savings": false, "stipend_since_login": false, "gendered": true, "ever_logged_in": true} {
		if got, ok := lf.Bool(name); !ok || got != want {
			t.Errorf("login-flags %s = %v, %v; want %v", name, got, ok, want)
		}
	}
	cats, _ := s.Array("classified_categories")
	c0 := cats[0].(xmlrpc.Struct)
	if id, _ := c0.Get("category_id"); id != int32(1) {
		t.Errorf("classified_categories[0].category_id = %#v", id)
	}
	if name, _ := c0.String("category_name"); name != "Shopping" {
		t.Errorf("classified_categories[0].category_name = %q", name)
	}
}

func TestParseOpenSimLoginFailure(t *testing.T) {
	resp, err := xmlrpc.ParseResponse(capture(t, "opensim-login-response-badpw.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := resp.Params[0].(xmlrpc.Struct)
	if len(s) != 3 {
		t.Errorf("%d members, want 3", len(s))
	}
	if v, _ := s.String("login"); v != "false" {
		t.Errorf("login = %q", v)
	}
	if ok, valid := s.Bool("login"); ok || !valid {
		t.Errorf("Bool(login) = %v, %v; want false, true", ok, valid)
	}
	if v, _ := s.String("reason"); v != "key" {
		t.Errorf("reason = %q", v)
	}
	if v, _ := s.String("message"); !strings.HasPrefix(v, "Could not authenticate your avatar.") {
		t.Errorf("message = %q", v)
	}
}

// TestRemarshalCaptures writes each parsed capture back: the result parses to
// the same values, and is byte for byte what OpenSimulator sent once the
// differences of form are normalised (its <data /> where we write
// <data></data>; in the request, the viewer's short prolog and <int>).
func TestRemarshalCaptures(t *testing.T) {
	normalise := strings.NewReplacer(
		`<?xml version="1.0"?>`, xmlrpc.Prolog,
		"<data />", "<data></data>",
		"<int>", "<i4>", "</int>", "</i4>",
	)
	for _, name := range []string{
		"opensim-login-request.xml", "opensim-login-request-badpw.xml",
		"opensim-login-response.xml", "opensim-login-response-badpw.xml",
	} {
		t.Run(name, func(t *testing.T) {
			in := capture(t, name)
			var out []byte
			var p1, p2 []any
			if strings.Contains(name, "request") {
				req, err := xmlrpc.ParseRequest(in)
				if err != nil {
					t.Fatal(err)
				}
				if out, err = req.Marshal(); err != nil {
					t.Fatal(err)
				}
				again, err := xmlrpc.ParseRequest(out)
				if err != nil {
					t.Fatalf("re-parse: %v\n%s", err, out)
				}
				if again.Method != req.Method {
					t.Errorf("method %q became %q", req.Method, again.Method)
				}
				p1, p2 = req.Params, again.Params
			} else {
				resp, err := xmlrpc.ParseResponse(in)
				if err != nil {
					t.Fatal(err)
				}
				if out, err = resp.Marshal(); err != nil {
					t.Fatal(err)
				}
				again, err := xmlrpc.ParseResponse(out)
				if err != nil {
					t.Fatalf("re-parse: %v\n%s", err, out)
				}
				p1, p2 = resp.Params, again.Params
			}
			if d := diff("params", p1, p2); d != "" {
				t.Error(d)
			}
			if want := normalise.Replace(string(in)); string(out) != want {
				t.Errorf("re-marshalled document differs from the capture:\n got %s\nwant %s", out, want)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended):\n got %s\nwant %s", name, got, want)
	}
}

// zoo is one of every value the package writes, with awkward strings.
func zoo() *xmlrpc.Request {
	var nested xmlrpc.Struct
	nested.Set("b", int32(2))
	nested.Set("a", []any{})
	nested.Set("c", xmlrpc.Struct{})
	return &xmlrpc.Request{Method: "ritual.zoo", Params: []any{
		"plain",
		"",
		"  spaced\tand\nlined\r\n  ",
		`<tag attr="x"> & 'quotes' ]]>`,
		"ctl:\x00\x01\x1f del:\x7f bad:\xff\xfe surrogate:\xed\xa0\x80 nonchar:\uFFFF ok:é€😀",
		int32(math.MinInt32), int32(math.MaxInt32), int64(math.MaxInt64), 7, uint32(9000),
		true, false,
		0.0, math.Copysign(0, -1), 0.1, -2.5, 1e21, 5e-324, float32(0.1),
		[]byte{}, []byte("any carnal pleas\x00\xff"),
		time.Date(2026, 11, 25, 15, 35, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 15, 35, 0, 250_000_000, time.FixedZone("CET", 3600)),
		nil,
		nested,
		map[string]any{"z": "last", "a": "first", "m": []string{"x", "y"}},
		[]xmlrpc.Struct{{{Name: "folder_id", Value: "de750c77-6b39-4023-a315-1f4e7c0ad004"}}},
	}}
}

func TestGolden(t *testing.T) {
	t.Run("zoo-request", func(t *testing.T) {
		out, err := zoo().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "zoo-request.xml", out)
	})
	t.Run("login-response", func(t *testing.T) {
		resp, err := xmlrpc.ParseResponse(capture(t, "opensim-login-response.xml"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := resp.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "login-response.xml", out)
	})
	t.Run("login-request", func(t *testing.T) {
		req, err := xmlrpc.ParseRequest(capture(t, "opensim-login-request.xml"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "login-request.xml", out)
	})
	t.Run("fault", func(t *testing.T) {
		golden(t, "fault.xml", xmlrpc.MarshalFault(&xmlrpc.Fault{Code: xmlrpc.FaultMethodNotFound, String: "no such method: <x> & \x00"}))
	})
}

// TestZooRoundTrip reads back what the zoo wrote: the values a parse yields
// for each Go value written.
func TestZooRoundTrip(t *testing.T) {
	out, err := zoo().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, err := xmlrpc.ParseRequest(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var nested xmlrpc.Struct
	nested.Set("b", int32(2))
	nested.Set("a", []any{})
	nested.Set("c", xmlrpc.Struct{})
	want := []any{
		"plain",
		"",
		"  spaced\tand\nlined\r\n  ",
		`<tag attr="x"> & 'quotes' ]]>`,
		"ctl:\uFFFD\uFFFD\uFFFD del:\x7f bad:\uFFFD\uFFFD surrogate:\uFFFD\uFFFD\uFFFD nonchar:\uFFFD ok:é€😀",
		int32(math.MinInt32), int32(math.MaxInt32), int64(math.MaxInt64), int32(7), int32(9000),
		true, false,
		0.0, math.Copysign(0, -1), 0.1, -2.5, 1e21, 5e-324, 0.1,
		[]byte{}, []byte("any carnal pleas\x00\xff"),
		time.Date(2026, 11, 25, 15, 35, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 14, 35, 0, 250_000_000, time.UTC),
		nil,
		nested,
		xmlrpc.Struct{{Name: "a", Value: "first"}, {Name: "m", Value: []any{"x", "y"}}, {Name: "z", Value: "last"}},
		[]any{xmlrpc.Struct{{Name: "folder_id", Value: "de750c77-6b39-4023-a315-1f4e7c0ad004"}}},
	}
	if req.Method != "ritual.zoo" {
		t.Errorf("method %q", req.Method)
	}
	if d := diff("params", req.Params, want); d != "" {
		t.Error(d)
	}
	if tm := req.Params[21].(time.Time); tm.Location() != time.UTC {
		t.Errorf("parsed time in %v, want UTC", tm.Location())
	}
}

// doc wraps the content of one <value> in a methodResponse.
func doc(value string) []byte {
	return []byte(`<?xml version="1.0"?><methodResponse><params><param><value>` + value + `</value></param></params></methodResponse>`)
}

func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		in   string // the content of <value>
		want any
	}{
		{"", ""},
		{"plain", "plain"},
		{"  spaced  \n ", "  spaced  \n "},
		{"a&amp;b&lt;&#x41;&#66;&gt;&quot;&apos;", `a&b<AB>"'`},
		{"<![CDATA[<raw> & ]]>", "<raw> & "},
		{"a<!-- comment -->b", "ab"},
		{"x\r\ny", "x\ny"}, // XML line-end normalisation
		{"x&#xD;\ny", "x\r\ny"},
		{"<string/>", ""},
		{"<string></string>", ""},
		{"<string>  kept  </string>", "  kept  "},
		{"\n  <string>x</string>\n  ", "x"},
		{"<int>42</int>", int32(42)},
		{"<i4>-2147483648</i4>", int32(math.MinInt32)},
		{"<i4> +7 </i4>", int32(7)},
		{"<i8>9223372036854775807</i8>", int64(math.MaxInt64)},
		{"<boolean>1</boolean>", true},
		{"<boolean>0</boolean>", false},
		{"<boolean>true</boolean>", true},
		{"<boolean> FALSE </boolean>", false},
		{"<double>3.25</double>", 3.25},
		{"<double>-.5</double>", -0.5},
		{"<double>1.</double>", 1.0},
		{"<double>1E-05</double>", 1e-5},
		{"<double>+10</double>", 10.0},
		{"<base64>aGVsbG8=</base64>", []byte("hello")},
		{"<base64>aGVs\n bG8=\n</base64>", []byte("hello")},
		{"<base64>aGVsbG8</base64>", []byte("hello")},
		{"<base64/>", []byte{}},
		{"<dateTime.iso8601>20261125T15:35:07</dateTime.iso8601>", time.Date(2026, 11, 25, 15, 35, 7, 0, time.UTC)},
		{"<dateTime.iso8601>2026-11-25T15:35:07</dateTime.iso8601>", time.Date(2026, 11, 25, 15, 35, 7, 0, time.UTC)},
		{"<dateTime.iso8601>2026-11-25T15:35:07Z</dateTime.iso8601>", time.Date(2026, 11, 25, 15, 35, 7, 0, time.UTC)},
		{"<dateTime.iso8601>2026-11-25T16:35:07+01:00</dateTime.iso8601>", time.Date(2026, 11, 25, 15, 35, 7, 0, time.UTC)},
		{"<dateTime.iso8601>20261125T103507-0500</dateTime.iso8601>", time.Date(2026, 11, 25, 15, 35, 7, 0, time.UTC)},
		{"<dateTime.iso8601>20261125T15:35:07.5</dateTime.iso8601>", time.Date(2026, 11, 25, 15, 35, 7, 5e8, time.UTC)},
		{"<nil/>", nil},
		{"<array><data/></array>", []any{}},
		{"<array><data><value>a</value><value><i4>1</i4></value></data></array>", []any{"a", int32(1)}},
		{"<array>\n <data>\n  <value/>\n </data>\n</array>", []any{""}},
		{"<struct/>", xmlrpc.Struct{}},
		{"<struct><member><value>v</value><name>n</name></member></struct>", xmlrpc.Struct{{Name: "n", Value: "v"}}},
		{"<struct><member><name> n </name><value/></member></struct>", xmlrpc.Struct{{Name: " n ", Value: ""}}},
		{`<string attr="ignored">x</string>`, "x"},
	} {
		resp, err := xmlrpc.ParseResponse(doc(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if d := diff(fmt.Sprintf("%q", tc.in), resp.Params[0], tc.want); d != "" {
			t.Error(d)
		}
	}
}

func TestParseDocuments(t *testing.T) {
	t.Run("request without params", func(t *testing.T) {
		req, err := xmlrpc.ParseRequest([]byte("<methodCall><methodName> system.listMethods\n</methodName></methodCall>"))
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != "system.listMethods" || len(req.Params) != 0 {
			t.Errorf("%+v", req)
		}
	})
	t.Run("fault", func(t *testing.T) {
		in := `<?xml version="1.0"?>
<methodResponse>
  <fault>
    <value><struct>
      <member><name>faultCode</name><value><int>4</int></value></member>
      <member><name>faultString</name><value>Too many parameters.</value></member>
    </struct></value>
  </fault>
</methodResponse>
`
		resp, err := xmlrpc.ParseResponse([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Fault == nil || *resp.Fault != (xmlrpc.Fault{Code: 4, String: "Too many parameters."}) || resp.Params != nil {
			t.Errorf("%+v", resp)
		}
		if got := resp.Fault.Error(); got != "xmlrpc: fault 4: Too many parameters." {
			t.Errorf("Error() = %q", got)
		}
	})
	t.Run("latin1", func(t *testing.T) {
		in := append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><methodResponse><params><param><value>caf`), 0xe9)
		in = append(in, "</value></param></params></methodResponse>"...)
		resp, err := xmlrpc.ParseResponse(in)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Params[0] != "café" {
			t.Errorf("%q", resp.Params[0])
		}
	})
	t.Run("byte order mark", func(t *testing.T) {
		resp, err := xmlrpc.ParseResponse(append([]byte("\xef\xbb\xbf"), doc("x")...))
		if err != nil || resp.Params[0] != "x" {
			t.Errorf("%v %v", resp, err)
		}
	})
	t.Run("comments and trailing space", func(t *testing.T) {
		resp, err := xmlrpc.ParseResponse([]byte("<!-- c --><methodResponse><params><param><value>x</value></param></params></methodResponse>\n<!-- end -->\n"))
		if err != nil || resp.Params[0] != "x" {
			t.Errorf("%v %v", resp, err)
		}
	})
}

func TestParseErrors(t *testing.T) {
	resp := func(s string) string {
		return "<methodResponse><params><param><value>" + s + "</value></param></params></methodResponse>"
	}
	for _, tc := range []struct {
		name, in string
		kind     error
		msg      string // a substring of the error
	}{
		{"empty", "", xmlrpc.ErrMalformed, "no methodResponse element"},
		{"only space", " \n", xmlrpc.ErrMalformed, "no methodResponse element"},
		{"not xml", "hello", xmlrpc.ErrMalformed, "text before the document element"},
		{"unclosed value", "<methodResponse><params><param><value><string>x</string>", xmlrpc.ErrMalformed, "unexpected end of input"},
		{"unclosed tag", "<methodResponse><params><param><value><string>x</string></value></param></params></methodRes", xmlrpc.ErrMalformed, "EOF"},
		{"mismatched end", resp("<string>x</int>"), xmlrpc.ErrMalformed, "</int> closes <string>"},
		{"mismatched value end", "<methodResponse><params><param><value><i4>1</i4></param></params></methodResponse>", xmlrpc.ErrMalformed, "</param> closes <value>"},
		{"trailing text", resp("x") + "junk", xmlrpc.ErrMalformed, "text after the document element"},
		{"second root", resp("x") + "<methodResponse/>", xmlrpc.ErrMalformed, "content after the document element"},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "aaaa">]>` + resp("&a;"), xmlrpc.ErrMalformed, "DOCTYPE"},
		{"unknown entity", resp("&nbsp;"), xmlrpc.ErrMalformed, "entity"},
		{"control char", resp("a\x01b"), xmlrpc.ErrMalformed, "illegal character"},
		{"bad utf8", resp("a\xffb"), xmlrpc.ErrMalformed, "UTF-8"},
		{"unsupported encoding", `<?xml version="1.0" encoding="EBCDIC"?>` + resp("x"), xmlrpc.ErrMalformed, "EBCDIC"},
		{"wrong root", "<methodCall/>", xmlrpc.ErrInvalid, "document element is <methodCall>"},
		{"no params", "<methodResponse/>", xmlrpc.ErrInvalid, "without params or fault"},
		{"params and fault", "<methodResponse><params/><fault/></methodResponse>", xmlrpc.ErrInvalid, "unexpected <fault>"},
		{"unknown type", resp("<integer>1</integer>"), xmlrpc.ErrInvalid, "unknown type <integer>"},
		{"namespaced type", resp("<ex:i8>1</ex:i8>"), xmlrpc.ErrInvalid, "unknown type <ex:i8>"},
		{"element in string", resp("<string>a<b/></string>"), xmlrpc.ErrInvalid, "unexpected <b> in <string>"},
		{"text beside type", resp("x<i4>1</i4>"), xmlrpc.ErrInvalid, "text beside a typed value"},
		{"text after type", resp("<i4>1</i4>x"), xmlrpc.ErrInvalid, "text beside a typed value"},
		{"two types", resp("<i4>1</i4><i4>2</i4>"), xmlrpc.ErrInvalid, "two values"},
		{"bad int", resp("<int>12a</int>"), xmlrpc.ErrInvalid, `bad <int> "12a"`},
		{"empty int", resp("<int></int>"), xmlrpc.ErrInvalid, `bad <int> ""`},
		{"i4 overflow", resp("<i4>2147483648</i4>"), xmlrpc.ErrInvalid, "out of range"},
		{"i8 overflow", resp("<i8>9223372036854775808</i8>"), xmlrpc.ErrInvalid, "out of range"},
		{"int underscore", resp("<int>1_000</int>"), xmlrpc.ErrInvalid, "bad <int>"},
		{"bad boolean", resp("<boolean>2</boolean>"), xmlrpc.ErrInvalid, "bad <boolean>"},
		{"bad double", resp("<double>1e</double>"), xmlrpc.ErrInvalid, "bad <double>"},
		{"NaN", resp("<double>NaN</double>"), xmlrpc.ErrInvalid, "bad <double>"},
		{"infinity", resp("<double>inf</double>"), xmlrpc.ErrInvalid, "bad <double>"},
		{"hex double", resp("<double>0x1p3</double>"), xmlrpc.ErrInvalid, "bad <double>"},
		{"double overflow", resp("<double>1e400</double>"), xmlrpc.ErrInvalid, "out of range"},
		{"bad base64", resp("<base64>a$b=</base64>"), xmlrpc.ErrInvalid, "bad <base64>"},
		{"bad base64 padding", resp("<base64>QQ=</base64>"), xmlrpc.ErrInvalid, "bad <base64>"},
		{"bad date", resp("<dateTime.iso8601>2026-13-01T00:00:00</dateTime.iso8601>"), xmlrpc.ErrInvalid, "bad <dateTime.iso8601>"},
		{"date before year 0 in UTC", resp("<dateTime.iso8601>00000101T00:00:00+01:00</dateTime.iso8601>"), xmlrpc.ErrInvalid, "bad <dateTime.iso8601>"},
		{"date after year 9999 in UTC", resp("<dateTime.iso8601>99991231T23:59:59-01:00</dateTime.iso8601>"), xmlrpc.ErrInvalid, "bad <dateTime.iso8601>"},
		{"nil with content", resp("<nil>x</nil>"), xmlrpc.ErrInvalid, "<nil> with content"},
		{"array without data", resp("<array/>"), xmlrpc.ErrInvalid, "without <data>"},
		{"array with two data", resp("<array><data/><data/></array>"), xmlrpc.ErrInvalid, "unexpected <data> in <array>"},
		{"data with non-value", resp("<array><data><string/></data></array>"), xmlrpc.ErrInvalid, "unexpected <string> in <data>"},
		{"text in data", resp("<array><data>x</data></array>"), xmlrpc.ErrInvalid, "text in <data>"},
		{"member without value", resp("<struct><member><name>a</name></member></struct>"), xmlrpc.ErrInvalid, "member without a name and a value"},
		{"member with two names", resp("<struct><member><name>a</name><name>b</name></member></struct>"), xmlrpc.ErrInvalid, "unexpected <name> in <member>"},
		{"duplicate member", resp("<struct><member><name>a</name><value/></member><member><name>a</name><value/></member></struct>"), xmlrpc.ErrInvalid, `duplicate struct member "a"`},
		{"param without value", "<methodResponse><params><param/></params></methodResponse>", xmlrpc.ErrInvalid, "<param> without a value"},
		{"param with two values", "<methodResponse><params><param><value/><value/></param></params></methodResponse>", xmlrpc.ErrInvalid, "unexpected <value> in <param>"},
		{"fault not struct", "<methodResponse><fault><value>x</value></fault></methodResponse>", xmlrpc.ErrInvalid, "not a struct"},
		{"fault without code", "<methodResponse><fault><value><struct/></value></fault></methodResponse>", xmlrpc.ErrInvalid, "without an int faultCode"},
		{"fault code too big", "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i8>4294967296</i8></value></member></struct></value></fault></methodResponse>", xmlrpc.ErrInvalid, "without an int faultCode"},
		{"fault string not string", "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>1</i4></value></member><member><name>faultString</name><value><i4>1</i4></value></member></struct></value></fault></methodResponse>", xmlrpc.ErrInvalid, "faultString that is not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := xmlrpc.ParseResponse([]byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %q is not %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if _, ok := errors.AsType[*xmlrpc.ParseError](err); !ok {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestParseRequestErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"<methodCall/>", "without methodName"},
		{"<methodCall><methodName/></methodCall>", `bad method name ""`},
		{"<methodCall><methodName>a b</methodName></methodCall>", `bad method name "a b"`},
		{"<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>", "unexpected <methodName>"},
		{"<methodCall><methodName>a</methodName><params/><params/></methodCall>", "unexpected <params>"},
		{"<methodCall><methodName>a</methodName><params><value/></params></methodCall>", "unexpected <value> in <params>"},
		{"<methodResponse/>", "document element is <methodResponse>"},
	} {
		_, err := xmlrpc.ParseRequest([]byte(tc.in))
		if !errors.Is(err, xmlrpc.ErrInvalid) || !strings.Contains(fmt.Sprint(err), tc.msg) {
			t.Errorf("%s: error %v, want ErrInvalid saying %q", tc.in, err, tc.msg)
		}
	}
}

func TestParseErrorOffset(t *testing.T) {
	in := doc("<struct><member><name>n</name><value><int>x</int></value></member></struct>")
	_, err := xmlrpc.ParseResponse(in)
	pe, ok := errors.AsType[*xmlrpc.ParseError](err)
	if !ok {
		t.Fatalf("%v", err)
	}
	if want := int64(bytes.Index(in, []byte("<int>"))); pe.Offset != want {
		t.Errorf("offset %d, want %d (the <int> tag)", pe.Offset, want)
	}
	if want := fmt.Sprintf(`xmlrpc: invalid XML-RPC: bad <int> "x" at byte %d`, pe.Offset); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want prefix %q", err, want)
	}
}

// TestTruncated: every proper prefix of a capture is an error, never a
// shorter document.
func TestTruncated(t *testing.T) {
	// Every 7th cut of the request, every 397th of the 24 KB response, and
	// each of the last 60 of both (inside the closing tags).
	req := capture(t, "opensim-login-request.xml")
	for i := range len(req) {
		if i%7 != 0 && i < len(req)-60 {
			continue
		}
		if _, err := xmlrpc.ParseRequest(req[:i]); err == nil {
			t.Fatalf("request cut at %d parsed", i)
		}
	}
	resp := capture(t, "opensim-login-response.xml")
	for i := range len(resp) {
		if i%397 != 0 && i < len(resp)-60 {
			continue
		}
		if _, err := xmlrpc.ParseResponse(resp[:i]); err == nil {
			t.Fatalf("response cut at %d parsed", i)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	// n containers, each but the innermost holding the next.
	arrays := func(n int) []byte {
		return doc(strings.Repeat("<array><data><value>", n-1) + "<array><data/></array>" + strings.Repeat("</value></data></array>", n-1))
	}
	structs := func(n int) []byte {
		return doc(strings.Repeat("<struct><member><name>m</name><value>", n-1) + "<struct/>" + strings.Repeat("</value></member></struct>", n-1))
	}
	for name, gen := range map[string]func(int) []byte{"arrays": arrays, "structs": structs} {
		t.Run(name, func(t *testing.T) {
			resp, err := xmlrpc.ParseResponse(gen(xmlrpc.MaxDepth))
			if err != nil {
				t.Fatalf("depth %d: %v", xmlrpc.MaxDepth, err)
			}
			// What parses at the limit writes back.
			if _, err := resp.Marshal(); err != nil {
				t.Errorf("marshal at depth %d: %v", xmlrpc.MaxDepth, err)
			}
			_, err = xmlrpc.ParseResponse(gen(xmlrpc.MaxDepth + 1))
			if !errors.Is(err, xmlrpc.ErrTooDeep) {
				t.Errorf("depth %d: %v, want ErrTooDeep", xmlrpc.MaxDepth+1, err)
			}
		})
	}
	t.Run("very deep", func(t *testing.T) {
		_, err := xmlrpc.ParseResponse(doc(strings.Repeat("<array><data><value>", 1_000_000)))
		if !errors.Is(err, xmlrpc.ErrTooDeep) {
			t.Errorf("%v, want ErrTooDeep", err)
		}
	})
	t.Run("deep foreign elements", func(t *testing.T) {
		_, err := xmlrpc.ParseResponse(doc("<string>" + strings.Repeat("<a>", 1_000_000)))
		if !errors.Is(err, xmlrpc.ErrInvalid) {
			t.Errorf("%v, want ErrInvalid", err)
		}
	})
}

func TestHugeInputs(t *testing.T) {
	t.Run("long string", func(t *testing.T) {
		s := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB, far over any body limit
		resp, err := xmlrpc.ParseResponse(doc("<string>" + s + "</string>"))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Params[0].(string); got != s {
			t.Errorf("string of %d bytes came back as %d", len(s), len(got))
		}
	})
	t.Run("many members", func(t *testing.T) {
		// Large structs take the set-based duplicate check.
		var sb strings.Builder
		sb.WriteString("<struct>")
		const n = 5000
		for i := range n {
			fmt.Fprintf(&sb, "<member><name>m%d</name><value/></member>", i)
		}
		sb.WriteString("</struct>")
		resp, err := xmlrpc.ParseResponse(doc(sb.String()))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(resp.Params[0].(xmlrpc.Struct)); got != n {
			t.Errorf("%d members, want %d", got, n)
		}
		_, err = xmlrpc.ParseResponse(doc(strings.Replace(sb.String(), "</struct>", "<member><name>m7</name><value/></member></struct>", 1)))
		if err == nil || !strings.Contains(err.Error(), `duplicate struct member "m7"`) {
			t.Errorf("duplicate among %d members: %v", n, err)
		}
	})
	t.Run("long bad int", func(t *testing.T) {
		_, err := xmlrpc.ParseResponse(doc("<int>" + strings.Repeat("9", 100_000) + "</int>"))
		if !errors.Is(err, xmlrpc.ErrInvalid) {
			t.Fatalf("%v", err)
		}
		if len(err.Error()) > 300 {
			t.Errorf("error message of %d bytes quotes the whole value", len(err.Error()))
		}
	})
}

func TestAppendValue(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "<value><nil/></value>"},
		{"", "<value><string></string></value>"},
		{"a&b<c>d\"e'f", "<value><string>a&amp;b&lt;c&gt;d\"e'f</string></value>"},
		{"t\tn\nr\r", "<value><string>t\tn\nr&#xD;</string></value>"},
		{"\x00\x08\x0b\x1f", "<value><string>\uFFFD\uFFFD\uFFFD\uFFFD</string></value>"},
		{"\xff\xc3", "<value><string>\uFFFD\uFFFD</string></value>"},
		{"\xed\xa0\x80", "<value><string>\uFFFD\uFFFD\uFFFD</string></value>"}, // an encoded surrogate
		{"\uFFFE\uFFFF\uFFFD\U0010FFFF", "<value><string>\uFFFD\uFFFD\uFFFD\U0010FFFF</string></value>"},
		{true, "<value><boolean>1</boolean></value>"},
		{false, "<value><boolean>0</boolean></value>"},
		{int32(-5), "<value><i4>-5</i4></value>"},
		{int64(-5), "<value><i8>-5</i8></value>"},
		{-5, "<value><i4>-5</i4></value>"},
		{int8(-5), "<value><i4>-5</i4></value>"},
		{int16(300), "<value><i4>300</i4></value>"},
		{uint8(255), "<value><i4>255</i4></value>"},
		{uint16(65535), "<value><i4>65535</i4></value>"},
		{uint32(math.MaxInt32), "<value><i4>2147483647</i4></value>"},
		{uint(7), "<value><i4>7</i4></value>"},
		{uint64(7), "<value><i4>7</i4></value>"},
		{0.0, "<value><double>0</double></value>"},
		{1e21, "<value><double>1000000000000000000000</double></value>"},
		{1e-7, "<value><double>0.0000001</double></value>"},
		{float32(0.1), "<value><double>0.1</double></value>"},
		{[]byte("hi"), "<value><base64>aGk=</base64></value>"},
		{[]byte(nil), "<value><base64></base64></value>"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "<value><dateTime.iso8601>20260102T03:04:05</dateTime.iso8601></value>"},
		{time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.FixedZone("", -3600)), "<value><dateTime.iso8601>20260102T04:04:05.12</dateTime.iso8601></value>"},
		{xmlrpc.Struct{}, "<value><struct></struct></value>"},
		{xmlrpc.Struct{{Name: "a<", Value: int32(1)}}, "<value><struct><member><name>a&lt;</name><value><i4>1</i4></value></member></struct></value>"},
		{map[string]any{"b": 1, "a": 2}, "<value><struct><member><name>a</name><value><i4>2</i4></value></member><member><name>b</name><value><i4>1</i4></value></member></struct></value>"},
		{[]any{}, "<value><array><data></data></array></value>"},
		{[]any{"x", nil}, "<value><array><data><value><string>x</string></value><value><nil/></value></data></array></value>"},
		{[]string{"x"}, "<value><array><data><value><string>x</string></value></data></array></value>"},
		{[]xmlrpc.Struct{{}}, "<value><array><data><value><struct></struct></value></data></array></value>"},
	} {
		got, err := xmlrpc.AppendValue([]byte("prefix:"), tc.v)
		if err != nil {
			t.Errorf("%#v: %v", tc.v, err)
			continue
		}
		if want := "prefix:" + tc.want; string(got) != want {
			t.Errorf("%#v:\n got %s\nwant %s", tc.v, got, want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	cyclic := make([]any, 1)
	cyclic[0] = cyclic
	for _, tc := range []struct {
		v   any
		msg string
	}{
		{math.NaN(), "double NaN at value"},
		{math.Inf(-1), "double -Inf at value"},
		{float32(math.Inf(1)), "double +Inf at value"},
		{math.MaxInt32 + 1, "int 2147483648 out of <i4> range"},
		{uint32(math.MaxInt32 + 1), "uint32 2147483648 out of <i4> range"},
		{uint64(math.MaxUint64), "out of <i4> range"},
		{make(chan int), "unsupported type chan int at value"},
		{struct{}{}, "unsupported type struct {}"},
		{map[string]int{}, "unsupported type map[string]int"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "outside years 0-9999"},
		{xmlrpc.Struct{{Name: "a", Value: 1}, {Name: "a", Value: 2}}, `duplicate struct member "a" at value`},
		{xmlrpc.Struct{{Name: "list", Value: []any{1, xmlrpc.Struct{{Name: "f", Value: 1.5i}}}}}, `unsupported type complex128 at value["list"][1]["f"]`},
		{cyclic, "more than 64 nested arrays and structs at value[0][0]"},
	} {
		b := []byte("keep")
		got, err := xmlrpc.AppendValue(b, tc.v)
		if !errors.Is(err, xmlrpc.ErrUnsupportedValue) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%T: error %v, want ErrUnsupportedValue saying %q", tc.v, err, tc.msg)
		}
		if string(got) != "keep" {
			t.Errorf("%T: buffer became %q on error", tc.v, got)
		}
	}
	if _, err := (&xmlrpc.Request{Method: "bad name"}).Marshal(); !errors.Is(err, xmlrpc.ErrUnsupportedValue) {
		t.Errorf("bad method name: %v", err)
	}
	if _, err := (&xmlrpc.Request{Method: "m", Params: []any{"ok", make(chan int)}}).Marshal(); err == nil || !strings.Contains(err.Error(), "at params[1]") {
		t.Errorf("bad param: %v", err)
	}
	if _, err := (&xmlrpc.Response{Params: []any{1}, Fault: &xmlrpc.Fault{}}).Marshal(); !errors.Is(err, xmlrpc.ErrUnsupportedValue) {
		t.Errorf("fault and params: %v", err)
	}
}

func TestMarshalResponseAndFault(t *testing.T) {
	out, err := xmlrpc.MarshalResponse(xmlrpc.Struct{{Name: "login", Value: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	want := xmlrpc.Prolog + "<methodResponse><params><param><value><struct><member><name>login</name><value><string>true</string></value></member></struct></value></param></params></methodResponse>"
	if string(out) != want {
		t.Errorf("\n got %s\nwant %s", out, want)
	}
	f := &xmlrpc.Fault{Code: -32601, String: "no such method: a&b"}
	out = xmlrpc.MarshalFault(f)
	want = xmlrpc.Prolog + "<methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>-32601</i4></value></member><member><name>faultString</name><value><string>no such method: a&amp;b</string></value></member></struct></value></fault></methodResponse>"
	if string(out) != want {
		t.Errorf("\n got %s\nwant %s", out, want)
	}
	resp, err := xmlrpc.ParseResponse(out)
	if err != nil || resp.Fault == nil || *resp.Fault != *f {
		t.Errorf("fault read back as %+v, %v", resp, err)
	}
	if out, _ := (&xmlrpc.Response{Fault: f}).Marshal(); !bytes.Equal(out, xmlrpc.MarshalFault(f)) {
		t.Errorf("Response{Fault}.Marshal differs from MarshalFault")
	}
}

func TestStructAccessors(t *testing.T) {
	var s xmlrpc.Struct
	s.Set("str", "text")
	s.Set("i4", int32(-3))
	s.Set("i8", int64(1)<<40)
	s.Set("numstr", " 296610768 ")
	s.Set("bool", true)
	s.Set("Y", "Y")
	s.Set("no", "no")
	s.Set("TRUE", "TRUE")
	s.Set("zero", int32(0))
	s.Set("dbl", 2.5)
	s.Set("dblstr", "1e3")
	s.Set("inf", "Inf")
	s.Set("arr", []any{"a"})
	s.Set("st", xmlrpc.Struct{{Name: "k", Value: "v"}})
	s.Set("str", "replaced")
	if len(s) != 14 || s[0].Value != "replaced" {
		t.Fatalf("Set: %v", s)
	}
	check := func(what string, got, want any, ok, wantOK bool) {
		t.Helper()
		if ok != wantOK || (ok && diff(what, got, want) != "") {
			t.Errorf("%s = %#v, %v; want %#v, %v", what, got, ok, want, wantOK)
		}
	}
	str, ok := s.String("str")
	check("String(str)", str, "replaced", ok, true)
	str, ok = s.String("i4")
	check("String(i4)", str, "", ok, false)
	str, ok = s.String("missing")
	check("String(missing)", str, "", ok, false)
	for name, want := range map[string]any{"i4": int64(-3), "i8": int64(1) << 40, "numstr": int64(296610768), "str": nil, "dbl": nil, "bool": nil, "missing": nil} {
		n, ok := s.Int(name)
		check("Int("+name+")", n, want, ok, want != nil)
	}
	for name, want := range map[string]any{"bool": true, "Y": true, "no": false, "TRUE": true, "zero": false, "i4": true, "str": nil, "dbl": nil, "missing": nil} {
		b, ok := s.Bool(name)
		check("Bool("+name+")", b, want, ok, want != nil)
	}
	for name, want := range map[string]any{"dbl": 2.5, "i4": -3.0, "dblstr": 1000.0, "inf": nil, "str": nil} {
		f, ok := s.Float(name)
		check("Float("+name+")", f, want, ok, want != nil)
	}
	a, ok := s.Array("arr")
	check("Array(arr)", a, []any{"a"}, ok, true)
	_, ok = s.Array("st")
	check("Array(st)", nil, nil, ok, false)
	st, ok := s.Struct("st")
	check("Struct(st)", st, xmlrpc.Struct{{Name: "k", Value: "v"}}, ok, true)
	_, ok = s.Struct("arr")
	check("Struct(arr)", nil, nil, ok, false)
	v, ok := s.Get("dbl")
	check("Get(dbl)", v, 2.5, ok, true)
}

func TestErrorsUnwrap(t *testing.T) {
	_, err := xmlrpc.ParseResponse(doc("<int>99999999999</int>"))
	if !errors.Is(err, strconv.ErrRange) {
		t.Errorf("strconv.ErrRange is not reachable from %v", err)
	}
	if !regexp.MustCompile(`^xmlrpc: invalid XML-RPC: bad <int> "99999999999" at byte \d+: value out of range$`).MatchString(err.Error()) {
		t.Errorf("error text %q", err)
	}
}
