package login_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/account"
	"ritual/login"
	"ritual/protocol/llsd"
	"ritual/protocol/xmlrpc"
	"ritual/store"
	"ritual/trace"
	"ritual/trace/tracetest"
)

func TestLoginRoundTrip(t *testing.T) {
	g := newGrid(t, fastKDF, nil)
	folders, err := g.store.Inventory().Skeleton(context.Background(), g.acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []login.Format{login.FormatXMLRPC, login.FormatLLSD} {
		for _, pw := range []string{testPassword, testViewerPW} {
			t.Run(f.String()+" "+pw[:3], func(t *testing.T) {
				r, err := login.Login(context.Background(), login.Params{
					URI: g.url, First: "test", Last: "user", Password: pw, Format: f})
				if err != nil {
					t.Fatal(err)
				}
				c, d := g.region.last(t), g.region.dest
				want := login.Response{
					OK: true, Message: login.DefaultMessage,
					Agent: g.acct.ID, Session: c.Session, SecureSession: c.SecureSession, CircuitCode: c.Code,
					SimIP: "127.0.0.1", SimPort: 9000, RegionX: 256000, RegionY: 256000,
					SeedCapability: r.SeedCapability, LookAt: d.LookAt, FirstName: testFirst, LastName: testLast,
					InventoryRoot: folders[0].ID, Format: f,
				}
				got := *r
				got.InventorySkeleton, got.Members = nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("response\n got %+v\nwant %+v", got, want)
				}
				if !strings.HasPrefix(r.SeedCapability, "http://127.0.0.1:9000/CAPS/") {
					t.Errorf("seed %q", r.SeedCapability)
				}
				if len(r.InventorySkeleton) != len(folders) {
					t.Fatalf("%d skeleton folders, store has %d", len(r.InventorySkeleton), len(folders))
				}
				for i, fo := range folders {
					want := login.Folder{ID: fo.ID, Parent: fo.Parent, Name: fo.Name, Type: fo.Type, Version: fo.Version}
					if r.InventorySkeleton[i] != want {
						t.Errorf("folder %d = %+v, want %+v", i, r.InventorySkeleton[i], want)
					}
				}
				if r.RegionHandle() != d.Handle {
					t.Errorf("RegionHandle %v, want %v", r.RegionHandle(), d.Handle)
				}
				if ap, err := r.SimAddr(); err != nil || ap != netip.MustParseAddrPort("127.0.0.1:9000") {
					t.Errorf("SimAddr %v, %v", ap, err)
				}
				if len(r.Members) < 30 {
					t.Errorf("only %d raw members", len(r.Members))
				}
			})
		}
	}
}

// captureServer serves a recorded reply to every request and keeps the
// last request body.
type captureServer struct {
	*httptest.Server
	mu   sync.Mutex
	body []byte
	ct   string
}

