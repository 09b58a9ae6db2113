package store

import (
	"context"
	"errors"
	"time"

	"ritual"
)

// Domain errors. Backends wrap them with context; test with errors.Is.
var (
	// ErrNotFound reports that the account, folder, region, terrain or
	// object asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists reports that an id, name, grid location or local id is
	// already taken.
	ErrExists = errors.New("store: already exists")
	// ErrInvalid reports a value the store refuses to keep.
	ErrInvalid = errors.New("store: invalid value")
	// ErrClosed reports a call on a store after Close.
	ErrClosed = errors.New("store: closed")
)

// Store bundles the parts of a grid's storage. Its methods are safe for
// concurrent use by many goroutines.
type Store interface {
	Accounts() Accounts
	Inventory() InventoryFolders
	Regions() Regions
	Terrain() Terrain
	Objects() Objects
	// Messages keeps instant messages for accounts that were offline.
	Messages() OfflineMessages
	// Homes keeps each agent's home, where "Teleport Home" and a login
	// with start "home" go.
	Homes() Homes
	// Close releases the store. Later calls return ErrClosed; calling Close
	// again returns nil.
	Close() error
}

// Account is an avatar's login record.
type Account struct {
	ID    ritual.UUID
	First string
	Last  string
	// PasswordHash is the stored password string (account.Hash); the store
	// keeps it as given and never interprets it.
	PasswordHash string
	Created      time.Time
}

// Name returns "First Last".
func (a Account) Name() string { return a.First + " " + a.Last }

// Accounts keeps login records.
type Accounts interface {
	// Create adds accounts, all or none, in one transaction. A zero ID is
	// replaced by a fresh random one and a zero Created by the current time
	// (both written back through the pointers); Created is kept to the
	// microsecond in UTC. Each account gets its inventory skeleton
	// (DefaultSkeleton). A name (compared case-insensitively) or ID already
	// present, or repeated within the call, fails with ErrExists; a bad name
	// or an empty PasswordHash with ErrInvalid.
	Create(ctx context.Context, accounts ...*Account) error
	// Get returns the account with the given ID, or ErrNotFound.
	Get(ctx context.Context, id ritual.UUID) (Account, error)
	// ByName returns the account named first last, ignoring ASCII case, or
	// ErrNotFound. The names are returned as they were created.
	ByName(ctx context.Context, first, last string) (Account, error)
	// List returns every account ordered by first then last name, ignoring
	// ASCII case.
	List(ctx context.Context) ([]Account, error)
	// Delete removes an account and its inventory, or returns ErrNotFound.
	Delete(ctx context.Context, id ritual.UUID) error
	// SetPassword replaces the stored password string (ErrInvalid if empty),
	// or returns ErrNotFound.
	SetPassword(ctx context.Context, id ritual.UUID, passwordHash string) error
}

// MaxFolderName is the longest folder name in bytes (a Variable 1 field on
// the wire holds at most 255 bytes).
const MaxFolderName = 255

// FolderType is an inventory folder's preferred type (type_default in the
// login reply's inventory-skeleton; LLFolderType in viewers).
type FolderType int8

// Folder types of the system folders. Ordinary folders are FolderNone.
const (
	FolderNone          FolderType = -1
	FolderTexture       FolderType = 0
	FolderSound         FolderType = 1
	FolderCallingCard   FolderType = 2
	FolderLandmark      FolderType = 3
	FolderClothing      FolderType = 5
	FolderObject        FolderType = 6
	FolderNotecard      FolderType = 7
	FolderRoot          FolderType = 8
	FolderLSLText       FolderType = 10
	FolderBodyPart      FolderType = 13
	FolderTrash         FolderType = 14
	FolderSnapshot      FolderType = 15
	FolderLostAndFound  FolderType = 16
	FolderAnimation     FolderType = 20
	FolderGesture       FolderType = 21
	FolderFavorites     FolderType = 23
	FolderCurrentOutfit FolderType = 46
	FolderOutfit        FolderType = 47
	FolderMyOutfits     FolderType = 48
	FolderSettings      FolderType = 56
	FolderMaterial      FolderType = 57
)

// Folder is an inventory folder.
type Folder struct {
	ID    ritual.UUID
	Owner ritual.UUID // the account
	// Parent is the containing folder; zero for the root.
	Parent  ritual.UUID
	Name    string
	Type    FolderType
	Version int32
}

// skeleton lists the system folders made under the root for a new account,
// as OpenSimulator's inventory service makes them.
var skeleton = []struct {
	name string
	typ  FolderType
}{
	{"Animations", FolderAnimation},
	{"Body Parts", FolderBodyPart},
	{"Calling Cards", FolderCallingCard},
	{"Clothing", FolderClothing},
	{"Current Outfit", FolderCurrentOutfit},
	{"Favorites", FolderFavorites},
	{"Gestures", FolderGesture},
	{"Landmarks", FolderLandmark},
	{"Lost And Found", FolderLostAndFound},
	{"Notecards", FolderNotecard},
	{"Objects", FolderObject},
	{"Photo Album", FolderSnapshot},
	{"Scripts", FolderLSLText},
	{"Sounds", FolderSound},
	{"Textures", FolderTexture},
	{"Trash", FolderTrash},
	{"Settings", FolderSettings},
	{"Materials", FolderMaterial},
}

