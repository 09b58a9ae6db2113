package sim

import (
	"math"

	"ritual"
	"ritual/protocol/prim"
	"ritual/store"
)

// Default textures every OpenSimulator-compatible viewer knows by id.
var (
	TexturePlywood = ritual.MustParseUUID("89556747-24cb-43ed-920b-47caed15465f")
	TextureBlank   = ritual.MustParseUUID("5748decc-f629-461c-9a36-a35a221fe21f")
)

// DefaultWaterHeight is the water level of a new region, in metres.
const DefaultWaterHeight = 20

// GenerateTerrain returns the deterministic terrain of a new region of w×h
// metres: land rising from a sea in the west through a shoreline to rolling
// hills in the east, with enough relief that every patch carries real
// coefficients.
func GenerateTerrain(w, h int) store.Heightmap {
	hm := store.Heightmap{W: w, H: h, Heights: make([]float32, w*h)}
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			// A sea floor at 12 m in the west rising to 30 m in the east,
			// crossing the water line a quarter of the way across.
			z := 12 + 18*smoothstep(0.05, 0.6, fx)
			// Rolling hills.
			z += 6 * math.Sin(fx*2*math.Pi*1.5) * math.Sin(fy*2*math.Pi*1.2) * smoothstep(0.2, 0.5, fx)
			// Two round hills.
			z += 14 * bump(fx, fy, 0.72, 0.3, 0.12)
			z += 9 * bump(fx, fy, 0.55, 0.75, 0.09)
			// Long, low swells so no patch is perfectly flat, the sea floor
			// included.
			z += 1.5 * math.Sin(fy*2*math.Pi*2+fx*3) * math.Cos(fx*2*math.Pi)
			hm.Heights[y*w+x] = float32(z)
		}
	}
	return hm
}

func smoothstep(a, b, x float64) float64 {
	t := math.Max(0, math.Min(1, (x-a)/(b-a)))
	return t * t * (3 - 2*t)
}

func bump(x, y, cx, cy, r float64) float64 {
	d2 := ((x-cx)*(x-cx) + (y-cy)*(y-cy)) / (r * r)
	return math.Exp(-d2)
}

// heightAt returns the terrain height at region position (x, y).
func heightAt(hm store.Heightmap, x, y float32) float32 {
	ix := min(max(int(x), 0), hm.W-1)
	iy := min(max(int(y), 0), hm.H-1)
	return hm.Heights[iy*hm.W+ix]
}

// scenePrim is one prim of the default scene.
type scenePrim struct {
	name    string
	shape   prim.PrimType
	x, y    float32
	scale   ritual.Vector3
	texture ritual.UUID
	color   prim.Color
	mat     uint8 // material: 0 stone, 1 metal, 2 glass, 3 wood, 4 flesh, 5 plastic, 6 rubber
	hollow  float32
	twist   float32
	rotZ    float64 // degrees about Z
}

