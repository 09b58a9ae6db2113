package client

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/protocol/terrain"
)

// UpdateKind says which message last described an object.
type UpdateKind uint8

// The forms an object update takes.
const (
	UpdateFull       UpdateKind = iota + 1 // ObjectUpdate
	UpdateCompressed                       // ObjectUpdateCompressed
	UpdateTerse                            // ImprovedTerseObjectUpdate
)

func (k UpdateKind) String() string {
	switch k {
	case UpdateFull:
		return "full"
	case UpdateCompressed:
		return "compressed"
	case UpdateTerse:
		return "terse"
	}
	return "unknown"
}

// NameValue is one line of an object's NameValue text: "Name TYPE CLASS
// SENDTO value", for example "FirstName STRING RW SV Test".
type NameValue struct {
	Name, Type, Class, SendTo, Value string
}

// Object is one object of the region as the client knows it: the fields of
// its last full or compressed update, with position and rotation kept
// current by terse updates.
//
// An Object returned by World is a copy; its TextureEntry, ExtraParams and
// NameValues are shared with the world but never modified after they are
// set (an update replaces them), so reading them is safe.
type Object struct {
	LocalID  uint32
	FullID   ritual.UUID
	ParentID uint32
	// PCode is the object kind (prim.PCodePrim, prim.PCodeAvatar, ...).
	PCode       uint8
	State       uint8
	CRC         uint32
	Material    uint8
	ClickAction uint8
	UpdateFlags uint32

	Scale           ritual.Vector3
	Position        ritual.Vector3
	Velocity        ritual.Vector3
	Acceleration    ritual.Vector3
	Rotation        ritual.Quaternion
	AngularVelocity ritual.Vector3
	// CollisionPlane is set for avatars (the plane under the feet).
	CollisionPlane ritual.Vector4

	// Shape is the path and profile in natural units.
	Shape prim.Shape
	// TextureEntry is the decoded look of the faces; nil when the object
	// sent none (OpenSimulator sends none for avatars).
	TextureEntry *prim.TextureEntry
	ExtraParams  prim.ExtraParams
	NameValues   []NameValue
	Text         string
	TextColor    prim.Color
	MediaURL     string
	OwnerID      ritual.UUID
	Sound        ritual.UUID
	SoundGain    float32
	TreeSpecies  uint8

	// Kind is the form of the last update; Updates counts every update
	// applied (full, compressed and terse).
	Kind    UpdateKind
	Updates int
}

// NameValue returns the value of the NameValue line called name, or "".
func (o *Object) NameValue(name string) string {
	for _, nv := range o.NameValues {
		if nv.Name == name {
			return nv.Value
		}
	}
	return ""
}

// IsAvatar reports whether the object is an avatar.
func (o *Object) IsAvatar() bool { return o.PCode == prim.PCodeAvatar }

// CachedObject is an object the region announced by ObjectUpdateCached
// and has not yet described in full.
type CachedObject struct {
	LocalID, CRC, UpdateFlags uint32
}

// WorldStats counts what a World has applied.
type WorldStats struct {
	FullUpdates       int // objects in ObjectUpdate
	CompressedUpdates int // objects in ObjectUpdateCompressed
	TerseUpdates      int // terse updates applied to known objects
	TerseUnknown      int // terse updates for objects not (yet) known
	CachedAnnounced   int // objects in ObjectUpdateCached
	Killed            int // objects removed by KillObject
	LandPackets       int // LayerData of the land layer
	WindPackets       int // LayerData of the wind layer (ignored)
	CloudPackets      int // LayerData of the cloud layer (ignored)
	OtherPackets      int // LayerData of other layers (ignored)
	WindPatches       int
	CloudPatches      int
}

// Terrain is a snapshot of the terrain a World has rebuilt from LayerData.
type Terrain struct {
	// Heightmap is a copy of the region's heights (sizes 256×256 for a
	// classic region); unreceived patches read as 0.
	Heightmap *terrain.Heightmap
	// Patches is how many distinct land patches have arrived, of Of.
	Patches, Of int
}

// Complete reports whether every land patch has arrived.
func (t Terrain) Complete() bool { return t.Of > 0 && t.Patches == t.Of }

// ApplyResult says what one message changed that the caller may need to act
// on.
type ApplyResult struct {
	// NewObjects counts objects the message made known.
	NewObjects int
	// CacheMisses are local ids to ask the region for in full
	// (RequestMultipleObjects with CacheMissType 0): objects announced by
	// ObjectUpdateCached, or moved by a terse update before any full one.
	CacheMisses []uint32
}

