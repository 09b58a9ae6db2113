package grid

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ritual/store"
)

// RegionSpec names a region a process runs and where it lies on the grid.
type RegionSpec struct {
	Name string
	// GridX, GridY locate the region in 256 m units; both zero means the
	// stored location of an existing region, or 1000, 1000 for a new one.
	GridX, GridY uint32
}

// String returns NAME@X,Y.
func (r RegionSpec) String() string { return fmt.Sprintf("%s@%d,%d", r.Name, r.GridX, r.GridY) }

// ParseRegionSpec reads NAME@X,Y (the --region flag of ritual serve).
func ParseRegionSpec(s string) (RegionSpec, error) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return RegionSpec{}, fmt.Errorf("region %q: want NAME@X,Y", s)
	}
	x, y, err := ParseLocation(s[at+1:])
	if err != nil {
		return RegionSpec{}, fmt.Errorf("region %q: %w", s, err)
	}
	r := RegionSpec{Name: s[:at], GridX: x, GridY: y}
	probe := store.Region{Name: r.Name, GridX: x, GridY: y}
	if err := probe.Validate(); err != nil {
		return RegionSpec{}, fmt.Errorf("region %q: %w", s, err)
	}
	return r, nil
}

// ParseLocation reads X,Y grid coordinates (256 m units).
func ParseLocation(s string) (x, y uint32, err error) {
	xs, ys, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, fmt.Errorf("location %q: want X,Y", s)
	}
	xv, errX := strconv.ParseUint(strings.TrimSpace(xs), 10, 32)
	yv, errY := strconv.ParseUint(strings.TrimSpace(ys), 10, 32)
	if errX != nil || errY != nil || xv > store.MaxGrid || yv > store.MaxGrid {
		return 0, 0, fmt.Errorf("location %q: X and Y are whole numbers 0..%d", s, store.MaxGrid)
	}
	return uint32(xv), uint32(yv), nil
}

// regionSpecs returns the regions the process runs.
func (c *Config) regionSpecs() ([]RegionSpec, error) {
	switch {
	case c.NoRegion && c.NoLogin:
		return nil, errors.New("grid: no region and no login service: nothing to run")
	case c.NoRegion && len(c.Regions) > 0:
		return nil, errors.New("grid: regions given together with no region")
	case c.NoRegion:
		return nil, nil
	case len(c.Regions) == 0:
		return []RegionSpec{{Name: c.RegionName}}, nil
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		k := strings.ToLower(r.Name)
		if seen[k] {
			return nil, fmt.Errorf("grid: region %q given twice", r.Name)
		}
		seen[k] = true
	}
	return c.Regions, nil
}

// placeRegion moves an existing region to the location spec asks for; a
// new one is created there by sim.Open.
func placeRegion(ctx context.Context, st store.Store, spec RegionSpec) error {
	if spec.GridX == 0 && spec.GridY == 0 {
		return nil
	}
	r, err := st.Regions().ByName(ctx, spec.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("grid: region %q: %w", spec.Name, err)
	}
	if r.GridX == spec.GridX && r.GridY == spec.GridY {
		return nil
	}
	r.GridX, r.GridY = spec.GridX, spec.GridY
	if err := st.Regions().Update(ctx, r); err != nil {
		return fmt.Errorf("grid: moving region %q to %d,%d: %w", spec.Name, spec.GridX, spec.GridY, err)
	}
	return nil
}
