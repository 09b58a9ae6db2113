package prim_test

import (
	"fmt"

	"ritual"
	"ritual/protocol/prim"
)

// A server building the blobs of a red-topped cylinder for
// ObjectUpdateCompressed, and a client reading them back.
func Example() {
	te := prim.NewTextureEntry(ritual.MustParseUUID("89556747-24cb-43ed-920b-47caed15465f"))
	top := te.Default
	top.Color = prim.Color{R: 255, A: 255}
	if err := te.SetFace(0, top); err != nil {
		panic(err)
	}
	c := prim.Compressed{
		LocalID:      42,
		PCode:        prim.PCodePrim,
		Material:     prim.MaterialWood,
		Scale:        ritual.Vector3{X: 0.5, Y: 0.5, Z: 1},
		Position:     ritual.Vector3{X: 128, Y: 128, Z: 22},
		Rotation:     ritual.IdentityQuaternion,
		Shape:        prim.NewShape(prim.PrimCylinder).Params(),
		TextureEntry: te.AppendTo(nil),
		ExtraParams:  prim.ExtraParams{Light: &prim.Light{Color: prim.White, Radius: 10, Falloff: 0.75}},
	}
	blob, err := c.AppendTo(nil)
	if err != nil {
		panic(err)
	}

	var got prim.Compressed
	if err := got.Decode(blob); err != nil {
		panic(err)
	}
	var gotTE prim.TextureEntry
	if err := gotTE.Decode(got.TextureEntry); err != nil {
		panic(err)
	}
	fmt.Println(len(blob), "bytes:", got.Shape.Shape().Type(), "at", got.Position)
	fmt.Println("face 0", gotTE.Face(0).Color, "face 1", gotTE.Face(1).Color)
	fmt.Println("light radius", got.ExtraParams.Light.Radius)
	// Output:
	// 203 bytes: cylinder at <128, 128, 22>
	// face 0 {255 0 0 255} face 1 {255 255 255 255}
	// light radius 10
}
