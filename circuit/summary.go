package circuit

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"ritual"
	"ritual/protocol/msg"
	"ritual/protocol/terrain"
	"ritual/trace"
)

// DefaultSummary returns the fields a reader of the story wants to see of
// the messages of the ritual; other messages get none. Session ids are
// marked secret so renderers mask them.
//
// The keys are the ones trace/narrative reads. UseCircuitCode:
// CircuitCode, SessionID (secret), AgentID. PacketAck: ids ("3,4,5").
// CompleteAgentMovement: AgentID, CircuitCode. RegionHandshake: RegionName,
// RegionFlags, SimAccess, WaterHeight, RegionID. RegionHandshakeReply:
// Flags. AgentMovementComplete: Position, LookAt, RegionHandle, Timestamp,
// ChannelVersion. ObjectUpdate and its compressed, terse and cached forms:
// objects (count) and kinds ("prim:13,avatar:1"). LayerData: layer
// ("land", "wind", ...) and patches (count). AgentThrottle: bps (the sum of
// the seven rates). LogoutRequest, LogoutReply: AgentID. KickUser: Reason.
func DefaultSummary(m msg.Message) trace.Fields {
	switch m := m.(type) {
	case *msg.PacketAck:
		ids := make([]string, len(m.Packets))
		for i, p := range m.Packets {
			ids[i] = strconv.FormatUint(uint64(p.ID), 10)
		}
		return trace.Fields{{Key: "ids", Value: strings.Join(ids, ",")}}
	case *msg.UseCircuitCode:
		return trace.Fields{
			{Key: "CircuitCode", Value: strconv.FormatUint(uint64(m.CircuitCode.Code), 10)},
			{Key: "SessionID", Value: m.CircuitCode.SessionID.String(), Secret: true},
			{Key: "AgentID", Value: m.CircuitCode.ID.String()},
		}
	case *msg.CompleteAgentMovement:
		return trace.Fields{
			{Key: "AgentID", Value: m.AgentData.AgentID.String()},
			{Key: "CircuitCode", Value: strconv.FormatUint(uint64(m.AgentData.CircuitCode), 10)},
		}
	case *msg.RegionHandshake:
		return trace.Fields{
			{Key: "RegionName", Value: cString(m.RegionInfo.SimName)},
			{Key: "RegionFlags", Value: fmt.Sprintf("0x%08X", m.RegionInfo.RegionFlags)},
			{Key: "SimAccess", Value: simAccess(m.RegionInfo.SimAccess)},
			{Key: "WaterHeight", Value: strconv.FormatFloat(float64(m.RegionInfo.WaterHeight), 'g', -1, 32)},
			{Key: "RegionID", Value: m.RegionInfo2.RegionID.String()},
		}
	case *msg.RegionHandshakeReply:
		return trace.Fields{{Key: "Flags", Value: fmt.Sprintf("0x%X", m.RegionInfo.Flags)}}
	case *msg.AgentMovementComplete:
		return trace.Fields{
			{Key: "Position", Value: vec(m.Data.Position)},
			{Key: "LookAt", Value: vec(m.Data.LookAt)},
			{Key: "RegionHandle", Value: ritual.RegionHandle(m.Data.RegionHandle).String()},
			{Key: "Timestamp", Value: strconv.FormatUint(uint64(m.Data.Timestamp), 10)},
			{Key: "ChannelVersion", Value: cString(m.SimData.ChannelVersion)},
		}
	case *msg.ObjectUpdate:
		counts := map[uint8]int{}
		for _, o := range m.ObjectData {
			counts[o.PCode]++
		}
		return objects(len(m.ObjectData), counts)
	case *msg.ObjectUpdateCompressed:
		counts := map[uint8]int{}
		for _, o := range m.ObjectData {
			// The PCode is the 21st byte of the compressed blob (after
			// FullID and LocalID).
			if len(o.Data) > 20 {
				counts[o.Data[20]]++
			}
		}
		return objects(len(m.ObjectData), counts)
	case *msg.ImprovedTerseObjectUpdate:
		return trace.Fields{{Key: "objects", Value: strconv.Itoa(len(m.ObjectData))}}
	case *msg.ObjectUpdateCached:
		return trace.Fields{{Key: "objects", Value: strconv.Itoa(len(m.ObjectData))}}
	case *msg.LayerData:
		patches, layer, err := terrain.DecodePatches(m.LayerData.Data, nil)
		f := trace.Fields{{Key: "layer", Value: layerName(terrain.LayerType(m.LayerID.Type))}}
		if err != nil {
			return append(f, trace.Field{Key: "error", Value: err.Error()})
		}
		_ = layer
		return append(f, trace.Field{Key: "patches", Value: strconv.Itoa(len(patches))})
	case *msg.AgentThrottle:
		var sum float64
		t := m.Throttle.Throttles
		for i := 0; i+4 <= len(t); i += 4 {
			sum += float64(math.Float32frombits(uint32(t[i]) | uint32(t[i+1])<<8 | uint32(t[i+2])<<16 | uint32(t[i+3])<<24))
		}
		return trace.Fields{{Key: "bps", Value: strconv.FormatFloat(sum, 'f', 0, 64)}}
	case *msg.LogoutRequest:
		return trace.Fields{{Key: "AgentID", Value: m.AgentData.AgentID.String()}}
	case *msg.LogoutReply:
		return trace.Fields{{Key: "AgentID", Value: m.AgentData.AgentID.String()}}
	case *msg.KickUser:
		return trace.Fields{{Key: "Reason", Value: cString(m.UserInfo.Reason)}}
	}
	return nil
}

func objects(n int, counts map[uint8]int) trace.Fields {
	f := trace.Fields{{Key: "objects", Value: strconv.Itoa(n)}}
	if len(counts) == 0 {
		return f
	}
	kinds := make([]string, 0, len(counts))
	for pc, c := range counts {
		kinds = append(kinds, PCodeName(pc)+":"+strconv.Itoa(c))
	}
	sort.Strings(kinds)
	return append(f, trace.Field{Key: "kinds", Value: strings.Join(kinds, ",")})
}

// PCodeName names an object's PCode as viewers do: prim, avatar, grass,
// tree, particles; others as "pcode<n>".
func PCodeName(pc uint8) string {
	switch pc {
	case 9:
		return "prim"
	case 47:
		return "avatar"
	case 95:
		return "grass"
	case 111, 255:
		return "tree"
	case 143:
		return "particles"
	}
	return "pcode" + strconv.Itoa(int(pc))
}

func layerName(t terrain.LayerType) string {
	switch t {
	case terrain.LayerLand, terrain.LayerLandExtended:
		return "land"
	case terrain.LayerWind, terrain.LayerWindExtended:
		return "wind"
	case terrain.LayerCloud, terrain.LayerCloudExtended:
		return "cloud"
	}
	return fmt.Sprintf("0x%02X", uint8(t))
}

func simAccess(a uint8) string {
	switch a {
	case 13:
		return "PG"
	case 21:
		return "Mature"
	case 42:
		return "Adult"
	case 7:
		return "Trial"
	case 254:
		return "Down"
	}
	return strconv.Itoa(int(a))
}

func vec(v ritual.Vector3) string {
	f := func(x float32) string { return strconv.FormatFloat(float64(x), 'g', 6, 32) }
	return "<" + f(v.X) + ", " + f(v.Y) + ", " + f(v.Z) + ">"
}

// cString returns a Variable field as text, without the trailing NUL that
// senders include.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
