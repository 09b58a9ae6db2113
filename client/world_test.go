package client

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/protocol/terrain"
)

var (
	testAgent   = ritual.MustParseUUID("11111111-2222-3333-4444-555555555555")
	testSession = ritual.MustParseUUID("66666666-7777-8888-9999-aaaaaaaaaaaa")
	boxID       = ritual.MustParseUUID("b0b0b0b0-0000-4000-8000-000000000001")
	ballID      = ritual.MustParseUUID("ba11ba11-0000-4000-8000-000000000002")
	texture     = ritual.MustParseUUID("89556747-24cb-43ed-920b-47caed15465f")
)

// fullPrim builds an ObjectUpdate block for a box with a texture entry,
// hover text, name values and a light.
func fullPrim(localID uint32, id ritual.UUID, pos ritual.Vector3) msg.ObjectUpdateObjectData {
	mo := prim.Motion{Position: pos, Rotation: ritual.Quaternion{W: 1}, Velocity: ritual.Vector3{X: 1}}
	te := prim.NewTextureEntry(texture)
	face := prim.DefaultFace(texture)
	face.Color = prim.Color{R: 255, A: 255}
	if err := te.SetFace(2, face); err != nil {
		panic(err)
	}
	ep := prim.ExtraParams{Light: &prim.Light{Color: prim.Color{R: 255, G: 128, B: 0, A: 255}, Radius: 10, Falloff: 0.75}}
	epb, err := ep.AppendTo(nil)
	if err != nil {
		panic(err)
	}
	sp := prim.NewShape(prim.PrimBox).Params()
	return msg.ObjectUpdateObjectData{
		ID: localID, FullID: id, CRC: 7, PCode: prim.PCodePrim, Material: prim.MaterialWood,
		Scale:      ritual.Vector3{X: 0.5, Y: 0.5, Z: 0.5},
		ObjectData: mo.AppendTo(nil),
		PathCurve:  sp.PathCurve, ProfileCurve: sp.ProfileCurve, PathScaleX: sp.PathScaleX, PathScaleY: sp.PathScaleY,
		UpdateFlags:  0x20,
		TextureEntry: te.AppendTo(nil),
		NameValue:    []byte("Owner STRING RW SV Test User\x00"),
		Text:         []byte("hello\x00"),
		TextColor:    [4]byte{255, 255, 255, 0},
		ExtraParams:  epb,
	}
}

func fullAvatar(localID uint32, id ritual.UUID) msg.ObjectUpdateObjectData {
	mo := prim.Motion{HasCollisionPlane: true, CollisionPlane: ritual.Vector4{W: 1},
		Position: ritual.Vector3{X: 128, Y: 128, Z: 25}, Rotation: ritual.Quaternion{W: 1}}
	return msg.ObjectUpdateObjectData{
		ID: localID, FullID: id, PCode: prim.PCodeAvatar, Material: prim.MaterialFlesh,
		Scale:      ritual.Vector3{X: 0.45, Y: 0.6, Z: 1.9},
		ObjectData: mo.AppendTo(nil),
		NameValue:  []byte("FirstName STRING RW SV Test\nLastName STRING RW SV User\nTitle STRING RW SV \x00"),
	}
}

func compressedBlob(t testing.TB, c *prim.Compressed) msg.ObjectUpdateCompressedObjectData {
	b, err := c.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	return msg.ObjectUpdateCompressedObjectData{UpdateFlags: 0x10, Data: b}
}

func terseBlock(tr prim.Terse, te []byte) msg.ImprovedTerseObjectUpdateObjectData {
	return msg.ImprovedTerseObjectUpdateObjectData{Data: tr.AppendTo(nil), TextureEntry: prim.AppendTerseTextureEntry(nil, te)}
}

