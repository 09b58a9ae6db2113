package login_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/login"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// omitted are the members OpenSimulator sends that this server leaves
// out, and why.
var omitted = map[string]string{
	"real_id":        "always the zero UUID from OpenSimulator; no client reads it",
	"initial-outfit": "names a library outfit this grid does not have",
}

// sig describes the type of a decoded reply value of either form, as
// the captures show it: "string", "int", "uuid", "array of {...}", ...
func sig(v any) string {
	switch v := v.(type) {
	case string:
		return "string"
	case int32:
		return "int"
	case int64:
		return "i8"
	case bool:
		return "bool"
	case float64:
		return "real"
	case ritual.UUID:
		return "uuid"
	case []any:
		if len(v) == 0 {
			return "array"
		}
		return "array of " + sig(v[0])
	case xmlrpc.Struct:
		m := make(map[string]any, len(v))
		for _, e := range v {
			m[e.Name] = e.Value
		}
		return sig(m)
	case map[string]any:
		names := make([]string, 0, len(v))
		for k := range v {
			names = append(names, k)
		}
		slices.Sort(names)
		var b strings.Builder
		b.WriteString("{")
		for i, k := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ":" + sig(v[k]))
		}
		b.WriteString("}")
		return b.String()
	}
	return fmt.Sprintf("%T", v)
}

// sameSig compares signatures, an empty array matching any array.
func sameSig(a, b string) bool {
	if a == b {
		return true
	}
	isArray := func(s string) bool { return s == "array" || strings.HasPrefix(s, "array of ") }
	return (a == "array" && isArray(b)) || (b == "array" && isArray(a))
}

// xmlrpcMembers parses an XML-RPC reply into its members.
func xmlrpcMembers(t testing.TB, body []byte) map[string]any {
	t.Helper()
	r, err := xmlrpc.ParseResponse(body)
	if err != nil {
		t.Fatalf("reply is not XML-RPC: %v\n%s", err, body)
	}
	if r.Fault != nil {
		t.Fatalf("reply is a fault: %v", r.Fault)
	}
	st, ok := r.Params[0].(xmlrpc.Struct)
	if !ok {
		t.Fatalf("reply param is %T", r.Params[0])
	}
	m := make(map[string]any, len(st))
	for _, e := range st {
		m[e.Name] = e.Value
	}
	return m
}

func llsdMembers(t testing.TB, body []byte) map[string]any {
	t.Helper()
	v, err := llsd.UnmarshalXML(body)
	if err != nil {
		t.Fatalf("reply is not LLSD: %v\n%s", err, body)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("LLSD reply is %T", v)
	}
	return m
}