// World is a client's view of one region: its objects and terrain. Apply
// feeds it the messages the region sends; its accessors are safe for
// concurrent use with Apply.
type World struct {
	// World.exchange (regions.go) trades every field but agent, mu and
	// Apply's scratch when the agent changes region: a field added here
	// belongs there too.
	agent ritual.UUID

	mu        sync.RWMutex
	objects   map[uint32]*Object
	byID      map[ritual.UUID]uint32
	cached    map[uint32]CachedObject
	requested map[uint32]bool // cache misses asked for and not yet answered
	avatar    uint32
	height    *terrain.Heightmap
	got       []bool // per land patch, x + y*PatchesX
	patches   int
	stats     WorldStats

	// Scratch owned by Apply (under mu).
	dec  terrain.Decoder
	comp prim.Compressed
}

// maxRegionSide bounds the region size a World accepts (OpenSimulator's
// largest var-region).
const maxRegionSide = 4096

// NewWorld returns an empty world for the agent (whose own avatar it
// recognises) in a region of sizeX × sizeY metres; 0 means 256. Sizes must
// be multiples of 16 up to 4096.
func NewWorld(agent ritual.UUID, sizeX, sizeY int) (*World, error) {
	if sizeX == 0 {
		sizeX = 256
	}
	if sizeY == 0 {
		sizeY = 256
	}
	if sizeX < 0 || sizeY < 0 || sizeX > maxRegionSide || sizeY > maxRegionSide || sizeX%terrain.N != 0 || sizeY%terrain.N != 0 {
		return nil, fmt.Errorf("%w: region size %d×%d (want multiples of 16 up to %d)", ErrConfig, sizeX, sizeY, maxRegionSide)
	}
	h, err := terrain.NewHeightmap(sizeX, sizeY)
	if err != nil {
		return nil, fmt.Errorf("client: region size %d×%d: %w", sizeX, sizeY, err)
	}
	return &World{
		agent:     agent,
		objects:   make(map[uint32]*Object),
		byID:      make(map[ritual.UUID]uint32),
		cached:    make(map[uint32]CachedObject),
		requested: make(map[uint32]bool),
		height:    h,
		got:       make([]bool, h.PatchesX()*h.PatchesY()),
	}, nil
}

// Agent returns the agent whose avatar the world recognises.
func (w *World) Agent() ritual.UUID { return w.agent }

// Len returns how many objects are known (in full).
func (w *World) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.objects)
}

// Object returns the object with the given local id.
func (w *World) Object(localID uint32) (Object, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	o, ok := w.objects[localID]
	if !ok {
		return Object{}, false
	}
	return *o, true
}

// ObjectByID returns the object with the given UUID.
func (w *World) ObjectByID(id ritual.UUID) (Object, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	lid, ok := w.byID[id]
	if !ok {
		return Object{}, false
	}
	return *w.objects[lid], true
}

// Objects returns every known object, by local id.
func (w *World) Objects() []Object {
	w.mu.RLock()
	out := make([]Object, 0, len(w.objects))
	for _, o := range w.objects {
		out = append(out, *o)
	}
	w.mu.RUnlock()
	slices.SortFunc(out, func(a, b Object) int { return int(int64(a.LocalID) - int64(b.LocalID)) })
	return out
}

// Avatar returns the agent's own avatar: the object whose FullID is the
// agent id.
func (w *World) Avatar() (Object, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.avatar == 0 {
		return Object{}, false
	}
	o, ok := w.objects[w.avatar]
	if !ok {
		return Object{}, false
	}
	return *o, true
}

// Cached returns the objects announced by ObjectUpdateCached and not yet
// received in full, by local id.
func (w *World) Cached() []CachedObject {
	w.mu.RLock()
	out := make([]CachedObject, 0, len(w.cached))
	for _, c := range w.cached {
		out = append(out, c)
	}
	w.mu.RUnlock()
	slices.SortFunc(out, func(a, b CachedObject) int { return int(int64(a.LocalID) - int64(b.LocalID)) })
	return out
}

// Stats returns what the world has applied so far.
func (w *World) Stats() WorldStats {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.stats
}

// TerrainProgress returns how many distinct land patches have arrived and
// how many the region has.
func (w *World) TerrainProgress() (patches, of int) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.patches, len(w.got)
}

// Terrain returns a snapshot of the terrain, heightmap copied.
func (w *World) Terrain() Terrain {
	w.mu.RLock()
	defer w.mu.RUnlock()
	h := &terrain.Heightmap{W: w.height.W, H: w.height.H, Z: slices.Clone(w.height.Z)}
	return Terrain{Heightmap: h, Patches: w.patches, Of: len(w.got)}
}

