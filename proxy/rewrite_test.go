package proxy

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ritual/login"
)

func readTestdata(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// undo replaces, in order, each new value with the original, once each:
// what the rewrite changed must be exactly these values.
func undo(tb testing.TB, out []byte, pairs ...string) []byte {
	tb.Helper()
	s := string(out)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i+1]) {
			tb.Fatalf("the rewritten body lacks %q", pairs[i+1])
		}
		s = strings.Replace(s, pairs[i+1], pairs[i], 1)
	}
	return []byte(s)
}

func TestRewriteLoginReply(t *testing.T) {
	relay := netip.MustParseAddrPort("192.0.2.7:40001")
	const seed = "http://192.0.2.7:9010/ritual-proxy/00112233445566778899aabbccddeeff/"
	for _, tc := range []struct {
		file, ct string
	}{
		{"opensim-login-response.xml", "text/xml"},
		{"opensim-login-llsd-response.xml", "application/llsd+xml"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			in := readTestdata(t, filepath.Join("..", "login", "testdata", tc.file))
			before, err := login.ParseResponse(tc.ct, in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := rewriteLoginReply(tc.ct, in, loginEdits{Sim: relay, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			after, err := login.ParseResponse(tc.ct, out)
			if err != nil {
				t.Fatal(err)
			}
			if after.SimIP != "192.0.2.7" || after.SimPort != 40001 || after.SeedCapability != seed {
				t.Errorf("rewritten reply reads %s:%d %s", after.SimIP, after.SimPort, after.SeedCapability)
			}
			if after.Agent != before.Agent || after.Session != before.Session || after.CircuitCode != before.CircuitCode || len(after.Members) != len(before.Members) {
				t.Errorf("other members changed: %+v vs %+v", after, before)
			}
			// Exactly the three values changed, every other byte kept.
			back := undo(t, out,
				">"+before.SimIP+"<", ">192.0.2.7<",
				">"+before.SeedCapability+"<", ">"+seed+"<",
				">9000<", ">40001<")
			if !bytes.Equal(back, in) {
				t.Errorf("undoing the three replacements does not give the reply back")
			}
		})
	}
}

func TestRewriteLoginReplyRefusesNonReplies(t *testing.T) {
	relay := netip.MustParseAddrPort("192.0.2.7:40001")
	for _, body := range []string{
		"",
		"not xml",
		"<methodResponse><params><param><value><struct></struct></value></param></params></methodResponse>",
		"<llsd><map><key>sim_ip</key><string/><key>sim_port</key><integer>1</integer></map></llsd>",
		"<a><b></a>",
	} {
		if out, err := rewriteLoginReply("text/xml", []byte(body), loginEdits{Sim: relay}); err == nil {
			t.Errorf("%q rewritten to %q", body, out)
		}
	}
}

func TestRewriteSeedAnswer(t *testing.T) {
	for _, file := range []string{"opensim-seed-response.xml", "opensim-grid-seed-response-neighbour.xml"} {
		t.Run(file, func(t *testing.T) {
			in := readTestdata(t, filepath.Join("testdata", file))
			var pairs []string
			n := 0
			out, names, err := rewriteSeedAnswer(in, func(name, u string) string {
				n++
				relayed := "http://192.0.2.7:9010/ritual-proxy/" + strings.Repeat("0", 30) + string(rune('a'+n%26)) + string(rune('a'+n/26)) + "/"
				pairs = append(pairs, ">"+u+"<", ">"+relayed+"<")
				return relayed
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(names) == 0 || n != len(names) {
				t.Fatalf("%d names, %d URLs rewritten", len(names), n)
			}
			if bytes.Contains(out, []byte("127.0.0.1:9000")) {
				t.Errorf("an upstream URL is left in the answer")
			}
			if !bytes.Equal(undo(t, out, pairs...), in) {
				t.Errorf("undoing the replacements does not give the answer back")
			}
		})
	}
	if _, _, err := rewriteSeedAnswer([]byte("<llsd><array/></llsd>"), func(string, string) string { return "x" }); err == nil {
		t.Error("an LLSD array was taken for a seed answer")
	}
}

func TestRewriteEQAnswer(t *testing.T) {
	const proxySeed = "http://192.0.2.7:9010/ritual-proxy/ffeeddccbbaa99887766554433221100/"
	relays := map[netip.AddrPort]netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:9001"): netip.MustParseAddrPort("192.0.2.7:40002"),
		netip.MustParseAddrPort("127.0.0.1:9000"): netip.MustParseAddrPort("192.0.2.7:40003"),
	}
	rw := eqRewriter{
		Addr: func(a netip.AddrPort) (netip.AddrPort, bool) { r, ok := relays[a]; return r, ok },
		Seed: func(string) string { return proxySeed },
	}
	for _, tc := range []struct {
		file   string
		events []string
		pairs  []string
	}{
		{"opensim-eq-enablesimulator.xml", []string{"EnableSimulator", "EstablishAgentCommunication"}, []string{
			"<binary>fwAAAQ==</binary>", "<binary>wAACBw==</binary>",
			"<integer>9001</integer>", "<integer>40002</integer>",
			">127.0.0.1:9001<", ">192.0.2.7:40002<",
			">http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/<", ">" + proxySeed + "<"}},
		{"opensim-eq-teleportfinish.xml", []string{"TeleportFinish"}, []string{
			"<binary>fwAAAQ==</binary>", "<binary>wAACBw==</binary>",
			"<integer>9001</integer>", "<integer>40002</integer>",
			">http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/<", ">" + proxySeed + "<"}},
		{"opensim-eq-teleportfinish-back.xml", []string{"TeleportFinish"}, []string{
			"<binary>fwAAAQ==</binary>", "<binary>wAACBw==</binary>",
			"<integer>9000</integer>", "<integer>40003</integer>",
			">http://127.0.0.1:9000/CAPS/f7dd1a1c-9d9d-4983-8dce-f6b310ffacbd0000/<", ">" + proxySeed + "<"}},
		{"opensim-eq-crossedregion.xml", []string{"CrossedRegion"}, []string{
			">http://127.0.0.1:9000/CAPS/cfcc2d97-abbc-43ff-8db5-c8bd60b5876e0000/<", ">" + proxySeed + "<",
			"<binary>fwAAAQ==</binary>", "<binary>wAACBw==</binary>",
			"<integer>9001</integer>", "<integer>40002</integer>"}},
		{"opensim-eventqueue-first-poll.xml", []string{"ParcelProperties"}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			in := readTestdata(t, filepath.Join("testdata", tc.file))
			out, ans, notes, err := rewriteEQAnswer(in, rw)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range ans.Events {
				names = append(names, e.Message)
			}
			if strings.Join(names, ",") != strings.Join(tc.events, ",") || ans.ID == 0 {
				t.Errorf("events %v id %d, want %v", names, ans.ID, tc.events)
			}
			if len(tc.pairs) > 0 && len(notes) == 0 {
				t.Error("nothing rewritten")
			}
			if !bytes.Equal(undo(t, out, tc.pairs...), in) {
				t.Errorf("undoing the replacements does not give the answer back:\n%s", out)
			}
		})
	}
}

// The relay's public address is an IPv4 literal; wAACBw== is 192.0.2.7.
func TestLLSDIPText(t *testing.T) {
	n := &node{name: "binary"}
	if got := llsdIPText(n, netip.MustParseAddr("192.0.2.7")); got != "wAACBw==" {
		t.Errorf("got %s", got)
	}
	if a, ok := llsdIP(&node{name: "binary", text: "fwAAAQ=="}); !ok || a.String() != "127.0.0.1" {
		t.Errorf("fwAAAQ== reads %v %v", a, ok)
	}
}

func FuzzRewriteLoginReply(f *testing.F) {
	// Small replies keep the engine fast (a whole OpenSimulator reply
	// costs milliseconds to minimise per byte); TestRewriteLoginReply
	// covers the recorded ones.
	f.Add([]byte(smallXMLRPCReply))
	f.Add([]byte(smallLLSDReply))
	f.Add(readTestdata(f, filepath.Join("..", "login", "testdata", "opensim-login-llsd-response-presence.xml")))
	f.Add([]byte("<llsd><map><key>sim_ip</key><string>1.2.3.4</string></map></llsd>"))
	relay := netip.MustParseAddrPort("192.0.2.7:40001")
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := rewriteLoginReply("text/xml", body, loginEdits{Sim: relay, Seed: "http://192.0.2.7:1/ritual-proxy/x/"})
		if err != nil {
			return
		}
		r, _ := login.ParseResponse("text/xml", out)
		if r == nil || r.SimIP != "192.0.2.7" || r.SimPort != 40001 {
			t.Fatalf("a rewrite that succeeded reads back as %+v", r)
		}
	})
}

