package prim

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"ritual"
)

func near(a, b, tol float32) bool { return math.Abs(float64(a-b)) <= float64(tol) }

func nearVec(a, b ritual.Vector3, tol float32) bool {
	return near(a.X, b.X, tol) && near(a.Y, b.Y, tol) && near(a.Z, b.Z, tol)
}

func nearQuat(a, b ritual.Quaternion, tol float32) bool {
	return near(a.X, b.X, tol) && near(a.Y, b.Y, tol) && near(a.Z, b.Z, tol) && near(a.W, b.W, tol)
}

// Wire examples of every ObjectData layout. Values are chosen to be exact
// codes so the table documents the bytes.
func TestMotionTable(t *testing.T) {
	tests := []struct {
		name string
		m    Motion
		hex  string
	}{
		{
			name: "60 float: the 0.5 m box of object_update_box.json at (128,128,25)",
			m:    Motion{Position: ritual.Vector3{X: 128, Y: 128, Z: 25}, Rotation: ritual.IdentityQuaternion},
			hex: "00000043 00000043 0000c841" + "00000000 00000000 00000000" + "00000000 00000000 00000000" +
				"00000000 00000000 00000000" + "00000000 00000000 00000000",
		},
		{
			name: "76 float: avatar with collision plane (0,0,0,1), moving +x at 2 m/s, turned 180° about z",
			m: Motion{HasCollisionPlane: true, CollisionPlane: ritual.Vector4{W: 1},
				Position: ritual.Vector3{X: 10, Y: 20, Z: 30}, Velocity: ritual.Vector3{X: 2},
				Rotation: ritual.Quaternion{Z: 1}, AngularVelocity: ritual.Vector3{Z: -0.5}},
			hex: "00000000 00000000 00000000 0000803f" + "00002041 0000a041 0000f041" + "00000040 00000000 00000000" +
				"00000000 00000000 00000000" + "00000000 00000000 0000803f" + "00000000 00000000 000000bf",
		},
		{
			name: "60 float: W<0 is sent as the same rotation with W>=0",
			m:    Motion{Rotation: ritual.Quaternion{X: 0, Y: 0, Z: -0.6, W: -0.8}},
			hex: "00000000 00000000 00000000" + "00000000 00000000 00000000" + "00000000 00000000 00000000" +
				"00000000 00000000 9a99193f" + "00000000 00000000 00000000",
		},
		{
			name: "32 u16: position -128..384 / -256..768, vectors ±256, rotation ±1",
			m: Motion{Form: MotionU16, Position: ritual.Vector3{X: -128, Y: 384, Z: 768},
				Velocity: ritual.Vector3{X: -256, Y: 256}, Acceleration: ritual.Vector3{Z: 256},
				Rotation: ritual.Quaternion{X: -1, W: 1}, AngularVelocity: ritual.Vector3{Y: -256}},
			hex: "0000 ffff ffff" + "0000 ffff ff7f" + "ff7f ff7f ffff" + "0000 ff7f ff7f ffff" + "ff7f 0000 ff7f",
		},
		{
			name: "48 u16: collision plane first",
			m: Motion{Form: MotionU16, HasCollisionPlane: true, CollisionPlane: ritual.Vector4{Z: 1},
				Position: ritual.Vector3{X: -128, Y: -128, Z: -256}, Rotation: ritual.Quaternion{W: 1}},
			hex: "00000000 00000000 0000803f 00000000" + "0000 0000 0000" + "ff7f ff7f ff7f" + "ff7f ff7f ff7f" +
				"ff7f ff7f ff7f ffff" + "ff7f ff7f ff7f",
		},
		{
			name: "16 u8: everything ±256, rotation ±1; a collision plane is not sent",
			m: Motion{Form: MotionU8, HasCollisionPlane: true, CollisionPlane: ritual.Vector4{W: 1},
				Position: ritual.Vector3{X: 256, Y: -256}, Velocity: ritual.Vector3{Z: 256},
				Rotation: ritual.Quaternion{Y: -1, W: 1}, AngularVelocity: ritual.Vector3{X: -256}},
			hex: "ff 00 7f" + "7f 7f ff" + "7f 7f 7f" + "7f 00 7f ff" + "00 7f 7f",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			got := tt.m.AppendTo(nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendTo:\n got % x\nwant % x", got, want)
			}
			if tt.m.Len() != len(want) {
				t.Errorf("Len = %d, want %d", tt.m.Len(), len(want))
			}
			var m Motion
			if err := m.Decode(want); err != nil {
				t.Fatal(err)
			}
			if again := m.AppendTo(nil); !bytes.Equal(again, want) {
				t.Fatalf("decode+encode:\n got % x\nwant % x", again, want)
			}
			if m.Form != tt.m.Form || m.HasCollisionPlane != (tt.m.HasCollisionPlane && tt.m.Form != MotionU8) {
				t.Errorf("decoded form %v plane %v", m.Form, m.HasCollisionPlane)
			}
		})
	}
}

