// Package diagnose tells why a ritual stalled. Given the client-side probe
// events of a connection that did not complete in time, Diagnose finds the
// last step the ritual reached, the step it expected next, and the likely
// causes in plain words — what an operator needs to answer "why can't my
// viewer get into my region?".
//
// The steps, in the order a connection needs them:
//
//	1  login request answered         (the login URI is reachable)
//	2  login accepted                 (the server said yes)
//	3  UseCircuitCode acknowledged    (the region's UDP address is reachable)
//	4  RegionHandshake received       (the region accepted the circuit)
//	5  AgentMovementComplete received (the agent is in the region)
//	6  seed capability answered       (the HTTP capabilities work)
//	7  event queue answered           (EventQueueGet polls come back)
//	8  first object received          (the scene is arriving)
//	9  all terrain patches received   (the ground is complete)
//
// The causes come from package trace/cause, the one catalogue the client
// and the proxy use too: each names its step, its kind and the side at
// fault, and the Stall carries the first cause's kind and side. Diagnose
// picks the causes the client's events support; a client that never heard
// from the region cannot tell a silent region from a network that drops its
// datagrams, so that cause's side is unknown here. A ritual whose UDP part
// completed is no stall, whatever the capabilities did: the session tells
// those faults as FAULT anomalies.
package diagnose
