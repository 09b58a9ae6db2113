package sim

import (
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/protocol/msg"
	"ritual/protocol/prim"
	"ritual/sim/motion"
)

// The shared world's pace and limits.
const (
	// DefaultFrameRate is how many times a second the region steps its
	// avatars (Config.FrameRate).
	DefaultFrameRate = 10
	// viewEvery is how many frames pass between two interest passes of
	// one agent (agents are spread over the frames): 3⅓ a second at
	// 10 Hz.
	viewEvery = 3
	// maxStep bounds the time one late frame moves the avatars for.
	maxStep = 500 * time.Millisecond
	// coarseEvery is how many frames pass between two
	// CoarseLocationUpdates (the minimap, about once a second).
	coarseEvery = 10
	// maxCoarse caps the avatars one CoarseLocationUpdate lists.
	maxCoarse = 60
	// DefaultDrawDistance is the view radius of an agent whose AgentUpdate
	// gave none; MaxDrawDistance caps what any agent asks for.
	DefaultDrawDistance = 64
	MaxDrawDistance     = 512
	// MinDrawDistance is the least view an agent gets whatever it asks
	// (viewers offer no less; some bots send 1 m).
	MinDrawDistance = 32
	// cellSize is the side of a cell of the spatial index, in metres.
	cellSize = 16
	// maxQueued: an agent whose circuit has this many messages waiting is
	// not keeping up, and is sent nothing more until it drains.
	maxQueued = 64
	// ChatQueueLimit: a hearer whose circuit has this many messages
	// waiting is not sent chat (the line is counted as dropped).
	ChatQueueLimit = 256
	// Per interest pass, an agent is sent no less than minPassBytes and no
	// more than maxPassBytes, within its throttle.
	minPassBytes = 1500
	maxPassBytes = 8 * 1024
	// defaultThrottle (bits per second) stands for an agent that sent no
	// AgentThrottle.
	defaultThrottle = 1_000_000
	// Thresholds beyond which an avatar's motion is sent again.
	posThreshold = 0.05
	velThreshold = 0.1
	rotThreshold = 0.9999 // |dot| of the rotations below this
	// An interest pass looks only as far as the agent's nearest few
	// avatars (at least innerRadius metres, innerMargin beyond the 16th
	// nearest at the last whole pass), except every outerEvery-th, which
	// looks as far as it sees.
	innerRadius = 32
	innerMargin = 4
	outerEvery  = 3
	// nearAlways is how many of the nearest changed avatars every pass
	// sends before weighing the others by distance and waiting time.
	nearAlways = 16
	// maxTerseBlocks keeps one ImprovedTerseObjectUpdate within the MTU
	// (each avatar block is 63 bytes).
	maxTerseBlocks = 18
)

// Chat ranges in metres, as OpenSimulator's.
const (
	WhisperRange = 10
	SayRange     = 20
	ShoutRange   = 100
)

// Chat types of ChatFromViewer and ChatFromSimulator.
const (
	ChatWhisper      = 0
	ChatSay          = 1
	ChatShout        = 2
	ChatStartTyping  = 4
	ChatStopTyping   = 5
	chatSourceAgent  = 1
	chatAudibleFully = 1
	maxChatText      = 1023
)

// avatar is one agent in the shared world. The input fields are written by
// the agent's goroutine; the rest belong to the frame loop.
type avatar struct {
	a *agent
	// crossing is set while the avatar, past an open edge, is being
	// handed to the neighbour; its body stands still meanwhile.
	crossing atomic.Bool
	localID  uint32
	id       ritual.UUID
	name     string

	inMu     sync.Mutex
	in       motion.Input
	far      float32
	throttle float64 // bits per second, 0 for the default

	// The view of a child agent (Region.SetChildView), under inMu:
	// where it stands in this region's coordinates, how far it sees, when
	// it was told; watched while the frame loop has it as an observer or
	// is about to.
	childPos ritual.Vector3
	childFar float32
	childAt  time.Time
	watched  bool

	// Owned by the frame loop.
	body  motion.Body
	view  map[uint32]*seen // what this agent has been sent, by LocalID
	pass  uint32
	inner float32 // radius of the passes between whole ones; 0: the whole view
	cands []candidate
	slot  int // position in world.avatars
	// observer is set while the agent, not in the world, is passed for
	// as a child agent, from obsPos seeing obsFar.
	observer bool
	obsPos   ritual.Vector3
	obsFar   float32
	// What the neighbours were last told of this avatar's view
	// (tellNeighbours): where, how far, at which frame, which neighbours.
	toldPos ritual.Vector3
	toldFar float32
	toldAt  uint64
	toldNb  *[]ritual.RegionHandle
}