// The ObjectData blob of object_update_box.json, located in the packet by
// walking the ObjectUpdate block: the box at (128,128,25), at rest,
// unrotated.
func TestMotionVectorObjectUpdateBox(t *testing.T) {
	v := loadVector(t, "object_update_box.json")
	body := unhex(t, v.DecodedHex)[6:] // after the 6-byte packet header
	fields, offsets := objectUpdate(t, body)
	blob := fields["ObjectData"]
	if offsets["ObjectData"] != 6+1+8+2+1+4+1+16+4+1+1+1+12+1-6 {
		t.Errorf("ObjectData at body offset %d", offsets["ObjectData"])
	}
	if want := unhex(t, "00000043000000430000c841"+stringsRepeat("00", 48)); !bytes.Equal(blob, want) {
		t.Fatalf("ObjectData = % x", blob)
	}
	var m Motion
	if err := m.Decode(blob); err != nil {
		t.Fatal(err)
	}
	want := Motion{Form: MotionFloat, Position: ritual.Vector3{X: 128, Y: 128, Z: 25}, Rotation: ritual.IdentityQuaternion}
	if m != want {
		t.Fatalf("decoded %+v, want %+v", m, want)
	}
	if !bytes.Equal(m.AppendTo(nil), blob) {
		t.Fatal("re-encoding differs")
	}
}

// The avatar's own ObjectUpdate in each recorded session: a 76-byte blob
// with collision plane (0,0,0,1), standing near the region centre.
func TestMotionCaptures(t *testing.T) {
	for _, file := range []string{"opensim-nm-ritual-1.jsonl", "opensim-nm-ritual-2.jsonl", "opensim-nm-ritual-linger10s.jsonl"} {
		t.Run(file, func(t *testing.T) {
			msgs := serverMessages(t, file, 12)
			if len(msgs) == 0 {
				t.Fatal("no ObjectUpdate in the capture")
			}
			for _, body := range msgs {
				fields, _ := objectUpdate(t, body)
				if fields["PCode"][0] != PCodeAvatar {
					t.Fatalf("PCode %d, want avatar", fields["PCode"][0])
				}
				blob := fields["ObjectData"]
				var m Motion
				if err := m.Decode(blob); err != nil {
					t.Fatal(err)
				}
				if len(blob) != 76 || m.Form != MotionFloat || !m.HasCollisionPlane || m.CollisionPlane != (ritual.Vector4{W: 1}) {
					t.Fatalf("len %d form %v plane %v %v", len(blob), m.Form, m.HasCollisionPlane, m.CollisionPlane)
				}
				if !near(m.Position.X, 128, 1) || !near(m.Position.Y, 128, 1) || m.Position.Z < 20 || m.Position.Z > 30 {
					t.Errorf("position %v", m.Position)
				}
				if m.Velocity != (ritual.Vector3{}) || m.AngularVelocity != (ritual.Vector3{}) {
					t.Errorf("moving: %v %v", m.Velocity, m.AngularVelocity)
				}
				if n := m.Rotation.X*m.Rotation.X + m.Rotation.Y*m.Rotation.Y + m.Rotation.Z*m.Rotation.Z + m.Rotation.W*m.Rotation.W; !near(n, 1, 1e-5) {
					t.Errorf("rotation %v not unit", m.Rotation)
				}
				if again := m.AppendTo(nil); !bytes.Equal(again, blob) {
					t.Errorf("re-encoding differs:\n got % x\nwant % x", again, blob)
				}
				t.Logf("avatar motion: %s", hex.EncodeToString(blob))
			}
		})
	}
}