// compareWithCapture checks that got has every member of the OpenSimulator
// reply want (but those in omitted) with the same type, and nothing want
// lacks.
func compareWithCapture(t *testing.T, got, want map[string]any) {
	t.Helper()
	for name, wv := range want {
		gv, ok := got[name]
		if !ok {
			if _, skip := omitted[name]; !skip {
				t.Errorf("member %s (%s) is missing", name, sig(wv))
			}
			continue
		}
		if g, w := sig(gv), sig(wv); !sameSig(g, w) {
			t.Errorf("member %s is %s, OpenSimulator sends %s", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("member %s is not in OpenSimulator's reply of this form", name)
		}
	}
}

func str(t testing.TB, m map[string]any, name string) string {
	t.Helper()
	s, ok := m[name].(string)
	if !ok {
		t.Fatalf("member %s is %T, want string", name, m[name])
	}
	return s
}

func num(t testing.TB, m map[string]any, name string) int32 {
	t.Helper()
	n, ok := m[name].(int32)
	if !ok {
		t.Fatalf("member %s is %T, want an int", name, m[name])
	}
	return n
}

// records returns the array member name as a list of maps.
func records(t testing.TB, m map[string]any, name string) []map[string]any {
	t.Helper()
	a, ok := m[name].([]any)
	if !ok {
		t.Fatalf("member %s is %T, want an array", name, m[name])
	}
	out := make([]map[string]any, len(a))
	for i, e := range a {
		switch e := e.(type) {
		case map[string]any:
			out[i] = e
		case xmlrpc.Struct:
			out[i] = map[string]any{}
			for _, x := range e {
				out[i][x.Name] = x.Value
			}
		default:
			t.Fatalf("%s[%d] is %T", name, i, e)
		}
	}
	return out
}

// checkSuccess checks the values of a successful reply against the
// circuit and destination the region saw, and the account's inventory.
func checkSuccess(t *testing.T, g *grid, m map[string]any, id func(string) ritual.UUID) {
	t.Helper()
	c := g.region.last(t)
	if got := str(t, m, "login"); got != "true" {
		t.Errorf("login = %q", got)
	}
	if got := id("agent_id"); got != g.acct.ID || c.Agent != g.acct.ID {
		t.Errorf("agent_id = %v, circuit agent %v, account %v", got, c.Agent, g.acct.ID)
	}
	if got := id("session_id"); got != c.Session || got.IsZero() {
		t.Errorf("session_id = %v, provisioned %v", got, c.Session)
	}
	if got := id("secure_session_id"); got != c.SecureSession || got.IsZero() || got == c.Session {
		t.Errorf("secure_session_id = %v, provisioned %v", got, c.SecureSession)
	}
	if got := num(t, m, "circuit_code"); uint32(got) != c.Code || got <= 0 {
		t.Errorf("circuit_code = %d, provisioned %d", got, c.Code)
	}
	if got := str(t, m, "sim_ip"); got != "127.0.0.1" {
		t.Errorf("sim_ip = %q", got)
	}
	if got := num(t, m, "sim_port"); got != 9000 {
		t.Errorf("sim_port = %d", got)
	}
	if x, y := num(t, m, "region_x"), num(t, m, "region_y"); x != 256000 || y != 256000 {
		t.Errorf("region_x, region_y = %d, %d, want 256000 metres", x, y)
	}
	if got := str(t, m, "seed_capability"); !strings.HasPrefix(got, "http://127.0.0.1:9000/CAPS/") {
		t.Errorf("seed_capability = %q", got)
	}
	if got := str(t, m, "look_at"); got != "[r0.9991014,r0.04238612,r0]" {
		t.Errorf("look_at = %q", got)
	}
	if got := str(t, m, "home"); got != "{'region_handle':[r256000,r256000], 'position':[r128,r128,r25], 'look_at':[r0.9991014,r0.04238612,r0]}" {
		t.Errorf("home = %q", got)
	}
	if f, l := str(t, m, "first_name"), str(t, m, "last_name"); f != `"Test"` || l != `"User"` {
		t.Errorf("first_name, last_name = %s, %s, want them quoted", f, l)
	}
	if got := num(t, m, "seconds_since_epoch"); int64(got) != testNow.Unix() {
		t.Errorf("seconds_since_epoch = %d, want %d", got, testNow.Unix())
	}
	if got := c.Expiry; !got.Equal(testNow.Add(login.DefaultCircuitTTL)) {
		t.Errorf("circuit expiry = %v, want now + %v", got, login.DefaultCircuitTTL)
	}
	if c.Start != "last" || str(t, m, "start_location") != "last" {
		t.Errorf("start = %q, start_location = %q", c.Start, str(t, m, "start_location"))
	}
	if c.First != testFirst || c.Last != testLast || !c.ClientAddr.IsLoopback() {
		t.Errorf("circuit names %q %q from %v", c.First, c.Last, c.ClientAddr)
	}
	if got := str(t, m, "message"); got != login.DefaultMessage {
		t.Errorf("message = %q", got)
	}
	for _, name := range []string{"inventory-root", "inventory-lib-root", "inventory-lib-owner", "login-flags", "global-textures", "ui-config"} {
		if n := len(records(t, m, name)); n != 1 {
			t.Errorf("%s has %d elements, want 1", name, n)
		}
	}
	if n := len(records(t, m, "classified_categories")); n != 9 {
		t.Errorf("classified_categories has %d elements, want 9", n)
	}

	folders, err := g.store.Inventory().Skeleton(context.Background(), g.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	root := records(t, m, "inventory-root")[0]
	if got := str(t, root, "folder_id"); got != folders[0].ID.String() || !folders[0].Parent.IsZero() {
		t.Errorf("inventory-root = %s, store root %v", got, folders[0].ID)
	}
	skel := records(t, m, "inventory-skeleton")
	if len(skel) != len(folders) {
		t.Fatalf("inventory-skeleton has %d folders, the store %d", len(skel), len(folders))
	}
	cof := false
	for i, f := range skel {
		want := folders[i]
		if str(t, f, "folder_id") != want.ID.String() || str(t, f, "parent_id") != want.Parent.String() ||
			str(t, f, "name") != want.Name || num(t, f, "type_default") != int32(want.Type) || num(t, f, "version") != want.Version {
			t.Errorf("inventory-skeleton[%d] = %v, store %+v", i, f, want)
		}
		cof = cof || num(t, f, "type_default") == int32(store.FolderCurrentOutfit)
	}
	if !cof {
		t.Error("inventory-skeleton has no Current Outfit folder (type 46), which node-metaverse needs")
	}
	lib := records(t, m, "inventory-skel-lib")
	if len(lib) == 0 || str(t, lib[0], "folder_id") != str(t, records(t, m, "inventory-lib-root")[0], "folder_id") {
		t.Errorf("inventory-skel-lib %v does not list inventory-lib-root", lib)
	}
}

func TestServeXMLRPCCapturedRequest(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) { c.MapServerURL = "http://127.0.0.1:9000/" })
	status, ct, body := post(t, g.url, "text/xml", readTestdata(t, "opensim-login-request.xml"))
	if status != http.StatusOK || ct != "text/xml" {
		t.Fatalf("status %d, Content-Type %q: %s", status, ct, body)
	}
	got := xmlrpcMembers(t, body)
	want := xmlrpcMembers(t, readTestdata(t, "opensim-login-response.xml"))
	compareWithCapture(t, got, want)
	checkSuccess(t, g, got, func(name string) ritual.UUID {
		return ritual.MustParseUUID(str(t, got, name))
	})
	if n := num(t, got, "region_size_x"); n != 256 {
		t.Errorf("region_size_x = %d", n)
	}
	if n := num(t, got, "http_port"); n != 9000 {
		t.Errorf("http_port = %d, want the seed capability's port", n)
	}
	if len(got) != 37 {
		t.Errorf("%d members, want 37 (OpenSimulator's 39 but real_id and initial-outfit)", len(got))
	}
}