// seen is what an agent was last sent of one avatar.
type seen struct {
	pos, vel ritual.Vector3
	rot      ritual.Quaternion
	anim     motion.Animation
	at       uint64 // frame it was last sent
	mark     uint32 // the pass that last found it in view
}

// candidate is an avatar an interest pass may send.
type candidate struct {
	i     int32 // index into snapshot.avs
	v     *seen // nil: the agent has not seen it yet
	d     float32
	prio  float32
	terse bool
	anim  bool
}

// avState is an avatar's state as one frame left it.
type avState struct {
	av      *avatar
	localID uint32
	id      ritual.UUID
	pos     ritual.Vector3
	vel     ritual.Vector3
	rot     ritual.Quaternion
	ground  float32
	anim    motion.Animation
}

// snapshot is the world as one frame left it, immutable once published:
// the frame loop and the agents' goroutines (chat) read it.
type snapshot struct {
	frame     uint64
	avs       []avState
	byLocal   map[uint32]int32
	nx, ny    int
	cellStart []int32 // avs indexes of cell c are order[cellStart[c]:cellStart[c+1]]
	order     []int32
}

func (s *snapshot) cellOf(p ritual.Vector3) (int, int) {
	cx := min(max(int(p.X)/cellSize, 0), s.nx-1)
	cy := min(max(int(p.Y)/cellSize, 0), s.ny-1)
	return cx, cy
}

// near calls fn with every avatar within r metres of p (3D distance).
func (s *snapshot) near(p ritual.Vector3, r float32, fn func(i int32, d float32)) {
	if len(s.avs) == 0 {
		return
	}
	x0, y0 := s.cellOf(ritual.Vector3{X: p.X - r, Y: p.Y - r})
	x1, y1 := s.cellOf(ritual.Vector3{X: p.X + r, Y: p.Y + r})
	r2 := r * r
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			c := cy*s.nx + cx
			for _, i := range s.order[s.cellStart[c]:s.cellStart[c+1]] {
				q := s.avs[i].pos
				dx, dy, dz := q.X-p.X, q.Y-p.Y, q.Z-p.Z
				if d2 := dx*dx + dy*dy + dz*dz; d2 <= r2 {
					fn(i, float32(math.Sqrt(float64(d2))))
				}
			}
		}
	}
}

// WorldStats are the shared world's running counts.
type WorldStats struct {
	Frames       uint64 // frames stepped
	Avatars      int    // avatars in the world
	FrameTime    time.Duration
	Passes       uint64 // interest passes run
	Skipped      uint64 // passes skipped because the agent's circuit was not keeping up
	FullUpdates  uint64 // avatar ObjectUpdate blocks sent
	TerseUpdates uint64 // avatar ImprovedTerseObjectUpdate blocks sent
	Kills        uint64 // KillObject ids sent
	ChatHeard    uint64 // ChatFromSimulator sent to hearers
	ChatDropped  uint64 // ChatFromSimulator a hearer's full queue refused
	ChatChannel  uint64 // chat on a channel other than 0 (no scripts listen)
	ChatRelayed  uint64 // chat lines handed to neighbouring regions
	ChatAcross   uint64 // ChatFromSimulator sent for lines spoken in a neighbour
	IMs          uint64 // instant messages delivered at once
	IMsOffline   uint64 // instant messages stored for an offline recipient
	IMsDelivered uint64 // stored messages delivered at login
	// ViewEntries is how many avatars the agents are tracked as seeing,
	// all agents together; MaxQueued the most messages one agent's
	// circuit had waiting (both at the last frame).
	ViewEntries int
	MaxQueued   int
	// ChildViews is how many child agents (root in a neighbouring region)
	// were being sent this region's avatars at the last frame.
	ChildViews int
}

