package login

import (
	"math"
	"net/url"
	"strconv"
	"strings"

	"ritual"
)

// ParseStart reads a "uri:Region&x&y&z" start location (Circuit.Start):
// the region's name (URL-unescaped, as viewers escape it) and, when all
// three coordinates are finite numbers, the position in the region. It
// returns ok false for "last", "home" and anything that names no region.
func ParseStart(start string) (region string, pos ritual.Vector3, hasPos, ok bool) {
	rest, found := strings.CutPrefix(start, "uri:")
	if !found || len(rest) > maxStart {
		return "", ritual.Vector3{}, false, false
	}
	parts := strings.Split(rest, "&")
	region = parts[0]
	if u, err := url.PathUnescape(region); err == nil {
		region = u
	}
	region = strings.TrimSpace(region)
	if region == "" {
		return "", ritual.Vector3{}, false, false
	}
	if len(parts) == 4 {
		var v [3]float32
		good := true
		for i, p := range parts[1:] {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				good = false
				break
			}
			v[i] = float32(f)
		}
		if good {
			return region, ritual.Vector3{X: v[0], Y: v[1], Z: v[2]}, true, true
		}
	}
	return region, ritual.Vector3{}, false, true
}
