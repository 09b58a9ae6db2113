package prim

import (
	"bytes"
	"errors"
	"testing"

	"ritual"
)

const (
	epFlexible   = "1000 10000000" + "8f 99 67 05" + "00000000 00000000 000080bf"
	epLight      = "2000 10000000" + "ff 80 00 cc" + "0000a040 0000803f 00000040"
	epSculpt     = "3000 11000000" + "11111111111111111111111111111111" + "41"
	epLightImage = "4000 1c000000" + "22222222222222222222222222222222" + "0000803f 00002041 00000000"
	epMesh       = "6000 11000000" + "22222222222222222222222222222222" + "05"
	epExtMesh    = "7000 04000000" + "01000000"
	epRenderMat  = "8000 03000000" + "aabbcc"
)

func allParams() ExtraParams {
	return ExtraParams{
		Flexible:   &Flexible{Softness: 3, Tension: 1.5, Drag: 2.5, Gravity: 0.3, Wind: 0.5, Force: ritual.Vector3{Z: -1}},
		Light:      &Light{Color: Color{255, 128, 0, 204}, Radius: 5, Cutoff: 1, Falloff: 2},
		Sculpt:     &Sculpt{Texture: texA, Type: SculptSphere | SculptInvert},
		LightImage: &LightImage{Texture: texB, FOV: 1, Focus: 10},
		Mesh:       &Sculpt{Texture: texB, Type: SculptMesh},
		Other: []ExtraParam{
			{Type: ExtraRenderMaterial, Data: []byte{0xaa, 0xbb, 0xcc}},
			{Type: ExtraExtendedMesh, Data: []byte{1, 0, 0, 0}},
		},
	}
}

func TestExtraParamsTable(t *testing.T) {
	tests := []struct {
		name string
		p    ExtraParams
		hex  string
	}{
		{"none: a single count byte", ExtraParams{}, "00"},
		{"light: colour bytes (A = intensity 0.8), radius 5, cutoff 1, falloff 2", ExtraParams{Light: allParams().Light}, "01" + epLight},
		{"flexible: softness 3 in the top bits, tension 1.5, drag 2.5, gravity 0.3 (103), wind 0.5, force -z",
			ExtraParams{Flexible: allParams().Flexible}, "01" + epFlexible},
		{"all, written in ascending type order", allParams(),
			"07" + epFlexible + epLight + epSculpt + epLightImage + epMesh + epExtMesh + epRenderMat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := unhex(t, tt.hex)
			got, err := tt.p.AppendTo(nil)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("AppendTo: %v\n got % x\nwant % x", err, got, want)
			}
			var d ExtraParams
			if err := d.Decode(want); err != nil {
				t.Fatal(err)
			}
			again, err := d.AppendTo(nil)
			if err != nil || !bytes.Equal(again, want) {
				t.Fatalf("re-encoding: %v\n got % x\nwant % x", err, again, want)
			}
		})
	}
}

func TestExtraParamsDecodeValues(t *testing.T) {
	var d ExtraParams
	if err := d.Decode(unhex(t, "07"+epMesh+epRenderMat+epLight+epExtMesh+epFlexible+epLightImage+epSculpt)); err != nil {
		t.Fatal(err)
	}
	want := allParams()
	if *d.Flexible != *want.Flexible || *d.Light != *want.Light || *d.Sculpt != *want.Sculpt ||
		*d.LightImage != *want.LightImage || *d.Mesh != *want.Mesh {
		t.Fatalf("typed params:\n%+v %+v %+v %+v %+v", *d.Flexible, *d.Light, *d.Sculpt, *d.LightImage, *d.Mesh)
	}
	if len(d.Other) != 2 || d.Other[0].Type != ExtraRenderMaterial || d.Other[1].Type != ExtraExtendedMesh ||
		!bytes.Equal(d.Other[1].Data, []byte{1, 0, 0, 0}) {
		t.Fatalf("others %+v", d.Other)
	}
	if d.Sculpt.Type&SculptTypeMask != SculptSphere || d.Sculpt.Type&SculptInvert == 0 {
		t.Fatalf("sculpt type %#x", d.Sculpt.Type)
	}
	// Two lights: the last wins, as in the viewers.
	if err := d.Decode(unhex(t, "02"+epLight+"2000 10000000 01020304 00000000 00000000 00000000")); err != nil {
		t.Fatal(err)
	}
	if d.Light.Color != (Color{1, 2, 3, 4}) || d.Flexible != nil {
		t.Fatalf("%+v", d.Light)
	}
	// Empty field and a lone count byte both mean none.
	for _, b := range [][]byte{nil, {0}} {
		d = allParams()
		if err := d.Decode(b); err != nil || !d.Empty() {
			t.Fatalf("% x: %v %+v", b, err, d)
		}
	}
}

// Every Flexible byte pattern decodes to values that encode back to it.
func TestFlexibleFixedPoints(t *testing.T) {
	for b0 := range 256 {
		for b1 := range 256 {
			p := []byte{byte(b0), byte(b1), byte(b0 ^ b1), byte(b1 - b0), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			var f Flexible
			f.decode(p)
			if got := f.AppendTo(nil); !bytes.Equal(got, p) {
				t.Fatalf("% x -> %+v -> % x", p, f, got)
			}
		}
	}
}

func TestExtraParamsBadInput(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
		off  int
	}{
		{"count 2, one entry", "02" + epLight, ErrShort, 23},
		{"header cut", "01 2000 10", ErrShort, 1},
		{"length beyond the blob", "01 8000 ffffff7f aa", ErrShort, 7},
		{"light of 15 bytes", "01 2000 0f000000" + "ff8000cc 0000a040 0000803f 000000", ErrLength, 7},
		{"sculpt of 18 bytes", "01 3000 12000000" + "11111111111111111111111111111111 0500", ErrLength, 7},
		{"trailing byte", "01" + epLight + "00", ErrTrailing, 23},
	}
	for _, tt := range tests {
		var d ExtraParams
		err := d.Decode(unhex(t, tt.hex))
		var de *DecodeError
		if !errors.Is(err, tt.want) || !errors.As(err, &de) || de.Offset != tt.off || de.Blob != "ExtraParams" {
			t.Errorf("%s: err = %v, want %v at %d", tt.name, err, tt.want, tt.off)
		}
	}
}

func TestExtraParamsEncodeErrors(t *testing.T) {
	p := ExtraParams{Other: []ExtraParam{{Type: ExtraLight, Data: make([]byte, 16)}}}
	if _, err := p.AppendTo(nil); !errors.Is(err, ErrRange) {
		t.Errorf("typed type in Other: err = %v", err)
	}
	p = ExtraParams{Light: &Light{}, Other: make([]ExtraParam, 255)}
	for i := range p.Other {
		p.Other[i].Type = 0x100 + ExtraParamType(i)
	}
	if _, err := p.AppendTo(nil); !errors.Is(err, ErrRange) {
		t.Errorf("256 entries: err = %v", err)
	}
	p.Light = nil
	b, err := p.AppendTo(nil)
	if err != nil || b[0] != 255 {
		t.Fatalf("255 entries: %v", err)
	}
	var d ExtraParams
	if err := d.Decode(b); err != nil || len(d.Other) != 255 {
		t.Fatalf("decoding 255 entries: %v", err)
	}
}

func TestExtraParamTypeString(t *testing.T) {
	if ExtraMesh.String() != "Mesh" || ExtraParamType(0x1234).String() != "0x1234" {
		t.Fatal(ExtraMesh.String(), ExtraParamType(0x1234).String())
	}
}