// world is the region's shared world: one frame loop steps every avatar
// and chooses, per agent, what it is sent.
type world struct {
	r        *Region
	frameDur time.Duration
	ground   motion.Ground
	bounds   motion.Region
	// open is the edges with a neighbour beyond (motion.Region.Open),
	// learnt when an agent's neighbours are admitted.
	open atomic.Uint32

	mu     sync.Mutex
	joins  []*avatar
	leaves []*avatar
	moves  []placement
	watch  []*avatar // child agents told a view (Region.SetChildView)

	snap atomic.Pointer[snapshot]
	stop chan struct{}
	done chan struct{}
	once sync.Once

	frames, passes, skipped, full, terse, kills atomic.Uint64
	chatHeard, chatDropped, chatChannel         atomic.Uint64
	chatRelayed, chatAcross                     atomic.Uint64
	ims, imsOffline, imsDelivered               atomic.Uint64
	frameNanos                                  atomic.Int64
	nAvatars, viewEntries, maxQueued, nObserved atomic.Int64

	// Owned by the loop.
	avatars   []*avatar
	observers []*avatar // child agents passed for (not in the world)
	frame     uint64
	terseBuf  []byte
	blocks    []msg.ImprovedTerseObjectUpdateObjectData
}

func newWorld(r *Region, rate int) *world {
	hm := r.scene.terrain
	w := &world{
		r:        r,
		frameDur: time.Second / time.Duration(rate),
		ground:   motion.Ground{W: hm.W, H: hm.H, Heights: hm.Heights},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		terseBuf: make([]byte, 0, maxTerseBlocks*prim.TerseLenAvatar),
	}
	w.bounds = motion.Region{Ground: &w.ground, SizeX: float32(r.info.SizeX), SizeY: float32(r.info.SizeY)}
	if w.bounds.SizeX == 0 {
		w.bounds.SizeX, w.bounds.SizeY = float32(hm.W), float32(hm.H)
	}
	w.snap.Store(w.emptySnapshot(0))
	return w
}

// emptySnapshot is a snapshot with no avatars, its index sized for n.
func (w *world) emptySnapshot(n int) *snapshot {
	nx := max(int(w.bounds.SizeX+cellSize-1)/cellSize, 1)
	ny := max(int(w.bounds.SizeY+cellSize-1)/cellSize, 1)
	return &snapshot{nx: nx, ny: ny, cellStart: make([]int32, nx*ny+1), byLocal: make(map[uint32]int32, n)}
}

func newAvatar(a *agent) *avatar {
	return &avatar{
		a: a, localID: a.localID, id: a.c.Agent, name: a.c.First + " " + a.c.Last,
		far: DefaultDrawDistance,
	}
}

// input records an AgentUpdate: the latest one wins (the frame loop takes
// it at its next step).
func (av *avatar) input(m *msg.AgentUpdateAgentData) {
	far := m.Far
	if !(far > 0) || math.IsInf(float64(far), 0) {
		far = DefaultDrawDistance
	}
	av.inMu.Lock()
	av.in.Controls = motion.Controls(m.ControlFlags)
	av.in.BodyRotation = m.BodyRotation
	av.far = min(max(far, MinDrawDistance), MaxDrawDistance)
	av.inMu.Unlock()
}

func (av *avatar) setAlwaysRun(on bool) {
	av.inMu.Lock()
	av.in.AlwaysRun = on
	av.inMu.Unlock()
}

func (av *avatar) setThrottle(bps float64) {
	av.inMu.Lock()
	av.throttle = bps
	av.inMu.Unlock()
}

// join adds an agent's avatar at pos; the agent has been sent its own
// full update already.
func (w *world) join(av *avatar, pos ritual.Vector3) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, l := range w.leaves {
		if l == av {
			// Back before its departure took effect: it stays, moved
			// (and no longer held past the edge it crossed).
			w.leaves = append(w.leaves[:i], w.leaves[i+1:]...)
			w.moves = append(w.moves, placement{av, pos})
			av.crossing.Store(false)
			return
		}
	}
	av.body = motion.Body{Position: pos, Rotation: ritual.IdentityQuaternion}
	w.joins = append(w.joins, av)
}

