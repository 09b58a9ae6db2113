package main

import (
	"math"
	"strconv"

	"ritual/client"
	"ritual/protocol/prim"
	"ritual/sim"
	"ritual/trace"
)

// worldCells bounds the side of the height grid a WorldView carries: a
// 256 m region is told in 4 m cells.
const worldCells = 64

// worldView is the client's view of the region as a trace event: the
// decoded terrain coarsened to at most worldCells×worldCells heights and
// the root objects' positions (children stand relative to their parents
// and are drawn with them).
func worldView(sess *client.Session) *trace.WorldView {
	r := sess.Region()
	t := sess.Terrain()
	wv := &trace.WorldView{
		Header: trace.Header{Side: trace.Client, Layer: trace.UDP, From: trace.EndClient, To: trace.EndClient},
		Region: r.Name, SizeX: r.SizeX, SizeY: r.SizeY, Water: r.WaterHeight,
		Patches: t.Patches, Of: t.Of,
	}
	if wv.Water <= 0 {
		wv.Water = sim.DefaultWaterHeight
	}
	if h := t.Heightmap; h != nil && h.W > 0 && h.H > 0 {
		if wv.SizeX == 0 {
			wv.SizeX, wv.SizeY = h.W, h.H
		}
		step := max(1, (max(h.W, h.H)+worldCells-1)/worldCells)
		wv.W, wv.H = (h.W+step-1)/step, (h.H+step-1)/step
		wv.Heights = make([]float32, 0, wv.W*wv.H)
		for cy := range wv.H {
			for cx := range wv.W {
				sum, n := 0.0, 0
				for y := cy * step; y < min(h.H, (cy+1)*step); y++ {
					for x := cx * step; x < min(h.W, (cx+1)*step); x++ {
						sum += float64(h.Z[y*h.W+x])
						n++
					}
				}
				wv.Heights = append(wv.Heights, float32(math.Round(sum/float64(n)*10)/10))
			}
		}
	}
	for _, o := range sess.World().Objects() {
		if o.ParentID != 0 {
			continue
		}
		wv.Objects = append(wv.Objects, trace.WorldObject{
			Kind: kindName(o.PCode),
			X:    round1(o.Position.X), Y: round1(o.Position.Y), Z: round1(o.Position.Z),
			SizeX: round1(o.Scale.X), SizeY: round1(o.Scale.Y),
		})
	}
	return wv
}

func round1(f float32) float32 { return float32(math.Round(float64(f)*10) / 10) }

// kindName names an object kind by its PCode, as the story does.
func kindName(pcode uint8) string {
	switch pcode {
	case prim.PCodePrim:
		return "prim"
	case prim.PCodeAvatar:
		return "avatar"
	case prim.PCodeGrass:
		return "grass"
	case prim.PCodeNewTree, prim.PCodeTree:
		return "tree"
	case prim.PCodeParticleSystem:
		return "particles"
	}
	return "pcode " + strconv.Itoa(int(pcode))
}
