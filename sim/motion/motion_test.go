package motion

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ritual"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// slope is a 256 m square region rising 0.25 m a metre eastward from 20 m.
func slope() Region {
	g := &Ground{W: 256, H: 256, Heights: make([]float32, 256*256)}
	for y := range 256 {
		for x := range 256 {
			g.Heights[y*256+x] = 20 + 0.25*float32(x)
		}
	}
	return Region{Ground: g, SizeX: 256, SizeY: 256}
}

func flat(h float32) Region {
	g := &Ground{W: 256, H: 256, Heights: make([]float32, 256*256)}
	for i := range g.Heights {
		g.Heights[i] = h
	}
	return Region{Ground: g, SizeX: 256, SizeY: 256}
}

// phase is a run of steps under one input.
type phase struct {
	steps int
	in    Input
}

// run steps b at 10 Hz through the phases and writes one line a step.
func run(b *Body, r Region, phases []phase) string {
	var sb strings.Builder
	n := 0
	for _, ph := range phases {
		for range ph.steps {
			Step(b, ph.in, r, 0.1)
			n++
			fmt.Fprintf(&sb, "%3d pos=(%.2f,%.2f,%.2f) vel=(%.2f,%.2f,%.2f) fly=%v anim=%s\n",
				n, b.Position.X, b.Position.Y, b.Position.Z, b.Velocity.X, b.Velocity.Y, b.Velocity.Z, b.Flying, b.Animation)
		}
	}
	return sb.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func TestWalkUpSlope(t *testing.T) {
	r := slope()
	b := &Body{Position: ritual.Vector3{X: 100, Y: 128, Z: r.Ground.At(100, 128) + HalfHeight}}
	east := Input{Controls: AtPos, BodyRotation: Heading(0)}
	out := run(b, r, []phase{{20, east}, {5, Input{BodyRotation: Heading(0)}}, {10, Input{Controls: AtPos, BodyRotation: Heading(math.Pi)}}})
	golden(t, "walk_slope", out)
	// Feet on the slope after every step, moving at walking speed.
	if want := r.Ground.At(b.Position.X, b.Position.Y) + HalfHeight; math.Abs(float64(b.Position.Z-want)) > 1e-3 {
		t.Errorf("z = %v, want %v (on the ground)", b.Position.Z, want)
	}
	if got := -b.Velocity.X; math.Abs(float64(got-WalkSpeed)) > 1e-3 {
		t.Errorf("speed %v, want %v", got, WalkSpeed)
	}
	if b.Animation != Walk {
		t.Errorf("animation %v, want walk", b.Animation)
	}
}

func TestFlyUpAndLand(t *testing.T) {
	r := flat(25)
	b := &Body{Position: ritual.Vector3{X: 128, Y: 128, Z: 25 + HalfHeight}}
	up := Input{Controls: FlyControl | UpPos}
	hover := Input{Controls: FlyControl}
	down := Input{Controls: FlyControl | UpNeg}
	out := run(b, r, []phase{{10, up}, {3, hover}, {14, down}, {3, Input{Controls: FlyControl}}, {3, Input{}}, {2, Input{Controls: FlyControl | UpPos}}})
	golden(t, "fly_land", out)
	// Landed with Fly held: down until released; released and held
	// again: flying.
	if !b.Flying || b.Animation != HoverUp {
		t.Errorf("after pressing fly again: flying=%v anim=%v, want flying hover_up", b.Flying, b.Animation)
	}
}

func TestFallAndLand(t *testing.T) {
	r := flat(25)
	b := &Body{Position: ritual.Vector3{X: 128, Y: 128, Z: 60}}
	out := run(b, r, []phase{{30, Input{}}})
	if !strings.Contains(out, "anim=land") || b.Animation != Stand || b.Position.Z != 25+HalfHeight {
		t.Errorf("a dropped avatar should fall and land:\n%s", out)
	}
}

func TestEdgeIsAWall(t *testing.T) {
	r := flat(22)
	b := &Body{Position: ritual.Vector3{X: 245, Y: 240, Z: 22 + HalfHeight}}
	// North-east at a run: into the east wall, along it into the corner
	// and held there; then flying north-west along the north wall.
	ne := Input{Controls: AtPos, BodyRotation: Heading(math.Pi / 3), AlwaysRun: true}
	nw := Input{Controls: FlyControl | AtPos, BodyRotation: Heading(3 * math.Pi / 4)}
	out := run(b, r, []phase{{45, ne}, {10, nw}})
	golden(t, "edge", out)
	if !strings.Contains(out, " 45 pos=(255.50,255.50,22.90) vel=(0.00,0.00,0.00)") {
		t.Errorf("not held in the north-east corner after step 45:\n%s", out)
	}
	if b.Position.Y != r.SizeY-EdgeMargin || b.Position.X > 255.5-5 || b.Velocity.Y != 0 {
		t.Errorf("at %v vel %v, want sliding west along the north wall", b.Position, b.Velocity)
	}
}

func TestStopAndStand(t *testing.T) {
	r := flat(22)
	b := &Body{Position: ritual.Vector3{X: 10, Y: 10, Z: 22 + HalfHeight}}
	Step(b, Input{Controls: AtPos | Stop}, r, 0.1)
	if b.Velocity != (ritual.Vector3{}) || b.Animation != Stand {
		t.Errorf("stop: vel %v anim %v", b.Velocity, b.Animation)
	}
}

func TestBadRotationIsIgnored(t *testing.T) {
	r := flat(22)
	b := &Body{Position: ritual.Vector3{X: 10, Y: 10, Z: 22 + HalfHeight}}
	nan := float32(math.NaN())
	Step(b, Input{Controls: AtPos, BodyRotation: ritual.Quaternion{X: nan, Y: nan, Z: nan, W: nan}}, r, 0.1)
	if math.IsNaN(float64(b.Position.X)) || b.Position.X <= 10 {
		t.Errorf("position %v after a NaN rotation", b.Position)
	}
}

func TestGroundInterpolates(t *testing.T) {
	g := &Ground{W: 2, H: 2, Heights: []float32{0, 10, 20, 30}}
	for _, c := range []struct{ x, y, want float32 }{
		{0, 0, 0}, {1, 0, 10}, {0, 1, 20}, {0.5, 0.5, 15}, {-5, -5, 0}, {9, 9, 30},
	} {
		if got := g.At(c.x, c.y); got != c.want {
			t.Errorf("At(%v,%v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestAnimationIDs(t *testing.T) {
	for a := Stand; a <= Land; a++ {
		got, ok := AnimationByID(a.ID())
		if !ok || got != a {
			t.Errorf("%v: round trip gave %v %v", a, got, ok)
		}
	}
}

func BenchmarkStep(b *testing.B) {
	r := slope()
	body := &Body{Position: ritual.Vector3{X: 100, Y: 128, Z: 46}}
	in := Input{Controls: AtPos, BodyRotation: Heading(0.3)}
	b.ReportAllocs()
	for b.Loop() {
		Step(body, in, r, 0.1)
		if body.Position.X > 250 {
			body.Position.X = 10
		}
	}
}

// TestOpenEdge: past an edge with a neighbour beyond, a walking body
// leaves the region with its velocity kept; the other edges stay walls.
func TestOpenEdge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		open    uint8
		heading float64
		out     func(p ritual.Vector3) bool
	}{
		{"east", OpenEast, 0, func(p ritual.Vector3) bool { return p.X >= 256 }},
		{"west", OpenWest, math.Pi, func(p ritual.Vector3) bool { return p.X < 0 }},
		{"north", OpenNorth, math.Pi / 2, func(p ritual.Vector3) bool { return p.Y >= 256 }},
		{"south", OpenSouth, -math.Pi / 2, func(p ritual.Vector3) bool { return p.Y < 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := flat(22)
			r.Open = tc.open
			start := ritual.Vector3{X: 128, Y: 128, Z: 22 + HalfHeight}
			b := &Body{Position: start}
			in := Input{Controls: AtPos, BodyRotation: Heading(tc.heading), AlwaysRun: true}
			for i := 0; i < 400 && !tc.out(b.Position); i++ {
				Step(b, in, r, 0.1)
			}
			if !tc.out(b.Position) || b.Velocity == (ritual.Vector3{}) {
				t.Fatalf("at %v vel %v: did not walk out through the open %s edge", b.Position, b.Velocity, tc.name)
			}
			// Every other edge is a wall.
			r.Open = (OpenWest | OpenEast | OpenSouth | OpenNorth) &^ tc.open
			b = &Body{Position: start}
			for i := 0; i < 400; i++ {
				Step(b, in, r, 0.1)
			}
			if tc.out(b.Position) || b.Position.X < 0 || b.Position.Y < 0 || b.Position.X >= 256 || b.Position.Y >= 256 {
				t.Fatalf("at %v: walked through the closed %s edge", b.Position, tc.name)
			}
		})
	}
}
