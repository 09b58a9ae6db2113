package client

import (
	"errors"
	"fmt"
	"net/netip"

	"ritual"
	"ritual/protocol/llsd"
)

// Event-queue messages that move the agent between regions, by their
// names on the queue.
const (
	EventEnableSimulator             = "EnableSimulator"
	EventEstablishAgentCommunication = "EstablishAgentCommunication"
	EventCrossedRegion               = "CrossedRegion"
	EventTeleportFinish              = "TeleportFinish"
	EventTeleportFailed              = "TeleportFailed"
	EventDisableSimulator            = "DisableSimulator"
)

// ErrEventBody reports an event-queue body that lacks a field the client
// needs, or carries it in an unusable form.
var ErrEventBody = errors.New("client: malformed event body")

// SimulatorInfo is one region of EnableSimulator: a neighbour the client
// may open a child circuit to.
type SimulatorInfo struct {
	Handle ritual.RegionHandle
	Addr   netip.AddrPort
	// SizeX, SizeY are the region's extent in metres (0 when not sent:
	// 256).
	SizeX, SizeY int
}

// AgentCommunication is EstablishAgentCommunication: the seed capability
// of a region the agent is (or is about to be) a child agent in.
type AgentCommunication struct {
	Agent          ritual.UUID
	Addr           netip.AddrPort
	SeedCapability string
}

// Crossing is CrossedRegion: the agent walked into the region RegionData
// names, at Position (in that region's coordinates).
type Crossing struct {
	Agent, Session   ritual.UUID
	Position, LookAt ritual.Vector3
	Handle           ritual.RegionHandle
	Addr             netip.AddrPort
	SeedCapability   string
	SizeX, SizeY     int
}

// TeleportDestination is TeleportFinish: where the agent goes and how to
// reach it.
type TeleportDestination struct {
	Agent          ritual.UUID
	LocationID     uint32
	Addr           netip.AddrPort
	Handle         ritual.RegionHandle
	SeedCapability string
	SimAccess      uint8
	// Flags are the teleport flags (0x10: via location, 0x100: via
	// landmark, ...).
	Flags        uint32
	SizeX, SizeY int
}

