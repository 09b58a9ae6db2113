package terrain

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// Heightmap is a whole region's terrain: W×H one-metre samples, Z[y*W+x]
// the height at x metres east and y metres north of the south-west corner.
// W and H are positive multiples of 16 (256×256 for a classic region).
type Heightmap struct {
	W, H int
	Z    []float32
}

// NewHeightmap returns a w×h heightmap of zeros.
func NewHeightmap(w, h int) (*Heightmap, error) {
	m := &Heightmap{W: w, H: h}
	if err := m.check(); err != nil {
		return nil, err
	}
	m.Z = make([]float32, w*h)
	return m, nil
}

// maxSide keeps W*H far from overflow and within what Extended patch ids
// (16 bits each) can address.
const maxSide = (0xFFFF + 1) * N

func (h *Heightmap) check() error {
	if h.W <= 0 || h.H <= 0 || h.W%N != 0 || h.H%N != 0 || h.W > maxSide || h.H > maxSide {
		return fmt.Errorf("%w: %d×%d (want positive multiples of %d)", ErrHeightmapSize, h.W, h.H, N)
	}
	if h.Z != nil && len(h.Z) != h.W*h.H {
		return fmt.Errorf("%w: %d samples for %d×%d", ErrHeightmapSize, len(h.Z), h.W, h.H)
	}
	return nil
}

// PatchesX and PatchesY report the size of the patch grid.
func (h *Heightmap) PatchesX() int { return h.W / N }

// PatchesY: see PatchesX.
func (h *Heightmap) PatchesY() int { return h.H / N }

// Layer returns the land layer type for h: LayerLand for regions up to
// 256 m on each side, LayerLandExtended beyond, as OpenSimulator chooses.
func (h *Heightmap) Layer() LayerType {
	if h.W > ClassicPatches*N || h.H > ClassicPatches*N {
		return LayerLandExtended
	}
	return LayerLand
}

// checkPatch validates the heightmap and the patch position (px, py).
func (h *Heightmap) checkPatch(px, py int) error {
	if err := h.check(); err != nil {
		return err
	}
	if h.Z == nil {
		return fmt.Errorf("%w: no samples", ErrHeightmapSize)
	}
	if px < 0 || py < 0 || px >= h.PatchesX() || py >= h.PatchesY() {
		return fmt.Errorf("%w: (%d,%d) outside a %d×%d patch grid", ErrPatchID, px, py, h.PatchesX(), h.PatchesY())
	}
	return nil
}

// Patch copies the patch at column px, row py of the patch grid into dst.
func (h *Heightmap) Patch(px, py int, dst *Patch) error {
	if err := h.checkPatch(px, py); err != nil {
		return err
	}
	dst.X, dst.Y = px, py
	base := py*N*h.W + px*N
	for j := range N {
		copy(dst.Heights[j*N:j*N+N], h.Z[base+j*h.W:])
	}
	return nil
}

// ApplyPatch writes a decoded patch's heights into h at the patch's place.
// It fails if the patch lies outside h.
func (h *Heightmap) ApplyPatch(p *Patch) error {
	if err := h.checkPatch(p.X, p.Y); err != nil {
		return err
	}
	base := p.Y*N*h.W + p.X*N
	for j := range N {
		copy(h.Z[base+j*h.W:base+j*h.W+N], p.Heights[j*N:j*N+N])
	}
	return nil
}

// RegionOrder returns the cells of a px×py patch grid, [x, y] each, nearest
// the centre patch ((px-1)/2, (py-1)/2) first, like OpenSimulator orders a
// region's terrain on arrival (it breaks ties differently). Ties
// in distance are broken by row, then column. The slice for a classic
// 16×16 grid is shared: do not modify it.
func RegionOrder(px, py int) [][2]int {
	if px == ClassicPatches && py == ClassicPatches {
		classicOrderOnce.Do(func() { classicOrder = regionOrder(px, py) })
		return classicOrder
	}
	return regionOrder(px, py)
}

var (
	classicOrderOnce sync.Once
	classicOrder     [][2]int
)