func TestWorldApply(t *testing.T) {
	w, err := NewWorld(testAgent, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	red := prim.NewTextureEntry(texture)
	red.Default.Color = prim.Color{R: 255, A: 255}

	steps := []struct {
		name    string
		m       msg.Message
		wantNew int
		misses  []uint32
		errHas  string
		check   func(t *testing.T)
	}{{
		name:    "full: a prim and the agent's avatar",
		m:       &msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{fullPrim(10, boxID, ritual.Vector3{X: 10, Y: 20, Z: 30}), fullAvatar(11, testAgent)}},
		wantNew: 2,
		check: func(t *testing.T) {
			o, ok := w.Object(10)
			if !ok {
				t.Fatal("box missing")
			}
			if o.FullID != boxID || o.PCode != prim.PCodePrim || o.Material != prim.MaterialWood || o.CRC != 7 || o.UpdateFlags != 0x20 || o.Kind != UpdateFull {
				t.Errorf("box = %+v", o)
			}
			if o.Position != (ritual.Vector3{X: 10, Y: 20, Z: 30}) || o.Velocity.X != 1 || o.Rotation.W != 1 || o.Scale.X != 0.5 {
				t.Errorf("box motion = %v %v %v %v", o.Position, o.Velocity, o.Rotation, o.Scale)
			}
			if o.Shape.Type() != prim.PrimBox {
				t.Errorf("box shape = %+v", o.Shape)
			}
			if o.TextureEntry == nil || o.TextureEntry.Default.TextureID != texture || o.TextureEntry.Face(2).Color != (prim.Color{R: 255, A: 255}) || o.TextureEntry.Face(1).Color != prim.White {
				t.Errorf("box texture entry = %+v", o.TextureEntry)
			}
			if o.ExtraParams.Light == nil || o.ExtraParams.Light.Radius != 10 {
				t.Errorf("box extra params = %+v", o.ExtraParams)
			}
			if o.Text != "hello" || o.TextColor != prim.White || o.NameValue("Owner") != "Test User" {
				t.Errorf("box text %q %v, name values %+v", o.Text, o.TextColor, o.NameValues)
			}
			av, ok := w.Avatar()
			if !ok || av.LocalID != 11 || av.NameValue("FirstName") != "Test" || av.TextureEntry != nil || av.CollisionPlane.W != 1 {
				t.Errorf("avatar = %+v, %v", av, ok)
			}
		},
	}, {
		name: "compressed: a sphere with text, parent and name values",
		m: &msg.ObjectUpdateCompressed{ObjectData: []msg.ObjectUpdateCompressedObjectData{compressedBlob(t, &prim.Compressed{
			FullID: ballID, LocalID: 12, PCode: prim.PCodePrim, CRC: 3, Material: prim.MaterialGlass,
			Scale: ritual.Vector3{X: 1, Y: 1, Z: 1}, Position: ritual.Vector3{X: 1, Y: 2, Z: 3}, Rotation: ritual.Quaternion{W: 1},
			ParentID: 10, Text: "ball", TextColor: prim.Color{G: 255, A: 255}, NameValue: "Note STRING RW SV round and red",
			Shape: prim.NewShape(prim.PrimSphere).Params(), TextureEntry: red.AppendTo(nil),
		})}},
		wantNew: 1,
		check: func(t *testing.T) {
			o, ok := w.ObjectByID(ballID)
			if !ok || o.LocalID != 12 || o.ParentID != 10 || o.Kind != UpdateCompressed || o.UpdateFlags != 0x10 || o.Material != prim.MaterialGlass {
				t.Fatalf("ball = %+v, %v", o, ok)
			}
			if o.Position != (ritual.Vector3{X: 1, Y: 2, Z: 3}) || o.Shape.Type() != prim.PrimSphere || o.Text != "ball" || o.TextColor != (prim.Color{G: 255, A: 255}) {
				t.Errorf("ball = %+v", o)
			}
			if o.NameValue("Note") != "round and red" || o.TextureEntry == nil || o.TextureEntry.Face(0).Color != (prim.Color{R: 255, A: 255}) {
				t.Errorf("ball name values %+v, texture entry %+v", o.NameValues, o.TextureEntry)
			}
		},
	}, {
		name: "terse: the box moves and turns red, the avatar moves",
		m: &msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{
			terseBlock(prim.Terse{LocalID: 10, Position: ritual.Vector3{X: 11, Y: 21, Z: 31}, Rotation: ritual.Quaternion{Z: 1}}, red.AppendTo(nil)),
			terseBlock(prim.Terse{LocalID: 11, IsAvatar: true, CollisionPlane: ritual.Vector4{Z: 1, W: 24}, Position: ritual.Vector3{X: 129, Y: 128, Z: 25}, Rotation: ritual.Quaternion{W: 1}}, nil),
		}},
		check: func(t *testing.T) {
			o, _ := w.Object(10)
			if o.Position != (ritual.Vector3{X: 11, Y: 21, Z: 31}) || o.Rotation != (ritual.Quaternion{Z: 1}) || o.Kind != UpdateTerse || o.Updates != 2 {
				t.Errorf("box after terse = %+v", o)
			}
			if o.TextureEntry.Face(1).Color != (prim.Color{R: 255, A: 255}) || o.Text != "hello" || o.Scale.X != 0.5 {
				t.Errorf("box after terse kept = %+v", o)
			}
			av, _ := w.Avatar()
			if av.Position.X != 129 || av.CollisionPlane != (ritual.Vector4{Z: 1, W: 24}) || av.TextureEntry != nil {
				t.Errorf("avatar after terse = %+v", av)
			}
		},
	}, {
		name:   "terse for an unknown object: asked for once",
		m:      &msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{terseBlock(prim.Terse{LocalID: 99, Rotation: ritual.Quaternion{W: 1}}, nil)}},
		misses: []uint32{99},
		check: func(t *testing.T) {
			if st := w.Stats(); st.TerseUnknown != 1 || st.TerseUpdates != 2 {
				t.Errorf("stats = %+v", st)
			}
		},
	}, {
		name:   "cached: a known object with its CRC is not asked for, others are",
		m:      &msg.ObjectUpdateCached{ObjectData: []msg.ObjectUpdateCachedObjectData{{ID: 10, CRC: 7}, {ID: 12, CRC: 4}, {ID: 20, CRC: 1, UpdateFlags: 2}, {ID: 99, CRC: 5}}},
		misses: []uint32{12, 20},
		check: func(t *testing.T) {
			c := w.Cached()
			if len(c) != 3 || c[0].LocalID != 12 || c[1] != (CachedObject{LocalID: 20, CRC: 1, UpdateFlags: 2}) || c[2].LocalID != 99 {
				t.Errorf("cached = %+v", c)
			}
			if w.Len() != 3 {
				t.Errorf("cached objects count as known: %d", w.Len())
			}
		},
	}, {
		name:    "full update answering the cache miss",
		m:       &msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{fullPrim(20, ritual.MustParseUUID("c0c0c0c0-0000-4000-8000-000000000003"), ritual.Vector3{X: 5, Y: 5, Z: 5})}},
		wantNew: 1,
		check: func(t *testing.T) {
			c := w.Cached()
			if len(c) != 2 || c[0].LocalID != 12 || c[1].LocalID != 99 {
				t.Errorf("cached = %+v", c)
			}
		},
	}, {
		name: "kill: the ball and the avatar",
		m:    &msg.KillObject{ObjectData: []msg.KillObjectObjectData{{ID: 12}, {ID: 11}, {ID: 1234}}},
		check: func(t *testing.T) {
			if _, ok := w.ObjectByID(ballID); ok {
				t.Error("ball still known")
			}
			if _, ok := w.Avatar(); ok {
				t.Error("avatar still known")
			}
			if w.Len() != 2 || w.Stats().Killed != 2 || len(w.Cached()) != 1 {
				t.Errorf("len %d, stats %+v, cached %v", w.Len(), w.Stats(), w.Cached())
			}
		},
	}, {
		name: "full with a bad motion blob: the good object still applies",
		m: &msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{
			func() msg.ObjectUpdateObjectData {
				o := fullPrim(30, ritual.NewUUID(), ritual.Vector3{})
				o.ObjectData = o.ObjectData[:20]
				return o
			}(),
			fullPrim(31, ritual.NewUUID(), ritual.Vector3{}),
		}},
		wantNew: 1,
		errHas:  "ObjectUpdate object 0 (local id 30): motion",
	}, {
		name:   "compressed cut short",
		m:      &msg.ObjectUpdateCompressed{ObjectData: []msg.ObjectUpdateCompressedObjectData{{Data: make([]byte, 30)}}},
		errHas: "ObjectUpdateCompressed object 0",
	}, {
		name:   "terse of the wrong length",
		m:      &msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{{Data: make([]byte, 43)}}},
		errHas: "ImprovedTerseObjectUpdate object 0",
	}, {
		name: "full with a broken texture entry",
		m: &msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{func() msg.ObjectUpdateObjectData {
			o := fullPrim(32, ritual.NewUUID(), ritual.Vector3{})
			o.TextureEntry = o.TextureEntry[:10]
			return o
		}()}},
		errHas: "TextureEntry",
	}}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r, err := w.Apply(st.m)
			if st.errHas == "" && err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if st.errHas != "" && (err == nil || !strings.Contains(err.Error(), st.errHas)) {
				t.Fatalf("Apply error %v, want one mentioning %q", err, st.errHas)
			}
			if r.NewObjects != st.wantNew || !equalIDs(r.CacheMisses, st.misses) {
				t.Errorf("result = %+v, want %d new, misses %v", r, st.wantNew, st.misses)
			}
			if st.check != nil {
				st.check(t)
			}
		})
	}
}

