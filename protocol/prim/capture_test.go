package prim

import (
	"errors"
	"strings"
	"testing"
)

// Every ObjectUpdate OpenSimulator sent in the recorded sessions (the
// avatar's own, PCode 47): its blobs decode as OpenSimulator's avatar
// updates are described (PROTOCOL.md 5.3): the 76-byte motion blob (see
// TestMotionCaptures), no TextureEntry (appearance travels separately), no
// extra parameters, no texture animation, and all shape fields zero.
func TestObjectUpdateCaptures(t *testing.T) {
	n := 0
	for _, file := range []string{"opensim-nm-ritual-1.jsonl", "opensim-nm-ritual-2.jsonl", "opensim-nm-ritual-linger10s.jsonl"} {
		for _, body := range serverMessages(t, file, 12) {
			n++
			fields, _ := objectUpdate(t, body)
			if fields["PCode"][0] != PCodeAvatar || fields["Material"][0] != MaterialFlesh {
				t.Errorf("%s: PCode %d Material %d", file, fields["PCode"][0], fields["Material"][0])
			}
			var te TextureEntry
			if err := te.Decode(fields["TextureEntry"]); !errors.Is(err, ErrEmpty) {
				t.Errorf("%s: TextureEntry (%d bytes): err = %v, want ErrEmpty", file, len(fields["TextureEntry"]), err)
			}
			var ep ExtraParams
			if err := ep.Decode(fields["ExtraParams"]); err != nil || !ep.Empty() {
				t.Errorf("%s: ExtraParams % x: %v", file, fields["ExtraParams"], err)
			}
			if len(fields["TextureAnim"]) != 0 || len(fields["PSBlock"]) != 0 {
				t.Errorf("%s: TextureAnim % x PSBlock % x", file, fields["TextureAnim"], fields["PSBlock"])
			}
			// OpenSimulator leaves every path and profile field of an avatar
			// at 0 on the wire (so PathScale reads as 2.0, not 1.0).
			shapeFields := objectUpdateBlock[11:29]
			if shapeFields[0].name != "PathCurve" || shapeFields[17].name != "ProfileHollow" {
				t.Fatal("objectUpdateBlock changed: fix the shape field range")
			}
			for _, f := range shapeFields {
				for _, c := range fields[f.name] {
					if c != 0 {
						t.Errorf("%s: avatar %s = % x", file, f.name, fields[f.name])
					}
				}
			}
			nv := string(fields["NameValue"])
			if !strings.Contains(nv, "FirstName STRING RW SV Test") || !strings.Contains(nv, "LastName STRING RW SV User") {
				t.Errorf("%s: NameValue %q", file, nv)
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d ObjectUpdate packets, want 3 (one per session)", n)
	}
}