// joinMoving adds an avatar that crossed in from a neighbour: at pos,
// keeping its velocity and rotation.
func (w *world) joinMoving(av *avatar, pos, vel ritual.Vector3, rot ritual.Quaternion) {
	w.join(av, pos)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.joins) > 0 && w.joins[len(w.joins)-1] == av {
		av.body.Velocity = vel
		if rot != (ritual.Quaternion{}) {
			av.body.Rotation = rot
		}
	}
}

// placement is an avatar moved at once (a teleport within the region).
type placement struct {
	av  *avatar
	pos ritual.Vector3
}

// place moves an avatar to pos at the next frame, at rest.
func (w *world) place(av *avatar, pos ritual.Vector3) {
	w.mu.Lock()
	w.moves = append(w.moves, placement{av, pos})
	w.mu.Unlock()
}

func (w *world) leave(av *avatar) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, j := range w.joins {
		if j == av {
			// Gone before its arrival took effect.
			w.joins = append(w.joins[:i], w.joins[i+1:]...)
			return
		}
	}
	w.leaves = append(w.leaves, av)
}

// run steps the world until close.
func (w *world) run() {
	defer close(w.done)
	t := time.NewTicker(w.frameDur)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			// A frame late (the machine is busy) moves the avatars for
			// the time that really passed, up to maxStep.
			dt := w.frameDur
			if !last.IsZero() {
				dt = min(now.Sub(last), maxStep)
			}
			last = now
			start := time.Now()
			w.stepFor(dt)
			w.frameNanos.Store(int64(time.Since(start)))
		}
	}
}

func (w *world) close() {
	w.once.Do(func() { close(w.stop) })
}

// step is one frame: arrivals and departures, movement, the snapshot,
// then the interest passes due this frame and the minimap.
func (w *world) step() { w.stepFor(w.frameDur) }

// stepFor is a frame that moves the avatars for dt.
func (w *world) stepFor(frameDt time.Duration) {
	w.frame++
	w.frames.Add(1)
	w.mu.Lock()
	joins, leaves, moves, watch := w.joins, w.leaves, w.moves, w.watch
	w.joins, w.leaves, w.moves, w.watch = nil, nil, nil, nil
	w.mu.Unlock()
	for _, av := range leaves {
		if w.inWorld(av) {
			last := len(w.avatars) - 1
			w.avatars[av.slot] = w.avatars[last]
			w.avatars[av.slot].slot = av.slot
			w.avatars[last] = nil
			w.avatars = w.avatars[:last]
		}
		// What the agent was sent stays known: its circuit stays open
		// (a child's), and a child's passes or a return go on from it.
		av.slot = -1
	}
	for _, av := range joins {
		if av.a.conn.Err() != nil {
			continue // gone before it arrived
		}
		av.crossing.Store(false)
		av.slot = len(w.avatars)
		if av.view == nil {
			av.view = map[uint32]*seen{}
		}
		av.view[av.localID] = &seen{pos: av.body.Position, rot: av.body.Rotation, at: w.frame}
		w.avatars = append(w.avatars, av)
	}
	for _, m := range moves {
		if w.inWorld(m.av) {
			m.av.body = motion.Body{Position: m.pos, Rotation: m.av.body.Rotation}
		}
	}
	w.nAvatars.Store(int64(len(w.avatars)))
	if len(watch) > 0 || len(w.observers) > 0 {
		w.takeObservers(watch, time.Now())
	}
	w.nObserved.Store(int64(len(w.observers)))

	dt := float32(frameDt.Seconds())
	w.bounds.Open = uint8(w.open.Load())
	for _, av := range w.avatars {
		if av.crossing.Load() {
			continue
		}
		av.inMu.Lock()
		in := av.in
		av.inMu.Unlock()
		motion.Step(&av.body, in, w.bounds, dt)
		if p := av.body.Position; p.X < 0 || p.Y < 0 || p.X >= w.bounds.SizeX || p.Y >= w.bounds.SizeY {
			av.crossing.Store(true)
			go av.a.cross(p, av.body.Velocity, av.body.Rotation)
		}
	}
	s := w.publish()
	for i, av := range w.avatars {
		if (uint64(i)+w.frame)%viewEvery == 0 {
			w.pass(av, s)
			if w.r.borders != nil {
				av.inMu.Lock()
				far := av.far
				av.inMu.Unlock()
				w.tellNeighbours(av, far)
			}
		}
	}
	for i, av := range w.observers {
		if (uint64(i)+w.frame)%viewEvery == 0 {
			w.pass(av, s)
		}
	}
	if w.frame%coarseEvery == 0 {
		for _, av := range w.avatars {
			w.coarse(av, s)
		}
	}
	entries, queued := 0, 0
	for _, av := range w.avatars {
		entries += len(av.view)
		queued = max(queued, av.a.conn.Queued())
	}
	for _, av := range w.observers {
		entries += len(av.view)
	}
	w.viewEntries.Store(int64(entries))
	w.maxQueued.Store(int64(queued))
}

