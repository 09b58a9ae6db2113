// Package proxy is the neutral observer between any viewer and any grid: a
// transparent relay that a user puts in front of a grid by changing nothing
// but the login URI, and that records the ritual of every connection through
// it from both sides (ritual proxy).
//
// # What it relays
//
// HTTP on one listener: a POST whose body is a login_to_simulator request
// (XML-RPC or LLSD, told as the login service tells them, see
// login.RequestFormat) is forwarded to the upstream login URI unchanged; a
// successful reply is rewritten so that sim_ip and sim_port name a UDP relay
// socket opened for that region and seed_capability a proxy URL; nothing
// else in the reply changes (the values are replaced in place, every other
// byte is kept). Failed logins pass through untouched. Capability URLs are
// CapPrefix followed by 128 bits from crypto/rand; the seed capability's
// answer has every URL replaced by such a URL, the event queue's answers have
// the addresses and seed capabilities of EnableSimulator,
// EstablishAgentCommunication, TeleportFinish and CrossedRegion replaced, and
// every other capability is relayed with its method, headers, status and
// body streamed. Any other request goes to the upstream host unchanged.
//
// UDP: each session gets one relay socket per region the grid hands it (the
// login reply's, and those announced later over UDP or the event queue). A
// relay socket passes datagrams byte for byte between the session's client
// — the address that sent the session's UseCircuitCode — and that region,
// and nothing else: datagrams from anyone else are refused and told, so the
// proxy is never an open relay. A datagram is forwarded first and decoded
// after; only EnableSimulator, TeleportFinish and CrossedRegion from the
// region are decoded first, to be re-encoded (same flags, sequence number
// and appended acks) with the relay's address.
//
// # What it tells
//
// Every signal becomes a trace event attributed to the side that sent it
// (a datagram from the client is [CLIENT] [UDP] SEND, one from the region
// [SERVER] [UDP] SEND); datagrams that do not decode are trace.Undecoded;
// replacements are trace.Rewrite; repeats of a sequence number are
// DUPLICATE anomalies. A session starts at a login request and ends at
// logout, when its circuits go silent (Config.CircuitTimeout), or when its
// ritual makes no progress for Config.StallAfter; an unfinished ritual
// ends with a trace.Stall naming the step, the cause in plain words and
// the side at fault (Stall.Cause and Stall.Fault), taken from the one
// catalogue of causes (trace/cause) on the evidence of both sides: the
// proxy can tell a client that never sent UseCircuitCode from a region
// that never answered it, and a client that stopped acknowledging from a
// region that stopped sending. A long session's story keeps its routine
// packets (AgentUpdate, PacketAck, pings, ...) only up to StoryEvents
// events and counts the rest, so memory per session stays bounded; a live
// recorder (Config.Recorder) gets every event.
package proxy