func TestServeLLSDCapturedRequest(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) { c.MapServerURL = "http://127.0.0.1:9000/" })
	status, ct, body := post(t, g.url, "application/llsd+xml", readTestdata(t, "opensim-login-llsd-request.xml"))
	if status != http.StatusOK || ct != "application/llsd+xml" {
		t.Fatalf("status %d, Content-Type %q: %s", status, ct, body)
	}
	got := llsdMembers(t, body)
	want := llsdMembers(t, readTestdata(t, "opensim-login-llsd-response.xml"))
	compareWithCapture(t, got, want)
	checkSuccess(t, g, got, func(name string) ritual.UUID {
		u, ok := got[name].(ritual.UUID)
		if !ok {
			t.Fatalf("member %s is %T, want an LLSD uuid", name, got[name])
		}
		return u
	})
	if len(got) != 33 {
		t.Errorf("%d members, want 33 (OpenSimulator's 35 but real_id and initial-outfit)", len(got))
	}
}

// TestServeFormatDispatch checks that the form is told by the document
// element before the Content-Type, and that each is answered in its form.
func TestServeFormatDispatch(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	rpc := readTestdata(t, "opensim-login-request.xml")
	ls := readTestdata(t, "opensim-login-llsd-request.xml")
	for _, tc := range []struct {
		name, ct string
		body     []byte
		wantCT   string
	}{
		{"xmlrpc text/xml", "text/xml", rpc, "text/xml"},
		{"xmlrpc no type", "", rpc, "text/xml"},
		{"xmlrpc mislabelled", "application/llsd+xml", rpc, "text/xml"},
		{"llsd", "application/llsd+xml", ls, "application/llsd+xml"},
		{"llsd as text/xml", "text/xml", ls, "application/llsd+xml"},
		{"llsd with comment", "application/xml", append([]byte("\ufeff <!-- hi --> "), ls...), "application/llsd+xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body := post(t, g.url, tc.ct, tc.body)
			if status != http.StatusOK || ct != tc.wantCT {
				t.Fatalf("status %d, Content-Type %q: %s", status, ct, body)
			}
			r, err := login.ParseResponse(ct, body)
			if err != nil || !r.OK {
				t.Fatalf("ParseResponse: %v", err)
			}
		})
	}
}

