package client

import (
	"errors"
	"strings"
	"testing"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/protocol/terrain"
)

// sceneMessages are the messages World.Apply reads, by the index a fuzz
// input chooses.
var sceneMessages = []msg.ID{
	msg.IDObjectUpdate, msg.IDObjectUpdateCompressed, msg.IDImprovedTerseObjectUpdate,
	msg.IDObjectUpdateCached, msg.IDKillObject, msg.IDLayerData,
}

func sceneIndex(id msg.ID) int {
	for i, s := range sceneMessages {
		if s == id {
			return i
		}
	}
	return -1
}

// FuzzWorldApply feeds message bodies of the scene messages to a world,
// twice each (a resend): it never panics, keeps its counts consistent, and
// a body applied again leaves as many objects and patches and asks for
// nothing more.
func FuzzWorldApply(f *testing.F) {
	for _, name := range []string{"opensim-nm-ritual-linger10s.jsonl", "opensim-nm-ritual-1.jsonl"} {
		for _, c := range readCapture(f, name) {
			if i := sceneIndex(c.Message.ID()); i >= 0 && c.ToClient {
				f.Add(uint8(i), c.Message.AppendTo(nil))
			}
		}
	}
	add := func(m msg.Message) { f.Add(uint8(sceneIndex(m.ID())), m.AppendTo(nil)) }
	add(&msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{fullPrim(10, boxID, ritual.Vector3{X: 1}), fullAvatar(11, testAgent)}})
	add(&msg.ObjectUpdateCompressed{ObjectData: []msg.ObjectUpdateCompressedObjectData{compressedBlob(f, &prim.Compressed{
		FullID: ballID, LocalID: 12, PCode: prim.PCodePrim, Rotation: ritual.Quaternion{W: 1}, Text: "t", NameValue: "A B C D e", ParentID: 10,
	})}})
	add(&msg.ImprovedTerseObjectUpdate{ObjectData: []msg.ImprovedTerseObjectUpdateObjectData{terseBlock(prim.Terse{LocalID: 10, Rotation: ritual.Quaternion{W: 1}}, nil)}})
	add(&msg.ObjectUpdateCached{ObjectData: []msg.ObjectUpdateCachedObjectData{{ID: 10, CRC: 1}, {ID: 13}}})
	add(&msg.KillObject{ObjectData: []msg.KillObjectObjectData{{ID: 10}}})
	wind, _ := terrain.EncodePatches(nil, terrain.LayerWind, []terrain.Patch{{}, {}})
	add(&msg.LayerData{LayerID: msg.LayerDataLayerID{Type: uint8(terrain.LayerWind)}, LayerData: msg.LayerDataLayerData{Data: wind}})

	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		m, _ := msg.New(sceneMessages[int(kind)%len(sceneMessages)])
		if err := m.Decode(body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
			return
		}
		w, err := NewWorld(testAgent, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		r1, err1 := w.Apply(m)
		n1, p1 := w.Len(), w.patchesOrDie(t)
		r2, err2 := w.Apply(m)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("applying again: %v, then %v", err1, err2)
		}
		if w.Len() != n1 || w.patchesOrDie(t) != p1 {
			t.Fatalf("applying again changed the world: %d objects, %d patches, then %d, %d", n1, p1, w.Len(), w.patchesOrDie(t))
		}
		if len(r2.CacheMisses) != 0 {
			t.Fatalf("applying again asked again for %v (first %v)", r2.CacheMisses, r1.CacheMisses)
		}
		if got := len(w.Objects()); got != w.Len() {
			t.Fatalf("Objects has %d, Len says %d", got, w.Len())
		}
		if av, ok := w.Avatar(); ok && av.FullID != testAgent {
			t.Fatalf("avatar %v is not the agent", av.FullID)
		}
	})
}

// patchesOrDie returns the land patches received, failing t if the count
// is beyond the region's.
func (w *World) patchesOrDie(t *testing.T) int {
	p, of := w.TerrainProgress()
	if p < 0 || p > of {
		t.Fatalf("%d/%d patches", p, of)
	}
	return p
}

// FuzzParseNameValues: parsing never panics, yields no empty names, and
// printing what it parsed and parsing that again gives the same lines.
func FuzzParseNameValues(f *testing.F) {
	f.Add("FirstName STRING RW SV Test\nLastName STRING RW SV User\nTitle STRING RW SV ")
	f.Add("Owner STRING RW SV  Test  User \r\n\n")
	f.Add("A\tB C")
	f.Add("\n\n \t\r")
	f.Fuzz(func(t *testing.T, s string) {
		nvs := ParseNameValues(s)
		lines := make([]string, len(nvs))
		for i, nv := range nvs {
			if nv.Name == "" {
				t.Fatalf("empty name in %+v", nv)
			}
			parts := []string{nv.Name, nv.Type, nv.Class, nv.SendTo, nv.Value}
			for len(parts) > 1 && parts[len(parts)-1] == "" {
				parts = parts[:len(parts)-1]
			}
			lines[i] = strings.Join(parts, " ")
		}
		again := ParseNameValues(strings.Join(lines, "\n"))
		if len(again) != len(nvs) {
			t.Fatalf("%q: %+v, then %+v", s, nvs, again)
		}
		for i := range nvs {
			if again[i] != nvs[i] {
				t.Fatalf("%q: line %d %+v, then %+v", s, i, nvs[i], again[i])
			}
		}
	})
}