func regionOrder(px, py int) [][2]int {
	if px <= 0 || py <= 0 {
		return nil
	}
	cells := make([][2]int, 0, px*py)
	for y := range py {
		for x := range px {
			cells = append(cells, [2]int{x, y})
		}
	}
	// Squared distance from the centre patch ((7,7) in a 16×16 grid).
	cx, cy := (px-1)/2, (py-1)/2
	dist := func(c [2]int) int {
		dx, dy := c[0]-cx, c[1]-cy
		return dx*dx + dy*dy
	}
	slices.SortStableFunc(cells, func(a, b [2]int) int { return cmp.Compare(dist(a), dist(b)) })
	return cells
}

// EncodeRegion encodes every patch of h, nearest the centre first, into
// as few LayerData blobs as fit: each blob (group header, patches, end
// marker) is at most maxBlob bytes (0 means DefaultMaxBlob, and limits
// above MaxBlob mean MaxBlob). The layer is
// h.Layer(). Each returned blob is its own slice.
func (e *Encoder) EncodeRegion(h *Heightmap, maxBlob int) ([][]byte, error) {
	if err := h.check(); err != nil {
		return nil, err
	}
	if h.Z == nil {
		return nil, fmt.Errorf("%w: no samples", ErrHeightmapSize)
	}
	order := RegionOrder(h.PatchesX(), h.PatchesY())
	return e.split(h.Layer(), len(order), maxBlob, func(i int) ([]float32, int, int, int) {
		x, y := order[i][0], order[i][1]
		return h.Z[y*N*h.W+x*N:], h.W, x, y
	})
}

// EncodeRegion encodes every patch of h into blobs of at most maxBlob
// bytes; see Encoder.EncodeRegion.
func EncodeRegion(h *Heightmap, maxBlob int) ([][]byte, error) {
	e := encoderPool.Get().(*Encoder)
	defer encoderPool.Put(e)
	return e.EncodeRegion(h, maxBlob)
}

// EncodeSplit encodes patches, in order, into as few LayerData blobs of
// layer type layer as fit in maxBlob bytes each (0 means DefaultMaxBlob,
// and limits above MaxBlob mean MaxBlob): a new blob starts when the next
// patch would not fit. With no patches it returns one blob holding none.
func (e *Encoder) EncodeSplit(layer LayerType, patches []Patch, maxBlob int) ([][]byte, error) {
	return e.split(layer, len(patches), maxBlob, func(i int) ([]float32, int, int, int) {
		p := &patches[i]
		return p.Heights[:], N, p.X, p.Y
	})
}

// split encodes n patches supplied by get (samples, row stride, x, y).
func (e *Encoder) split(layer LayerType, n, maxBlob int, get func(i int) ([]float32, int, int, int)) ([][]byte, error) {
	if !layer.Valid() {
		return nil, fmt.Errorf("%w: 0x%02X", ErrLayerType, uint8(layer))
	}
	switch {
	case maxBlob == 0:
		maxBlob = DefaultMaxBlob
	case maxBlob < 0:
		return nil, fmt.Errorf("%w: limit %d", ErrBlobTooSmall, maxBlob)
	case maxBlob > MaxBlob:
		maxBlob = MaxBlob
	}
	w := &e.w
	w.Reset(make([]byte, 0, min(n*80+64, 1<<20)))
	var ends []int // end offset of each finished blob in w.buf
	start := 0     // where the current blob begins
	inBlob := 0    // patches in the current blob
	writeGroupHeader(w, layer)
	for i := range n {
		z, stride, x, y := get(i)
		if err := e.prepare(layer, z, stride, x, y); err != nil {
			return nil, fmt.Errorf("patch %d: %w", i, err)
		}
		for {
			m := w.mark()
			e.writePatch(w, layer)
			// Room for the end marker: 8 more bits.
			if (w.BitLen()-start*8+8+7)/8 <= maxBlob {
				inBlob++
				break
			}
			w.rewind(m)
			if inBlob == 0 {
				return nil, fmt.Errorf("%w: patch (%d,%d) needs more than %d bytes", ErrBlobTooSmall, x, y, maxBlob)
			}
			w.WriteBits(EndOfPatches, 8)
			ends = append(ends, len(w.buf))
			start, inBlob = len(w.buf), 0
			w.free = 0 // the next blob starts on a byte boundary
			writeGroupHeader(w, layer)
		}
	}
	w.WriteBits(EndOfPatches, 8)
	ends = append(ends, len(w.buf))
	buf := w.buf
	w.Reset(nil)
	blobs := make([][]byte, len(ends))
	prev := 0
	for i, end := range ends {
		blobs[i] = buf[prev:end:end]
		prev = end
	}
	return blobs, nil
}
