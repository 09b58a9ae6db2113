package client

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"ritual"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/trace"
	"ritual/trace/tracetest"
)

// captured is one datagram of a recorded ritual (testdata/*.jsonl, from
// /work/shared/captures: OpenSimulator 0.9.2.2 and node-metaverse 0.8.16).
type captured struct {
	T        float64
	ToClient bool
	Message  msg.Message
}

// readCapture decodes every datagram of a capture file.
func readCapture(t testing.TB, name string) []captured {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []captured
	var p msg.Packet
	scratch := make([]byte, 0, msg.MaxBody)
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r struct {
			T   float64 `json:"t"`
			Dir string  `json:"dir"`
			Hex string  `json:"hex"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		b, err := hex.DecodeString(r.Hex)
		if err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		if err := p.Parse(b, scratch); err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		m, err := p.Decode()
		if err != nil && !errors.Is(err, msg.ErrTrailingData) {
			t.Fatalf("%s:%d: %s: %v", name, line, p.ID, err)
		}
		out = append(out, captured{T: r.T, ToClient: r.Dir == "server_to_client", Message: m})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sent is a message the session under test queued for the region.
type sent struct {
	Message  msg.Message
	Reliable bool
}

// replaySession returns a session without a circuit for the agent of the
// capture (the ID of its UseCircuitCode), recording what it sends.
func replaySession(t testing.TB, caps []captured, rec trace.Recorder) (*Session, *[]sent) {
	t.Helper()
	resp := &login.Response{OK: true, CircuitCode: 1, RegionX: 256000, RegionY: 256000}
	for _, c := range caps {
		if u, ok := c.Message.(*msg.UseCircuitCode); ok && !c.ToClient {
			resp.Agent, resp.Session, resp.CircuitCode = u.CircuitCode.ID, u.CircuitCode.SessionID, u.CircuitCode.Code
			break
		}
	}
	if resp.Agent.IsZero() {
		t.Fatal("capture has no UseCircuitCode")
	}
	cfg, err := Config{Recorder: rec}.fill()
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorld(resp.Agent, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(cfg, resp, w)
	var out []sent
	s.send = func(m msg.Message, reliable bool) error {
		out = append(out, sent{m, reliable})
		return nil
	}
	return s, &out
}

func TestCapturesReplay(t *testing.T) {
	for _, name := range []string{"opensim-nm-ritual-1.jsonl", "opensim-nm-ritual-2.jsonl", "opensim-nm-ritual-linger10s.jsonl"} {
		t.Run(name, func(t *testing.T) {
			caps := readCapture(t, name)
			var mem trace.Memory
			s, out := replaySession(t, caps, &mem)
			var lastTerse *prim.Terse
			n := 0
			for _, c := range caps {
				if !c.ToClient {
					continue
				}
				n++
				if err := s.handle(c.Message); err != nil {
					t.Errorf("%.3f %s: %v", c.T, c.Message.Name(), err)
				}
				if m, ok := c.Message.(*msg.ImprovedTerseObjectUpdate); ok {
					for _, od := range m.ObjectData {
						var tr prim.Terse
						if err := tr.Decode(od.Data); err != nil {
							t.Fatal(err)
						}
						lastTerse = &tr
					}
				}
			}
			if n == 0 {
				t.Fatal("no datagram to the client")
			}

			// The region, from RegionHandshake and AgentMovementComplete.
			rg := s.Region()
			if rg.Name != "Default Region" || rg.ID.IsZero() || rg.WaterHeight != 20 {
				t.Errorf("region = %+v", rg)
			}
			if rg.Handle != ritual.HandleFromGrid(1000, 1000) {
				t.Errorf("handle = %v", rg.Handle)
			}
			mv, ok := s.Movement()
			if !ok || !near(mv.Position.X, 128, 0.01) || !near(mv.Position.Y, 128, 0.01) || mv.Position.Z <= 20 ||
				mv.ChannelVersion != "OpenSim 0.9.2.2 Yeti Release (Unix/Mono)" || mv.RegionHandle != rg.Handle {
				t.Errorf("movement = %+v, %v", mv, ok)
			}

			// The reply to the handshake, reliable, with NMV's flags.
			if len(*out) == 0 {
				t.Fatal("nothing sent")
			}
			rhr, ok := (*out)[0].Message.(*msg.RegionHandshakeReply)
			if !ok || !(*out)[0].Reliable || rhr.RegionInfo.Flags != 0x5 || rhr.AgentData.AgentID != s.AgentID() {
				t.Errorf("first sent = %#v", (*out)[0])
			}

			// The agent's own avatar.
			av, ok := s.World().Avatar()
			if !ok {
				t.Fatal("the agent's own avatar was not recognised")
			}
			if av.FullID != s.AgentID() || av.PCode != prim.PCodeAvatar || !av.IsAvatar() {
				t.Errorf("avatar = %+v", av)
			}
			if av.NameValue("FirstName") != "Test" || av.NameValue("LastName") != "User" {
				t.Errorf("avatar name values = %+v", av.NameValues)
			}
			if lastTerse == nil {
				// The full update carries OpenSim's placeholder plane.
				if av.CollisionPlane != (ritual.Vector4{W: 1}) || av.Kind != UpdateFull {
					t.Errorf("avatar = %+v", av)
				}
			} else {
				// Terse updates carry the ground under the feet, facing up.
				if av.Kind != UpdateTerse || av.Position != lastTerse.Position || av.Rotation != lastTerse.Rotation ||
					av.CollisionPlane != lastTerse.CollisionPlane || av.CollisionPlane.Z < 0.99 || av.Updates != 3 {
					t.Errorf("avatar after terse updates = %+v, last terse %+v", av, lastTerse)
				}
			}

			st := s.World().Stats()
			tr := s.Terrain()
			if name == "opensim-nm-ritual-linger10s.jsonl" {
				if st.LandPackets != 11 || st.WindPackets != 1 || st.WindPatches != 2 {
					t.Errorf("layer packets: %+v", st)
				}
				if tr.Patches != 256 || tr.Of != 256 || !tr.Complete() {
					t.Errorf("terrain %d/%d", tr.Patches, tr.Of)
				}
				if st.TerseUpdates != 2 || st.TerseUnknown != 0 {
					t.Errorf("terse: %+v", st)
				}
				// The avatar stands on the ground: the terrain under it is a
				// little below its centre.
				h := tr.Heightmap.Z[128*256+128]
				if d := mv.Position.Z - h; d < 0 || d > 2 {
					t.Errorf("terrain at (128,128) = %v, avatar at z %v", h, mv.Position.Z)
				}
				evs := mem.Events()
				tracetest.ExpectOrder(t, evs,
					"[CLIENT] [UDP] HANDSHAKE", "[CLIENT] [UDP] CONNECTED", "[CLIENT] [UDP] MOVEMENT COMPLETE",
					"[CLIENT] [UDP] FIRST OBJECT", "[CLIENT] [UDP] TERRAIN COMPLETE", "[CLIENT] [UDP] COMPLETE")
				if m, _ := tracetest.First[*trace.Milestone](evs); m.Step != trace.MilestoneHandshake || m.Detail != "Default Region" {
					t.Errorf("first milestone = %+v", m)
				}
				for _, a := range tracetest.All[*trace.Anomaly](evs) {
					t.Errorf("anomaly replaying OpenSimulator's order: %+v", a)
				}
			} else if tr.Patches == 0 || tr.Patches == 256 {
				t.Errorf("short capture: terrain %d/%d", tr.Patches, tr.Of)
			}
			t.Logf("%d datagrams to the client, %d objects, terrain %d/%d, stats %+v", n, s.World().Len(), tr.Patches, tr.Of, st)
		})
	}
}

func near(a, b, tol float32) bool { return a-b <= tol && b-a <= tol }
