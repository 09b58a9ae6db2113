package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"math"
	"strings"

	"ritual"
	"ritual/store"
)

type objects struct{ s *Store }

// objectCols are the columns after id and region, in the order of
// objectArgs and scanObject.
var objectCols = []string{
	"local_id", "parent", "pcode", "material", "click_action", "state",
	"scale_x", "scale_y", "scale_z", "pos_x", "pos_y", "pos_z", "rot_x", "rot_y", "rot_z", "rot_w",
	"path_curve", "profile_curve", "path_begin", "path_end", "path_scale_x", "path_scale_y",
	"path_shear_x", "path_shear_y", "path_twist", "path_twist_begin", "path_radius_offset",
	"path_taper_x", "path_taper_y", "path_revolutions", "path_skew",
	"profile_begin", "profile_end", "profile_hollow",
	"texture_entry", "extra_params", "name", "description", "text", "text_color",
	"owner", "creator", "flags",
}

var (
	objectSelect = `SELECT id, ` + strings.Join(objectCols, ", ") + ` FROM objects`
	objectUpsert = func() string {
		var set, ph []string
		for i, c := range objectCols {
			set = append(set, c+" = excluded."+c)
			ph = append(ph, fmt.Sprintf("$%d", i+3))
		}
		return `INSERT INTO objects (id, region, ` + strings.Join(objectCols, ", ") + `) VALUES ($1, $2, ` +
			strings.Join(ph, ", ") + `) ON CONFLICT (id) DO UPDATE SET region = excluded.region, ` +
			strings.Join(set, ", ")
	}()
)

// blob stores nil as an empty bytea (the columns are NOT NULL).
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func objectArgs(rid ritual.UUID, o *store.Object) []any {
	return []any{
		id(o.ID), id(rid),
		int64(o.LocalID), nullID(o.Parent), int16(o.PCode), int16(o.Material), int16(o.ClickAction), int16(o.State),
		o.Scale.X, o.Scale.Y, o.Scale.Z, o.Position.X, o.Position.Y, o.Position.Z,
		o.Rotation.X, o.Rotation.Y, o.Rotation.Z, o.Rotation.W,
		int16(o.PathCurve), int16(o.ProfileCurve), int32(o.PathBegin), int32(o.PathEnd), int16(o.PathScaleX), int16(o.PathScaleY),
		int16(o.PathShearX), int16(o.PathShearY), int16(o.PathTwist), int16(o.PathTwistBegin), int16(o.PathRadiusOffset),
		int16(o.PathTaperX), int16(o.PathTaperY), int16(o.PathRevolutions), int16(o.PathSkew),
		int32(o.ProfileBegin), int32(o.ProfileEnd), int32(o.ProfileHollow),
		blob(o.TextureEntry), blob(o.ExtraParams), o.Name, o.Description, o.Text, o.TextColor[:],
		id(o.Owner), id(o.Creator), int64(o.Flags),
	}
}

// objectRow holds the scanned columns of one object in the database's
// integer widths, checked into the Go types by object.
type objectRow struct {
	o                                                                  store.Object
	localID, flags                                                     int64
	pcode, material, click, state                                      int16
	pathCurve, profileCurve, scaleX, scaleY, shearX, shearY            int16
	twist, twistBegin, radiusOffset, taperX, taperY, revolutions, skew int16
	pathBegin, pathEnd, profileBegin, profileEnd, profileHollow        int32
	textColor                                                          []byte
}

func scanObject(row pgx.Row) (store.Object, error) {
	var r objectRow
	o := &r.o
	err := row.Scan(
		uuidCol{&o.ID},
		&r.localID, uuidCol{&o.Parent}, &r.pcode, &r.material, &r.click, &r.state,
		&o.Scale.X, &o.Scale.Y, &o.Scale.Z,
		&o.Position.X, &o.Position.Y, &o.Position.Z,
		&o.Rotation.X, &o.Rotation.Y, &o.Rotation.Z, &o.Rotation.W,
		&r.pathCurve, &r.profileCurve, &r.pathBegin, &r.pathEnd, &r.scaleX, &r.scaleY,
		&r.shearX, &r.shearY, &r.twist, &r.twistBegin, &r.radiusOffset,
		&r.taperX, &r.taperY, &r.revolutions, &r.skew,
		&r.profileBegin, &r.profileEnd, &r.profileHollow,
		&o.TextureEntry, &o.ExtraParams, &o.Name, &o.Description, &o.Text, &r.textColor,
		uuidCol{&o.Owner}, uuidCol{&o.Creator}, &r.flags,
	)
	if err != nil {
		return store.Object{}, err
	}
	return r.object()
}

