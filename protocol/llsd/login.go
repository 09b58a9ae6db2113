package llsd

import (
	"fmt"
	"math"
	"strconv"

	"ritual"
)

// The login response carries two members as notation text inside a string:
// look_at, "[r0.9991014,r0.04238612,r0]", and home,
// "{'region_handle':[r256000,r256000], 'position':[r128,r128,r25], 'look_at':[r1,r0,r0]}".
// Clients read them with ad-hoc parsers (node-metaverse rewrites home into
// JSON), so the server must write exactly OpenSimulator's shape: reals with
// plain decimals, no spaces inside arrays, ", " between the home entries.
// These helpers write and read that shape.

// Vector3Notation returns v as a notation array of three reals in
// OpenSimulator's spelling: "[r0.9991014,r0.04238612,r0]".
func Vector3Notation(v ritual.Vector3) string {
	return string(appendVector3Notation(make([]byte, 0, 48), v))
}

func appendVector3Notation(b []byte, v ritual.Vector3) []byte {
	b = appendReal32(append(b, "[r"...), v.X)
	b = appendReal32(append(b, ",r"...), v.Y)
	b = appendReal32(append(b, ",r"...), v.Z)
	return append(b, ']')
}

// appendReal32 writes f in the shortest plain decimal that reads back as the
// same float32 ("0.9991014", "256000", "0"); never an exponent; nan, inf
// and -inf for the special values, as notation spells them.
func appendReal32(b []byte, f float32) []byte {
	switch {
	case f == 0:
		return append(b, '0')
	case math.IsNaN(float64(f)) || math.IsInf(float64(f), 0):
		return appendNotationReal(b, float64(f))
	}
	return strconv.AppendFloat(b, float64(f), 'f', -1, 32)
}

// ParseVector3Notation reads a notation array of three numbers (reals,
// integers or numeric strings), as login's look_at member is sent.
func ParseVector3Notation(s string) (ritual.Vector3, error) {
	v, err := UnmarshalNotation([]byte(s))
	if err != nil {
		return ritual.Vector3{}, err
	}
	a, ok := v.([]any)
	if !ok {
		return ritual.Vector3{}, fmt.Errorf("%w: %q is not an array of three numbers", ErrBadValue, s)
	}
	vec, ok := vector3FromArray(a)
	if !ok {
		return ritual.Vector3{}, fmt.Errorf("%w: %q is not an array of three numbers", ErrBadValue, s)
	}
	return vec, nil
}

// Home is the login response's home member: the home region (by handle), the
// position in it and the direction to face.
type Home struct {
	RegionHandle ritual.RegionHandle
	Position     ritual.Vector3
	LookAt       ritual.Vector3
}

// Notation returns h exactly as OpenSimulator writes it:
// {'region_handle':[r256000,r256000], 'position':[r128,r128,r25], 'look_at':[r1,r0,r0]}
// (region_handle is the region's south-west corner in metres).
func (h Home) Notation() string {
	x, y := h.RegionHandle.Meters()
	b := make([]byte, 0, 128)
	b = append(b, "{'region_handle':[r"...)
	b = strconv.AppendUint(b, uint64(x), 10)
	b = append(b, ",r"...)
	b = strconv.AppendUint(b, uint64(y), 10)
	b = append(b, "], 'position':"...)
	b = appendVector3Notation(b, h.Position)
	b = append(b, ", 'look_at':"...)
	b = appendVector3Notation(b, h.LookAt)
	return string(append(b, '}'))
}

// ParseHome reads a home member written in notation. region_handle is
// required (two whole numbers of metres); position and look_at read as zero
// when absent but must be arrays of three numbers when present.
func ParseHome(s string) (Home, error) {
	v, err := UnmarshalNotation([]byte(s))
	if err != nil {
		return Home{}, err
	}
	m, ok := AsMap(v)
	if !ok {
		return Home{}, fmt.Errorf("%w: home %q is not a map", ErrBadValue, s)
	}
	var h Home
	rh, ok := m.Lookup("region_handle")
	if !ok {
		return Home{}, fmt.Errorf("%w: home %q has no region_handle", ErrBadValue, s)
	}
	a, ok := rh.([]any)
	if !ok || len(a) != 2 {
		return Home{}, fmt.Errorf("%w: home region_handle in %q is not two numbers", ErrBadValue, s)
	}
	var xy [2]uint32
	for i, e := range a {
		f, ok := AsReal(e)
		if !ok || f < 0 || f > math.MaxUint32 || f != math.Trunc(f) {
			return Home{}, fmt.Errorf("%w: home region_handle in %q is not two whole numbers of metres", ErrBadValue, s)
		}
		xy[i] = uint32(f)
	}
	h.RegionHandle = ritual.HandleFromMeters(xy[0], xy[1])
	for _, f := range []struct {
		key string
		dst *ritual.Vector3
	}{{"position", &h.Position}, {"look_at", &h.LookAt}} {
		e, present := m.Lookup(f.key)
		if !present {
			continue
		}
		vec, ok := AsVector3(e)
		if _, isArray := e.([]any); !ok || !isArray {
			return Home{}, fmt.Errorf("%w: home %s in %q is not an array of three numbers", ErrBadValue, f.key, s)
		}
		*f.dst = vec
	}
	return h, nil
}