// Apply updates the world from one message the region sent: ObjectUpdate,
// ObjectUpdateCompressed, ImprovedTerseObjectUpdate, ObjectUpdateCached,
// KillObject and LayerData; other messages are ignored. Every block that
// decodes is applied; the error, if any, joins what was wrong with the
// others. The message is not retained.
func (w *World) Apply(m msg.Message) (ApplyResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var r ApplyResult
	var err error
	switch m := m.(type) {
	case *msg.ObjectUpdate:
		err = w.applyFull(m, &r)
	case *msg.ObjectUpdateCompressed:
		err = w.applyCompressed(m, &r)
	case *msg.ImprovedTerseObjectUpdate:
		err = w.applyTerse(m, &r)
	case *msg.ObjectUpdateCached:
		w.applyCached(m, &r)
	case *msg.KillObject:
		for _, od := range m.ObjectData {
			if w.remove(od.ID) {
				w.stats.Killed++
			}
		}
	case *msg.LayerData:
		err = w.applyLayer(m)
	}
	return r, err
}

// put records o (a full description) under its ids.
func (w *World) put(o *Object, r *ApplyResult) {
	if old, ok := w.objects[o.LocalID]; ok {
		o.Updates = old.Updates + 1
		if old.FullID != o.FullID {
			delete(w.byID, old.FullID)
		}
	} else {
		o.Updates = 1
		r.NewObjects++
	}
	// The same object under a new local id (it was re-rezzed): forget the
	// old entry.
	if lid, ok := w.byID[o.FullID]; ok && lid != o.LocalID {
		delete(w.objects, lid)
		if w.avatar == lid {
			w.avatar = 0
		}
	}
	w.objects[o.LocalID] = o
	w.byID[o.FullID] = o.LocalID
	delete(w.cached, o.LocalID)
	delete(w.requested, o.LocalID)
	if o.FullID == w.agent && !w.agent.IsZero() {
		w.avatar = o.LocalID
	}
}

func (w *World) remove(localID uint32) bool {
	delete(w.cached, localID)
	delete(w.requested, localID)
	o, ok := w.objects[localID]
	if !ok {
		return false
	}
	delete(w.objects, localID)
	if w.byID[o.FullID] == localID {
		delete(w.byID, o.FullID)
	}
	if w.avatar == localID {
		w.avatar = 0
	}
	return true
}

func (w *World) applyFull(m *msg.ObjectUpdate, r *ApplyResult) error {
	var errs []error
	for i := range m.ObjectData {
		od := &m.ObjectData[i]
		o, err := fullObject(od)
		if err != nil {
			errs = append(errs, fmt.Errorf("client: ObjectUpdate object %d (local id %d): %w", i, od.ID, err))
			continue
		}
		w.put(o, r)
		w.stats.FullUpdates++
	}
	return errors.Join(errs...)
}

// fullObject decodes one ObjectData block of ObjectUpdate.
func fullObject(od *msg.ObjectUpdateObjectData) (*Object, error) {
	var mo prim.Motion
	if err := mo.Decode(od.ObjectData); err != nil {
		return nil, fmt.Errorf("motion: %w", err)
	}
	o := &Object{
		LocalID: od.ID, FullID: od.FullID, ParentID: od.ParentID,
		PCode: od.PCode, State: od.State, CRC: od.CRC,
		Material: od.Material, ClickAction: od.ClickAction, UpdateFlags: od.UpdateFlags,
		Scale:    od.Scale,
		Position: mo.Position, Velocity: mo.Velocity, Acceleration: mo.Acceleration,
		Rotation: mo.Rotation, AngularVelocity: mo.AngularVelocity,
		Shape: prim.ShapeParams{
			PathCurve: od.PathCurve, ProfileCurve: od.ProfileCurve,
			PathBegin: od.PathBegin, PathEnd: od.PathEnd,
			PathScaleX: od.PathScaleX, PathScaleY: od.PathScaleY,
			PathShearX: od.PathShearX, PathShearY: od.PathShearY,
			PathTwist: od.PathTwist, PathTwistBegin: od.PathTwistBegin,
			PathRadiusOffset: od.PathRadiusOffset,
			PathTaperX:       od.PathTaperX, PathTaperY: od.PathTaperY,
			PathRevolutions: od.PathRevolutions, PathSkew: od.PathSkew,
			ProfileBegin: od.ProfileBegin, ProfileEnd: od.ProfileEnd, ProfileHollow: od.ProfileHollow,
		}.Shape(),
		NameValues: ParseNameValues(cString(od.NameValue)),
		Text:       cString(od.Text),
		// TextColor travels as R, G, B and 255-A, as in the compressed form.
		TextColor: prim.Color{R: od.TextColor[0], G: od.TextColor[1], B: od.TextColor[2], A: 255 - od.TextColor[3]},
		MediaURL:  cString(od.MediaURL),
		OwnerID:   od.OwnerID,
		Sound:     od.Sound,
		SoundGain: od.Gain,
		Kind:      UpdateFull,
	}
	if mo.HasCollisionPlane {
		o.CollisionPlane = mo.CollisionPlane
	}
	if o.PCode == prim.PCodeTree || o.PCode == prim.PCodeNewTree || o.PCode == prim.PCodeGrass {
		o.TreeSpecies = od.State
	}
	if len(od.TextureEntry) > 0 {
		te := new(prim.TextureEntry)
		if err := te.Decode(od.TextureEntry); err != nil {
			return nil, fmt.Errorf("TextureEntry: %w", err)
		}
		o.TextureEntry = te
	}
	if err := o.ExtraParams.Decode(od.ExtraParams); err != nil {
		return nil, fmt.Errorf("ExtraParams: %w", err)
	}
	return o, nil
}

