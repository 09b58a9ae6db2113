// Package e2e holds the end-to-end tests and benchmarks of Ritual: our
// client against our grid, whole, in one process. HTTP (login,
// capabilities, event queue) runs on real loopback TCP; UDP runs either on
// loopback sockets or on an in-memory network (circuit/simnet) that loses,
// duplicates, delays and reorders datagrams in each direction, injected
// through grid.Config.PacketConn and client.Config.ListenPacket.
//
// What the tests hold the stack to:
//
//   - Under 20 % loss, 10 % duplication and 20 % reordering each way, the
//     client completes the ritual within a bounded time, and every reliable
//     message reaches the application exactly once: the client's world has
//     each prim once with one full update each, and the region saw one
//     UseCircuitCode, CompleteAgentMovement and RegionHandshakeReply.
//   - Logging in again kicks the earlier session and the new one keeps its
//     capabilities.
//   - Logging out, being kicked, and closing the grid leave no goroutine
//     behind.
//
// BenchmarkRitualLoopback measures the whole ritual over loopback UDP,
// login to logout. The package has no non-test code beyond this comment.
package e2e
