package trace

import "strings"

// Tag returns the probe tag of ev in the story's form, "[SIDE] [LAYER]
// WHAT", for example "[SERVER] [UDP] RECV UseCircuitCode".
func Tag(ev Event) string {
	h := ev.Head()
	return "[" + h.Side.String() + "] [" + h.Layer.String() + "] " + What(ev)
}

// What returns the WHAT part of ev's tag.
func What(ev Event) string {
	h := ev.Head()
	switch e := ev.(type) {
	case *LoginStart:
		return "START"
	case *LoginRequest:
		return "RECV login_to_simulator"
	case *LoginAuth:
		if e.OK {
			return "AUTH SUCCESS"
		}
		return "AUTH FAILURE"
	case *CircuitProvision:
		return "CIRCUIT PROVISION"
	case *LoginResponse:
		if h.Side == Client {
			return "RECV Response"
		}
		return "SEND Response"
	case *LoginProgress:
		return "PROGRESS " + e.Stage
	case *Packet:
		return string(e.Dir) + " " + e.Message
	case *CircuitCheck:
		if e.OK {
			return "VALIDATE UseCircuitCode"
		}
		return "REJECT UseCircuitCode"
	case *Connected:
		return "CONNECTED"
	case *Anomaly:
		if e.Message != "" {
			return e.Kind + " " + e.Message
		}
		return e.Kind
	case *CircuitClosed:
		return "CIRCUIT CLOSED"
	case *SeedRequest:
		return "SEED REQUEST"
	case *SeedGrant:
		if h.Side == Client {
			return "SEED RESPONSE"
		}
		return "SEED GRANT"
	case *CapCall:
		return "CALL " + e.Capability
	case *EQPoll:
		if h.Side == Server {
			return "RECV POLL"
		}
		return "POLL"
	case *EQDeliver:
		if h.Side == Client {
			return "RECV EVENTS"
		}
		return "DELIVER"
	case *EQTimeout:
		return "TIMEOUT"
	case *Milestone:
		return strings.ToUpper(strings.ReplaceAll(e.Step, "_", " "))
	case *Stall:
		return "STALL"
	case *Chat:
		return "CHAT"
	case *InstantMessage:
		return "IM"
	case *RegionChange:
		return strings.ToUpper(strings.ReplaceAll(e.Kind, ".", " "))
	case *Rewrite:
		return "PROXY REWRITE " + e.In
	case *Undecoded:
		return "SEND undecodable datagram"
	case *SessionEnd:
		return "PROXY SESSION END"
	case *WorldView:
		return "WORLD VIEW"
	}
	return strings.ToUpper(ev.Name())
}
