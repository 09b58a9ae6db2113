package sim

import (
	"context"
	"fmt"
	"strings"

	"ritual"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/protocol/terrain"
	"ritual/store"
)

// firstPrimLocalID is the first LocalID of a new scene's prims; avatars
// take LocalIDs from firstAvatarLocalID up so the two never meet.
const (
	firstPrimLocalID   = 1000
	firstAvatarLocalID = 1 << 24
)

// maxObjectBody bounds the body of one ObjectUpdate before zerocoding, so
// the datagram stays within msg.MTU even when coding gains nothing.
const maxObjectBody = msg.MTU - 64

// scene is the region's static content, with the messages that carry it
// built once at start: every agent is sent the same LayerData and
// ObjectUpdate values (sending only reads them).
type scene struct {
	terrain store.Heightmap
	objects []store.Object
	handle  ritual.RegionHandle

	layers  []*msg.LayerData    // the whole terrain
	updates []*msg.ObjectUpdate // every prim, batched under the MTU
	patches int                 // terrain patches the layers carry
}

func loadScene(ctx context.Context, st store.Store, info store.Region) (*scene, error) {
	hm, err := st.Terrain().Load(ctx, info.ID)
	if err != nil {
		return nil, fmt.Errorf("terrain: %w", err)
	}
	objs, err := st.Objects().Load(ctx, info.ID)
	if err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	sc := &scene{terrain: hm, objects: objs, handle: info.Handle()}
	if err := sc.buildLayers(); err != nil {
		return nil, err
	}
	if err := sc.buildUpdates(); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *scene) buildLayers() error {
	th, err := terrain.NewHeightmap(sc.terrain.W, sc.terrain.H)
	if err != nil {
		return fmt.Errorf("terrain: %w", err)
	}
	copy(th.Z, sc.terrain.Heights)
	blobs, err := terrain.EncodeRegion(th, terrain.DefaultMaxBlob)
	if err != nil {
		return fmt.Errorf("terrain: encoding: %w", err)
	}
	layer := th.Layer()
	for _, b := range blobs {
		m := &msg.LayerData{}
		m.LayerID.Type = uint8(layer)
		m.LayerData.Data = b
		sc.layers = append(sc.layers, m)
	}
	sc.patches = th.PatchesX() * th.PatchesY()
	return nil
}

func (sc *scene) buildUpdates() error {
	var cur *msg.ObjectUpdate
	size := 0
	for i := range sc.objects {
		od, err := primBlock(&sc.objects[i])
		if err != nil {
			return err
		}
		n := blockLen(&od) // this block's share of a body
		if cur == nil || size+n > maxObjectBody || len(cur.ObjectData) == 255 {
			cur = &msg.ObjectUpdate{RegionData: msg.ObjectUpdateRegionData{RegionHandle: uint64(sc.handle), TimeDilation: 0xFFFF}}
			sc.updates = append(sc.updates, cur)
			size = 11
		}
		cur.ObjectData = append(cur.ObjectData, od)
		size += n
	}
	for _, u := range sc.updates {
		if err := u.Validate(); err != nil {
			return fmt.Errorf("objects: %w", err)
		}
	}
	return nil
}

// primBlock builds the ObjectUpdate block of one prim.
func primBlock(o *store.Object) (msg.ObjectUpdateObjectData, error) {
	mo := prim.Motion{Form: prim.MotionFloat, Position: o.Position, Rotation: o.Rotation.Packed()}
	od := msg.ObjectUpdateObjectData{
		ID:           o.LocalID,
		State:        o.State,
		FullID:       o.ID,
		CRC:          1,
		PCode:        o.PCode,
		Material:     o.Material,
		ClickAction:  o.ClickAction,
		Scale:        o.Scale,
		ObjectData:   mo.AppendTo(nil),
		UpdateFlags:  o.Flags,
		TextureEntry: o.TextureEntry,
		ExtraParams:  o.ExtraParams,
		OwnerID:      o.Owner,
		TextColor:    o.TextColor,
	}
	setShape(&od, o.Shape)
	if o.Text != "" {
		od.Text = append([]byte(o.Text), 0)
	}
	if len(od.ExtraParams) == 0 {
		od.ExtraParams = []byte{0}
	}
	return od, nil
}

