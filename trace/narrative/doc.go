// Package narrative tells the story of a ritual — a viewer's connection to a
// region — from the events the observer's probes recorded (package trace).
// Render writes it as Markdown in the shape of a naturalist's field notes:
//
//	# The Ritual: Test User at Default Region
//	## Prologue: The Environment            server, client, login URI, protocols
//	## Part I: The Login Sequence (HTTP, XML-RPC)
//	## Part II: The Handshake (UDP)
//	## Part III: The Capabilities (HTTP)
//	## Part IV: World Materialization (UDP Stream)
//	## Part V, VI, …: A Neighbour / Crossing into / A Teleport to <region>
//	                                         one part per ritual in another region
//	## Stall: The Ritual Stopped at Step N  only when a trace.Stall was recorded
//	## Epilogue: Departure and Summary      logout, closed circuits, timings, traffic
//
// Each signal is one numbered line, "**[SIDE] [LAYER] WHAT** `+12.4 ms`:"
// followed by a sentence carrying the recorded values (circuit codes,
// masked session ids, positions, region names, granted capabilities,
// counts). The time is the offset from the first event. Lines are in time
// order within each part; Classify says which part an event belongs to.
//
// The rituals in other regions are told from trace.RegionChange events: a
// part begins at each child circuit opened (EnableSimulator), crossing
// (CrossedRegion) and teleport request, and takes that region's packets
// and capability calls — events whose endpoint is "region X,Y" or "caps
// X,Y", and the login region's own once a teleport goes back to it — and
// the teleport messages (MapNameRequest, TeleportStart, …) of the teleport
// under way. Logout and closed circuits stay in the epilogue.
//
// Streams are summarised rather than listed: the packets of one message,
// side and direction within a part are told as one line at the first of
// them ("8 LayerData packets carried 256/256 land patches and 2 wind
// patches in 10.8 ms", "14 ObjectUpdate packets brought 15 objects (13
// prims, 1 avatar and 1 tree) in 21.4 ms"). PacketAck (except those
// acknowledging UseCircuitCode, RegionHandshake or RegionHandshakeReply),
// StartPingCheck, CompletePingCheck and AgentUpdate are only counted, in
// the epilogue.
//
// Anomalies are told where they happen: trace.Anomaly events, resent
// packets (Packet.Resent) as RESENT, failed circuit checks as REJECT.
// Repeated anomalies of one kind, side and message are told once with
// their count ("3 RESENT LayerData"). A resent packet whose original never
// arrived is told with its stream; one that arrives after its original is
// folded into the DUPLICATE anomaly that names it, and a RESENT anomaly
// naming a resent packet, or a REJECT naming a rejected circuit check, is
// folded into that packet or check.
//
// # What the story reads from packets
//
// Every Packet.Field is shown as recorded on single-packet lines. Beyond
// that the story reads these keys (the contract for emitters; see the
// Field constants):
//
//	RegionHandshake   RegionName   region name for the title (after CircuitProvision.Region)
//	PacketAck         ids          "0" or "3,4,5": acknowledged sequence numbers
//	LayerData         patches      "40": patches in the packet
//	LayerData         layer        "land" (default), "wind", "cloud", "water"
//	ObjectUpdate*     objects      "3": ObjectData blocks in the packet
//	ObjectUpdate*     kinds        "prim:2,avatar:1": objects by kind
//
// ObjectUpdate* means ObjectUpdate, ObjectUpdateCompressed,
// ObjectUpdateCached, ImprovedTerseObjectUpdate and KillObject. The terrain
// total is the Of of the first Milestone that has one, else DefaultPatches
// (256, a 256 m region of 16 m patches); only land patches count toward
// it. Object counts are sums over packets, so an object updated twice
// counts twice. Malformed counts are ignored, never trusted.
//
// # Epilogue timings
//
// The login round trip runs from the client's LoginStart to its receipt
// of the response (or, on a server-only stream, from the request to the
// response sent; failing both, the response's Elapsed). The other timings
// run from the first event to the step: the client's Milestone when
// recorded, else the client's first receipt of RegionHandshake,
// AgentMovementComplete, ObjectUpdate, or the LayerData that completed the
// land patches, else the server's first sending of them. Traffic comes
// from each side's CircuitClosed stats when recorded, else it is counted
// from the Packet events.
//
// # Masking and determinism
//
// Every event passes through trace.Visible before any value is read, so
// secrets are masked unless Options.Show is trace.ShowSecrets. Recorded
// strings are escaped for Markdown, kept to one line and cut at 160
// characters. Render is deterministic: the same events give the same bytes,
// with durations at fixed precision (one decimal in milliseconds below a
// second, three decimals in seconds above).
package narrative