func TestMotionBadLength(t *testing.T) {
	for _, n := range []int{0, 1, 15, 17, 31, 33, 47, 49, 59, 61, 75, 77, 255} {
		var m Motion
		err := m.Decode(make([]byte, n))
		var de *DecodeError
		if !errors.Is(err, ErrLength) || !errors.As(err, &de) || de.Blob != "ObjectUpdate.ObjectData" {
			t.Errorf("%d bytes: err = %v", n, err)
		}
	}
}

// Random motions survive each form within the quantization bounds, and a
// decoded blob re-encodes to itself (after the codes that snap to zero have
// settled, in the quantized forms).
func TestMotionRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	f := func(lo, hi float64) float32 { return float32(lo + rng.Float64()*(hi-lo)) }
	for i := range 3000 {
		q := ritual.Quaternion{X: f(-1, 1), Y: f(-1, 1), Z: f(-1, 1), W: f(-1, 1)}.Packed()
		m := Motion{
			Form:              MotionForm(i % 3),
			HasCollisionPlane: i%2 == 0,
			CollisionPlane:    ritual.Vector4{X: f(-1, 1), Y: f(-1, 1), Z: f(-1, 1), W: f(-100, 100)},
			Position:          ritual.Vector3{X: f(-128, 384), Y: f(-128, 384), Z: f(-256, 768)},
			Velocity:          ritual.Vector3{X: f(-256, 256), Y: f(-256, 256), Z: f(-256, 256)},
			Acceleration:      ritual.Vector3{X: f(-256, 256), Y: f(-256, 256), Z: f(-256, 256)},
			Rotation:          q,
			AngularVelocity:   ritual.Vector3{X: f(-256, 256), Y: f(-256, 256), Z: f(-256, 256)},
		}
		if m.Form == MotionU8 {
			m.Position = ritual.Vector3{X: f(-256, 256), Y: f(-256, 256), Z: f(-256, 256)}
		}
		b := m.AppendTo(nil)
		var d Motion
		if err := d.Decode(b); err != nil {
			t.Fatal(err)
		}
		var posTol, vecTol, rotTol float32
		switch m.Form {
		case MotionFloat:
			posTol, vecTol, rotTol = 0, 0, 1e-6
		case MotionU16:
			posTol, vecTol, rotTol = 1024.0/65535*2, 512.0/65535*2, 2.0/65535*2
		case MotionU8:
			posTol, vecTol, rotTol = 512.0/255*2, 512.0/255*2, 2.0/255*2
		}
		if !nearVec(d.Position, m.Position, posTol) || !nearVec(d.Velocity, m.Velocity, vecTol) ||
			!nearVec(d.Acceleration, m.Acceleration, vecTol) || !nearVec(d.AngularVelocity, m.AngularVelocity, vecTol) {
			t.Fatalf("form %v:\n sent %+v\n got  %+v", m.Form, m, d)
		}
		wTol := rotTol
		if m.Form == MotionFloat {
			// W is implied by sqrt(1-x²-y²-z²): float32 rounding of the
			// sum grows to ~3e-4 as W approaches 0.
			wTol = 5e-4
		}
		if !nearVec(ritual.Vector3{X: d.Rotation.X, Y: d.Rotation.Y, Z: d.Rotation.Z}, ritual.Vector3{X: m.Rotation.X, Y: m.Rotation.Y, Z: m.Rotation.Z}, rotTol) ||
			!near(d.Rotation.W, m.Rotation.W, wTol) {
			t.Fatalf("form %v: rotation %v became %v", m.Form, m.Rotation, d.Rotation)
		}
		if m.HasCollisionPlane && m.Form != MotionU8 && d.CollisionPlane != m.CollisionPlane {
			t.Fatalf("plane %v became %v", m.CollisionPlane, d.CollisionPlane)
		}
		b2 := d.AppendTo(nil)
		if m.Form == MotionFloat && !bytes.Equal(b2, b) {
			t.Fatalf("re-encoding differs:\n% x\n% x", b, b2)
		}
		var d2 Motion
		if err := d2.Decode(b2); err != nil {
			t.Fatal(err)
		}
		if b3 := d2.AppendTo(nil); !bytes.Equal(b3, b2) {
			t.Fatalf("form %v: not stable:\n% x\n% x", m.Form, b2, b3)
		}
	}
}

func stringsRepeat(s string, n int) string { return string(bytes.Repeat([]byte(s), n)) }