func setShape(od *msg.ObjectUpdateObjectData, s store.Shape) {
	od.PathCurve, od.ProfileCurve = s.PathCurve, s.ProfileCurve
	od.PathBegin, od.PathEnd = s.PathBegin, s.PathEnd
	od.PathScaleX, od.PathScaleY = s.PathScaleX, s.PathScaleY
	od.PathShearX, od.PathShearY = s.PathShearX, s.PathShearY
	od.PathTwist, od.PathTwistBegin = s.PathTwist, s.PathTwistBegin
	od.PathRadiusOffset = s.PathRadiusOffset
	od.PathTaperX, od.PathTaperY = s.PathTaperX, s.PathTaperY
	od.PathRevolutions, od.PathSkew = s.PathRevolutions, s.PathSkew
	od.ProfileBegin, od.ProfileEnd, od.ProfileHollow = s.ProfileBegin, s.ProfileEnd, s.ProfileHollow
}

// spawn is where a new arrival stands: the region's centre, on the ground.
func (sc *scene) spawn() ritual.Vector3 {
	x, y := float32(sc.terrain.W)/2, float32(sc.terrain.H)/2-3
	return ritual.Vector3{X: x, Y: y, Z: heightAt(sc.terrain, x, y) + 0.9}
}

// arrival is where an agent that asked for start ("uri:Region&x&y&z")
// stands: that spot when it names this region and lies inside it, raised
// to the ground if below it; else spawn.
func (sc *scene) arrival(start, region string) ritual.Vector3 {
	name, p, hasPos, ok := login.ParseStart(start)
	if !ok || !hasPos || !strings.EqualFold(name, region) ||
		p.X < 0 || p.Y < 0 || p.X >= float32(sc.terrain.W) || p.Y >= float32(sc.terrain.H) {
		return sc.spawn()
	}
	p.Z = max(p.Z, heightAt(sc.terrain, p.X, p.Y)+0.9)
	return p
}

// avatarTexture is the default avatar's texture.
var avatarTexture = func() []byte {
	te := prim.NewTextureEntry(ritual.MustParseUUID("c228d1cf-4b5d-4ba8-84f4-899a0796aa97"))
	return te.AppendTo(nil)
}()

// avatarUpdate builds the ObjectUpdate that shows an agent its own avatar.
func (sc *scene) avatarUpdate(localID uint32, agent ritual.UUID, first, last string, pos ritual.Vector3) *msg.ObjectUpdate {
	od := sc.avatarBlock(localID, agent, first+" "+last, pos, ritual.IdentityQuaternion, ritual.Vector3{}, pos.Z-0.9)
	return &msg.ObjectUpdate{
		RegionData: msg.ObjectUpdateRegionData{RegionHandle: uint64(sc.handle), TimeDilation: 0xFFFF},
		ObjectData: []msg.ObjectUpdateObjectData{od},
	}
}

// avatarBlock builds the ObjectUpdate block of an avatar named "First
// Last" (the NameValue viewers show as its name tag).
func (sc *scene) avatarBlock(localID uint32, agent ritual.UUID, name string, pos ritual.Vector3, rot ritual.Quaternion, vel ritual.Vector3, ground float32) msg.ObjectUpdateObjectData {
	mo := prim.Motion{
		Form: prim.MotionFloat, HasCollisionPlane: true,
		CollisionPlane: ritual.Vector4{Z: 1, W: ground},
		Position:       pos, Velocity: vel, Rotation: rot,
	}
	first, last, _ := strings.Cut(name, " ")
	nv := "FirstName STRING RW SV " + first + "\nLastName STRING RW SV " + last + "\nTitle STRING RW SV \x00"
	od := msg.ObjectUpdateObjectData{
		ID:           localID,
		FullID:       agent,
		CRC:          1,
		PCode:        prim.PCodeAvatar,
		Material:     4,
		Scale:        ritual.Vector3{X: 0.45, Y: 0.6, Z: 1.9},
		ObjectData:   mo.AppendTo(nil),
		UpdateFlags:  0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x100, // usable by the owner
		TextureEntry: avatarTexture,
		NameValue:    []byte(nv),
		ExtraParams:  []byte{0},
	}
	setShape(&od, avatarShape)
	return od
}

var avatarShape = store.Shape(prim.NewShape(prim.PrimBox).Params())

// blockLen is the encoded size of one ObjectUpdate block.
func blockLen(od *msg.ObjectUpdateObjectData) int {
	one := msg.ObjectUpdate{ObjectData: []msg.ObjectUpdateObjectData{*od}}
	return len(one.AppendTo(nil)) - 10 - 1
}
