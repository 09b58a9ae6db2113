// Package metrics writes and reads the Prometheus text exposition format
// (version 0.0.4) for a Ritual server's /metrics endpoint, and counts the
// trace events of the low-rate layers (login, capabilities, event queue).
//
// Nothing here sits on the packet path. A server keeps its counts where
// they happen (atomic counters in the region, the circuits' own counts, the
// login service's outcomes) and a Handler reads them only when scraped,
// writing one family at a time:
//
//	# HELP ritual_logins_total Login requests answered, by outcome.
//	# TYPE ritual_logins_total counter
//	ritual_logins_total{outcome="ok"} 2000
//	ritual_logins_total{outcome="throttled_address"} 3
//
// Parse reads such a document back (for tests and tools); every line it
// cannot read is an error naming the line.
package metrics
