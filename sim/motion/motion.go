package motion

import (
	"math"

	"ritual"
)

// Controls are AgentUpdate.ControlFlags (the viewer's AGENT_CONTROL_* bits).
type Controls uint32

// The control bits a region acts on.
const (
	AtPos      Controls = 1 << 0 // forward
	AtNeg      Controls = 1 << 1 // back
	LeftPos    Controls = 1 << 2 // strafe left
	LeftNeg    Controls = 1 << 3 // strafe right
	UpPos      Controls = 1 << 4 // jump / fly up
	UpNeg      Controls = 1 << 5 // crouch / fly down
	FastAt     Controls = 1 << 10
	FastLeft   Controls = 1 << 11
	FastUp     Controls = 1 << 12
	FlyControl Controls = 1 << 13
	Stop       Controls = 1 << 14
	StandUp    Controls = 1 << 16
	NudgeAtPos Controls = 1 << 19
	NudgeAtNeg Controls = 1 << 20
	NudgeLeftP Controls = 1 << 21
	NudgeLeftN Controls = 1 << 22
	NudgeUpPos Controls = 1 << 23
	NudgeUpNeg Controls = 1 << 24
	TurnLeft   Controls = 1 << 25
	TurnRight  Controls = 1 << 26
	Away       Controls = 1 << 27
)

// Speeds in metres per second (see the package documentation).
const (
	base       = 0.03 * 128
	WalkSpeed  = base / 1.3
	RunSpeed   = base / 0.8
	FlySpeed   = base * 4 / 1.3
	Gravity    = 9.8
	MaxFall    = 50 // terminal falling speed
	MaxHeight  = 4096
	HalfHeight = 0.9 // from the avatar's centre to its feet
	EdgeMargin = 0.5 // how far inside the region's edge an avatar stays
)

// Animation is what an avatar is doing, as AvatarAnimation tells viewers.
type Animation uint8

// Animations.
const (
	Stand Animation = iota
	Walk
	Run
	Fly
	Hover
	HoverUp
	HoverDown
	Fall
	Land
)

var animNames = [...]string{"stand", "walk", "run", "fly", "hover", "hover_up", "hover_down", "fall", "land"}

func (a Animation) String() string {
	if int(a) < len(animNames) {
		return animNames[a]
	}
	return "unknown"
}

// The viewers' built-in animation ids.
var animIDs = [...]ritual.UUID{
	ritual.MustParseUUID("2408fe9e-df1d-1d7d-f4ff-1384fa7b350f"), // stand
	ritual.MustParseUUID("6ed24bd8-91aa-4b12-ccc7-c97c857ab4e0"), // walk
	ritual.MustParseUUID("05ddbff8-aaa9-92a1-2b74-8fe77a29b445"), // run
	ritual.MustParseUUID("aec4610c-757f-bc4e-c092-c6e9caf18daf"), // fly
	ritual.MustParseUUID("4ae8016b-31b9-03bb-c401-b1ea941db41d"), // hover
	ritual.MustParseUUID("62c5de58-cb33-5743-3d07-9e4cd4352864"), // hover_up
	ritual.MustParseUUID("20f063ea-8306-2562-0b07-5c853b37b31e"), // hover_down
	ritual.MustParseUUID("666307d9-a860-572d-6fd4-c3ab8865c094"), // falldown
	ritual.MustParseUUID("7a17b059-12b2-41b1-570a-186368b6aa6f"), // land
}

// ID returns the animation's asset id.
func (a Animation) ID() ritual.UUID {
	if int(a) < len(animIDs) {
		return animIDs[a]
	}
	return animIDs[Stand]
}

// AnimationByID returns the animation with the given asset id.
func AnimationByID(id ritual.UUID) (Animation, bool) {
	for i, x := range animIDs {
		if x == id {
			return Animation(i), true
		}
	}
	return 0, false
}

// Ground is a heightmap: W×H samples, one a metre, row-major from the
// south-west corner.
type Ground struct {
	W, H    int
	Heights []float32
}