func FuzzRewriteSeedAnswer(f *testing.F) {
	f.Add(readTestdata(f, filepath.Join("testdata", "opensim-seed-response.xml")))
	f.Add([]byte("<llsd><map><key>A</key><uri>http://x/</uri><key>B</key><string/></map></llsd>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _, err := rewriteSeedAnswer(body, func(name, u string) string { return "http://relay/" })
		if err != nil {
			return
		}
		if _, err := parseDoc(out); err != nil {
			t.Fatalf("the rewritten answer is not a document: %v", err)
		}
	})
}

func FuzzRewriteEQAnswer(f *testing.F) {
	for _, name := range []string{"opensim-eq-enablesimulator.xml", "opensim-eq-teleportfinish.xml", "opensim-eq-crossedregion.xml", "opensim-eventqueue-first-poll.xml"} {
		f.Add(readTestdata(f, filepath.Join("testdata", name)))
	}
	rw := eqRewriter{
		Addr: func(a netip.AddrPort) (netip.AddrPort, bool) { return netip.MustParseAddrPort("192.0.2.7:40002"), true },
		Seed: func(string) string { return "http://relay/seed/" },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, ans, _, err := rewriteEQAnswer(body, rw)
		if err != nil {
			return
		}
		if _, err := parseDoc(out); err != nil {
			t.Fatalf("the rewritten answer is not a document: %v", err)
		}
		if len(ans.Events) > len(body) {
			t.Fatalf("%d events from %d bytes", len(ans.Events), len(body))
		}
	})
}