// DefaultSkeleton returns the folders a new account starts with, each with a
// fresh random ID and version 1: first the root "My Inventory" (FolderRoot),
// then one system folder of each type under it, Current Outfit among them.
func DefaultSkeleton(owner ritual.UUID) []Folder {
	root := Folder{ID: ritual.NewUUID(), Owner: owner, Name: "My Inventory", Type: FolderRoot, Version: 1}
	fs := make([]Folder, 0, 1+len(skeleton))
	fs = append(fs, root)
	for _, s := range skeleton {
		fs = append(fs, Folder{ID: ritual.NewUUID(), Owner: owner, Parent: root.ID, Name: s.name, Type: s.typ, Version: 1})
	}
	return fs
}

// InventoryFolders keeps the inventory folders of accounts.
type InventoryFolders interface {
	// Skeleton returns all folders of an account, the root first, then by
	// name; ErrNotFound if there is no such account.
	Skeleton(ctx context.Context, owner ritual.UUID) ([]Folder, error)
	// Root returns the account's root folder, or ErrNotFound.
	Root(ctx context.Context, owner ritual.UUID) (Folder, error)
	// Get returns one folder, or ErrNotFound.
	Get(ctx context.Context, id ritual.UUID) (Folder, error)
	// Create adds a folder under f.Parent, which must exist and belong to
	// f.Owner (else ErrNotFound; a zero Parent is ErrInvalid: every account
	// has exactly one root). A zero ID is replaced by a fresh one and the
	// version set to 1, both written back. The parent's version increments.
	// An ID in use is ErrExists; an empty or overlong name ErrInvalid.
	Create(ctx context.Context, f *Folder) error
	// Delete removes a folder and everything below it, and increments its
	// parent's version. The root cannot be deleted (ErrInvalid).
	Delete(ctx context.Context, id ritual.UUID) error
	// BumpVersion increments a folder's version and returns the new value,
	// for changes to the folder's contents.
	BumpVersion(ctx context.Context, id ritual.UUID) (int32, error)
}

// Region limits.
const (
	// MaxRegionName is the longest region name in bytes.
	MaxRegionName = 64
	// MaxRegionSize is the largest region side in metres.
	MaxRegionSize = 8192
	// MaxGrid bounds grid coordinates so that the region's far edge in
	// metres still fits a uint32.
	MaxGrid = 1<<24 - MaxRegionSize/ritual.RegionSize
)

// Region is a region's record.
type Region struct {
	ID   ritual.UUID
	Name string
	// GridX, GridY locate the south-west corner in 256 m units.
	GridX, GridY uint32
	// SizeX, SizeY are the extent in metres: multiples of 256, at most
	// MaxRegionSize. Zero means 256.
	SizeX, SizeY uint32
	Created      time.Time
}

// Handle returns the region handle of the south-west corner.
func (r Region) Handle() ritual.RegionHandle { return ritual.HandleFromGrid(r.GridX, r.GridY) }

// Regions keeps region records.
type Regions interface {
	// Create adds a region. A zero ID, Created or size is filled in (written
	// back). A taken ID or name (ignoring ASCII case), or an area that
	// overlaps another region, is ErrExists; a bad name or size ErrInvalid.
	Create(ctx context.Context, r *Region) error
	// Get returns a region by ID, or ErrNotFound.
	Get(ctx context.Context, id ritual.UUID) (Region, error)
	// ByName returns a region by name ignoring ASCII case, or ErrNotFound.
	ByName(ctx context.Context, name string) (Region, error)
	// List returns all regions ordered by name.
	List(ctx context.Context) ([]Region, error)
	// Update replaces the name, location and size of an existing region
	// (Created is kept), with the checks of Create; ErrNotFound if absent.
	Update(ctx context.Context, r Region) error
	// Delete removes a region with its terrain and objects, or returns
	// ErrNotFound.
	Delete(ctx context.Context, id ritual.UUID) error
}

// MaxTerrainSide is the largest heightmap side in samples.
const MaxTerrainSide = MaxRegionSize

// Heightmap is a region's terrain: W×H heights in metres, row-major
// (Heights[y*W+x], y northward from the south edge).
type Heightmap struct {
	W, H    int
	Heights []float32
}

// Terrain keeps one heightmap per region.
type Terrain interface {
	// Load returns the region's heightmap; ErrNotFound if the region does
	// not exist or has no terrain saved.
	Load(ctx context.Context, region ritual.UUID) (Heightmap, error)
	// Save replaces the region's heightmap; ErrNotFound if the region does
	// not exist. Sides must be 1..MaxTerrainSide, len(Heights) must be W*H
	// and every height finite, else ErrInvalid.
	Save(ctx context.Context, region ritual.UUID, hm Heightmap) error
}

