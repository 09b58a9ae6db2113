// Package metrics holds what a Ritual server exposes at /metrics through
// the Prometheus Go client (github.com/prometheus/client_golang): a
// registry with the standard Go runtime and process collectors, the
// histograms of the ritual's timings (Phases), and a counter of the
// low-rate layers' trace events (Events) that a server's own collector
// reads at scrape time.
//
// Nothing here sits on the packet path. A server keeps its counts where
// they happen (atomic counters in the region, the circuits' own counts,
// the login service's outcomes) and its prometheus.Collector reads them
// only when scraped:
//
//	# HELP ritual_logins_total Login requests answered, by outcome.
//	# TYPE ritual_logins_total counter
//	ritual_logins_total{outcome="ok"} 2000
//	ritual_logins_total{outcome="throttled_address"} 3
//
// Phases observes, per agent, the time from its login's circuit
// provision to each step the server sees it reach (handshake,
// capabilities, movement, first object, full terrain) and how long its
// logout took, in ritual_phase_seconds{phase=...}; the login service's
// own answer time goes to ritual_login_duration_seconds.
package metrics