// publish builds the frame's snapshot and spatial index.
func (w *world) publish() *snapshot {
	s := w.emptySnapshot(len(w.avatars))
	s.frame = w.frame
	s.avs = make([]avState, len(w.avatars))
	s.order = make([]int32, len(w.avatars))
	cells := make([]int32, len(w.avatars))
	for i, av := range w.avatars {
		b := &av.body
		s.avs[i] = avState{av: av, localID: av.localID, id: av.id, pos: b.Position, vel: b.Velocity, rot: b.Rotation, ground: b.Ground, anim: b.Animation}
		s.byLocal[av.localID] = int32(i)
		cx, cy := s.cellOf(b.Position)
		c := int32(cy*s.nx + cx)
		cells[i] = c
		s.cellStart[c+1]++
	}
	for c := 1; c < len(s.cellStart); c++ {
		s.cellStart[c] += s.cellStart[c-1]
	}
	fill := slices.Clone(s.cellStart[:len(s.cellStart)-1])
	for i, c := range cells {
		s.order[fill[c]] = int32(i)
		fill[c]++
	}
	w.snap.Store(s)
	return s
}

// changed reports whether st moved beyond the thresholds since v.
func changed(v *seen, st *avState) bool {
	d := st.pos
	d.X, d.Y, d.Z = d.X-v.pos.X, d.Y-v.pos.Y, d.Z-v.pos.Z
	if d.X*d.X+d.Y*d.Y+d.Z*d.Z > posThreshold*posThreshold {
		return true
	}
	dv := st.vel
	dv.X, dv.Y, dv.Z = dv.X-v.vel.X, dv.Y-v.vel.Y, dv.Z-v.vel.Z
	if dv.X*dv.X+dv.Y*dv.Y+dv.Z*dv.Z > velThreshold*velThreshold {
		return true
	}
	q, p := st.rot, v.rot
	dot := q.X*p.X + q.Y*p.Y + q.Z*p.Z + q.W*p.W
	return float32(math.Abs(float64(dot))) < rotThreshold
}

// budget is how many bytes an agent may be sent in one pass.
func (av *avatar) budget(frameDur time.Duration) (int, float32) {
	av.inMu.Lock()
	bps, far := av.throttle, av.far
	av.inMu.Unlock()
	if bps <= 0 {
		bps = defaultThrottle
	}
	b := int(bps / 8 * (frameDur * viewEvery).Seconds())
	return min(max(b, minPassBytes), maxPassBytes), far
}