func serveCapture(t *testing.T, contentType string, reply []byte, status int) *captureServer {
	t.Helper()
	cs := &captureServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.body, cs.ct = b, r.Header.Get("Content-Type")
		cs.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write(reply)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func TestLoginParsesOpenSimCaptures(t *testing.T) {
	rpc := serveCapture(t, "text/xml", readTestdata(t, "opensim-login-response.xml"), 200)
	r, err := login.Login(context.Background(), login.Params{URI: rpc.URL, First: testFirst, Last: testLast, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	check := func(r *login.Response, want login.Response, lookAt ritual.Vector3) {
		t.Helper()
		got := *r
		got.InventorySkeleton, got.Members = nil, nil
		want.OK, want.Message, want.SimIP, want.SimPort, want.RegionX, want.RegionY = true, "Welcome, Avatar!", "127.0.0.1", 9000, 256000, 256000
		want.Agent = ritual.MustParseUUID("2e3fc297-1d6f-493e-aa23-d69777db3cbe")
		want.InventoryRoot = ritual.MustParseUUID("de750c77-6b39-4023-a315-1f4e7c0ad004")
		want.FirstName, want.LastName, want.LookAt = "Test", "User", lookAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("response\n got %+v\nwant %+v", got, want)
		}
		if len(r.InventorySkeleton) != 20 {
			t.Fatalf("%d skeleton folders, want 20", len(r.InventorySkeleton))
		}
		cof := login.Folder{ID: ritual.MustParseUUID("9c4d09e7-373f-4488-8ed2-ced2f8a216d8"), Parent: want.InventoryRoot,
			Name: "Current Outfit", Type: store.FolderCurrentOutfit, Version: 7}
		if r.InventorySkeleton[7] != cof {
			t.Errorf("folder 7 = %+v, want %+v", r.InventorySkeleton[7], cof)
		}
		if root := r.InventorySkeleton[0]; root.ID != want.InventoryRoot || !root.Parent.IsZero() || root.Type != store.FolderRoot || root.Version != 18 {
			t.Errorf("root folder %+v", root)
		}
	}
	check(r, login.Response{
		Session:        ritual.MustParseUUID("475d12d5-fcc6-44b3-9761-da81ee792858"),
		SecureSession:  ritual.MustParseUUID("2e3da8d0-49ff-4549-b30d-bdf1f2445611"),
		CircuitCode:    296610768,
		SeedCapability: "http://127.0.0.1:9000/CAPS/fe6e667f-34d0-41c8-b862-def06fd07fed0000/",
		Format:         login.FormatXMLRPC,
	}, ritual.Vector3{Y: 1})
	if n := len(r.Members); n != 39 {
		t.Errorf("%d raw members, want 39", n)
	}
	if v, _ := r.Members["region_size_x"].(int32); v != 256 {
		t.Errorf("raw region_size_x = %v", r.Members["region_size_x"])
	}

	ls := serveCapture(t, "application/llsd+xml", readTestdata(t, "opensim-login-llsd-response.xml"), 200)
	r, err = login.Login(context.Background(), login.Params{URI: ls.URL, First: testFirst, Last: testLast, Password: testPassword, Format: login.FormatLLSD})
	if err != nil {
		t.Fatal(err)
	}
	check(r, login.Response{
		Session:        ritual.MustParseUUID("19ea62a2-68cb-4d86-b77a-12c15f65c9cd"),
		SecureSession:  ritual.MustParseUUID("2975dc7f-b7cd-4d8a-b9ce-4c7e69f1fadf"),
		CircuitCode:    1011700466,
		SeedCapability: "http://127.0.0.1:9000/CAPS/69df6ba9-d670-4621-be25-ff44ace3b67e0000/",
		Format:         login.FormatLLSD,
	}, ritual.Vector3{X: 0.9991014, Y: 0.04238612})
	if n := len(r.Members); n != 35 {
		t.Errorf("%d raw members, want 35", n)
	}
	// The request went out in the LLSD form.
	ls.mu.Lock()
	body, ct := ls.body, ls.ct
	ls.mu.Unlock()
	v, err := llsd.UnmarshalXML(body)
	if err != nil || ct != "application/llsd+xml" {
		t.Fatalf("LLSD request (%s) does not parse: %v\n%s", ct, err, body)
	}
	m := llsd.Map(v.(map[string]any))
	if m.String("passwd") != testViewerPW || m.String("first") != testFirst || !m.Bool("agree_to_tos") || len(m.Array("options")) != len(login.DefaultOptions) {
		t.Errorf("LLSD request %v", m)
	}
}

func TestLoginRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, ct, file string
		format         login.Format
		reason, msg    string
	}{
		{"xmlrpc bad password", "text/xml", "opensim-login-response-badpw.xml", login.FormatXMLRPC,
			"key", "Could not authenticate your avatar. Please check your username and password, and check the grid if problems persist."},
		{"llsd presence", "application/llsd+xml", "opensim-login-llsd-response-presence.xml", login.FormatLLSD,
			"presence", "You appear to be already logged in. Please wait a a minute or two and retry. If this takes longer than a few minutes please contact the grid owner. "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := serveCapture(t, tc.ct, readTestdata(t, tc.file), 200)
			rec := &trace.Memory{}
			r, err := login.Login(context.Background(), login.Params{URI: cs.URL, First: testFirst, Last: testLast,
				Password: testPassword, Format: tc.format, Recorder: rec})
			f, ok := errors.AsType[*login.Failure](err)
			if !ok || r != nil {
				t.Fatalf("Login = %v, %v; want a *Failure", r, err)
			}
			if f.Reason != tc.reason || f.Message != tc.msg {
				t.Errorf("failure %+v", f)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error text %q lacks the reason", err)
			}
			tracetest.ExpectOrder(t, rec.Events(), "[CLIENT] [LOGIN] START", "[CLIENT] [LOGIN] RECV Response", "[CLIENT] [LOGIN] PROGRESS Failed")
		})
	}
}

