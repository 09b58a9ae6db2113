package store

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"ritual"
	"ritual/account"
)

// The Validate methods are the checks every backend applies before writing,
// so that all backends refuse the same values. Their errors wrap ErrInvalid.

// MaxPasswordHash bounds the stored password string.
const MaxPasswordHash = 1024

// Timestamp returns t as stores keep it: UTC, truncated to the microsecond.
func Timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Validate checks the names (account.ValidateName; the error also wraps
// account.ErrBadName) and that a password string is present.
func (a *Account) Validate() error {
	if err := account.ValidateName(a.First, a.Last); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if a.PasswordHash == "" {
		return fmt.Errorf("%w: account %s has no password", ErrInvalid, a.Name())
	}
	if len(a.PasswordHash) > MaxPasswordHash {
		return fmt.Errorf("%w: account %s: password string of %d bytes (at most %d)", ErrInvalid, a.Name(), len(a.PasswordHash), MaxPasswordHash)
	}
	return nil
}

// Validate checks the owner and the name.
func (f *Folder) Validate() error {
	if f.Owner.IsZero() {
		return fmt.Errorf("%w: folder %q has no owner", ErrInvalid, f.Name)
	}
	if err := checkText("folder name", f.Name, 1, MaxFolderName, false); err != nil {
		return err
	}
	return nil
}

// Validate checks the name, size and location. A zero size counts as 256.
func (r *Region) Validate() error {
	if err := checkText("region name", r.Name, 1, MaxRegionName, false); err != nil {
		return err
	}
	if strings.TrimSpace(r.Name) != r.Name {
		return fmt.Errorf("%w: region name %q has leading or trailing space", ErrInvalid, r.Name)
	}
	for _, s := range []struct {
		axis string
		v    uint32
	}{{"x", r.SizeX}, {"y", r.SizeY}} {
		if s.v == 0 {
			continue
		}
		if s.v%ritual.RegionSize != 0 || s.v > MaxRegionSize {
			return fmt.Errorf("%w: region %q: size %s = %d m (want a multiple of %d up to %d)", ErrInvalid, r.Name, s.axis, s.v, ritual.RegionSize, MaxRegionSize)
		}
	}
	if r.GridX > MaxGrid || r.GridY > MaxGrid {
		return fmt.Errorf("%w: region %q: grid location (%d, %d) beyond %d", ErrInvalid, r.Name, r.GridX, r.GridY, MaxGrid)
	}
	return nil
}

// Validate checks the sides, the length and that every height is finite.
func (h *Heightmap) Validate() error {
	if h.W < 1 || h.H < 1 || h.W > MaxTerrainSide || h.H > MaxTerrainSide {
		return fmt.Errorf("%w: heightmap %d×%d (sides 1..%d)", ErrInvalid, h.W, h.H, MaxTerrainSide)
	}
	if len(h.Heights) != h.W*h.H {
		return fmt.Errorf("%w: heightmap %d×%d has %d heights, want %d", ErrInvalid, h.W, h.H, len(h.Heights), h.W*h.H)
	}
	for i, v := range h.Heights {
		if !finite(v) {
			return fmt.Errorf("%w: heightmap height at (%d, %d) is %v", ErrInvalid, i%h.W, i/h.W, v)
		}
	}
	return nil
}

// Validate checks the ids, that vectors are finite and that the variable
// fields fit their wire sizes.
func (o *Object) Validate() error {
	if o.ID.IsZero() {
		return fmt.Errorf("%w: object with local id %d has a zero UUID", ErrInvalid, o.LocalID)
	}
	if o.LocalID == 0 {
		return fmt.Errorf("%w: object %s has local id 0", ErrInvalid, o.ID)
	}
	if o.Parent == o.ID {
		return fmt.Errorf("%w: object %s is its own parent", ErrInvalid, o.ID)
	}
	vs := []struct {
		name string
		v    []float32
	}{
		{"scale", []float32{o.Scale.X, o.Scale.Y, o.Scale.Z}},
		{"position", []float32{o.Position.X, o.Position.Y, o.Position.Z}},
		{"rotation", []float32{o.Rotation.X, o.Rotation.Y, o.Rotation.Z, o.Rotation.W}},
	}
	for _, v := range vs {
		for _, c := range v.v {
			if !finite(c) {
				return fmt.Errorf("%w: object %s: %s has a non-finite component %v", ErrInvalid, o.ID, v.name, c)
			}
		}
	}
	if len(o.TextureEntry) > MaxTextureEntry {
		return fmt.Errorf("%w: object %s: TextureEntry of %d bytes (at most %d)", ErrInvalid, o.ID, len(o.TextureEntry), MaxTextureEntry)
	}
	if len(o.ExtraParams) > MaxExtraParams {
		return fmt.Errorf("%w: object %s: ExtraParams of %d bytes (at most %d)", ErrInvalid, o.ID, len(o.ExtraParams), MaxExtraParams)
	}
	for _, t := range []struct {
		name, v string
		lines   bool
	}{{"name", o.Name, false}, {"description", o.Description, false}, {"text", o.Text, true}} {
		if err := checkText("object "+o.ID.String()+" "+t.name, t.v, 0, MaxObjectText, t.lines); err != nil {
			return err
		}
	}
	return nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// FiniteVector reports whether no coordinate of v is NaN or infinite.
func FiniteVector(v ritual.Vector3) bool { return finite(v.X) && finite(v.Y) && finite(v.Z) }

// checkText requires valid UTF-8 of min..max bytes without control
// characters, except newlines when lines is set.
func checkText(what, s string, min, max int, lines bool) error {
	if len(s) < min {
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	}
	if len(s) > max {
		return fmt.Errorf("%w: %s of %d bytes (at most %d)", ErrInvalid, what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, s)
	}
	for i, r := range s {
		if unicode.IsControl(r) && !(lines && r == '\n') {
			return fmt.Errorf("%w: %s %q: control character %U at offset %d", ErrInvalid, what, s, r, i)
		}
	}
	return nil
}

// Validate checks an offline message before it is saved: a recipient, and
// text, sender name and bucket within their bounds.
func (m *OfflineMessage) Validate() error {
	switch {
	case m.To.IsZero():
		return errorf("no recipient")
	case len(m.Text) > MaxMessageText:
		return errorf("text of %d bytes", len(m.Text))
	case len(m.FromName) > MaxMessageName:
		return errorf("sender name of %d bytes", len(m.FromName))
	case len(m.Bucket) > MaxMessageBucket:
		return errorf("bucket of %d bytes", len(m.Bucket))
	}
	return nil
}
