package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
		var set []string
		for _, c := range objectCols {
			set = append(set, c+" = excluded."+c)
		}
		return `INSERT INTO objects (id, region, ` + strings.Join(objectCols, ", ") + `) VALUES (?, ?` +
			strings.Repeat(", ?", len(objectCols)) + `) ON CONFLICT (id) DO UPDATE SET region = excluded.region, ` +
			strings.Join(set, ", ")
	}()
)

// blob stores nil as an empty BLOB (the columns are NOT NULL).
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func objectArgs(rid ritual.UUID, o *store.Object) []any {
	return []any{
		id(o.ID), id(rid),
		o.LocalID, nullID(o.Parent), o.PCode, o.Material, o.ClickAction, o.State,
		o.Scale.X, o.Scale.Y, o.Scale.Z, o.Position.X, o.Position.Y, o.Position.Z,
		o.Rotation.X, o.Rotation.Y, o.Rotation.Z, o.Rotation.W,
		o.PathCurve, o.ProfileCurve, o.PathBegin, o.PathEnd, o.PathScaleX, o.PathScaleY,
		o.PathShearX, o.PathShearY, o.PathTwist, o.PathTwistBegin, o.PathRadiusOffset,
		o.PathTaperX, o.PathTaperY, o.PathRevolutions, o.PathSkew,
		o.ProfileBegin, o.ProfileEnd, o.ProfileHollow,
		blob(o.TextureEntry), blob(o.ExtraParams), o.Name, o.Description, o.Text, o.TextColor[:],
		id(o.Owner), id(o.Creator), o.Flags,
	}
}

// bytesCol scans a BLOB, an empty one as nil.
type bytesCol struct{ b *[]byte }

func (c bytesCol) Scan(v any) error {
	switch b := v.(type) {
	case nil:
		*c.b = nil
	case []byte:
		if len(b) == 0 {
			*c.b = nil
		} else {
			*c.b = append([]byte(nil), b...)
		}
	default:
		return fmt.Errorf("%w: bytes stored as %T", ErrCorrupt, v)
	}
	return nil
}

// colorCol scans the 4-byte RGBA text colour.
type colorCol struct{ c *[4]byte }

func (c colorCol) Scan(v any) error {
	b, ok := v.([]byte)
	if !ok || len(b) != 4 {
		return fmt.Errorf("%w: text colour stored as %T of %d bytes", ErrCorrupt, v, len(b))
	}
	copy(c.c[:], b)
	return nil
}

// f32 scans a REAL column holding a float32 (SQLite may hand back an
// integral value as INTEGER). database/sql would convert through a string.
type f32 struct{ p *float32 }

func (c f32) Scan(v any) error {
	switch x := v.(type) {
	case float64:
		*c.p = float32(x)
	case int64:
		*c.p = float32(x)
	default:
		return fmt.Errorf("%w: coordinate stored as %T", ErrCorrupt, v)
	}
	return nil
}

func scanObject(row rowScanner) (store.Object, error) {
	var o store.Object
	err := row.Scan(
		uuidCol{&o.ID},
		&o.LocalID, uuidCol{&o.Parent}, &o.PCode, &o.Material, &o.ClickAction, &o.State,
		f32{&o.Scale.X}, f32{&o.Scale.Y}, f32{&o.Scale.Z},
		f32{&o.Position.X}, f32{&o.Position.Y}, f32{&o.Position.Z},
		f32{&o.Rotation.X}, f32{&o.Rotation.Y}, f32{&o.Rotation.Z}, f32{&o.Rotation.W},
		&o.PathCurve, &o.ProfileCurve, &o.PathBegin, &o.PathEnd, &o.PathScaleX, &o.PathScaleY,
		&o.PathShearX, &o.PathShearY, &o.PathTwist, &o.PathTwistBegin, &o.PathRadiusOffset,
		&o.PathTaperX, &o.PathTaperY, &o.PathRevolutions, &o.PathSkew,
		&o.ProfileBegin, &o.ProfileEnd, &o.ProfileHollow,
		bytesCol{&o.TextureEntry}, bytesCol{&o.ExtraParams}, &o.Name, &o.Description, &o.Text, colorCol{&o.TextColor},
		uuidCol{&o.Owner}, uuidCol{&o.Creator}, &o.Flags,
	)
	return o, err
}

// Load implements store.Objects.
func (x *objects) Load(ctx context.Context, rid ritual.UUID) ([]store.Object, error) {
	if err := x.s.live(); err != nil {
		return nil, err
	}
	tx, err := x.s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, x.s.fail("load objects", err)
	}
	defer tx.Rollback()
	if err := regionExists(ctx, x.s, tx, rid); err != nil {
		return nil, err
	}
	return queryAll(ctx, x.s, tx, "load objects of region "+rid.String(), scanObject, objectSelect+` WHERE region = ? ORDER BY local_id`, id(rid))
}

// Save implements store.Objects.
func (x *objects) Save(ctx context.Context, rid ritual.UUID, objs ...store.Object) error {
	for i := range objs {
		if err := objs[i].Validate(); err != nil {
			return fmt.Errorf("sqlite: save objects: %w", err)
		}
	}
	return x.s.inTx(ctx, "save objects", func(tx *sql.Tx) error {
		if err := regionExists(ctx, x.s, tx, rid); err != nil {
			return err
		}
		taken, err := tx.PrepareContext(ctx, `SELECT id FROM objects WHERE region = ? AND local_id = ? AND id != ?`)
		if err != nil {
			return x.s.fail("save objects", err)
		}
		defer taken.Close()
		up, err := tx.PrepareContext(ctx, objectUpsert)
		if err != nil {
			return x.s.fail("save objects", err)
		}
		defer up.Close()
		for i := range objs {
			o := &objs[i]
			var other ritual.UUID
			switch err := taken.QueryRowContext(ctx, id(rid), o.LocalID, id(o.ID)).Scan(uuidCol{&other}); {
			case err == nil:
				return fmt.Errorf("sqlite: save object %s: %w: local id %d is taken by %s", o.ID, store.ErrExists, o.LocalID, other)
			case !errors.Is(err, sql.ErrNoRows):
				return x.s.fail("save objects", err)
			}
			if _, err := up.ExecContext(ctx, objectArgs(rid, o)...); err != nil {
				return x.s.fail("save object "+o.ID.String(), err)
			}
		}
		return nil
	})
}

// Delete implements store.Objects.
func (x *objects) Delete(ctx context.Context, rid ritual.UUID, ids ...ritual.UUID) error {
	return x.s.inTx(ctx, "delete objects", func(tx *sql.Tx) error {
		if err := regionExists(ctx, x.s, tx, rid); err != nil {
			return err
		}
		del, err := tx.PrepareContext(ctx, `DELETE FROM objects WHERE region = ? AND id = ?`)
		if err != nil {
			return x.s.fail("delete objects", err)
		}
		defer del.Close()
		for _, oid := range ids {
			res, err := del.ExecContext(ctx, id(rid), id(oid))
			if err != nil {
				return x.s.fail("delete object "+oid.String(), err)
			}
			if err := affected(res, "object "+oid.String()+" in region "+rid.String()); err != nil {
				return err
			}
		}
		return nil
	})
}