func TestLoginErrors(t *testing.T) {
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/"
	l.Close()

	xmlrpcReply := func(st xmlrpc.Struct) []byte {
		b, err := xmlrpc.MarshalResponse(st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := readTestdata(t, "opensim-login-response.xml")
	noSim := bytes.Replace(good, []byte("<name>sim_ip</name>"), []byte("<name>sim_ip_x</name>"), 1)
	zeroCode := bytes.Replace(good, []byte("<i4>296610768</i4>"), []byte("<i4>0</i4>"), 1)
	huge := append([]byte("<?xml version=\"1.0\"?>"), bytes.Repeat([]byte(" "), login.MaxResponseBytes)...)

	for _, tc := range []struct {
		name   string
		uri    string
		ct     string
		reply  []byte
		status int
		check  func(error) bool
	}{
		{"unreachable", dead, "", nil, 0, func(err error) bool {
			_, ok := errors.AsType[*net.OpError](err)
			return ok
		}},
		{"http 503", "", "text/plain", []byte("down for maintenance\n"), 503, func(err error) bool {
			se, ok := errors.AsType[*login.StatusError](err)
			return ok && se.StatusCode == 503 && se.Body == "down for maintenance"
		}},
		{"fault", "", "text/xml", xmlrpc.MarshalFault(&xmlrpc.Fault{Code: -32700, String: "parse error"}), 200, func(err error) bool {
			f, ok := errors.AsType[*xmlrpc.Fault](err)
			return ok && f.Code == -32700
		}},
		{"html", "", "text/html", []byte("<html><body>hello</body></html>"), 200, isBadResponse},
		{"truncated", "", "text/xml", good[:1000], 200, isBadResponse},
		{"no login member", "", "text/xml", xmlrpcReply(xmlrpc.Struct{{Name: "message", Value: "hi"}}), 200, isBadResponse},
		{"odd login member", "", "text/xml", xmlrpcReply(xmlrpc.Struct{{Name: "login", Value: "maybe"}}), 200, isBadResponse},
		{"no sim_ip", "", "text/xml", noSim, 200, isBadResponse},
		{"zero circuit", "", "text/xml", zeroCode, 200, isBadResponse},
		{"redirect", "", "text/xml", xmlrpcReply(xmlrpc.Struct{{Name: "login", Value: "indeterminate"}, {Name: "next_url", Value: "http://elsewhere/"}}), 200,
			func(err error) bool { return errors.Is(err, login.ErrRedirect) }},
		{"too large", "", "text/xml", huge, 200, func(err error) bool { return errors.Is(err, login.ErrResponseTooLarge) }},
		{"llsd not a map", "", "application/llsd+xml", []byte("<llsd><array/></llsd>"), 200, isBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			uri := tc.uri
			if uri == "" {
				uri = serveCapture(t, tc.ct, tc.reply, tc.status).URL
			}
			rec := &trace.Memory{}
			r, err := login.Login(context.Background(), login.Params{URI: uri, First: testFirst, Last: testLast,
				Password: testPassword, Recorder: rec})
			if err == nil || r != nil {
				t.Fatalf("Login = %+v, %v; want an error", r, err)
			}
			if _, refused := errors.AsType[*login.Failure](err); refused || !tc.check(err) {
				t.Errorf("error %v (%T) is not the expected kind", err, err)
			}
			pr, ok := tracetest.First[*trace.LoginProgress](rec.Events())
			if !ok || pr.Stage != "Failed" || pr.Detail != err.Error() {
				t.Errorf("PROGRESS %+v", pr)
			}
			if resp, ok := tracetest.First[*trace.LoginResponse](rec.Events()); ok != (tc.status != 0) || (ok && resp.Status != tc.status) {
				t.Errorf("RECV Response %+v (recorded %v)", resp, ok)
			}
		})
	}
}

func isBadResponse(err error) bool { return errors.Is(err, login.ErrBadResponse) }

// TestLoginBlankSeedCapability: a reply whose seed_capability is blank is
// a successful login without capabilities, as viewers take it.
func TestLoginBlankSeedCapability(t *testing.T) {
	good := readTestdata(t, "opensim-login-response.xml")
	blank := regexp.MustCompile(`(<name>seed_capability</name><value><string>)[^<]*`).ReplaceAll(good, []byte("${1}"))
	if bytes.Equal(blank, good) {
		t.Fatal("the capture has no seed_capability to blank")
	}
	r, err := login.Login(context.Background(), login.Params{URI: serveCapture(t, "text/xml", blank, 200).URL,
		First: testFirst, Last: testLast, Password: testPassword})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !r.OK || r.SeedCapability != "" || r.SimPort == 0 {
		t.Errorf("response %+v", r)
	}
}

func TestLoginBadParams(t *testing.T) {
	ok := login.Params{URI: "http://127.0.0.1:1/", First: "a", Last: "b", Password: "c"}
	for name, mod := range map[string]func(*login.Params){
		"no uri":      func(p *login.Params) { p.URI = "" },
		"not http":    func(p *login.Params) { p.URI = "ftp://example.org/" },
		"no host":     func(p *login.Params) { p.URI = "http:///login" },
		"no first":    func(p *login.Params) { p.First = "" },
		"no last":     func(p *login.Params) { p.Last = "" },
		"no password": func(p *login.Params) { p.Password = "" },
		"bad format":  func(p *login.Params) { p.Format = 7 },
	} {
		p := ok
		mod(&p)
		if _, err := login.Login(context.Background(), p); !errors.Is(err, login.ErrBadParams) {
			t.Errorf("%s: %v, want ErrBadParams", name, err)
		}
	}
}

// TestLoginRequest checks what the client sends: the password in viewer
// form whatever form it was given in, and the client's description.
func TestLoginRequest(t *testing.T) {
	cs := serveCapture(t, "text/xml", readTestdata(t, "opensim-login-response.xml"), 200)
	for _, tc := range []struct{ given, sent string }{
		{testPassword, testViewerPW},
		{testViewerPW, testViewerPW},
		{"$1$5F4DCC3B5AA765D61D8327DEB882CF99", testViewerPW},
		{"a password longer than sixteen", account.ViewerForm("a password longer than sixteen")},
	} {
		_, err := login.Login(context.Background(), login.Params{URI: cs.URL, First: testFirst, Last: testLast, Password: tc.given,
			Channel: "Chan", Version: "9.9", Platform: "Win", PlatformVersion: "11", Start: "uri:Ritual Region&128&128&25",
			Options: []string{"inventory-root"}})
		if err != nil {
			t.Fatal(err)
		}
		cs.mu.Lock()
		body, ct := cs.body, cs.ct
		cs.mu.Unlock()
		req, err := xmlrpc.ParseRequest(body)
		if err != nil || ct != "text/xml" || req.Method != login.MethodName {
			t.Fatalf("request (%s) %v: %s", ct, err, body)
		}
		st := req.Params[0].(xmlrpc.Struct)
		for name, want := range map[string]string{"passwd": tc.sent, "first": testFirst, "last": testLast, "channel": "Chan",
			"version": "9.9", "platform": "Win", "platform_version": "11", "start": "uri:Ritual Region&128&128&25"} {
			if got, _ := st.String(name); got != want {
				t.Errorf("password %q: member %s = %q, want %q", tc.given, name, got, want)
			}
		}
		if opts, _ := st.Array("options"); len(opts) != 1 || opts[0] != "inventory-root" {
			t.Errorf("options %v", opts)
		}
		if mac, _ := st.String("mac"); len(mac) != 32 {
			t.Errorf("mac %q", mac)
		}
	}
}

func TestLoginContext(t *testing.T) {
	block := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer hs.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := login.Login(ctx, login.Params{URI: hs.URL, First: "a", Last: "b", Password: "c"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Login after the deadline: %v", err)
	}
}