// At returns the terrain height at (x, y), interpolated between samples
// and clamped to the map.
func (g *Ground) At(x, y float32) float32 {
	if g == nil || g.W == 0 || g.H == 0 || len(g.Heights) < g.W*g.H {
		return 0
	}
	fx := min(max(float64(x), 0), float64(g.W-1))
	fy := min(max(float64(y), 0), float64(g.H-1))
	x0, y0 := int(fx), int(fy)
	x1, y1 := min(x0+1, g.W-1), min(y0+1, g.H-1)
	tx, ty := float32(fx-float64(x0)), float32(fy-float64(y0))
	h := func(x, y int) float32 { return g.Heights[y*g.W+x] }
	a := h(x0, y0) + (h(x1, y0)-h(x0, y0))*tx
	b := h(x0, y1) + (h(x1, y1)-h(x0, y1))*tx
	return a + (b-a)*ty
}

// Input is what the avatar's owner asks of it, from its latest AgentUpdate
// and SetAlwaysRun.
type Input struct {
	Controls     Controls
	BodyRotation ritual.Quaternion
	AlwaysRun    bool
}

// Body is an avatar's movement state.
type Body struct {
	Position ritual.Vector3
	Velocity ritual.Vector3
	Rotation ritual.Quaternion
	Flying   bool
	// flyHeld remembers that the Fly control was held when the avatar
	// landed: it flies again only once the control is released and held
	// anew.
	flyHeld   bool
	Animation Animation
	// Ground is the terrain height under the avatar after the last step.
	Ground float32
}

// Region is the space a body moves in.
type Region struct {
	Ground *Ground
	SizeX  float32
	SizeY  float32
	// Open names the edges with a neighbouring region beyond them
	// (OpenWest|OpenEast|OpenSouth|OpenNorth): a body walks past an open
	// edge (its position leaves 0..Size) instead of meeting a wall.
	Open uint8
}

// The edges of a Region.Open.
const (
	OpenWest uint8 = 1 << iota
	OpenEast
	OpenSouth
	OpenNorth
)