// xmlrpcLogin is a login_to_simulator request with the given members.
func xmlrpcLogin(t testing.TB, members xmlrpc.Struct) []byte {
	t.Helper()
	b, err := (&xmlrpc.Request{Method: login.MethodName, Params: []any{members}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func llsdLogin(t testing.TB, members map[string]any) []byte {
	t.Helper()
	b, err := llsd.MarshalXML(members)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refusal reads a failure reply of either form.
func refusal(t testing.TB, ct string, body []byte) *login.Failure {
	t.Helper()
	r, err := login.ParseResponse(ct, body)
	f, ok := errors.AsType[*login.Failure](err)
	if !ok {
		t.Fatalf("reply is not a refusal: %v, %v\n%s", r, err, body)
	}
	return f
}

func TestServePasswords(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	for _, tc := range []struct {
		name, first, last, passwd string
		ok                        bool
	}{
		{"viewer form", "Test", "User", testViewerPW, true},
		{"viewer form upper case", "Test", "User", strings.ToUpper(testViewerPW[3:]), false}, // no "$1$": a plain password
		{"viewer form upper hex", "Test", "User", "$1$" + strings.ToUpper(testViewerPW[3:]), true},
		{"plain", "Test", "User", testPassword, true},
		{"name case", "test", "USER", testPassword, true},
		{"wrong plain", "Test", "User", "Password", false},
		{"wrong viewer form", "Test", "User", "$1$00000000000000000000000000000000", false},
		{"unknown user", "Nobody", "Here", testPassword, false},
		{"impossible name", "Test User", "X", testPassword, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, form := range []string{"xmlrpc", "llsd"} {
				var status int
				var ct string
				var body []byte
				if form == "xmlrpc" {
					status, ct, body = post(t, g.url, "text/xml", xmlrpcLogin(t, xmlrpc.Struct{
						{Name: "first", Value: tc.first}, {Name: "last", Value: tc.last}, {Name: "passwd", Value: tc.passwd},
					}))
				} else {
					status, ct, body = post(t, g.url, "application/llsd+xml", llsdLogin(t, map[string]any{
						"first": tc.first, "last": tc.last, "passwd": tc.passwd,
					}))
				}
				if status != http.StatusOK {
					t.Fatalf("%s: status %d", form, status)
				}
				if !tc.ok {
					f := refusal(t, ct, body)
					if f.Reason != login.ReasonKey || f.Message != wrongCredentials(t) {
						t.Errorf("%s: refusal %+v", form, f)
					}
					continue
				}
				r, err := login.ParseResponse(ct, body)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if r.Agent != g.acct.ID || r.FirstName != testFirst || r.LastName != testLast {
					t.Errorf("%s: logged in as %v %q %q", form, r.Agent, r.FirstName, r.LastName)
				}
			}
		})
	}
}

var (
	credentialsOnce sync.Once
	credentialsMsg  string
)

// wrongCredentials is the message of a refused password, read once from a
// refusal so that unknown names can be compared with it.
func wrongCredentials(t testing.TB) string {
	credentialsOnce.Do(func() {
		g := newGrid(t, fastKDF, nil)
		_, ct, body := post(t, g.url, "text/xml", readTestdata(t, "opensim-login-request-badpw.xml"))
		credentialsMsg = refusal(t, ct, body).Message
	})
	if credentialsMsg == "" {
		t.Fatal("no refusal message")
	}
	return credentialsMsg
}

func TestServeMissingMembers(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	full := map[string]any{"first": "Test", "last": "User", "passwd": testViewerPW}
	for _, drop := range []string{"first", "last", "passwd"} {
		m := map[string]any{}
		var st xmlrpc.Struct
		for k, v := range full {
			if k != drop {
				m[k] = v
				st = append(st, xmlrpc.Member{Name: k, Value: v})
			}
		}
		for _, tc := range []struct {
			ct   string
			body []byte
		}{{"text/xml", xmlrpcLogin(t, st)}, {"application/llsd+xml", llsdLogin(t, m)}} {
			status, ct, body := post(t, g.url, tc.ct, tc.body)
			if status != http.StatusOK {
				t.Fatalf("without %s: status %d", drop, status)
			}
			if f := refusal(t, ct, body); f.Reason != login.ReasonKey || f.Message == "" {
				t.Errorf("without %s (%s): %+v", drop, tc.ct, f)
			}
		}
	}
	// A passwd that is not a string is as good as missing.
	_, ct, body := post(t, g.url, "text/xml", xmlrpcLogin(t, xmlrpc.Struct{
		{Name: "first", Value: "Test"}, {Name: "last", Value: "User"}, {Name: "passwd", Value: int32(5)},
	}))
	if f := refusal(t, ct, body); f.Reason != login.ReasonKey {
		t.Errorf("int passwd: %+v", f)
	}
	if g.region.count() != 0 {
		t.Errorf("%d circuits provisioned for refused logins", g.region.count())
	}
}

func TestServeUndecodable(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	for _, tc := range []struct {
		name, ct  string
		body      string
		status    int
		faultCode int32
	}{
		{"malformed xml", "text/xml", "<methodCall><methodName>login_to_simulator</methodName><params>", 200, xmlrpc.FaultParse},
		{"not xml", "text/xml", "first=Test&last=User", 200, xmlrpc.FaultParse},
		{"empty", "", "", 200, xmlrpc.FaultParse},
		{"not a methodCall", "text/xml", "<methodResponse><params/></methodResponse>", 200, xmlrpc.FaultInvalidRequest},
		{"other method", "text/xml", "<methodCall><methodName>system.listMethods</methodName></methodCall>", 200, xmlrpc.FaultMethodNotFound},
		{"no struct", "text/xml", "<methodCall><methodName>login_to_simulator</methodName><params><param><value><i4>1</i4></value></param></params></methodCall>", 200, xmlrpc.FaultInvalidParams},
		{"no params", "text/xml", "<methodCall><methodName>login_to_simulator</methodName></methodCall>", 200, xmlrpc.FaultInvalidParams},
		{"malformed llsd", "application/llsd+xml", "<llsd><map><key>first</key>", 400, 0},
		{"llsd by type only", "application/llsd+xml", "first=Test", 400, 0},
		{"llsd not a map", "application/llsd+xml", "<llsd><array><string>Test</string></array></llsd>", 400, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := post(t, g.url, tc.ct, []byte(tc.body))
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			r, err := xmlrpc.ParseResponse(body)
			if err != nil || r.Fault == nil {
				t.Fatalf("reply is not a fault: %v %s", err, body)
			}
			if r.Fault.Code != tc.faultCode {
				t.Errorf("fault %d %q, want code %d", r.Fault.Code, r.Fault.String, tc.faultCode)
			}
		})
	}
	drops := tracetest.All[*trace.Anomaly](g.rec.Events())
	if len(drops) != 10 || drops[0].Kind != trace.AnomalyDropped || drops[0].Reason == "" {
		t.Errorf("%d DROPPED anomalies recorded, want 10: %+v", len(drops), drops)
	}
}

func TestServeHTTPLimits(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	big := bytes.Repeat([]byte(" "), login.DefaultMaxBody+1)
	if status, _, _ := post(t, g.url, "text/xml", big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("body of %d bytes: status %d, want 413", len(big), status)
	}
	// Without a Content-Length, the limit holds while reading.
	req, _ := http.NewRequest(http.MethodPost, g.url, struct{ *bytes.Reader }{bytes.NewReader(big)})
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body of %d bytes: status %d, want 413", len(big), resp.StatusCode)
	}
	// At the limit a body is read (here: a login padded with spaces).
	ok := readTestdata(t, "opensim-login-request.xml")
	ok = append(ok, bytes.Repeat([]byte(" "), login.DefaultMaxBody-len(ok))...)
	if status, ct, body := post(t, g.url, "text/xml", ok); status != 200 {
		t.Errorf("body of %d bytes: status %d", len(ok), status)
	} else if _, err := login.ParseResponse(ct, body); err != nil {
		t.Errorf("body of %d bytes: %v", len(ok), err)
	}
	resp, err = http.Get(g.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}

	small := newGrid(t, fastKDF, func(c *login.Config) { c.MaxBody = 100 })
	if status, _, _ := post(t, small.url, "text/xml", ok[:101]); status != http.StatusRequestEntityTooLarge {
		t.Errorf("MaxBody 100, body of 101 bytes: status %d", status)
	}
}

type refusingRegion struct{ err error }

func (r refusingRegion) Provision(context.Context, login.Circuit) (login.Destination, error) {
	return login.Destination{}, r.err
}

func TestServeProvisionFailure(t *testing.T) {
	for _, tc := range []struct {
		name         string
		region       login.Region
		reason, text string
	}{
		{"region full", refusingRegion{fmt.Errorf("sim: 40 agents: %w", login.ErrRegionFull)}, login.ReasonPresence, "full"},
		{"region error", refusingRegion{errors.New("sim: shutting down")}, login.ReasonConnect, "could not be reached"},
		{"region's own failure", refusingRegion{fmt.Errorf("sim: %w", &login.Failure{Reason: "presence", Message: "Logins are disabled."})}, "presence", "Logins are disabled."},
		{"no address", regionWith(func(d *login.Destination) { d.SimIP = netip.Addr{} }), login.ReasonConnect, "could not be reached"},
		{"ipv6 address", regionWith(func(d *login.Destination) { d.SimIP = netip.IPv6Loopback() }), login.ReasonConnect, "could not be reached"},
		{"no port", regionWith(func(d *login.Destination) { d.SimPort = 0 }), login.ReasonConnect, "could not be reached"},
		{"relative seed", regionWith(func(d *login.Destination) { d.SeedCapability = "/CAPS/x/" }), login.ReasonConnect, "could not be reached"},
		{"region beyond i4", regionWith(func(d *login.Destination) { d.Handle = ritual.HandleFromMeters(1<<31, 0) }), login.ReasonConnect, "could not be reached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGrid(t, fastKDF, func(c *login.Config) { c.Region = tc.region })
			for _, form := range []struct {
				ct   string
				body []byte
			}{{"text/xml", readTestdata(t, "opensim-login-request.xml")}, {"application/llsd+xml", readTestdata(t, "opensim-login-llsd-request.xml")}} {
				status, ct, body := post(t, g.url, form.ct, form.body)
				if status != http.StatusOK {
					t.Fatalf("status %d", status)
				}
				f := refusal(t, ct, body)
				if f.Reason != tc.reason || !strings.Contains(f.Message, tc.text) {
					t.Errorf("%s: refusal %+v, want reason %q and %q", form.ct, f, tc.reason, tc.text)
				}
			}
			evs := g.rec.Events()
			tracetest.ExpectOrder(t, evs, "[SERVER] [LOGIN] RECV login_to_simulator", "[SERVER] [LOGIN] AUTH SUCCESS",
				"[SERVER] [LOGIN] REJECT CIRCUIT PROVISION", "[SERVER] [LOGIN] SEND Response")
			if _, ok := tracetest.First[*trace.CircuitProvision](evs); ok {
				t.Error("CIRCUIT PROVISION recorded for a refused circuit")
			}
		})
	}
}