// pass chooses what one agent is sent this time: KillObject for avatars
// that left its view, then, nearest (and longest waiting) first and within
// its budget, full ObjectUpdates for avatars it has not seen,
// ImprovedTerseObjectUpdate for those that moved, AvatarAnimation for
// those whose animation changed.
func (w *world) pass(av *avatar, s *snapshot) {
	conn := av.a.conn
	if conn.Queued() > maxQueued {
		w.skipped.Add(1)
		return
	}
	w.passes.Add(1)
	av.pass++
	mark := av.pass
	budget, far := av.budget(w.frameDur)
	var pos ritual.Vector3
	if av.observer {
		// A child agent sees from where it stands in the neighbour (its
		// body is not the loop's: an arrival may be placing it).
		pos, far = av.obsPos, av.obsFar
	} else {
		pos = av.body.Position
	}
	// Every outerEvery-th pass looks at the whole view (and finds who left
	// it); the others only within innerRadius, where updates matter most.
	whole := av.pass%outerEvery == 1
	if !whole && av.inner > 0 {
		far = min(far, av.inner)
	}
	frameSec := float32(w.frameDur.Seconds())
	cands := av.cands[:0]
	s.near(pos, far, func(i int32, d float32) {
		st := &s.avs[i]
		v := av.view[st.localID]
		if v == nil {
			cands = append(cands, candidate{i: i, d: d, prio: d})
			return
		}
		v.mark = mark
		t, an := changed(v, st), v.anim != st.anim
		if t || an {
			age := float32(w.frame-v.at) * frameSec
			cands = append(cands, candidate{i: i, v: v, d: d, prio: d / (1 + age), terse: t, anim: an})
		}
	})
	av.cands = cands[:0]

	// Departures first: they free the viewer of what is gone.
	var kill *msg.KillObject
	for id, v := range av.view {
		if !whole {
			break
		}
		if v.mark != mark && id != av.localID {
			if kill == nil {
				kill = &msg.KillObject{}
			}
			kill.ObjectData = append(kill.ObjectData, msg.KillObjectObjectData{ID: id})
			if len(kill.ObjectData) == 255 {
				break
			}
		}
	}
	if kill != nil {
		if !w.send(av, kill, true) {
			return
		}
		for _, k := range kill.ObjectData {
			delete(av.view, k.ID)
		}
		w.kills.Add(uint64(len(kill.ObjectData)))
		budget -= 10 + 4*len(kill.ObjectData)
	}

	// The nearest few are sent every pass; the rest by distance and how
	// long they have waited.
	// Only as many as the budget could carry are ordered: the others
	// wait for a later pass.
	if len(cands) > nearAlways {
		selectSmallest(cands, nearAlways, func(c *candidate) float32 { return c.d })
		var nearest float32
		for k := range cands[:nearAlways] {
			cands[k].prio = -1 / (1 + cands[k].d)
			nearest = max(nearest, cands[k].d)
		}
		if whole {
			// The passes between look as far as the nearest few reach.
			av.inner = max(innerRadius, nearest+innerMargin)
		}
	} else if whole {
		av.inner = 0 // few around: every pass looks as far as it sees
	}
	if most := budget/(3+prim.TerseLenAvatar) + 1; len(cands) > most {
		selectSmallest(cands, most, func(c *candidate) float32 { return c.prio })
		cands = cands[:most]
	}
	slices.SortFunc(cands, func(a, b candidate) int { return cmpFloat(a.prio, b.prio) })

	var full *msg.ObjectUpdate
	var fullNew []uint32
	fullSize := 0
	flushFull := func() bool {
		if full == nil {
			return true
		}
		ok := w.send(av, full, true)
		if ok {
			w.full.Add(uint64(len(full.ObjectData)))
		} else {
			for _, id := range fullNew {
				delete(av.view, id)
			}
		}
		full, fullNew, fullSize = nil, fullNew[:0], 0
		return ok
	}
	w.terseBuf = w.terseBuf[:0]
	w.blocks = w.blocks[:0]
	var terseSeen []*seen
	flushTerse := func() bool {
		if len(w.blocks) == 0 {
			return true
		}
		m := &msg.ImprovedTerseObjectUpdate{
			RegionData: msg.ImprovedTerseObjectUpdateRegionData{RegionHandle: uint64(w.r.handle), TimeDilation: 0xFFFF},
			ObjectData: w.blocks,
		}
		ok := w.send(av, m, false)
		if ok {
			w.terse.Add(uint64(len(w.blocks)))
		} else {
			for _, v := range terseSeen {
				v.pos.X = math.MaxFloat32 // send again next time
			}
		}
		w.terseBuf, w.blocks, terseSeen = w.terseBuf[:0], w.blocks[:0], terseSeen[:0]
		return ok
	}
	var anims []int32
	for _, c := range cands {
		if budget <= 0 {
			break
		}
		st := &s.avs[c.i]
		if c.v == nil {
			od := w.r.scene.avatarBlock(st.localID, st.id, st.av.name, st.pos, st.rot, st.vel, st.ground)
			n := blockLen(&od)
			if full != nil && (fullSize+n > maxObjectBody || len(full.ObjectData) == 255) {
				if !flushFull() {
					return
				}
			}
			if full == nil {
				full = &msg.ObjectUpdate{RegionData: msg.ObjectUpdateRegionData{RegionHandle: uint64(w.r.handle), TimeDilation: 0xFFFF}}
				fullSize = 11
			}
			full.ObjectData = append(full.ObjectData, od)
			fullSize += n
			av.view[st.localID] = &seen{pos: st.pos, vel: st.vel, rot: st.rot, anim: st.anim, at: w.frame, mark: mark}
			fullNew = append(fullNew, st.localID)
			anims = append(anims, c.i)
			budget -= n
			continue
		}
		if c.terse {
			t := prim.Terse{
				LocalID: st.localID, IsAvatar: true,
				CollisionPlane: ritual.Vector4{Z: 1, W: st.ground},
				Position:       st.pos, Velocity: st.vel, Rotation: st.rot,
			}
			start := len(w.terseBuf)
			w.terseBuf = t.AppendTo(w.terseBuf)
			w.blocks = append(w.blocks, msg.ImprovedTerseObjectUpdateObjectData{Data: w.terseBuf[start:len(w.terseBuf):len(w.terseBuf)]})
			c.v.pos, c.v.vel, c.v.rot, c.v.at = st.pos, st.vel, st.rot, w.frame
			terseSeen = append(terseSeen, c.v)
			budget -= 3 + prim.TerseLenAvatar
			if len(w.blocks) == maxTerseBlocks && !flushTerse() {
				return
			}
		}
		if c.anim {
			c.v.anim = st.anim
			anims = append(anims, c.i)
			budget -= 60
		}
	}
	if !flushFull() || !flushTerse() {
		return
	}
	for _, i := range anims {
		st := &s.avs[i]
		m := &msg.AvatarAnimation{
			Sender:              msg.AvatarAnimationSender{ID: st.id},
			AnimationList:       []msg.AvatarAnimationAnimationList{{AnimID: st.anim.ID(), AnimSequenceID: int32(w.frame)}},
			AnimationSourceList: []msg.AvatarAnimationAnimationSourceList{{ObjectID: st.id}},
		}
		if !w.send(av, m, true) {
			if v := av.view[st.localID]; v != nil {
				v.anim = 255 // send again next time
			}
		}
	}
}

