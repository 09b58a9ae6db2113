package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/trace"
)

// DefaultTeleportTimeout bounds a teleport from the request to the
// arrival (OpenSimulator takes about 0.3 s on loopback, seconds on a
// grid).
const DefaultTeleportTimeout = 30 * time.Second

// Teleport flags (TeleportStart, TeleportFinish, TeleportLocal).
const (
	TeleportViaLandmark = 0x08
	TeleportViaLocation = 0x10
)

// mapAccessEnd is the Access of the block that closes a MapBlockReply to
// a search by name.
const mapAccessEnd = 255

// Errors of teleports.
var (
	// ErrTeleportBusy: a teleport is already under way.
	ErrTeleportBusy = errors.New("client: a teleport is already under way")
	// ErrNoSuchRegion: the map search found no region of that name.
	ErrNoSuchRegion = errors.New("client: no region of that name on the map")
)

// TeleportError is a teleport the region refused or gave up:
// TeleportFailed with its reason.
type TeleportError struct {
	Reason string
}

// Error implements error.
func (e *TeleportError) Error() string {
	if e.Reason == "" {
		return "client: teleport failed"
	}
	return "client: teleport failed: " + e.Reason
}

// MapRegion is one region of a MapBlockReply.
type MapRegion struct {
	Name   string
	Handle ritual.RegionHandle
	Access uint8
	Flags  uint32
	Agents int
	// SizeX, SizeY are the region's extent in metres (MapBlocks: the
	// reply's Size block, 256 when it has none).
	SizeX, SizeY uint32
}

// TeleportResult tells how a teleport went.
type TeleportResult struct {
	// Region is the region the agent arrived in; Position where.
	Region   Region
	Position ritual.Vector3
	// Local reports a teleport within the region (TeleportLocal, or an
	// AgentMovementComplete on the same circuit).
	Local bool
	// Flags are the teleport flags the region sent.
	Flags uint32
	// ToFinish runs from the request to TeleportFinish (or TeleportLocal);
	// Took to the arrival (AgentMovementComplete).
	ToFinish, Took time.Duration
}

// tpSignal is one step of a teleport as the region tells it.
type tpSignal struct {
	kind    string // a trace kind: TeleportStart, TeleportProgress, ...
	flags   uint32
	message string
	reason  string
	dest    TeleportDestination
	local   msg.TeleportLocalInfo
}

// teleportState is the session's teleport under way, and the map
// searches waiting for their answer.
type teleportState struct {
	mu     sync.Mutex
	active chan tpSignal // nil when no teleport is under way
	maps   chan *msg.MapBlockReply
}

// onTeleportMessage follows TeleportStart, TeleportProgress,
// TeleportFailed, TeleportLocal and MapBlockReply from the main region.
func (s *Session) onTeleportMessage(m msg.Message) {
	switch m := m.(type) {
	case *msg.TeleportStart:
		s.teleportSignal(tpSignal{kind: trace.TeleportStart, flags: m.Info.TeleportFlags})
	case *msg.TeleportProgress:
		s.teleportSignal(tpSignal{kind: trace.TeleportProgress, flags: m.Info.TeleportFlags, message: cString(m.Info.Message)})
	case *msg.TeleportFailed:
		reason := cString(m.Info.Reason)
		if reason == "" && len(m.AlertInfo) > 0 {
			reason = cString(m.AlertInfo[0].Message)
		}
		s.teleportSignal(tpSignal{kind: trace.TeleportFailed, reason: reason})
	case *msg.TeleportLocal:
		s.teleportSignal(tpSignal{kind: trace.TeleportLocal, flags: m.Info.TeleportFlags, local: m.Info})
	case *msg.MapBlockReply:
		s.tele.mu.Lock()
		ch := s.tele.maps
		s.tele.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	}
}

// teleportSignal hands a step to the teleport under way; with none under
// way, a TeleportFinish the region sends on its own (a lure, a god's
// teleport) is still followed.
func (s *Session) teleportSignal(sig tpSignal) {
	s.tele.mu.Lock()
	ch := s.tele.active
	s.tele.mu.Unlock()
	if ch != nil {
		select {
		case ch <- sig:
		default:
			s.log.Warn("client: a teleport step was dropped", "step", sig.kind)
		}
	}
}

