package observatory

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"ritual/trace"
)

// Shade draws a w×h grid of heights (row 0 the south edge) as a person
// sees land: water below the water line, then sand, grass and rock by
// height, lit from the north-west so the hills stand out. North is up in
// the image. cell is the size of one grid cell in metres, for the slopes.
func Shade(w, h int, z []float32, water, cell float32) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if w <= 0 || h <= 0 || len(z) < w*h {
		return img
	}
	if cell <= 0 {
		cell = 1
	}
	at := func(x, y int) float64 {
		x = min(max(x, 0), w-1)
		y = min(max(y, 0), h-1)
		return float64(z[y*w+x])
	}
	wl := float64(water)
	for y := range h {
		for x := range w {
			zz := at(x, y)
			// Surface normal from central differences, slopes exaggerated
			// fourfold so gentle hills read; light from the north-west,
			// above.
			dx := 2 * (at(x+1, y) - at(x-1, y)) / float64(cell)
			dy := 2 * (at(x, y+1) - at(x, y-1)) / float64(cell)
			nx, ny, nz := -dx, -dy, 1.0
			n := math.Sqrt(nx*nx + ny*ny + nz*nz)
			lx, ly, lz := -0.5, 0.5, 0.7
			l := math.Sqrt(lx*lx + ly*ly + lz*lz)
			light := math.Max(0.25, (nx*lx+ny*ly+nz*lz)/(n*l))
			var base [3]float64
			switch {
			case zz < wl:
				depth := math.Min(1, (wl-zz)/10)
				base = [3]float64{40 - 20*depth, 110 - 50*depth, 190 - 60*depth}
				light = 1
			case zz < wl+1:
				base = [3]float64{220, 205, 150}
			case zz < wl+12:
				base = [3]float64{90, 150, 60}
			case zz < wl+20:
				base = [3]float64{110, 120, 80}
			default:
				base = [3]float64{150, 140, 130}
			}
			img.SetRGBA(x, h-1-y, color.RGBA{
				R: uint8(math.Min(255, base[0]*light)),
				G: uint8(math.Min(255, base[1]*light)),
				B: uint8(math.Min(255, base[2]*light)),
				A: 255,
			})
		}
	}
	return img
}

// lastWorldView returns the last WorldView of events, or nil.
func lastWorldView(events []trace.Event) *trace.WorldView {
	var wv *trace.WorldView
	for _, ev := range events {
		if w, ok := ev.(*trace.WorldView); ok {
			wv = w
		}
	}
	return wv
}

// writeTerrainSVG draws the client's view of the region: the shaded
// terrain as a PNG data URI and each object as a mark at its position
// (avatars as rings, trees green, prims as squares of their footprint).
func writeTerrainSVG(b *bytes.Buffer, wv *trace.WorldView) error {
	sx, sy := wv.SizeX, wv.SizeY
	if sx <= 0 || sy <= 0 {
		sx, sy = 256, 256
	}
	if wv.W <= 0 || wv.H <= 0 || len(wv.Heights) != wv.W*wv.H || wv.W > 1024 || wv.H > 1024 {
		return fmt.Errorf("observatory: the world view carries no usable terrain (%d×%d, %d heights)", wv.W, wv.H, len(wv.Heights))
	}
	img := Shade(wv.W, wv.H, wv.Heights, wv.Water, float32(sx)/float32(wv.W))
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		return fmt.Errorf("observatory: encoding the terrain: %w", err)
	}
	const px = 512
	fmt.Fprintf(b, `<svg class="terrain" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="terrain-title">`,
		px, px*sy/sx, sx, sy)
	fmt.Fprintf(b, `<title id="terrain-title">Terrain of %s as the client decoded it (%d/%d land patches), with %d objects</title>`,
		esc(orUnnamed(wv.Region)), wv.Patches, wv.Of, len(wv.Objects))
	fmt.Fprintf(b, `<image class="ground" x="0" y="0" width="%d" height="%d" preserveAspectRatio="none" href="data:image/png;base64,%s"/>`,
		sx, sy, base64.StdEncoding.EncodeToString(pb.Bytes()))
	b.WriteString(`<g class="objects">`)
	for _, o := range wv.Objects {
		x, y := float64(o.X), float64(sy)-float64(o.Y)
		if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
			continue
		}
		label := fmt.Sprintf("%s at %.1f, %.1f, %.1f", o.Kind, o.X, o.Y, o.Z)
		switch o.Kind {
		case "avatar":
			fmt.Fprintf(b, `<circle class="obj avatar" cx="%.1f" cy="%.1f" r="3"><title>%s</title></circle>`, x, y, esc(label))
		case "tree", "grass":
			fmt.Fprintf(b, `<circle class="obj tree" cx="%.1f" cy="%.1f" r="2.5"><title>%s</title></circle>`, x, y, esc(label))
		default:
			w := math.Min(math.Max(float64(o.SizeX), 1.5), 64)
			h := math.Min(math.Max(float64(o.SizeY), 1.5), 64)
			fmt.Fprintf(b, `<rect class="obj prim" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`, x-w/2, y-h/2, w, h, esc(label))
		}
	}
	b.WriteString("</g></svg>\n")
	return nil
}

func orUnnamed(s string) string {
	if s == "" {
		return "an unnamed region"
	}
	return s
}
