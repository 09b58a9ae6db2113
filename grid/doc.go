// Package grid assembles a running Ritual grid from its parts: the storage,
// the login service, the region simulator and its capabilities, on one
// host and port for both HTTP (login, capabilities, event queue) and UDP
// (the region's circuits), as OpenSimulator does. `ritual serve`,
// `ritual demo` and the end-to-end tests all start a grid through Start.
//
// The HTTP side also serves Prometheus metrics at /metrics through the
// Prometheus Go client (Config.NoMetrics turns it off): the Go runtime and
// process collectors; circuits, logins by outcome, messages by name each
// way, resends, drops by reason, refusals and event-queue polls, all read
// at scrape time from counts kept off the packet path; and histograms of
// the login service's answer time and of each phase of every agent's
// ritual (package metrics' Phases, fed by the grid's probe events).
//
// Against abuse the HTTP side bounds how long a request may take to
// arrive (ReadHeaderTimeout, ReadTimeout) and its answer to be written
// (WriteTimeout, longer than an event-queue poll is held), how long a
// kept-alive connection may idle, and how many connections one remote
// address holds at once (MaxConnsPerAddress; the next is answered 503).
// The login service throttles failed logins (see package login). Every
// SummaryInterval a grid that refused or dropped anything logs one warning
// summing it up from the same counts /metrics serves ("refused 4,812
// logins for bad credentials from 3 addresses; dropped 61,844 datagrams
// with no circuit"): never a line per packet, nothing while all is well.
package grid