// teleportFinished follows TeleportFinish.
func (s *Session) teleportFinished(d TeleportDestination) {
	s.tele.mu.Lock()
	ch := s.tele.active
	s.tele.mu.Unlock()
	if ch != nil {
		s.teleportSignal(tpSignal{kind: trace.TeleportFinish, flags: d.Flags, dest: d})
		return
	}
	s.goTracked(func() {
		start := time.Now()
		s.regionEvent(&trace.RegionChange{Kind: trace.TeleportFinish, Handle: uint64(d.Handle), Remote: d.Addr.String(),
			End: s.endFor(d.Addr, d.Handle), Seed: d.SeedCapability, Flags: d.Flags})
		if _, err := s.arrive(s.ctx, d, start, start); err != nil {
			s.log.Warn("client: following a teleport the region began", "err", err)
		}
	})
}

// LookupRegion asks the main region's map for a region by name
// (MapNameRequest → MapBlockReply) and returns the one whose name matches
// exactly, in any case.
func (s *Session) LookupRegion(ctx context.Context, name string) (MapRegion, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 254 {
		return MapRegion{}, fmt.Errorf("%w: region name %q", ErrConfig, name)
	}
	ch := make(chan *msg.MapBlockReply, 4)
	s.tele.mu.Lock()
	if s.tele.maps != nil {
		s.tele.mu.Unlock()
		return MapRegion{}, errors.New("client: a map search is already under way")
	}
	s.tele.maps = ch
	s.tele.mu.Unlock()
	defer func() {
		s.tele.mu.Lock()
		s.tele.maps = nil
		s.tele.mu.Unlock()
	}()
	req := &msg.MapNameRequest{
		AgentData: msg.MapNameRequestAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session, Flags: 2},
		NameData:  msg.MapNameRequestNameData{Name: append([]byte(name), 0)},
	}
	if err := s.Send(req, true); err != nil {
		return MapRegion{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Handshake)
	defer cancel()
	var seen []string
	for {
		select {
		case rep := <-ch:
			closing := false
			for _, d := range rep.Data {
				if d.Access == mapAccessEnd && d.X == 0 && d.Y == 0 {
					closing = true
					continue
				}
				n := cString(d.Name)
				if strings.EqualFold(n, name) {
					return MapRegion{Name: n, Handle: ritual.HandleFromGrid(uint32(d.X), uint32(d.Y)),
						Access: d.Access, Flags: d.RegionFlags, Agents: int(d.Agents)}, nil
				}
				seen = append(seen, n)
			}
			if closing {
				if len(seen) > 0 {
					return MapRegion{}, fmt.Errorf("%w: %q (the map knows %s)", ErrNoSuchRegion, name, strings.Join(seen, ", "))
				}
				return MapRegion{}, fmt.Errorf("%w: %q", ErrNoSuchRegion, name)
			}
		case <-ctx.Done():
			return MapRegion{}, fmt.Errorf("client: no MapBlockReply naming %q: %w", name, ctx.Err())
		case <-s.done:
			return MapRegion{}, fmt.Errorf("client: map search: %w", s.Err())
		}
	}
}

// Teleport takes the agent to pos in the region called region, looking
// at lookAt: the region's handle from the map (LookupRegion) unless it is
// the region the agent is in, then TeleportLocationRequest, and the new
// ritual at the destination (see TeleportToHandle).
func (s *Session) Teleport(ctx context.Context, region string, pos, lookAt ritual.Vector3) (TeleportResult, error) {
	rg := s.Region()
	h := rg.Handle
	p := pos
	told := &trace.RegionChange{Kind: trace.TeleportRequest, Region: strings.TrimSpace(region), Position: &p}
	if !strings.EqualFold(strings.TrimSpace(region), rg.Name) || rg.Name == "" {
		// The teleport's story begins with the map search.
		start := time.Now()
		s.regionEvent(told)
		told = nil
		mr, err := s.LookupRegion(ctx, region)
		if err != nil {
			s.regionEvent(&trace.RegionChange{Kind: trace.TeleportFailed, Region: region, Reason: err.Error(), Elapsed: time.Since(start)})
			return TeleportResult{}, err
		}
		h = mr.Handle
	} else {
		told.Region, told.Handle = rg.Name, uint64(h)
	}
	return s.teleport(ctx, s.locationRequest(h, pos, lookAt), told, h)
}