func (w *World) applyCompressed(m *msg.ObjectUpdateCompressed, r *ApplyResult) error {
	var errs []error
	for i := range m.ObjectData {
		od := &m.ObjectData[i]
		c := &w.comp
		if err := c.Decode(od.Data); err != nil {
			errs = append(errs, fmt.Errorf("client: ObjectUpdateCompressed object %d: %w", i, err))
			continue
		}
		o := &Object{
			LocalID: c.LocalID, FullID: c.FullID, ParentID: c.ParentID,
			PCode: c.PCode, State: c.State, CRC: c.CRC,
			Material: c.Material, ClickAction: c.ClickAction, UpdateFlags: od.UpdateFlags,
			Scale: c.Scale, Position: c.Position, Rotation: c.Rotation,
			AngularVelocity: c.AngularVelocity,
			Shape:           c.Shape.Shape(),
			ExtraParams:     c.ExtraParams,
			NameValues:      ParseNameValues(c.NameValue),
			Text:            c.Text,
			TextColor:       c.TextColor,
			MediaURL:        c.MediaURL,
			OwnerID:         c.OwnerID,
			Sound:           c.Sound,
			SoundGain:       c.SoundGain,
			TreeSpecies:     c.TreeSpecies,
			Kind:            UpdateCompressed,
		}
		// The decoder reuses its Other slice; the object keeps its own.
		o.ExtraParams.Other = cloneParams(c.ExtraParams.Other)
		if len(c.TextureEntry) > 0 {
			te := new(prim.TextureEntry)
			if err := te.Decode(c.TextureEntry); err != nil {
				errs = append(errs, fmt.Errorf("client: ObjectUpdateCompressed object %d (local id %d): TextureEntry: %w", i, c.LocalID, err))
				continue
			}
			o.TextureEntry = te
		}
		w.put(o, r)
		w.stats.CompressedUpdates++
	}
	return errors.Join(errs...)
}

func cloneParams(ps []prim.ExtraParam) []prim.ExtraParam {
	if len(ps) == 0 {
		return nil
	}
	out := make([]prim.ExtraParam, len(ps))
	for i, p := range ps {
		out[i] = prim.ExtraParam{Type: p.Type, Data: slices.Clone(p.Data)}
	}
	return out
}

func (w *World) applyTerse(m *msg.ImprovedTerseObjectUpdate, r *ApplyResult) error {
	var errs []error
	for i := range m.ObjectData {
		od := &m.ObjectData[i]
		var t prim.Terse
		if err := t.Decode(od.Data); err != nil {
			errs = append(errs, fmt.Errorf("client: ImprovedTerseObjectUpdate object %d: %w", i, err))
			continue
		}
		var te *prim.TextureEntry
		blob, err := prim.TerseTextureEntry(od.TextureEntry)
		if err == nil && len(blob) > 0 {
			te = new(prim.TextureEntry)
			err = te.Decode(blob)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("client: ImprovedTerseObjectUpdate object %d (local id %d): TextureEntry: %w", i, t.LocalID, err))
			continue
		}
		o, ok := w.objects[t.LocalID]
		if !ok {
			w.stats.TerseUnknown++
			w.miss(t.LocalID, r)
			continue
		}
		// Objects are shared by snapshots: replace, never modify.
		n := *o
		n.State = t.State
		n.Position, n.Velocity, n.Acceleration = t.Position, t.Velocity, t.Acceleration
		n.Rotation, n.AngularVelocity = t.Rotation, t.AngularVelocity
		if t.IsAvatar {
			n.CollisionPlane = t.CollisionPlane
		}
		if te != nil {
			n.TextureEntry = te
		}
		n.Kind = UpdateTerse
		n.Updates++
		w.objects[t.LocalID] = &n
		w.stats.TerseUpdates++
	}
	return errors.Join(errs...)
}