// coarse sends an agent the minimap: itself first, then the avatars
// within its view.
func (w *world) coarse(av *avatar, s *snapshot) {
	if av.a.conn.Queued() > maxQueued {
		return
	}
	av.inMu.Lock()
	far := av.far
	av.inMu.Unlock()
	m := &msg.CoarseLocationUpdate{Index: msg.CoarseLocationUpdateIndex{You: 0, Prey: -1}}
	add := func(p ritual.Vector3, id ritual.UUID) {
		m.Location = append(m.Location, msg.CoarseLocationUpdateLocation{
			X: uint8(min(max(p.X, 0), 255)), Y: uint8(min(max(p.Y, 0), 255)), Z: uint8(min(max(p.Z/4, 0), 255)),
		})
		m.AgentData = append(m.AgentData, msg.CoarseLocationUpdateAgentData{AgentID: id})
	}
	add(av.body.Position, av.id)
	s.near(av.body.Position, far, func(i int32, _ float32) {
		st := &s.avs[i]
		if st.av != av && len(m.Location) < maxCoarse {
			add(st.pos, st.id)
		}
	})
	w.send(av, m, false)
}

// send queues m on the agent's circuit without waiting; false when its
// queue is full or it closed.
func (w *world) send(av *avatar, m msg.Message, reliable bool) bool {
	err := av.a.conn.Send(m, reliable)
	if err != nil {
		if !errors.Is(err, circuit.ErrQueueFull) && !errors.Is(err, circuit.ErrClosed) {
			w.r.cfg.Logger.Debug("sim: send failed", "agent", av.id, "message", m.Name(), "err", err)
		}
		return false
	}
	w.r.counts.countOut(m.ID())
	return true
}

