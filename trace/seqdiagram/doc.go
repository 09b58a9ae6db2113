// Package seqdiagram draws a ritual's recorded events (package trace) as a
// Mermaid sequence diagram: the client, the login service, the region's UDP
// circuit and its capabilities as participants, one arrow per signal with
// the message name and its key values, masked unless asked otherwise.
//
//	sequenceDiagram
//	    participant Client
//	    participant Region as Region (UDP)
//	    Note over Client,Caps: Part II: The Handshake
//	    Client->>Region: UseCircuitCode (CircuitCode 473293782, SessionID 19d8…, ID 2e3f…)
//	    Region->>Client: LayerData ×8 (256/256 land patches, 2 wind)
//	    Note over Client: DUPLICATE RegionHandshake (seq 1)
//
// The diagram follows the story of package narrative: the same parts (a
// note opens each), the same streams collapsed into one arrow at their
// first packet, the same background packets (acks, pings, agent updates)
// left out and counted in a closing note, anomalies as notes over the side
// that saw them, and a stall as the final note. When both sides were
// recorded a signal is drawn once, from the sender's view: a received
// packet matching a sent one (same message, sequence number and
// endpoints), and the receiving side's view of a login, seed or
// event-queue exchange that the sender also recorded, are not drawn again.
//
// Participants come from the events' Header.From and Header.To ("client",
// "login", "region", "caps"; others are drawn under their own names),
// derived from the event's side and layer when missing. Recorded text is
// kept to one line and the characters Mermaid reads as syntax (";", "#",
// "<", ">") are written as entity codes. Render is deterministic: the same
// events give the same bytes.
package seqdiagram