const smallXMLRPCReply = `<?xml version="1.0"?><methodResponse><params><param><value><struct>` +
	`<member><name>login</name><value><string>true</string></value></member>` +
	`<member><name>agent_id</name><value><string>2e3fc297-1d6f-493e-aa23-d69777db3cbe</string></value></member>` +
	`<member><name>session_id</name><value><string>475d12d5-fcc6-44b3-9761-da81ee792858</string></value></member>` +
	`<member><name>circuit_code</name><value><i4>296610768</i4></value></member>` +
	`<member><name>sim_ip</name><value><string>127.0.0.1</string></value></member>` +
	`<member><name>sim_port</name><value><i4>9000</i4></value></member>` +
	`<member><name>region_x</name><value><i4>256000</i4></value></member>` +
	`<member><name>region_y</name><value><i4>256000</i4></value></member>` +
	`<member><name>seed_capability</name><value><string>http://127.0.0.1:9000/CAPS/a/</string></value></member>` +
	`</struct></value></param></params></methodResponse>`

const smallLLSDReply = `<llsd><map><key>login</key><string>true</string>` +
	`<key>agent_id</key><uuid>2e3fc297-1d6f-493e-aa23-d69777db3cbe</uuid>` +
	`<key>session_id</key><uuid>475d12d5-fcc6-44b3-9761-da81ee792858</uuid>` +
	`<key>circuit_code</key><integer>296610768</integer>` +
	`<key>sim_ip</key><string>127.0.0.1</string><key>sim_port</key><integer>9000</integer>` +
	`<key>region_x</key><integer>256000</integer><key>region_y</key><integer>256000</integer>` +
	`<key>seed_capability</key><string>http://127.0.0.1:9000/CAPS/a/</string></map></llsd>`