// position returns where the agent's avatar stood at the last frame.
func (w *world) position(av *avatar) (ritual.Vector3, bool) {
	s := w.snap.Load()
	i, ok := s.byLocal[av.localID]
	if !ok {
		return ritual.Vector3{}, false
	}
	return s.avs[i].pos, true
}

// chat hands a line from an agent to every avatar in range: whisper 10 m,
// say 20 m, shout 100 m; typing start and stop go as far as speech.
// Channel 0 goes to avatars; other channels are for scripts, which this
// region does not run.
//
// An agent that arrived since the last frame speaks from its arrival
// position and hears itself. A line that reaches a neighbouring region's
// ground is relayed to it (Borders.RelayChat); heard counts this
// region's hearers only.
func (w *world) chat(av *avatar, arrival ritual.Vector3, m *msg.ChatFromViewer) (heard int, ok bool) {
	if m.ChatData.Channel != 0 {
		w.chatChannel.Add(1)
		return 0, false
	}
	typ := m.ChatData.Type
	rng := chatRange(typ)
	if rng == 0 {
		return 0, false
	}
	s := w.snap.Load()
	pos := arrival
	si, in := s.byLocal[av.localID]
	if in {
		pos = s.avs[si].pos
	}
	text := trimNul(m.ChatData.Message)
	if len(text) > maxChatText {
		text = text[:maxChatText]
	}
	out := &msg.ChatFromSimulator{ChatData: msg.ChatFromSimulatorChatData{
		FromName: cstr(av.name), SourceID: av.id, OwnerID: av.id,
		SourceType: chatSourceAgent, ChatType: typ, Audible: chatAudibleFully,
		Position: pos, Message: cstr(string(text)),
	}}
	typing := typ == ChatStartTyping || typ == ChatStopTyping
	s.near(pos, rng, func(i int32, _ float32) {
		h := s.avs[i].av
		if typing && h == av {
			return
		}
		if h.a.conn.Queued() < ChatQueueLimit && w.send(h, out, true) {
			heard++
			w.chatHeard.Add(1)
		} else {
			w.chatDropped.Add(1)
		}
	})
	if !in && !typing {
		if w.send(av, out, true) {
			heard++
			w.chatHeard.Add(1)
		}
	}
	w.relayChat(av, pos, typ, text)
	return heard, true
}

func trimNul(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

func (w *world) stats() WorldStats {
	return WorldStats{
		Frames: w.frames.Load(), Avatars: int(w.nAvatars.Load()), FrameTime: time.Duration(w.frameNanos.Load()),
		Passes: w.passes.Load(), Skipped: w.skipped.Load(),
		FullUpdates: w.full.Load(), TerseUpdates: w.terse.Load(), Kills: w.kills.Load(),
		ChatHeard: w.chatHeard.Load(), ChatDropped: w.chatDropped.Load(), ChatChannel: w.chatChannel.Load(),
		ChatRelayed: w.chatRelayed.Load(), ChatAcross: w.chatAcross.Load(), ChildViews: int(w.nObserved.Load()),
		IMs: w.ims.Load(), IMsOffline: w.imsOffline.Load(), IMsDelivered: w.imsDelivered.Load(),
		ViewEntries: int(w.viewEntries.Load()), MaxQueued: int(w.maxQueued.Load()),
	}
}

func cmpFloat(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// selectSmallest reorders c so that its k smallest by key come first (in
// no particular order): quickselect, linear on average.
func selectSmallest(c []candidate, k int, key func(*candidate) float32) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		// Median of three as the pivot.
		mid := lo + (hi-lo)/2
		a, b, m := key(&c[lo]), key(&c[hi]), key(&c[mid])
		pivot := max(min(a, b), min(max(a, b), m))
		i, j := lo, hi
		for i <= j {
			for key(&c[i]) < pivot {
				i++
			}
			for key(&c[j]) > pivot {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