func equalIDs(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWorldTerrain checks land patches are placed and counted once, and
// wind and cloud are counted but not placed.
func TestWorldTerrain(t *testing.T) {
	w, err := NewWorld(testAgent, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := testHeightmap(t)
	blobs, err := terrain.EncodeRegion(h, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) < 2 {
		t.Fatalf("%d blobs", len(blobs))
	}
	for i, b := range blobs {
		if _, err := w.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerLand)}, LayerData: msg.LayerDataLayerData{Data: b}}); err != nil {
			t.Fatal(err)
		}
		if p, of := w.TerrainProgress(); (p == of) != (i == len(blobs)-1) || of != 256 {
			t.Fatalf("after blob %d: %d/%d", i, p, of)
		}
	}
	// A blob again (a resend the circuit did not catch) counts nothing new.
	w.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerLand)}, LayerData: msg.LayerDataLayerData{Data: blobs[0]}})
	tr := w.Terrain()
	if tr.Patches != 256 || !tr.Complete() {
		t.Fatalf("%d/%d", tr.Patches, tr.Of)
	}
	for _, xy := range [][2]int{{0, 0}, {128, 128}, {255, 3}, {17, 250}} {
		want, got := h.Z[xy[1]*256+xy[0]], tr.Heightmap.Z[xy[1]*256+xy[0]]
		if d := want - got; d > 0.5 || d < -0.5 {
			t.Errorf("height at %v = %v, want %v", xy, got, want)
		}
	}
	// The snapshot is a copy.
	tr.Heightmap.Z[0] = -1000
	if w.Terrain().Heightmap.Z[0] == -1000 {
		t.Error("Terrain returned the world's own heights")
	}

	wind, err := terrain.EncodePatches(nil, terrain.LayerWind, []terrain.Patch{{}, {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerWind)}, LayerData: msg.LayerDataLayerData{Data: wind}}); err != nil {
		t.Fatal(err)
	}
	cloud, _ := terrain.EncodePatches(nil, terrain.LayerCloud, []terrain.Patch{{X: 1}})
	if _, err := w.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerCloud)}, LayerData: msg.LayerDataLayerData{Data: cloud}}); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.LandPackets != len(blobs)+1 || st.WindPackets != 1 || st.WindPatches != 2 || st.CloudPackets != 1 || st.CloudPatches != 1 {
		t.Errorf("stats = %+v", st)
	}

	// A land message whose blob says wind is refused.
	_, err = w.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerLand)}, LayerData: msg.LayerDataLayerData{Data: wind}})
	if err == nil || !strings.Contains(err.Error(), "blob Wind") {
		t.Errorf("mismatched layer: %v", err)
	}
	// A truncated blob is an error wrapping the codec's.
	_, err = w.Apply(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerLand)}, LayerData: msg.LayerDataLayerData{Data: blobs[0][:40]}})
	if !errors.Is(err, terrain.ErrTruncated) {
		t.Errorf("truncated blob: %v", err)
	}
}