func regionWith(mod func(*login.Destination)) login.Region {
	r := newFakeRegion()
	mod(&r.dest)
	return r
}

// failingAccounts fails every lookup, as a broken database would.
type failingAccounts struct{ store.Accounts }

func (failingAccounts) ByName(context.Context, string, string) (store.Account, error) {
	return store.Account{}, errors.New("sqlite: disk I/O error at /var/lib/ritual/ritual.db")
}

type failingInventory struct{ store.InventoryFolders }

func (failingInventory) Skeleton(context.Context, ritual.UUID) ([]store.Folder, error) {
	return nil, errors.New("sqlite: database is locked")
}

func TestServeStoreFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*login.Config)
		auth   string
		logged string
	}{
		{"accounts", func(c *login.Config) { c.Accounts = failingAccounts{c.Accounts} }, "[SERVER] [LOGIN] AUTH FAILURE", "disk I/O error"},
		{"inventory", func(c *login.Config) { c.Inventory = failingInventory{c.Inventory} }, "[SERVER] [LOGIN] AUTH SUCCESS", "database is locked"},
		{"corrupt hash", nil, "[SERVER] [LOGIN] AUTH FAILURE", "malformed password hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			g := newGrid(t, fastKDF, func(c *login.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			if tc.mod == nil {
				if err := g.store.Accounts().SetPassword(context.Background(), g.acct.ID, "$argon2id$garbage"); err != nil {
					t.Fatal(err)
				}
			}
			status, ct, body := post(t, g.url, "text/xml", readTestdata(t, "opensim-login-request.xml"))
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			f := refusal(t, ct, body)
			if f.Reason != login.ReasonInternal || strings.Contains(f.Message, "sqlite") || strings.Contains(f.Message, "argon") {
				t.Errorf("refusal %+v: want %q without detail", f, login.ReasonInternal)
			}
			tracetest.ExpectOrder(t, g.rec.Events(), "[SERVER] [LOGIN] RECV login_to_simulator", tc.auth, "[SERVER] [LOGIN] SEND Response")
			if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, tc.logged) {
				t.Errorf("the cause was not logged (want %q):\n%s", tc.logged, l)
			}
			if g.region.count() != 0 {
				t.Error("a circuit was provisioned")
			}
		})
	}
}