func (s *Session) locationRequest(h ritual.RegionHandle, pos, lookAt ritual.Vector3) *msg.TeleportLocationRequest {
	return &msg.TeleportLocationRequest{
		AgentData: msg.TeleportLocationRequestAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session},
		Info:      msg.TeleportLocationRequestInfo{RegionHandle: uint64(h), Position: pos, LookAt: lookAt},
	}
}

// TeleportToHandle takes the agent to pos in the region with handle h:
// TeleportLocationRequest, then it follows TeleportStart and
// TeleportProgress, and TeleportFinish on the event queue by opening (or
// reusing) a circuit to the destination, UseCircuitCode,
// CompleteAgentMovement and waiting for AgentMovementComplete. The region
// the agent left stays as a child. A TeleportFailed is a *TeleportError
// with the region's reason; a teleport within the region ends at
// TeleportLocal (or AgentMovementComplete). Timeouts.Teleport bounds the
// whole.
func (s *Session) TeleportToHandle(ctx context.Context, h ritual.RegionHandle, pos, lookAt ritual.Vector3) (TeleportResult, error) {
	p := pos
	return s.teleport(ctx, s.locationRequest(h, pos, lookAt), &trace.RegionChange{Kind: trace.TeleportRequest, Handle: uint64(h), Position: &p}, h)
}

// TeleportLandmark takes the agent to the landmark with inventory asset
// id landmark (TeleportLandmarkRequest); the zero id means home.
func (s *Session) TeleportLandmark(ctx context.Context, landmark ritual.UUID) (TeleportResult, error) {
	req := &msg.TeleportLandmarkRequest{Info: msg.TeleportLandmarkRequestInfo{
		AgentID: s.resp.Agent, SessionID: s.resp.Session, LandmarkID: landmark,
	}}
	return s.teleport(ctx, req, &trace.RegionChange{Kind: trace.TeleportRequest, Reason: "landmark " + landmark.String()}, 0)
}