// object converts the scanned widths, refusing values out of range.
func (r *objectRow) object() (store.Object, error) {
	o := r.o
	bad := false
	u8 := func(v int16) uint8 {
		if v < 0 || v > math.MaxUint8 {
			bad = true
		}
		return uint8(v)
	}
	i8 := func(v int16) int8 {
		if v < math.MinInt8 || v > math.MaxInt8 {
			bad = true
		}
		return int8(v)
	}
	u16 := func(v int32) uint16 {
		if v < 0 || v > math.MaxUint16 {
			bad = true
		}
		return uint16(v)
	}
	u32 := func(v int64) uint32 {
		if v < 0 || v > math.MaxUint32 {
			bad = true
		}
		return uint32(v)
	}
	o.LocalID, o.Flags = u32(r.localID), u32(r.flags)
	o.PCode, o.Material, o.ClickAction, o.State = u8(r.pcode), u8(r.material), u8(r.click), u8(r.state)
	o.PathCurve, o.ProfileCurve, o.PathScaleX, o.PathScaleY = u8(r.pathCurve), u8(r.profileCurve), u8(r.scaleX), u8(r.scaleY)
	o.PathShearX, o.PathShearY, o.PathRevolutions = u8(r.shearX), u8(r.shearY), u8(r.revolutions)
	o.PathTwist, o.PathTwistBegin, o.PathRadiusOffset = i8(r.twist), i8(r.twistBegin), i8(r.radiusOffset)
	o.PathTaperX, o.PathTaperY, o.PathSkew = i8(r.taperX), i8(r.taperY), i8(r.skew)
	o.PathBegin, o.PathEnd = u16(r.pathBegin), u16(r.pathEnd)
	o.ProfileBegin, o.ProfileEnd, o.ProfileHollow = u16(r.profileBegin), u16(r.profileEnd), u16(r.profileHollow)
	if len(r.textColor) != 4 {
		bad = true
	} else {
		copy(o.TextColor[:], r.textColor)
	}
	if bad {
		return store.Object{}, fmt.Errorf("%w: object %s has a value out of range", ErrCorrupt, o.ID)
	}
	if len(o.TextureEntry) == 0 {
		o.TextureEntry = nil
	}
	if len(o.ExtraParams) == 0 {
		o.ExtraParams = nil
	}
	return o, nil
}

// Load implements store.Objects.
func (x *objects) Load(ctx context.Context, rid ritual.UUID) ([]store.Object, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	// One statement; only an empty answer needs the region looked up
	// (objects found mean it exists: they go with it).
	objs, err := queryAll(ctx, x.s, x.s.pool, "load objects of region "+rid.String(), scanObject, objectSelect+` WHERE region = $1 ORDER BY local_id`, id(rid))
	if err != nil || len(objs) > 0 {
		return objs, err
	}
	if err := regionExists(ctx, x.s, x.s.pool, rid); err != nil {
		return nil, err
	}
	return nil, nil
}

// Save implements store.Objects.
func (x *objects) Save(ctx context.Context, rid ritual.UUID, objs ...store.Object) error {
	for i := range objs {
		if err := objs[i].Validate(); err != nil {
			return fmt.Errorf("postgres: save objects: %w", err)
		}
	}
	return x.s.inTx(ctx, "save objects", func(tx pgx.Tx) error {
		if err := regionExists(ctx, x.s, tx, rid); err != nil {
			return err
		}
		for i := range objs {
			o := &objs[i]
			var other ritual.UUID
			switch err := tx.QueryRow(ctx, `SELECT id FROM objects WHERE region = $1 AND local_id = $2 AND id != $3`, id(rid), int64(o.LocalID), id(o.ID)).Scan(uuidCol{&other}); {
			case err == nil:
				return fmt.Errorf("postgres: save object %s: %w: local id %d is taken by %s", o.ID, store.ErrExists, o.LocalID, other)
			case !errors.Is(err, pgx.ErrNoRows):
				return x.s.fail("save objects", err)
			}
			if _, err := tx.Exec(ctx, objectUpsert, objectArgs(rid, o)...); err != nil {
				return x.s.fail("save object "+o.ID.String(), err)
			}
		}
		return nil
	})
}

// Delete implements store.Objects.
func (x *objects) Delete(ctx context.Context, rid ritual.UUID, ids ...ritual.UUID) error {
	return x.s.inTx(ctx, "delete objects", func(tx pgx.Tx) error {
		if err := regionExists(ctx, x.s, tx, rid); err != nil {
			return err
		}
		for _, oid := range ids {
			tag, err := tx.Exec(ctx, `DELETE FROM objects WHERE region = $1 AND id = $2`, id(rid), id(oid))
			if err != nil {
				return x.s.fail("delete object "+oid.String(), err)
			}
			if err := affected(tag, "object "+oid.String()+" in region "+rid.String()); err != nil {
				return err
			}
		}
		return nil
	})
}