// Step advances b by dt seconds under in.
func Step(b *Body, in Input, r Region, dt float32) {
	if dt <= 0 {
		return
	}
	if in.BodyRotation != (ritual.Quaternion{}) {
		b.Rotation = normalize(in.BodyRotation)
	} else if b.Rotation == (ritual.Quaternion{}) {
		b.Rotation = ritual.IdentityQuaternion
	}
	c := in.Controls
	ground := r.Ground.At(b.Position.X, b.Position.Y)
	feet := ground + HalfHeight
	onGround := b.Position.Z <= feet+0.05

	// Flying follows the Fly control, except that an avatar that landed
	// with it held stays down until it is released.
	if c&FlyControl == 0 {
		b.flyHeld = false
		b.Flying = false
	} else if !b.flyHeld {
		b.Flying = true
	}

	// The wanted direction in the body's frame: x forward, y left, z up.
	var dx, dy, dz float32
	if c&(AtPos|NudgeAtPos) != 0 {
		dx++
	}
	if c&(AtNeg|NudgeAtNeg) != 0 {
		dx--
	}
	if c&(LeftPos|NudgeLeftP) != 0 {
		dy++
	}
	if c&(LeftNeg|NudgeLeftN) != 0 {
		dy--
	}
	if c&(UpPos|NudgeUpPos) != 0 {
		dz++
	}
	if c&(UpNeg|NudgeUpNeg) != 0 {
		dz--
	}
	if c&Stop != 0 {
		dx, dy, dz = 0, 0, 0
	}
	// Horizontal movement turns with the body's heading (yaw only).
	yaw := yawOf(b.Rotation)
	sin, cos := float32(math.Sin(yaw)), float32(math.Cos(yaw))
	hx, hy := dx*cos-dy*sin, dx*sin+dy*cos
	if n := float32(math.Hypot(float64(hx), float64(hy))); n > 1 {
		hx, hy = hx/n, hy/n
	}

	if b.Flying {
		v := float32(FlySpeed)
		b.Velocity = ritual.Vector3{X: hx * v, Y: hy * v, Z: dz * v}
	} else {
		speed := float32(WalkSpeed)
		if in.AlwaysRun || c&(FastAt|FastLeft) != 0 {
			speed = RunSpeed
		}
		b.Velocity.X, b.Velocity.Y = hx*speed, hy*speed
		if onGround {
			b.Velocity.Z = 0
		} else {
			b.Velocity.Z = max(b.Velocity.Z-Gravity*dt, -MaxFall)
		}
	}

	p := b.Position
	p.X += b.Velocity.X * dt
	p.Y += b.Velocity.Y * dt
	p.Z += b.Velocity.Z * dt

	// The region's edge is a wall, unless a neighbour is beyond it.
	if lo, hi := float32(EdgeMargin), r.SizeX-EdgeMargin; (p.X < lo && r.Open&OpenWest == 0) || (p.X > hi && r.Open&OpenEast == 0) {
		p.X = min(max(p.X, lo), hi)
		b.Velocity.X = 0
	}
	if lo, hi := float32(EdgeMargin), r.SizeY-EdgeMargin; (p.Y < lo && r.Open&OpenSouth == 0) || (p.Y > hi && r.Open&OpenNorth == 0) {
		p.Y = min(max(p.Y, lo), hi)
		b.Velocity.Y = 0
	}
	ground = r.Ground.At(p.X, p.Y)
	feet = ground + HalfHeight
	landed := false
	switch {
	case p.Z < feet:
		// Never below the ground: a flying avatar that descends onto it
		// lands; a walking one follows the slope.
		if b.Flying && dz < 0 {
			b.Flying, b.flyHeld, landed = false, true, true
		}
		if !b.Flying && b.Velocity.Z < -1 {
			landed = true
		}
		p.Z = feet
		b.Velocity.Z = 0
	case !b.Flying && p.Z < feet+0.3 && b.Velocity.Z <= 0:
		// Walking downhill: stay on the ground rather than fall in steps.
		p.Z = feet
		b.Velocity.Z = 0
	case p.Z > MaxHeight:
		p.Z = MaxHeight
		b.Velocity.Z = min(b.Velocity.Z, 0)
	}
	b.Position = p
	b.Ground = ground

	horizontal := b.Velocity.X != 0 || b.Velocity.Y != 0
	switch {
	case landed:
		b.Animation = Land
	case b.Flying && horizontal:
		b.Animation = Fly
	case b.Flying && b.Velocity.Z > 0:
		b.Animation = HoverUp
	case b.Flying && b.Velocity.Z < 0:
		b.Animation = HoverDown
	case b.Flying:
		b.Animation = Hover
	case p.Z > feet+0.05:
		b.Animation = Fall
	case horizontal && (in.AlwaysRun || c&(FastAt|FastLeft) != 0):
		b.Animation = Run
	case horizontal:
		b.Animation = Walk
	default:
		b.Animation = Stand
	}
}

// yawOf returns the rotation's heading about Z, in radians.
func yawOf(q ritual.Quaternion) float64 {
	x, y, z, w := float64(q.X), float64(q.Y), float64(q.Z), float64(q.W)
	return math.Atan2(2*(w*z+x*y), 1-2*(y*y+z*z))
}

// Heading returns the rotation about Z of yaw radians.
func Heading(yaw float64) ritual.Quaternion {
	return ritual.Quaternion{Z: float32(math.Sin(yaw / 2)), W: float32(math.Cos(yaw / 2))}
}

func normalize(q ritual.Quaternion) ritual.Quaternion {
	n := float32(math.Sqrt(float64(q.X*q.X + q.Y*q.Y + q.Z*q.Z + q.W*q.W)))
	if n < 1e-6 || math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return ritual.IdentityQuaternion
	}
	return ritual.Quaternion{X: q.X / n, Y: q.Y / n, Z: q.Z / n, W: q.W / n}
}