// testHeightmap is a smooth 256×256 terrain: a slope with a hill.
func testHeightmap(t testing.TB) *terrain.Heightmap {
	h, err := terrain.NewHeightmap(256, 256)
	if err != nil {
		t.Fatal(err)
	}
	for y := range 256 {
		for x := range 256 {
			dx, dy := float32(x-128), float32(y-128)
			h.Z[y*256+x] = 20 + float32(x)*0.02 + 8/(1+(dx*dx+dy*dy)/900)
		}
	}
	return h
}

func TestNewWorldSizes(t *testing.T) {
	for _, c := range []struct {
		x, y int
		ok   bool
	}{{0, 0, true}, {512, 256, true}, {4096, 4096, true}, {100, 256, false}, {-16, 256, false}, {8192, 256, false}} {
		w, err := NewWorld(testAgent, c.x, c.y)
		if (err == nil) != c.ok {
			t.Errorf("NewWorld(%d, %d): %v", c.x, c.y, err)
			continue
		}
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Errorf("NewWorld(%d, %d): %v does not wrap ErrConfig", c.x, c.y, err)
		}
		if w != nil {
			if _, of := w.TerrainProgress(); of != max(c.x, 256)/16*max(c.y, 256)/16 && c.x != 0 {
				t.Errorf("NewWorld(%d, %d): %d patches", c.x, c.y, of)
			}
		}
	}
}

func TestParseNameValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []NameValue
	}{
		{"", nil},
		{"FirstName STRING RW SV Test\nLastName STRING RW SV User\nTitle STRING RW SV ", []NameValue{
			{"FirstName", "STRING", "RW", "SV", "Test"}, {"LastName", "STRING", "RW", "SV", "User"}, {"Title", "STRING", "RW", "SV", ""}}},
		{"Owner STRING RW SV  Test  User \r\n\n", []NameValue{{"Owner", "STRING", "RW", "SV", "Test  User "}}},
		{"Lonely", []NameValue{{Name: "Lonely"}}},
		{"A\tB C", []NameValue{{Name: "A", Type: "B", Class: "C"}}},
	} {
		got := ParseNameValues(c.in)
		if len(got) != len(c.want) {
			t.Errorf("ParseNameValues(%q) = %+v", c.in, got)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseNameValues(%q)[%d] = %+v, want %+v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

// TestOutgoingWire pins the bytes of what the session sends, as a viewer
// would put them on the wire.
func TestOutgoingWire(t *testing.T) {
	s, out := replaySession(t, []captured{{Message: &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{Code: 5, ID: testAgent, SessionID: testSession}}}}, nil)
	s.onHandshake(&msg.RegionHandshake{RegionInfo: msg.RegionHandshakeRegionInfo{SimName: []byte("R\x00")}})
	s.requestObjects([]uint32{0x01020304, 0x0a0b0c0d})
	s.sendAgentUpdate()
	if len(*out) != 3 {
		t.Fatalf("sent %d messages", len(*out))
	}
	for _, c := range []struct {
		name string
		m    msg.Message
		want string
	}{{
		// Low 149, zerocoded: AgentID, SessionID, Flags 0x5.
		"RegionHandshakeReply", (*out)[0].Message,
		"c0 00000003 00 ffff000195 11111111222233334444555555555555 66666666777788889999aaaaaaaaaaaa 050003",
	}, {
		// Medium 3, zerocoded: two objects, CacheMissType 0.
		"RequestMultipleObjects", (*out)[1].Message,
		"c0 00000003 00 ff03 11111111222233334444555555555555 66666666777788889999aaaaaaaaaaaa 02 0001 04030201 0001 0d0c0b0a",
	}, {
		// Low 81, zerocoded: CircuitCode 5 and GenCounter 0 (05 then seven
		// zeros), then 28 bytes of F32: 1.5 Mbit/s split 10, 17.2, 5, 5,
		// 23.4, 23.4, 16 % (150000 = 00 7c 12 48, each leading zero coded).
		"AgentThrottle", &msg.AgentThrottle{
			AgentData: msg.AgentThrottleAgentData{AgentID: testAgent, SessionID: testSession, CircuitCode: 5},
			Throttle:  msg.AgentThrottleThrottle{Throttles: throttles(DefaultThrottle)},
		},
		"c0 00000003 00 ffff000151 11111111222233334444555555555555 66666666777788889999aaaaaaaaaaaa 05 0007 1c 0001 7c1248 0001 f47b48 0001 7c9247 0001 7c9247 0001 63ab48 0001 63ab48 0001 606a48",
	}} {
		b, err := msg.EncodePacket(nil, msg.FlagReliable|msg.FlagZerocoded, 3, c.m, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(c.want, " ", "")
		if got := hex.EncodeToString(b); got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
	// AgentUpdate: unreliable, facing east before AgentMovementComplete.
	au, ok := (*out)[2].Message.(*msg.AgentUpdate)
	if !ok || (*out)[2].Reliable || au.AgentData.CameraAtAxis != (ritual.Vector3{X: 1}) || au.AgentData.BodyRotation != (ritual.Quaternion{W: 1}) || au.AgentData.Far != DefaultDrawDistance {
		t.Errorf("AgentUpdate = %+v (reliable %v)", au, (*out)[2].Reliable)
	}
}