// teleport sends req and follows the teleport to its end. target is the
// destination's handle (0 when unknown, for a landmark); told is the
// request's region change (nil when the caller has told it).
func (s *Session) teleport(ctx context.Context, req msg.Message, told *trace.RegionChange, target ritual.RegionHandle) (TeleportResult, error) {
	var res TeleportResult
	if s.ended() {
		return res, fmt.Errorf("client: teleport: %w", s.Err())
	}
	ch := make(chan tpSignal, 16)
	s.tele.mu.Lock()
	if s.tele.active != nil {
		s.tele.mu.Unlock()
		return res, ErrTeleportBusy
	}
	s.tele.active = ch
	s.tele.mu.Unlock()
	defer func() {
		s.tele.mu.Lock()
		s.tele.active = nil
		s.tele.mu.Unlock()
	}()

	from := s.Region()
	start := time.Now()
	fail := func(reason string, err error) (TeleportResult, error) {
		s.regionEvent(&trace.RegionChange{Kind: trace.TeleportFailed, Handle: uint64(target),
			Reason: reason + " (the agent stays in " + from.Name + ")", Elapsed: time.Since(start)})
		return res, err
	}
	if told != nil {
		s.regionEvent(told)
	}
	if err := s.Send(req, true); err != nil {
		return fail(err.Error(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Teleport)
	defer cancel()
	local := target != 0 && target == from.Handle
	for {
		var moved <-chan struct{}
		if local {
			moved = s.changedChan()
			if mv, ok := s.Movement(); ok && mv.At.After(start) {
				// AgentMovementComplete on the same circuit: a local teleport.
				res.Local, res.Position, res.Region = true, mv.Position, s.Region()
				res.ToFinish, res.Took = time.Since(start), time.Since(start)
				p := mv.Position
				s.regionEvent(&trace.RegionChange{Kind: trace.TeleportArrived, Region: res.Region.Name, Handle: uint64(res.Region.Handle),
					Remote: res.Region.Addr.String(), End: s.endFor(res.Region.Addr, res.Region.Handle), Position: &p, Elapsed: res.Took})
				return res, nil
			}
		}
		select {
		case sig := <-ch:
			ev := &trace.RegionChange{Kind: sig.kind, Flags: sig.flags, Elapsed: time.Since(start)}
			switch sig.kind {
			case trace.TeleportStart:
				res.Flags = sig.flags
				s.regionEvent(ev)
			case trace.TeleportProgress:
				ev.Reason = sig.message
				s.regionEvent(ev)
			case trace.TeleportFailed:
				return fail(sig.reason, &TeleportError{Reason: sig.reason})
			case trace.TeleportLocal:
				rg := s.Region()
				p := sig.local.Position
				ev.Region, ev.Handle, ev.Position = rg.Name, uint64(rg.Handle), &p
				s.regionEvent(ev)
				s.mu.Lock()
				s.movement.Position, s.movement.LookAt, s.movement.At = sig.local.Position, sig.local.LookAt, time.Now()
				s.mu.Unlock()
				res.Local, res.Position, res.Region, res.Flags = true, p, rg, sig.flags
				res.ToFinish, res.Took = time.Since(start), time.Since(start)
				return res, nil
			case trace.TeleportFinish:
				s.drainTeleport(ch, start)
				d := sig.dest
				ev.Handle, ev.Remote, ev.Seed = uint64(d.Handle), d.Addr.String(), d.SeedCapability
				ev.End = s.endFor(d.Addr, d.Handle)
				s.regionEvent(ev)
				res.Flags = d.Flags
				r, err := s.arrive(ctx, d, start, time.Now())
				if err != nil {
					return res, err
				}
				r.Flags = d.Flags
				return r, nil
			}
		case <-moved:
		case <-ctx.Done():
			reason := "no TeleportFinish within " + time.Since(start).Round(time.Millisecond).String()
			return fail(reason, fmt.Errorf("client: teleport: %s: %w", reason, ctx.Err()))
		case <-s.done:
			return fail("the session ended", fmt.Errorf("client: teleport: %w", s.Err()))
		}
	}
}

// drainTeleport tells the steps that were already waiting when
// TeleportFinish came (the UDP TeleportStart and TeleportProgress can be
// overtaken by the event queue).
func (s *Session) drainTeleport(ch chan tpSignal, start time.Time) {
	for {
		select {
		case sig := <-ch:
			if sig.kind == trace.TeleportStart || sig.kind == trace.TeleportProgress {
				s.regionEvent(&trace.RegionChange{Kind: sig.kind, Flags: sig.flags, Reason: sig.message, Elapsed: time.Since(start)})
			}
		default:
			return
		}
	}
}

// arrive runs the ritual at a teleport's destination and tells it.
func (s *Session) arrive(ctx context.Context, d TeleportDestination, start, finish time.Time) (TeleportResult, error) {
	mv, err := s.moveTo(ctx, d.Addr, d.Handle, d.SeedCapability, d.SizeX, d.SizeY)
	if err != nil {
		s.regionEvent(&trace.RegionChange{Kind: trace.TeleportFailed, Handle: uint64(d.Handle), Remote: d.Addr.String(),
			Reason: err.Error() + "; the agent stays where it was", Elapsed: time.Since(start)})
		return TeleportResult{}, err
	}
	rg := s.Region()
	res := TeleportResult{Region: rg, Position: mv.Position, ToFinish: finish.Sub(start), Took: time.Since(start)}
	p := mv.Position
	s.regionEvent(&trace.RegionChange{Kind: trace.TeleportArrived, Region: rg.Name, Handle: uint64(rg.Handle),
		Remote: rg.Addr.String(), End: s.endFor(rg.Addr, rg.Handle), Position: &p, Elapsed: res.Took})
	return res, nil
}

// WaitArrival waits until the ritual in the region the agent is in now is
// whole — the agent arrived (AgentMovementComplete), at least one object
// and every terrain patch known — and records it (region.complete with
// the time since since). After a teleport or crossing it is that region's
// ritual; before, the login's.
func (s *Session) WaitArrival(ctx context.Context, since time.Time) error {
	err := s.wait(ctx, "the ritual in the new region to complete", func() bool {
		_, moved := s.Movement()
		p, of := s.world.TerrainProgress()
		return moved && s.world.Len() > 0 && p == of
	})
	if err != nil {
		return err
	}
	rg := s.Region()
	p, of := s.world.TerrainProgress()
	s.regionEvent(&trace.RegionChange{Kind: trace.RegionComplete, Region: rg.Name, Handle: uint64(rg.Handle),
		Remote: rg.Addr.String(), End: s.endFor(rg.Addr, rg.Handle), Objects: s.world.Len(), Patches: p, Of: of,
		Elapsed: time.Since(since)})
	return nil
}
