package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ritual"
	"ritual/protocol/msg"
)

// The world map's request flags.
const (
	// mapSingleCell marks a MapBlockRequest for one cell (a click on the
	// map): an empty cell is answered with a block of Access 255.
	mapSingleCell = 0x10000
	// mapFenceLayer is the map layer of the request that follows a range
	// request: regions answer a client's map requests in order, so its
	// reply (Flags = the layer) tells that the range's replies are all in.
	mapFenceLayer = 0x5254
	// mapQuiet is how long MapBlocks waits after the last reply when the
	// region does not echo the layer (older regions reply Flags 0): the
	// fence is never recognised and the replies' end is a silence.
	mapQuiet = time.Second
	// mapReplyBuffer bounds the replies waiting to be read (ten regions
	// to a reply).
	mapReplyBuffer = 256
)

// MapBlocks asks the main region's world map for the regions in a range
// of grid cells, minX..maxX and minY..maxY in region widths, both ends
// included, as a viewer's map does: MapBlockRequest, answered by
// MapBlockReplies of up to ten regions each. A second request, for the
// cell of the agent's region on a layer of its own, follows it: the
// region answers a client's map requests in order, so that reply closes
// the range's. (A region that does not echo the layer in the reply's Flags
// is waited on until it has been quiet for a second.) The regions come in
// the order the region gave them, each once; a region with no region in
// the range gives none, and that is not an error. Timeouts.Handshake
// bounds the wait for the replies; one map search (MapBlocks,
// LookupRegion) is under way at a time.
func (s *Session) MapBlocks(ctx context.Context, minX, maxX, minY, maxY uint16) ([]MapRegion, error) {
	if minX > maxX || minY > maxY {
		return nil, fmt.Errorf("%w: map range %d..%d, %d..%d", ErrConfig, minX, maxX, minY, maxY)
	}
	gx, gy := s.Region().Handle.Grid()
	if gx > 0xffff || gy > 0xffff {
		return nil, fmt.Errorf("client: the region's grid location %d,%d is beyond the map's reach", gx, gy)
	}
	ch := make(chan *msg.MapBlockReply, mapReplyBuffer)
	s.tele.mu.Lock()
	if s.tele.maps != nil {
		s.tele.mu.Unlock()
		return nil, errors.New("client: a map search is already under way")
	}
	s.tele.maps = ch
	s.tele.mu.Unlock()
	defer func() {
		s.tele.mu.Lock()
		s.tele.maps = nil
		s.tele.mu.Unlock()
	}()
	ad := msg.MapBlockRequestAgentData{AgentID: s.resp.Agent, SessionID: s.resp.Session}
	req := &msg.MapBlockRequest{AgentData: ad,
		PositionData: msg.MapBlockRequestPositionData{MinX: minX, MaxX: maxX, MinY: minY, MaxY: maxY}}
	ad.Flags = mapSingleCell | mapFenceLayer
	fence := &msg.MapBlockRequest{AgentData: ad,
		PositionData: msg.MapBlockRequestPositionData{MinX: uint16(gx), MaxX: uint16(gx), MinY: uint16(gy), MaxY: uint16(gy)}}
	if err := s.Send(req, true); err != nil {
		return nil, fmt.Errorf("client: map request: %w", err)
	}
	if err := s.Send(fence, true); err != nil {
		return nil, fmt.Errorf("client: map request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeouts.Handshake)
	defer cancel()
	var (
		out     []MapRegion
		seen    = map[ritual.RegionHandle]bool{}
		replies int
		quiet   <-chan time.Time
	)
	for {
		select {
		case rep := <-ch:
			replies++
			if rep.AgentData.Flags == mapFenceLayer {
				return out, nil
			}
			for i, d := range rep.Data {
				r := mapRegion(d, rep.Size, i)
				if r.Access == mapAccessEnd || seen[r.Handle] || !r.meets(minX, maxX, minY, maxY) {
					continue
				}
				seen[r.Handle] = true
				out = append(out, r)
			}
			quiet = time.After(mapQuiet)
		case <-quiet:
			return out, nil
		case <-ctx.Done():
			if replies == 0 {
				return nil, fmt.Errorf("client: no MapBlockReply to a map request: %w", ctx.Err())
			}
			return nil, fmt.Errorf("client: the map's replies did not end (%d received): %w", replies, ctx.Err())
		case <-s.done:
			return nil, fmt.Errorf("client: map request: %w", s.Err())
		}
	}
}

// mapRegion reads block i of a MapBlockReply, with its Size block when
// there is one.
func mapRegion(d msg.MapBlockReplyData, sizes []msg.MapBlockReplySize, i int) MapRegion {
	r := MapRegion{
		Name: cString(d.Name), Handle: ritual.HandleFromGrid(uint32(d.X), uint32(d.Y)),
		Access: d.Access, Flags: d.RegionFlags, Agents: int(d.Agents),
		SizeX: ritual.RegionSize, SizeY: ritual.RegionSize,
	}
	if i < len(sizes) {
		if v := uint32(sizes[i].SizeX); v >= ritual.RegionSize {
			r.SizeX = v
		}
		if v := uint32(sizes[i].SizeY); v >= ritual.RegionSize {
			r.SizeY = v
		}
	}
	return r
}

// meets reports whether the region's area meets the range of cells.
func (r MapRegion) meets(minX, maxX, minY, maxY uint16) bool {
	gx, gy := r.Handle.Grid()
	w, h := r.SizeX/ritual.RegionSize, r.SizeY/ritual.RegionSize
	return gx <= uint32(maxX) && gx+w > uint32(minX) && gy <= uint32(maxY) && gy+h > uint32(minY)
}
