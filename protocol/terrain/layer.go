package terrain

import (
	"errors"
	"fmt"
)

// LayerType is the layer code carried both in LayerData's LayerID.Type and
// in the blob's group header (PROTOCOL.md 4.1).
type LayerType uint8

// Layer types. The Extended forms are used for regions larger than 256 m
// and carry 32-bit patch ids (x<<16 | y) instead of 10-bit ones (x<<5 | y).
const (
	LayerLand          LayerType = 0x4C // 'L'
	LayerLandExtended  LayerType = 0x4D // 'M'
	LayerWater         LayerType = 0x57 // 'W'
	LayerWaterExtended LayerType = 0x58 // 'X'
	LayerWind          LayerType = 0x37 // '7': two patches, X then Y components
	LayerWindExtended  LayerType = 0x39 // '9'
	LayerCloud         LayerType = 0x38 // '8'
	LayerCloudExtended LayerType = 0x3A // ':'
)

// Valid reports whether t is one of the layer types above.
func (t LayerType) Valid() bool {
	switch t {
	case LayerLand, LayerLandExtended, LayerWater, LayerWaterExtended,
		LayerWind, LayerWindExtended, LayerCloud, LayerCloudExtended:
		return true
	}
	return false
}

// Extended reports whether t is a var-region form with 32-bit patch ids.
func (t LayerType) Extended() bool {
	switch t {
	case LayerLandExtended, LayerWaterExtended, LayerWindExtended, LayerCloudExtended:
		return true
	}
	return false
}

// String returns the type's name, e.g. "Land" or "WindExtended", or its
// hex value for an unknown code.
func (t LayerType) String() string {
	switch t {
	case LayerLand:
		return "Land"
	case LayerLandExtended:
		return "LandExtended"
	case LayerWater:
		return "Water"
	case LayerWaterExtended:
		return "WaterExtended"
	case LayerWind:
		return "Wind"
	case LayerWindExtended:
		return "WindExtended"
	case LayerCloud:
		return "Cloud"
	case LayerCloudExtended:
		return "CloudExtended"
	}
	return fmt.Sprintf("LayerType(0x%02X)", uint8(t))
}

// maxPatchID is the largest patch x or y a layer type can carry.
func (t LayerType) maxPatchID() int {
	if t.Extended() {
		return 0xFFFF
	}
	return ClassicPatches - 1
}

// Sentinel errors. Errors returned by this package wrap one of them with the
// position and value that was wrong.
var (
	// ErrTruncated: the bit stream ended before a value it must hold.
	ErrTruncated = errors.New("terrain: bit stream ends early")
	// ErrBitCount: a read of more than 32 bits (or fewer than 0) was asked
	// for.
	ErrBitCount = errors.New("terrain: bit count out of range")
	// ErrPatchSize: the group header names a patch size other than 16.
	ErrPatchSize = errors.New("terrain: unsupported patch size")
	// ErrLayerType: the layer type is not one PROTOCOL.md 4.1 lists.
	ErrLayerType = errors.New("terrain: unknown layer type")
	// ErrPatchID: a patch x or y lies outside the grid its layer or
	// heightmap allows.
	ErrPatchID = errors.New("terrain: patch id out of range")
	// ErrHeight: a height is NaN or infinite, or a patch's heights span
	// 65535 m or more (the range field is 16 bits).
	ErrHeight = errors.New("terrain: height not encodable")
	// ErrDCOffset: a decoded patch's DC offset is NaN or infinite.
	ErrDCOffset = errors.New("terrain: DC offset not finite")
	// ErrBlobTooSmall: a single patch does not fit in the blob size asked
	// for.
	ErrBlobTooSmall = errors.New("terrain: blob size limit too small for one patch")
	// ErrHeightmapSize: a heightmap's sides are not positive multiples of
	// 16, or Z does not hold W*H samples.
	ErrHeightmapSize = errors.New("terrain: bad heightmap size")
)
