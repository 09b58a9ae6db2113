package ritual

import "fmt"

// RegionSize is the width of a classic region in metres.
const RegionSize = 256

// RegionHandle names a region by the world position of its south-west
// corner in metres: (x << 32) | y. It travels as a little-endian U64.
type RegionHandle uint64

// HandleFromGrid returns the handle of the region at grid coordinates
// (gx, gy), each counted in 256 m regions.
func HandleFromGrid(gx, gy uint32) RegionHandle {
	return HandleFromMeters(gx*RegionSize, gy*RegionSize)
}

// HandleFromMeters returns the handle of the region whose south-west
// corner is at (x, y) metres.
func HandleFromMeters(x, y uint32) RegionHandle {
	return RegionHandle(uint64(x)<<32 | uint64(y))
}

// Meters returns the south-west corner in metres.
func (h RegionHandle) Meters() (x, y uint32) { return uint32(h >> 32), uint32(h) }

// Grid returns the grid coordinates (in 256 m regions).
func (h RegionHandle) Grid() (gx, gy uint32) {
	x, y := h.Meters()
	return x / RegionSize, y / RegionSize
}

// String formats h as "handle (x, y) m".
func (h RegionHandle) String() string {
	x, y := h.Meters()
	return fmt.Sprintf("%d (%d, %d)", uint64(h), x, y)
}
