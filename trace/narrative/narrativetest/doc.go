// Package narrativetest builds realistic event streams of the ritual for
// tests of the renderers and of the tools that show them: a full
// successful ritual observed on both sides (modelled on the recorded
// OpenSimulator traffic: UseCircuitCode, its ack, CompleteAgentMovement,
// RegionHandshake, AgentMovementComplete, the reply, the seed capability,
// the event queue, objects and terrain, logout), the same seen from one
// side only, a ritual that stalls because UseCircuitCode is never
// acknowledged, one beset by resends, duplicates, drops and rejects, and a
// refused login.
//
// The streams are deterministic: the same function returns events with the
// same values and times on every call, starting at Start.
package narrativetest