var defaultScene = []scenePrim{
	{"Welcome Stone", prim.PrimBox, 128, 132, ritual.Vector3{X: 2, Y: 0.5, Z: 1.5}, TextureBlank, prim.Color{R: 153, G: 153, B: 166, A: 255}, 0, 0, 0, 0},
	{"Crate", prim.PrimBox, 124, 126, ritual.Vector3{X: 1, Y: 1, Z: 1}, TexturePlywood, prim.White, 3, 0, 0, 30},
	{"Small Crate", prim.PrimBox, 125, 124.5, ritual.Vector3{X: 0.5, Y: 0.5, Z: 0.5}, TexturePlywood, prim.White, 3, 0, 0, 10},
	{"Pillar", prim.PrimCylinder, 133, 128, ritual.Vector3{X: 0.6, Y: 0.6, Z: 4}, TextureBlank, prim.Color{R: 230, G: 217, B: 178, A: 255}, 0, 0, 0, 0},
	{"Second Pillar", prim.PrimCylinder, 133, 134, ritual.Vector3{X: 0.6, Y: 0.6, Z: 4}, TextureBlank, prim.Color{R: 230, G: 217, B: 178, A: 255}, 0, 0, 0, 0},
	{"Lintel", prim.PrimBox, 133, 131, ritual.Vector3{X: 0.8, Y: 7, Z: 0.5}, TextureBlank, prim.Color{R: 230, G: 217, B: 178, A: 255}, 0, 0, 0, 0},
	{"Ball", prim.PrimSphere, 120, 130, ritual.Vector3{X: 1.2, Y: 1.2, Z: 1.2}, TextureBlank, prim.Color{R: 217, G: 38, B: 26, A: 255}, 6, 0, 0, 0},
	{"Glass Orb", prim.PrimSphere, 136, 122, ritual.Vector3{X: 0.8, Y: 0.8, Z: 0.8}, TextureBlank, prim.Color{R: 128, G: 204, B: 255, A: 128}, 2, 0, 0, 0},
	{"Ring Float", prim.PrimTorus, 70, 128, ritual.Vector3{X: 2, Y: 2, Z: 0.5}, TextureBlank, prim.Color{R: 255, G: 128, B: 0, A: 255}, 6, 0, 0, 0},
	{"Wedge", prim.PrimPrism, 118, 120, ritual.Vector3{X: 1.5, Y: 1.5, Z: 1}, TexturePlywood, prim.White, 3, 0, 0, 45},
	{"Pipe", prim.PrimTube, 140, 128, ritual.Vector3{X: 1, Y: 3, Z: 1}, TextureBlank, prim.Color{R: 102, G: 115, B: 128, A: 255}, 1, 0, 0, 90},
	{"Hollow Drum", prim.PrimCylinder, 122, 136, ritual.Vector3{X: 1.4, Y: 1.4, Z: 1}, TexturePlywood, prim.White, 3, 0.6, 0, 0},
	{"Twisted Column", prim.PrimBox, 142, 138, ritual.Vector3{X: 0.7, Y: 0.7, Z: 3}, TextureBlank, prim.Color{R: 76, G: 178, B: 76, A: 255}, 0, 0, 0.5, 0},
	{"Signpost", prim.PrimBox, 110, 128, ritual.Vector3{X: 0.15, Y: 0.15, Z: 2.5}, TexturePlywood, prim.White, 3, 0, 0, 0},
	{"Sign", prim.PrimBox, 110, 128, ritual.Vector3{X: 0.1, Y: 1.6, Z: 0.8}, TexturePlywood, prim.White, 3, 0, 0, 0},
	{"Ring", prim.PrimRing, 180, 77, ritual.Vector3{X: 6, Y: 6, Z: 1}, TextureBlank, prim.Color{R: 204, G: 178, B: 51, A: 255}, 1, 0, 0, 0},
}

// GenerateScene returns the default scene of a new region standing on
// terrain hm: sixteen prims of several shapes, sizes, materials and
// textures around the region's centre, with LocalIDs from firstLocalID.
// The sign atop its post carries hover text. Owner owns them all.
func GenerateScene(hm store.Heightmap, owner ritual.UUID, firstLocalID uint32) []store.Object {
	objs := make([]store.Object, 0, len(defaultScene))
	for i, p := range defaultScene {
		shape := prim.NewShape(p.shape)
		shape.ProfileHollow = p.hollow
		shape.PathTwist = p.twist
		te := prim.NewTextureEntry(p.texture)
		te.Default.Color = p.color
		ground := heightAt(hm, p.x, p.y)
		z := ground + p.scale.Z/2
		if p.name == "Lintel" {
			z = ground + 4 + p.scale.Z/2
		}
		if p.name == "Sign" {
			z = ground + 2.5
		}
		if p.name == "Ring Float" {
			z = DefaultWaterHeight + p.scale.Z/4
		}
		half := p.rotZ * math.Pi / 360
		o := store.Object{
			ID:           ritual.NewUUID(),
			LocalID:      firstLocalID + uint32(i),
			PCode:        prim.PCodePrim,
			Material:     p.mat,
			Scale:        p.scale,
			Position:     ritual.Vector3{X: p.x, Y: p.y, Z: z},
			Rotation:     ritual.Quaternion{Z: float32(math.Sin(half)), W: float32(math.Cos(half))},
			Shape:        store.Shape(shape.Params()),
			TextureEntry: te.AppendTo(nil),
			Name:         p.name,
			Owner:        owner,
			Creator:      owner,
		}
		if p.name == "Sign" {
			o.Text = "Welcome to Ritual"
			o.TextColor = [4]byte{255, 255, 255, 255}
		}
		objs = append(objs, o)
	}
	return objs
}