// Shape is a prim's shape as the integers ObjectUpdate (and ObjectAdd)
// carry, unscaled: see the protocol notes, section 5.1, for their meaning.
type Shape struct {
	PathCurve        uint8
	ProfileCurve     uint8
	PathBegin        uint16
	PathEnd          uint16
	PathScaleX       uint8
	PathScaleY       uint8
	PathShearX       uint8
	PathShearY       uint8
	PathTwist        int8
	PathTwistBegin   int8
	PathRadiusOffset int8
	PathTaperX       int8
	PathTaperY       int8
	PathRevolutions  uint8
	PathSkew         int8
	ProfileBegin     uint16
	ProfileEnd       uint16
	ProfileHollow    uint16
}

// Object field limits: what one ObjectUpdate / ObjectProperties block can
// carry.
const (
	MaxTextureEntry = 65535 // Variable 2
	MaxExtraParams  = 255   // Variable 1
	MaxObjectText   = 255   // Name, Description, Text: Variable 1
)

// Object is a prim in a region.
type Object struct {
	ID      ritual.UUID // FullID
	LocalID uint32      // non-zero, unique within the region
	// Parent is the UUID of the linkset's root prim; zero for a root or an
	// unlinked prim.
	Parent      ritual.UUID
	PCode       uint8
	Material    uint8
	ClickAction uint8
	State       uint8
	// Position is region-local for a root prim and relative to the root
	// for a child prim; Scale is the size in metres.
	Scale    ritual.Vector3
	Position ritual.Vector3
	Rotation ritual.Quaternion
	Shape
	TextureEntry []byte
	ExtraParams  []byte
	Name         string
	Description  string
	Text         string  // hover text
	TextColor    [4]byte // RGBA of the hover text
	Owner        ritual.UUID
	Creator      ritual.UUID
	Flags        uint32 // PrimFlags (UpdateFlags)
}

// Objects keeps the prims of regions.
type Objects interface {
	// Load returns every object of a region ordered by LocalID;
	// ErrNotFound if the region does not exist.
	Load(ctx context.Context, region ritual.UUID) ([]Object, error)
	// Save inserts or replaces objects (by ID) in a region, all or none;
	// an object saved before in another region moves. ErrNotFound if the
	// region does not exist; ErrExists if a LocalID is taken by another
	// object of the region (or repeated within the call); ErrInvalid for a
	// zero ID or LocalID, a non-finite vector or an overlong field.
	Save(ctx context.Context, region ritual.UUID, objs ...Object) error
	// Delete removes objects of a region, all or none; ErrNotFound if any
	// of them is not in the region.
	Delete(ctx context.Context, region ritual.UUID, ids ...ritual.UUID) error
}

// Limits of an offline message.
const (
	// MaxOfflineMessages is how many messages an account can have waiting;
	// Save refuses more with ErrFull.
	MaxOfflineMessages = 100
	// MaxMessageText is the longest message text in bytes (the wire's
	// Variable 2 field less its NUL) and MaxMessageName the longest sender
	// name (Variable 1 less its NUL).
	MaxMessageText = 1023
	MaxMessageName = 254
	// MaxMessageBucket is the longest binary bucket kept with a message.
	MaxMessageBucket = 1024
)

// ErrFull reports that an account already has MaxOfflineMessages waiting.
var ErrFull = errors.New("store: full")

// OfflineMessage is an instant message kept for an account that was not
// online when it was sent (ImprovedInstantMessage's MessageBlock).
type OfflineMessage struct {
	// ID is the message's id (the IM session id); a zero ID is replaced
	// by a fresh random one.
	ID       ritual.UUID
	To       ritual.UUID // the account it waits for
	From     ritual.UUID // the sender's account (or object)
	FromName string
	Dialog   uint8
	Text     string
	Bucket   []byte
	RegionID ritual.UUID
	Position ritual.Vector3
	// Sent is when the message was sent (zero: now), kept to the second.
	Sent time.Time
}

// OfflineMessages keeps instant messages until their recipient logs in.
type OfflineMessages interface {
	// Save keeps m for m.To, writing a fresh ID and Sent back when zero.
	// An unknown recipient fails with ErrNotFound; a text, name or bucket
	// over the limits with ErrInvalid; a full mailbox with ErrFull.
	Save(ctx context.Context, m *OfflineMessage) error
	// Take returns the messages waiting for an account, oldest first, and
	// removes them; none is an empty result, not an error.
	Take(ctx context.Context, to ritual.UUID) ([]OfflineMessage, error)
}

// Home is an agent's home: a spot in a region, set from the viewer ("Set
// Home to Here").
type Home struct {
	Agent, Region    ritual.UUID
	Position, LookAt ritual.Vector3
	Updated          time.Time // filled in by Set
}

// Homes keeps the agents' homes.
type Homes interface {
	// Set records h, replacing the agent's earlier home (Updated is set to
	// now and written back). ErrNotFound if the account or the region does
	// not exist; ErrInvalid for a non-finite position or look-at.
	Set(ctx context.Context, h *Home) error
	// Get returns the agent's home, or ErrNotFound (none set, or its region
	// was deleted).
	Get(ctx context.Context, agent ritual.UUID) (Home, error)
}
