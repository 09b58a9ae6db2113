package sim

import (
	"cmp"
	"slices"

	"ritual"
	"ritual/protocol/msg"
	"ritual/store"
)

// The world map's conventions, as OpenSimulator keeps them.
const (
	// mapSingleFlag in a MapBlockRequest's Flags marks a request for one
	// grid cell (a click on the map): an empty cell is answered with a
	// block saying so, where a wider empty range gets no answer at all.
	mapSingleFlag = 0x10000
	// mapLayerMask keeps the map layer of the Flags (0 objects and terrain,
	// 2 land for sale), which the reply echoes.
	mapLayerMask = 0xffff
	// mapBlocksPerReply is how many regions one MapBlockReply lists; more
	// go in further replies.
	mapBlocksPerReply = 10
)

// mapRegions lists the regions the world map shows: this region and the
// Directory's (the regions of the process, and those of other processes
// running on the grid), each once.
func (r *Region) mapRegions() []store.Region {
	regions := []store.Region{r.info}
	if d := r.cfg.Directory; d != nil {
		for _, o := range d.Regions() {
			if o.ID != r.info.ID {
				regions = append(regions, o)
			}
		}
	}
	return regions
}

// mapBlock is a region's block in a MapBlockReply: where it lies (in
// region widths), its name, access and flags, and, for this region, how
// many avatars are in it. No map tiles are made, so MapImageID is zero.
func (r *Region) mapBlock(info store.Region) msg.MapBlockReplyData {
	agents := 0
	if info.ID == r.info.ID {
		agents = r.Counters().AgentsInWorld
	}
	return msg.MapBlockReplyData{
		X: uint16(info.GridX), Y: uint16(info.GridY),
		Name:        cstr(info.Name),
		Access:      simAccessPG,
		RegionFlags: regionFlags,
		WaterHeight: uint8(DefaultWaterHeight),
		Agents:      uint8(min(agents, 255)),
	}
}

// mapSide is a region's extent in metres, 256 when the record leaves
// it zero.
func mapSide(v uint32) uint16 {
	if v == 0 {
		return ritual.RegionSize
	}
	return uint16(min(v, store.MaxRegionSize))
}

// mapBlockReplies answers a MapBlockRequest as OpenSimulator's world map
// does: every region of the map whose area meets the range MinX..MaxX,
// MinY..MaxY (in region widths, both ends included), south to north and
// west to east, ten to a MapBlockReply, each with its Size (metres); the
// replies' Flags are the request's map layer (Flags & 0xffff). A range
// with no region is answered with nothing, except a request for a single
// cell flagged 0x10000 (a click on the map), which gets one block at that
// cell with Access 255 (non-existent) so that the viewer stops waiting.
func (r *Region) mapBlockReplies(agent ritual.UUID, m *msg.MapBlockRequest) []*msg.MapBlockReply {
	p := m.PositionData
	flags := m.AgentData.Flags
	var found []store.Region
	if p.MinX <= p.MaxX && p.MinY <= p.MaxY {
		for _, info := range r.mapRegions() {
			w := uint32(mapSide(info.SizeX)) / ritual.RegionSize
			h := uint32(mapSide(info.SizeY)) / ritual.RegionSize
			if info.GridX <= uint32(p.MaxX) && info.GridX+w > uint32(p.MinX) &&
				info.GridY <= uint32(p.MaxY) && info.GridY+h > uint32(p.MinY) {
				found = append(found, info)
			}
		}
	}
	slices.SortFunc(found, func(a, b store.Region) int {
		return cmp.Or(cmp.Compare(a.GridY, b.GridY), cmp.Compare(a.GridX, b.GridX), cmp.Compare(a.Name, b.Name))
	})
	ad := msg.MapBlockReplyAgentData{AgentID: agent, Flags: flags & mapLayerMask}
	if len(found) == 0 {
		if flags&mapSingleFlag != 0 && p.MinX == p.MaxX && p.MinY == p.MaxY {
			return []*msg.MapBlockReply{{
				AgentData: ad,
				Data:      []msg.MapBlockReplyData{{X: p.MinX, Y: p.MinY, Name: cstr(""), Access: mapAccessEnd}},
				Size:      []msg.MapBlockReplySize{{SizeX: ritual.RegionSize, SizeY: ritual.RegionSize}},
			}}
		}
		return nil
	}
	var replies []*msg.MapBlockReply
	for chunk := range slices.Chunk(found, mapBlocksPerReply) {
		reply := &msg.MapBlockReply{AgentData: ad}
		for _, info := range chunk {
			reply.Data = append(reply.Data, r.mapBlock(info))
			reply.Size = append(reply.Size, msg.MapBlockReplySize{SizeX: mapSide(info.SizeX), SizeY: mapSide(info.SizeY)})
		}
		replies = append(replies, reply)
	}
	return replies
}