// TestServeSecondLogin logs the same agent in twice: both succeed, with
// fresh circuits (ending the first one is the region's business).
func TestServeSecondLogin(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	var codes []uint32
	var sessions []ritual.UUID
	for range 2 {
		_, ct, body := post(t, g.url, "text/xml", readTestdata(t, "opensim-login-request.xml"))
		r, err := login.ParseResponse(ct, body)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, r.CircuitCode)
		sessions = append(sessions, r.Session)
	}
	if g.region.count() != 2 || codes[0] == codes[1] || sessions[0] == sessions[1] {
		t.Errorf("two logins provisioned %d circuits, codes %v, sessions %v", g.region.count(), codes, sessions)
	}
}

// TestServeConcurrent runs logins in parallel (for the race detector and
// the verification semaphore).
func TestServeConcurrent(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) { c.MaxConcurrentAuth = 2 })
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			p := login.Params{URI: g.url, First: testFirst, Last: testLast, Password: testPassword, Format: login.Format(i % 2)}
			if i%4 == 3 {
				p.Password = "wrong"
			}
			_, err := login.Login(context.Background(), p)
			if _, refused := errors.AsType[*login.Failure](err); (i%4 == 3) != refused {
				errs <- fmt.Errorf("login %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if g.region.count() != 12 {
		t.Errorf("%d circuits provisioned, want 12", g.region.count())
	}
}

// TestHomeParsesAsNodeMetaverse reads home and look_at the way
// node-metaverse does: home with every [, ] and ' turned into " and parsed
// as JSON, then each value stripped of r and split on commas.
func TestHomeParsesAsNodeMetaverse(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	g.region.dest.Position = ritual.Vector3{X: 12.5, Y: 200.25, Z: 21.75}
	g.region.dest.LookAt = ritual.Vector3{X: -0.7071068, Y: 0.7071068, Z: 0}
	g.region.dest.Handle = ritual.HandleFromGrid(1000, 1003)
	for _, form := range []struct {
		ct   string
		body []byte
	}{{"text/xml", readTestdata(t, "opensim-login-request.xml")}, {"application/llsd+xml", readTestdata(t, "opensim-login-llsd-request.xml")}} {
		_, ct, body := post(t, g.url, form.ct, form.body)
		r, err := login.ParseResponse(ct, body)
		if err != nil {
			t.Fatal(err)
		}
		home, _ := r.Members["home"].(string)
		jsonText := strings.NewReplacer("[", `"`, "]", `"`, "'", `"`).Replace(home)
		var parsed map[string]string
		if err := json.Unmarshal([]byte(jsonText), &parsed); err != nil {
			t.Fatalf("node-metaverse cannot parse home %q: %v", home, err)
		}
		// region_handle: node-metaverse strips "r", splits on ", " and
		// parseInts each part; parseInt reads the leading digits.
		coords := strings.Split(strings.ReplaceAll(parsed["region_handle"], "r", ""), ", ")
		if x := jsParseInt(coords[0]); x != 256000 {
			t.Errorf("home region x = %d (from %q)", x, parsed["region_handle"])
		}
		if x, y := nmvVector3(t, "["+parsed["position"]+"]"), g.region.dest.Position; x != y {
			t.Errorf("home position %v, want %v", x, y)
		}
		if x, y := nmvVector3(t, "["+parsed["look_at"]+"]"), g.region.dest.LookAt; x != y {
			t.Errorf("home look_at %v, want %v", x, y)
		}
		lookAt, _ := r.Members["look_at"].(string)
		if x, y := nmvVector3(t, lookAt), g.region.dest.LookAt; x != y || r.LookAt != y {
			t.Errorf("look_at %q reads %v (client %v), want %v", lookAt, x, r.LookAt, y)
		}
		h, err := llsd.ParseHome(home)
		if err != nil || h.RegionHandle != g.region.dest.Handle {
			t.Errorf("llsd.ParseHome(%q) = %+v, %v", home, h, err)
		}
	}
}

