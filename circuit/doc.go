// Package circuit is the viewer protocol's reliable UDP layer, shared by the
// region server and the client library.
//
// A Transport owns one UDP socket and its one reader goroutine; it hands
// each datagram to the Conn registered for the sender's address, or to the
// Transport's Accept hook when no circuit exists yet (the server validates
// UseCircuitCode there). A Conn is one circuit: a single run goroutine owns
// its sequence numbers, the reliable packets awaiting acknowledgement and
// their resend timers, the acknowledgements it owes (appended to outgoing
// packets or flushed as PacketAck), duplicate detection, StartPingCheck /
// CompletePingCheck, the silence timeout and a coarse outgoing throttle.
//
// Every queue is bounded: the inbound datagram queue (overflow is dropped,
// counted and traced, and the peer resends what was reliable), the
// outbound queue (Send reports ErrQueueFull), the reliable packets awaiting
// acknowledgement (the run loop stops taking new reliable packets until
// acks arrive) and the owed acknowledgements. A reliable packet is resent
// with a growing timeout and given up after a bounded number of tries; a
// circuit that hears nothing for Config.Timeout closes with ErrTimeout.
//
// Reliability rules, each guarded by a test under simulated loss
// (circuit/simnet):
//
//   - Every packet, reliable or not, takes the next sequence number; the
//     counter wraps at 2^32 and skips 0. A resend keeps its number and sets
//     RESENT.
//   - The receiver remembers the last 4096 numbers (compared in serial
//     arithmetic, so the wrap is seamless): a reliable packet seen before is
//     acknowledged again and not delivered; one older than the window is
//     taken for a duplicate; one a million behind is the peer's counter
//     rolling over (LibreMetaverse goes from 0xFFFFFF to 1).
//   - So a resend is always inside the peer's window, the sender takes no
//     new message while its oldest unacknowledged packet is 2048 numbers
//     behind, and gives up one pushed past the window rather than resend it.
//   - A reliable packet that arrives when the application's queue is full
//     is dropped unacknowledged (the peer resends it); one that cannot be
//     decoded is acknowledged and dropped (resending cannot help).
//   - Round-trip samples come from packets acknowledged after one
//     transmission only (Karn's rule) and from CompletePingCheck.
//   - A graceful close acknowledges everything that arrived before it
//     finishes; Close finishes at once, whatever is under way.
//
// When a trace.Recorder is configured, a Conn records every packet it sends
// and receives (with a summary of the message from Config.Summarize) and
// every anomaly: RESENT, DUPLICATE, DROPPED, TIMEOUT, and finally
// CIRCUIT CLOSED with the circuit's counts.
package circuit
