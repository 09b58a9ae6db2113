// Package sim is the region simulator of a Ritual grid: one region that real
// viewers and bots enter after logging in.
//
// A Region implements login.Region: the login service provisions a circuit
// (code, agent, session, expiry) with it before answering, and the region
// grants the agent its capabilities (package caps) at that moment. The
// region's UDP socket (package circuit) accepts UseCircuitCode only for a
// provisioned, unexpired circuit whose session and agent match; anything
// else gets no handshake and is counted and traced.
//
// Once the circuit is up, each agent's messages are handled in order by the
// agent's own goroutine: CompleteAgentMovement brings RegionHandshake and
// AgentMovementComplete; RegionHandshakeReply brings the world: the terrain
// as LayerData (all patches, with the real patch compression), the agent's
// own avatar and every prim of the scene as ObjectUpdate. LogoutRequest is
// always answered with LogoutReply before the circuit closes. On Close every
// agent is told it is being disconnected.
//
// The region counts what it does without locks or allocations on the packet
// path: Counters (circuits, refusals and closes by reason, logins refused
// because MaxCircuits was reached), Messages (each message by name, received
// and sent) and Traffic (the circuits' own counts, closed circuits
// included). Package grid serves them as Prometheus metrics.
//
// The region, its terrain and its objects live in a store.Store; a new
// region gets deterministic hills and a shoreline and a scene of prims of
// several shapes, sizes and textures (see Generate).
package sim