// nmvVector3 is node-metaverse's parseVector3: drop [, ], r and white
// space, split on commas, parseFloat each.
func nmvVector3(t *testing.T, s string) ritual.Vector3 {
	t.Helper()
	clean := regexp.MustCompile(`[\[\]r\s]`).ReplaceAllString(s, "")
	parts := strings.Split(clean, ",")
	if len(parts) < 3 {
		t.Fatalf("vector %q has %d parts", s, len(parts))
	}
	var v [3]float32
	for i := range v {
		f, err := strconv.ParseFloat(parts[i], 64)
		if err != nil || math.IsNaN(f) {
			t.Fatalf("vector %q: part %q is not a number", s, parts[i])
		}
		v[i] = float32(f)
	}
	return ritual.Vector3{X: v[0], Y: v[1], Z: v[2]}
}

func jsParseInt(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestServeTraceEvents(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	p := login.Params{URI: g.url, First: testFirst, Last: testLast, Password: testPassword,
		Channel: "Probe Viewer", Version: "1.2.3", Platform: "Lnx", Start: "home", Recorder: g.rec}
	r, err := login.Login(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	evs := g.rec.Events()
	tracetest.ExpectOrder(t, evs,
		"[CLIENT] [LOGIN] START",
		"[SERVER] [LOGIN] RECV login_to_simulator",
		"[SERVER] [LOGIN] AUTH SUCCESS",
		"[SERVER] [LOGIN] CIRCUIT PROVISION",
		"[SERVER] [LOGIN] SEND Response",
		"[CLIENT] [LOGIN] RECV Response",
		"[CLIENT] [LOGIN] PROGRESS ConnectingToSim")
	if len(evs) != 7 {
		t.Errorf("%d events, want 7: %v", len(evs), tracetest.Tags(evs))
	}
	c := g.region.last(t)
	for _, ev := range evs {
		h := ev.Head()
		if h.Time.IsZero() || h.Layer != trace.Login {
			t.Errorf("%s: header %+v", trace.Tag(ev), h)
		}
		var from, to string
		switch e := ev.(type) {
		case *trace.LoginStart:
			from, to = trace.EndClient, trace.EndLogin
			if e.URI != g.url || e.First != testFirst || e.Last != testLast || e.Format != "xmlrpc" {
				t.Errorf("START %+v", e)
			}
		case *trace.LoginRequest:
			from, to = trace.EndClient, trace.EndLogin
			if e.Format != "xmlrpc" || e.First != testFirst || e.Channel != "Probe Viewer" || e.Version != "1.2.3" ||
				e.Platform != "Lnx" || e.Start != "home" || !strings.HasPrefix(e.Remote, "127.0.0.1:") {
				t.Errorf("RECV login_to_simulator %+v", e)
			}
		case *trace.LoginAuth:
			from, to = trace.EndLogin, trace.EndLogin
			if !e.OK || e.Agent != g.acct.ID || e.First != testFirst || e.Last != testLast {
				t.Errorf("AUTH %+v", e)
			}
		case *trace.CircuitProvision:
			from, to = trace.EndLogin, trace.EndRegion
			if e.Code != c.Code || e.Agent != c.Agent || e.Session != c.Session.String() ||
				e.Region != "Ritual Region" || !e.Expiry.Equal(testNow.Add(login.DefaultCircuitTTL)) {
				t.Errorf("CIRCUIT PROVISION %+v, circuit %+v", e, c)
			}
		case *trace.LoginResponse:
			from, to = trace.EndLogin, trace.EndClient
			if !e.OK || e.CircuitCode != c.Code || e.Session != c.Session.String() || e.Agent != c.Agent ||
				e.SimIP != "127.0.0.1" || e.SimPort != 9000 || e.RegionX != 256000 || e.RegionY != 256000 ||
				e.SeedCapability != r.SeedCapability || e.Status != 200 || e.Elapsed <= 0 {
				t.Errorf("%s %+v", trace.Tag(e), e)
			}
		case *trace.LoginProgress:
			from, to = trace.EndClient, trace.EndClient
			if e.Detail != "127.0.0.1:9000" {
				t.Errorf("PROGRESS %+v", e)
			}
		}
		if h.From != from || h.To != to {
			t.Errorf("%s: from %q to %q, want %q to %q", trace.Tag(ev), h.From, h.To, from, to)
		}
	}
	if c.Start != "home" {
		t.Errorf("circuit start %q", c.Start)
	}
}

func TestServeTraceRefusal(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	_, err := login.Login(context.Background(), login.Params{URI: g.url, First: testFirst, Last: testLast,
		Password: "wrong", Format: login.FormatLLSD, Recorder: g.rec})
	f, ok := errors.AsType[*login.Failure](err)
	if !ok || f.Reason != login.ReasonKey {
		t.Fatalf("Login: %v", err)
	}
	evs := g.rec.Events()
	tracetest.ExpectOrder(t, evs,
		"[CLIENT] [LOGIN] START",
		"[SERVER] [LOGIN] RECV login_to_simulator",
		"[SERVER] [LOGIN] AUTH FAILURE",
		"[SERVER] [LOGIN] SEND Response",
		"[CLIENT] [LOGIN] RECV Response",
		"[CLIENT] [LOGIN] PROGRESS Failed")
	auth, _ := tracetest.First[*trace.LoginAuth](evs)
	if auth.Reason != "key" || auth.Message != f.Message || auth.First != testFirst {
		t.Errorf("AUTH FAILURE %+v", auth)
	}
	for _, resp := range tracetest.All[*trace.LoginResponse](evs) {
		if resp.OK || resp.Reason != "key" || resp.Message != f.Message || resp.Status != 200 || resp.CircuitCode != 0 {
			t.Errorf("%s %+v", trace.Tag(resp), resp)
		}
	}
	if pr, _ := tracetest.First[*trace.LoginProgress](evs); pr.Detail != "key" {
		t.Errorf("PROGRESS %+v", pr)
	}
}

func TestNewServerConfig(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	base := login.Config{Accounts: g.store.Accounts(), Inventory: g.store.Inventory(), Region: g.region}
	if _, err := login.NewServer(base); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	for name, mod := range map[string]func(*login.Config){
		"no accounts":     func(c *login.Config) { c.Accounts = nil },
		"no inventory":    func(c *login.Config) { c.Inventory = nil },
		"no region":       func(c *login.Config) { c.Region = nil },
		"negative body":   func(c *login.Config) { c.MaxBody = -1 },
		"negative ttl":    func(c *login.Config) { c.CircuitTTL = -time.Second },
		"negative auth":   func(c *login.Config) { c.MaxConcurrentAuth = -1 },
		"negative groups": func(c *login.Config) { c.MaxAgentGroups = -1 },
		"relative map":    func(c *login.Config) { c.MapServerURL = "/map" },
	} {
		c := base
		mod(&c)
		if _, err := login.NewServer(c); err == nil {
			t.Errorf("%s: NewServer accepted it", name)
		}
	}
}

func TestServeConfigured(t *testing.T) {
	g := newGrid(t, fastKDF, func(c *login.Config) {
		c.Message = "Hello & welcome"
		c.PlainNames = true
		c.MaxAgentGroups = 60
		c.CircuitTTL = 5 * time.Second
	})
	_, _, body := post(t, g.url, "text/xml", readTestdata(t, "opensim-login-request.xml"))
	m := xmlrpcMembers(t, body)
	if str(t, m, "message") != "Hello & welcome" || str(t, m, "first_name") != "Test" || str(t, m, "last_name") != "User" ||
		num(t, m, "max-agent-groups") != 60 {
		t.Errorf("members %v", m)
	}
	if _, ok := m["map-server-url"]; ok {
		t.Error("map-server-url sent without MapServerURL")
	}
	if c := g.region.last(t); !c.Expiry.Equal(testNow.Add(5 * time.Second)) {
		t.Errorf("expiry %v", c.Expiry)
	}
}

func TestRootElement(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<?xml version="1.0"?><methodCall>`, "methodCall"},
		{"\ufeff\n <llsd><map/></llsd>", "llsd"},
		{`<!-- x --><?pi?><!DOCTYPE llsd><llsd/>`, "llsd"},
		{`<llsd>`, "llsd"},
		{`<methodResponse params="">`, "methodResponse"},
		{`<!-- unterminated`, ""},
		{`<?xml`, ""},
		{`{"first":"x"}`, ""},
		{``, ""},
		{`<`, ""},
	} {
		if got := login.RootElement([]byte(tc.in)); got != tc.want {
			t.Errorf("rootElement(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