// miss notes a local id to ask the region for, once.
func (w *World) miss(localID uint32, r *ApplyResult) {
	if w.requested[localID] || len(w.requested) >= maxRequested {
		return
	}
	w.requested[localID] = true
	r.CacheMisses = append(r.CacheMisses, localID)
}

// maxRequested bounds the outstanding cache misses a region can make the
// client remember.
const maxRequested = 1 << 16

func (w *World) applyCached(m *msg.ObjectUpdateCached, r *ApplyResult) {
	for _, od := range m.ObjectData {
		w.stats.CachedAnnounced++
		if o, ok := w.objects[od.ID]; ok && o.CRC == od.CRC {
			continue // what the region describes is what the client holds
		}
		if _, ok := w.cached[od.ID]; !ok && len(w.cached) >= maxRequested {
			continue
		}
		w.cached[od.ID] = CachedObject{LocalID: od.ID, CRC: od.CRC, UpdateFlags: od.UpdateFlags}
		w.miss(od.ID, r)
	}
}

func (w *World) applyLayer(m *msg.LayerData) error {
	typ := terrain.LayerType(m.LayerID.Type)
	switch typ {
	case terrain.LayerLand, terrain.LayerLandExtended:
	case terrain.LayerWind, terrain.LayerWindExtended:
		w.stats.WindPackets++
		n, err := w.countPatches(m.LayerData.Data)
		w.stats.WindPatches += n
		return err
	case terrain.LayerCloud, terrain.LayerCloudExtended:
		w.stats.CloudPackets++
		n, err := w.countPatches(m.LayerData.Data)
		w.stats.CloudPatches += n
		return err
	default:
		w.stats.OtherPackets++
		return nil
	}
	w.stats.LandPackets++
	px := w.height.PatchesX()
	got, err := w.dec.Decode(m.LayerData.Data, func(p *terrain.Patch) error {
		if err := w.height.ApplyPatch(p); err != nil {
			return err
		}
		i := p.X + p.Y*px
		if !w.got[i] {
			w.got[i] = true
			w.patches++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: LayerData (%s): %w", typ, err)
	}
	if got != typ {
		return fmt.Errorf("client: LayerData says layer %s but its blob %s", typ, got)
	}
	return nil
}

// countPatches decodes a wind or cloud blob only to count its patches
// (their ids are not places: both wind patches carry id 0).
func (w *World) countPatches(blob []byte) (int, error) {
	n := 0
	_, err := w.dec.Decode(blob, func(*terrain.Patch) error { n++; return nil })
	if err != nil {
		return n, fmt.Errorf("client: LayerData: %w", err)
	}
	return n, nil
}

// nvSpace separates the parts of a NameValue line.
const nvSpace = " \t\r"

// ParseNameValues splits an object's NameValue text into its lines, each
// "Name TYPE CLASS SENDTO value", the parts separated by spaces, tabs or
// carriage returns (the value may hold any of them but at its start). Empty
// lines are skipped; a line with fewer parts leaves the missing ones empty.
func ParseNameValues(s string) []NameValue {
	if s == "" {
		return nil
	}
	var out []NameValue
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, "\r")
		var parts [5]string
		rest := line
		for i := 0; i < 4; i++ {
			rest = strings.TrimLeft(rest, nvSpace)
			j := strings.IndexAny(rest, nvSpace)
			if j < 0 {
				parts[i], rest = rest, ""
				break
			}
			parts[i], rest = rest[:j], rest[j:]
		}
		parts[4] = strings.TrimLeft(rest, nvSpace)
		if parts[0] == "" {
			continue
		}
		out = append(out, NameValue{Name: parts[0], Type: parts[1], Class: parts[2], SendTo: parts[3], Value: parts[4]})
	}
	return out
}

// cString returns a Variable field as text, without the trailing NUL that
// senders include.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
