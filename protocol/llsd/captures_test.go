package llsd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ritual"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// captureFiles are the recorded OpenSimulator documents in testdata/.
var captureFiles = []string{
	"opensim-login-llsd-request.xml",
	"opensim-login-llsd-response.xml",
	"opensim-login-llsd-response-presence.xml",
	"opensim-seed-response.xml",
	"opensim-eventqueue-first-poll.xml",
}

func readCapture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCapturesRoundTrip decodes every recorded document, then writes it in
// each form and reads it back: the value must not change.
func TestCapturesRoundTrip(t *testing.T) {
	for _, name := range captureFiles {
		t.Run(name, func(t *testing.T) {
			data := readCapture(t, name)
			v, err := UnmarshalXML(data)
			if err != nil {
				t.Fatal(err)
			}
			if auto, err := Unmarshal(data); err != nil || !Equal(auto, v) {
				t.Fatalf("Unmarshal (detected %s) = %v", Detect(data), err)
			}
			for _, f := range []Format{FormatXML, FormatBinary, FormatNotation} {
				enc, err := Marshal(f, v)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if Detect(enc) != f {
					t.Fatalf("Detect(%s output) = %s", f, Detect(enc))
				}
				back, err := Options{}.Unmarshal(f, enc)
				if err != nil {
					t.Fatalf("%s: decoding our own output: %v", f, err)
				}
				if !Equal(back, v) {
					t.Fatalf("%s round trip changed the value", f)
				}
			}
			// In wire order, our XML is byte for byte OpenSimulator's but
			// for the spelling of empty elements and the prolog.
			ordered, err := Options{KeepOrder: true}.Unmarshal(FormatXML, data)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			enc := NewEncoder(&out, FormatXML)
			enc.SetHeader(false)
			if err := enc.Encode(ordered); err != nil {
				t.Fatal(err)
			}
			norm := func(b []byte) []byte {
				b = bytes.TrimPrefix(b, []byte(`<?xml version="1.0" ?>`))
				b = bytes.TrimSpace(b)
				for _, e := range []string{"integer", "uuid", "string", "array", "map"} {
					b = bytes.ReplaceAll(b, []byte("<"+e+"></"+e+">"), []byte("<"+e+" />"))
				}
				b = bytes.ReplaceAll(b, []byte(`<binary>`), []byte(`<binary encoding="base64">`))
				return b
			}
			ours, theirs := norm(out.Bytes()), norm(data)
			// OpenSim writes empty integers and uuids, which we spell out.
			theirs = bytes.ReplaceAll(theirs, []byte("<integer />"), []byte("<integer>0</integer>"))
			theirs = bytes.ReplaceAll(theirs, []byte("<uuid />"), []byte("<uuid>00000000-0000-0000-0000-000000000000</uuid>"))
			if !bytes.Equal(ours, theirs) {
				i := 0
				for i < min(len(ours), len(theirs)) && ours[i] == theirs[i] {
					i++
				}
				t.Fatalf("re-encoding differs at byte %d:\nours   %q\ntheirs %q", i, ours[max(0, i-40):min(len(ours), i+40)], theirs[max(0, i-40):min(len(theirs), i+40)])
			}
		})
	}
}