// ParseEnableSimulator reads EnableSimulator's event-queue body:
// SimulatorInfo, an array of maps with Handle (8 bytes big-endian), IP (4
// bytes), Port and optionally RegionSizeX/RegionSizeY.
func ParseEnableSimulator(body map[string]any) ([]SimulatorInfo, error) {
	arr, err := arrayOf(body, "SimulatorInfo")
	if err != nil {
		return nil, err
	}
	out := make([]SimulatorInfo, 0, len(arr))
	for i, v := range arr {
		m, ok := llsd.AsMap(v)
		if !ok {
			return nil, fmt.Errorf("%w: SimulatorInfo[%d] is not a map", ErrEventBody, i)
		}
		var si SimulatorInfo
		if si.Handle, err = handleOf(m, "Handle"); err != nil {
			return nil, err
		}
		if si.Addr, err = addrOf(m, "IP", "Port"); err != nil {
			return nil, err
		}
		if si.SizeX, si.SizeY, err = sizeOf(m); err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, nil
}

// ParseEstablishAgentCommunication reads EstablishAgentCommunication's
// body: agent-id, sim-ip-and-port ("IP:port") and seed-capability.
func ParseEstablishAgentCommunication(body map[string]any) (AgentCommunication, error) {
	var ac AgentCommunication
	var ok bool
	if ac.Agent, ok = llsd.AsUUID(body["agent-id"]); !ok {
		return ac, fmt.Errorf("%w: EstablishAgentCommunication has no agent-id", ErrEventBody)
	}
	s, ok := llsd.AsString(body["sim-ip-and-port"])
	if !ok {
		return ac, fmt.Errorf("%w: EstablishAgentCommunication has no sim-ip-and-port", ErrEventBody)
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return ac, fmt.Errorf("%w: EstablishAgentCommunication sim-ip-and-port %q", ErrEventBody, clip(s))
	}
	ac.Addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if ac.SeedCapability, ok = llsd.AsString(body["seed-capability"]); !ok || ac.SeedCapability == "" {
		return ac, fmt.Errorf("%w: EstablishAgentCommunication has no seed-capability", ErrEventBody)
	}
	return ac, nil
}

// ParseCrossedRegion reads CrossedRegion's body: AgentData [{AgentID,
// SessionID}], Info [{Position, LookAt}], RegionData [{RegionHandle,
// SeedCapability, SimIP, SimPort, RegionSizeX, RegionSizeY}].
func ParseCrossedRegion(body map[string]any) (Crossing, error) {
	var c Crossing
	ad, err := firstMap(body, "AgentData")
	if err != nil {
		return c, err
	}
	c.Agent, _ = llsd.AsUUID(ad["AgentID"])
	c.Session, _ = llsd.AsUUID(ad["SessionID"])
	info, err := firstMap(body, "Info")
	if err != nil {
		return c, err
	}
	var ok bool
	if c.Position, ok = llsd.AsVector3(info["Position"]); !ok {
		return c, fmt.Errorf("%w: CrossedRegion Info has no Position", ErrEventBody)
	}
	c.LookAt, _ = llsd.AsVector3(info["LookAt"])
	rd, err := firstMap(body, "RegionData")
	if err != nil {
		return c, err
	}
	if c.Handle, err = handleOf(rd, "RegionHandle"); err != nil {
		return c, err
	}
	if c.Addr, err = addrOf(rd, "SimIP", "SimPort"); err != nil {
		return c, err
	}
	c.SeedCapability, _ = llsd.AsString(rd["SeedCapability"])
	if c.SizeX, c.SizeY, err = sizeOf(rd); err != nil {
		return c, err
	}
	return c, nil
}

// ParseTeleportFinish reads TeleportFinish's body: Info [{AgentID,
// LocationID, SimIP, SimPort, RegionHandle, SeedCapability, SimAccess,
// TeleportFlags, RegionSizeX, RegionSizeY}].
func ParseTeleportFinish(body map[string]any) (TeleportDestination, error) {
	var d TeleportDestination
	info, err := firstMap(body, "Info")
	if err != nil {
		return d, err
	}
	d.Agent, _ = llsd.AsUUID(info["AgentID"])
	d.LocationID, _ = llsd.AsU32(info["LocationID"])
	if d.Addr, err = addrOf(info, "SimIP", "SimPort"); err != nil {
		return d, err
	}
	if d.Handle, err = handleOf(info, "RegionHandle"); err != nil {
		return d, err
	}
	d.SeedCapability, _ = llsd.AsString(info["SeedCapability"])
	if a, ok := llsd.AsInt(info["SimAccess"]); ok {
		d.SimAccess = uint8(a)
	}
	d.Flags, _ = llsd.AsU32(info["TeleportFlags"])
	if d.SizeX, d.SizeY, err = sizeOf(info); err != nil {
		return d, err
	}
	return d, nil
}

// ParseTeleportFailed reads TeleportFailed's event-queue body: Info
// [{AgentID, Reason}] and optionally AlertInfo [{Message, ExtraParams}].
// It returns the reason (the alert message when Reason is empty).
func ParseTeleportFailed(body map[string]any) (string, error) {
	info, err := firstMap(body, "Info")
	if err != nil {
		return "", err
	}
	reason, _ := llsd.AsString(info["Reason"])
	if reason == "" {
		if ai, err := firstMap(body, "AlertInfo"); err == nil {
			reason, _ = llsd.AsString(ai["Message"])
		}
	}
	return reason, nil
}

func arrayOf(body map[string]any, key string) ([]any, error) {
	arr, ok := llsd.AsArray(body[key])
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("%w: no %s array", ErrEventBody, key)
	}
	return arr, nil
}

func firstMap(body map[string]any, key string) (llsd.Map, error) {
	arr, err := arrayOf(body, key)
	if err != nil {
		return nil, err
	}
	m, ok := llsd.AsMap(arr[0])
	if !ok {
		return nil, fmt.Errorf("%w: %s[0] is not a map", ErrEventBody, key)
	}
	return m, nil
}

func handleOf(m llsd.Map, key string) (ritual.RegionHandle, error) {
	h, ok := llsd.AsU64(m[key])
	if !ok || h == 0 {
		return 0, fmt.Errorf("%w: no usable %s", ErrEventBody, key)
	}
	return ritual.RegionHandle(h), nil
}

// addrOf reads an IPv4 address (4 bytes of binary, or a dotted string)
// and a port.
func addrOf(m llsd.Map, ipKey, portKey string) (netip.AddrPort, error) {
	var ip netip.Addr
	switch v := m[ipKey].(type) {
	case []byte:
		if len(v) == 4 {
			ip = netip.AddrFrom4([4]byte(v))
		}
	case string:
		ip, _ = netip.ParseAddr(v)
	}
	port, ok := llsd.AsInt(m[portKey])
	if !ip.IsValid() || ip.IsUnspecified() || !ok || port <= 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%w: no usable %s and %s", ErrEventBody, ipKey, portKey)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// sizeOf reads RegionSizeX and RegionSizeY, 0 when absent; a size that
// no World could hold is an error.
func sizeOf(m llsd.Map) (int, int, error) {
	var xy [2]int
	for i, k := range [2]string{"RegionSizeX", "RegionSizeY"} {
		v, ok := m[k]
		if !ok {
			continue
		}
		n, ok := llsd.AsU32(v)
		if !ok || n%16 != 0 || n > maxRegionSide {
			return 0, 0, fmt.Errorf("%w: %s", ErrEventBody, k)
		}
		xy[i] = int(n)
	}
	return xy[0], xy[1], nil
}

// clip keeps a recorded string short for an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
