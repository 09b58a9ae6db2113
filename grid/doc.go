// Package grid assembles a running Ritual grid from its parts: the storage,
// the login service, the region simulator and its capabilities, on one
// host and port for both HTTP (login, capabilities, event queue) and UDP
// (the region's circuits), as OpenSimulator does. `ritual serve`,
// `ritual demo` and the end-to-end tests all start a grid through Start.
//
// The HTTP side also serves Prometheus metrics at /metrics (see
// WriteMetrics; Config.NoMetrics turns it off): circuits, logins by
// outcome, messages by name each way, resends, drops by reason, refusals
// and event-queue polls, all read from counts kept off the packet path.
package grid