func TestCaptureLoginRequest(t *testing.T) {
	v, err := UnmarshalXML(readCapture(t, "opensim-login-llsd-request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := AsMap(v)
	if !ok {
		t.Fatalf("not a map: %T", v)
	}
	if m.String("first") != "Test" || m.String("last") != "User" || m.String("passwd") != "$1$5f4dcc3b5aa765d61d8327deb882cf99" {
		t.Fatalf("credentials: %v %v %v", m["first"], m["last"], m["passwd"])
	}
	if !m.Bool("agree_to_tos") || !m.Bool("read_critical") || m.UUID("id0") != (ritual.UUID{}) {
		t.Fatalf("flags: %#v %#v %#v", m["agree_to_tos"], m["read_critical"], m["id0"])
	}
	if opts := m.Array("options"); len(opts) != 1 || opts[0] != "inventory-root" {
		t.Fatalf("options = %#v", m["options"])
	}
}

func TestCaptureLoginResponse(t *testing.T) {
	v, err := UnmarshalXML(readCapture(t, "opensim-login-llsd-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := AsMap(v)
	if len(m) != 35 {
		t.Fatalf("%d members, want 35", len(m))
	}
	if _, ok := m["agent_id"].(ritual.UUID); !ok {
		t.Fatalf("agent_id is %T, want a uuid", m["agent_id"])
	}
	if m.UUID("agent_id") != ritual.MustParseUUID("2e3fc297-1d6f-493e-aa23-d69777db3cbe") {
		t.Fatalf("agent_id = %v", m["agent_id"])
	}
	if !m.Bool("login") || m.Int("circuit_code") != 1011700466 || m.Int("sim_port") != 9000 ||
		m.String("sim_ip") != "127.0.0.1" || m.Int("region_x") != 256000 {
		t.Fatalf("login %v circuit %v port %v ip %v x %v", m["login"], m["circuit_code"], m["sim_port"], m["sim_ip"], m["region_x"])
	}
	if got := m.String("seed_capability"); got != "http://127.0.0.1:9000/CAPS/69df6ba9-d670-4621-be25-ff44ace3b67e0000/" {
		t.Fatalf("seed_capability = %q", got)
	}
	root := m.Array("inventory-root")
	if len(root) != 1 {
		t.Fatalf("inventory-root = %#v", m["inventory-root"])
	}
	// Nested ids are strings in OpenSim's LLSD answer; they still read as UUIDs.
	if r, _ := AsMap(root[0]); r.UUID("folder_id").IsZero() {
		t.Fatalf("inventory-root folder_id = %#v", r["folder_id"])
	}
	var cof bool
	for _, f := range m.Array("inventory-skeleton") {
		if fm, _ := AsMap(f); fm.Int("type_default") == 46 {
			cof = true
		}
	}
	if !cof {
		t.Fatal("no Current Outfit folder (type_default 46) in inventory-skeleton")
	}
}

func TestCapturePresenceFailure(t *testing.T) {
	v, err := UnmarshalXML(readCapture(t, "opensim-login-llsd-response-presence.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := AsMap(v)
	if m.Bool("login") || m.String("login") != "false" || m.String("reason") != "presence" {
		t.Fatalf("login %#v reason %#v", m["login"], m["reason"])
	}
}

func TestCaptureSeedResponse(t *testing.T) {
	v, err := UnmarshalXML(readCapture(t, "opensim-seed-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := AsMap(v)
	if len(m) != 7 || m.URI("EventQueueGet") != "http://127.0.0.1:9000/CE/7e516770-3d58-4d9f-a1ed-dee984d01fc0" {
		t.Fatalf("seed = %#v", m)
	}
}

func TestCaptureEventQueueFirstPoll(t *testing.T) {
	v, err := UnmarshalXML(readCapture(t, "opensim-eventqueue-first-poll.xml"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := AsMap(v)
	if m.Int("id") != 26173237 {
		t.Fatalf("id = %#v", m["id"])
	}
	events := m.Array("events")
	if len(events) != 1 {
		t.Fatalf("events = %d", len(events))
	}
	ev, _ := AsMap(events[0])
	if ev.String("message") != "ParcelProperties" {
		t.Fatalf("message = %#v", ev["message"])
	}
	pd, _ := AsMap(ev.Map("body").Array("ParcelData")[0])
	if _, ok := pd["ParcelFlags"].([]byte); !ok || pd.U32("ParcelFlags") != 0x2800204b {
		t.Fatalf("ParcelFlags = %#v (U32 %#x)", pd["ParcelFlags"], pd.U32("ParcelFlags"))
	}
	if a, ok := pd["AuctionID"].(int32); !ok || a != 0 {
		t.Fatalf("AuctionID = %#v", pd["AuctionID"])
	}
	if got := pd.Date("ClaimDate"); !got.Equal(time.Date(2026, 11, 25, 14, 12, 5, 0, time.UTC)) {
		t.Fatalf("ClaimDate = %v", got)
	}
	if pd.UUID("OwnerID") != ritual.MustParseUUID("415dedeb-c035-49dd-afd0-b95641a0dc2a") || !pd.UUID("GroupID").IsZero() {
		t.Fatalf("OwnerID %v GroupID %v", pd["OwnerID"], pd["GroupID"])
	}
	if bm := pd.Binary("Bitmap"); len(bm) != 512 || bytes.Count(bm, []byte{0xff}) != 512 {
		t.Fatalf("Bitmap = %d bytes", len(bm))
	}
	if got := pd.Array("AABBMax"); !Equal(got, []any{256.0, 256.0, 0.0}) {
		t.Fatalf("AABBMax = %#v", got)
	}
	env, _ := AsMap(ev.Map("body").Array("ParcelEnvironmentBlock")[0])
	if env.Int("ParcelEnvironmentVersion") != -1 {
		t.Fatalf("ParcelEnvironmentVersion = %#v", env["ParcelEnvironmentVersion"])
	}
}

// goldenLoginResponse is a login response as the login service would build
// it: every LLSD type appears.
func goldenLoginResponse() any {
	agent := ritual.MustParseUUID("2e3fc297-1d6f-493e-aa23-d69777db3cbe")
	root := ritual.MustParseUUID("de750c77-6b39-4023-a315-1f4e7c0ad004")
	return map[string]any{
		"login":             "true",
		"message":           "Welcome to <Ritual> & friends",
		"first_name":        "Test",
		"last_name":         "User",
		"agent_id":          agent,
		"session_id":        ritual.MustParseUUID("19ea62a2-68cb-4d86-b77a-12c15f65c9cd"),
		"secure_session_id": ritual.MustParseUUID("2975dc7f-b7cd-4d8a-b9ce-4c7e69f1fadf"),
		"circuit_code":      1011700466,
		"sim_ip":            "127.0.0.1",
		"sim_port":          uint16(9000),
		"region_x":          256000,
		"region_y":          256000,
		"seed_capability":   URI("http://127.0.0.1:9000/CAPS/69df6ba9-d670-4621-be25-ff44ace3b67e0000/"),
		"look_at":           Vector3Notation(ritual.Vector3{X: 0.9991014, Y: 0.04238612}),
		"home": Home{
			RegionHandle: ritual.HandleFromGrid(1000, 1000),
			Position:     ritual.Vector3{X: 128, Y: 128, Z: 25},
			LookAt:       ritual.Vector3{X: 1},
		}.Notation(),
		"seconds_since_epoch": int32(1795620484),
		"agree_to_tos":        true,
		"skipoptional":        false,
		"region_handle":       U64Binary(uint64(ritual.HandleFromGrid(1000, 1000))),
		"last_login":          time.Date(2026, 11, 25, 14, 12, 5, 250000000, time.UTC),
		"sun_angle":           0.75,
		"udp_blacklist":       "",
		"real_id":             ritual.UUID{},
		"openid_url":          nil,
		"inventory-root":      []any{OrderedMap{{"folder_id", root.String()}}},
		"inventory-skeleton": []any{
			OrderedMap{{"name", "My Inventory"}, {"folder_id", root.String()}, {"type_default", int32(8)}, {"version", int32(18)}, {"parent_id", ritual.UUID{}.String()}},
			OrderedMap{{"name", "Current Outfit"}, {"folder_id", "ab3a76da-6bb8-4ab2-aa2b-d5db225d292d"}, {"type_default", int32(46)}, {"version", int32(1)}, {"parent_id", root.String()}},
		},
		"event_categories": []any{},
		"login-flags":      []any{map[string]any{"daylight_savings": "N", "stipend_since_login": "N", "gendered": "Y", "ever_logged_in": "Y"}},
		"ui-config":        []any{map[string]any{"allow_first_life": "Y"}},
		"max-agent-groups": int32(42),
		"premium_packages": map[string]any{},
	}
}

func TestGoldenXML(t *testing.T) {
	got, err := MarshalXML(goldenLoginResponse())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "login-response.golden.xml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalXML differs from %s (run with -update if the change is intended):\n got %s\nwant %s", golden, got, want)
	}
	back, err := UnmarshalXML(want)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := AsMap(back)
	if m.Int("sim_port") != 9000 || m.U64("region_handle") != uint64(ritual.HandleFromGrid(1000, 1000)) || m.Bool("skipoptional") {
		t.Fatalf("golden reads back wrong: %#v", m)
	}
}
