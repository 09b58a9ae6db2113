// Package simnet is an in-memory UDP network for tests: net.PacketConn
// endpoints joined by links that lose, delay, reorder and duplicate
// datagrams, per direction, with a seeded random source so a failing run
// can be replayed. It runs inside testing/synctest bubbles (its timers are
// ordinary time.AfterFunc), so tests of timeouts and resends don't sleep.
//
// A Network joins endpoints made by Listen; SetLink sets what happens to
// datagrams from one endpoint to another (SetDefault for every other pair),
// and may be called at any time, so a test can cut a link and restore it.
// Stats counts what the network did; SetTap shows every datagram sent.
// A datagram to an address with no endpoint is lost; each endpoint's
// receive queue holds QueueLimit datagrams and drops past that, as a full
// socket buffer does.
package simnet
