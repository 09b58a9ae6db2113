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
// with a growing timeout and given up after a bounded number of tries.
//
// When a trace.Recorder is configured, a Conn records every packet it sends
// and receives (with a summary of the message from Config.Summarize) and
// every anomaly: RESENT, DUPLICATE, DROPPED, TIMEOUT, and finally
// CIRCUIT CLOSED with the circuit's counts.
package circuit
