package grid

import (
	"ritual/metrics"
)

// WriteMetrics writes the grid's metrics, as /metrics serves them. Every
// figure is read from counts kept where things happen (the region's atomic
// counters, each circuit's own counts, the login service's outcomes, the
// capability and event-queue events), so scraping costs the packet path
// nothing.
func (s *Server) WriteMetrics(w *metrics.Writer) {
	c := s.Region.Counters()
	w.One("ritual_circuits", metrics.Gauge, "Circuits open on the region's UDP socket.", float64(c.Circuits))
	w.One("ritual_circuits_pending", metrics.Gauge, "Circuits provisioned by a login and waiting for UseCircuitCode.", float64(c.Pending))
	w.One("ritual_agents", metrics.Gauge, "Agents in the region.", float64(c.AgentsInWorld))
	w.One("ritual_circuits_opened_total", metrics.Counter, "Circuits opened by a valid UseCircuitCode.", float64(c.Accepted))
	w.Family("ritual_circuits_closed_total", metrics.Counter, "Agents' circuits closed, by reason (timeout: the client went silent).")
	for _, n := range c.Closed {
		w.Sample(float64(n.Count), metrics.L("reason", n.Name))
	}
	w.Family("ritual_circuit_refusals_total", metrics.Counter,
		"Circuits refused: logins refused because the region is full (region_full), and UseCircuitCode refused, by reason.")
	w.Sample(float64(c.Full), metrics.L("reason", "region_full"))
	for _, n := range c.Rejects {
		w.Sample(float64(n.Count), metrics.L("reason", n.Name))
	}
	w.One("ritual_logouts_total", metrics.Counter, "LogoutRequests answered.", float64(c.Logouts))

	w.Family("ritual_logins_total", metrics.Counter, "Login requests answered, by outcome.")
	for _, o := range s.Login.Counts().Outcomes() {
		w.Sample(float64(o.Count), metrics.L("outcome", o.Name))
	}

	tr := s.Region.Traffic()
	cs := tr.Circuits
	w.Family("ritual_packets_total", metrics.Counter, "Datagrams carried by the region's circuits.")
	w.Sample(float64(cs.PacketsRecv), metrics.L("direction", "in"))
	w.Sample(float64(cs.PacketsSent), metrics.L("direction", "out"))
	w.Family("ritual_bytes_total", metrics.Counter, "Bytes carried by the region's circuits.")
	w.Sample(float64(cs.BytesRecv), metrics.L("direction", "in"))
	w.Sample(float64(cs.BytesSent), metrics.L("direction", "out"))
	w.Family("ritual_acks_total", metrics.Counter, "Acknowledgements carried, appended or in PacketAck.")
	w.Sample(float64(cs.AcksRecv), metrics.L("direction", "in"))
	w.Sample(float64(cs.AcksSent), metrics.L("direction", "out"))
	w.Family("ritual_messages_total", metrics.Counter,
		"Messages the region's agents handled (in) and sent (out), by message; acknowledgements and pings stay in the circuits.")
	for _, m := range s.Region.Messages() {
		if m.In > 0 {
			w.Sample(float64(m.In), metrics.L("direction", "in"), metrics.L("message", m.Name))
		}
		if m.Out > 0 {
			w.Sample(float64(m.Out), metrics.L("direction", "out"), metrics.L("message", m.Name))
		}
	}
	w.One("ritual_resends_total", metrics.Counter, "Reliable packets sent again for want of an acknowledgement.", float64(cs.Resent))
	w.One("ritual_reliable_lost_total", metrics.Counter, "Reliable packets given up after the last resend.", float64(cs.ReliableLost))
	w.One("ritual_duplicates_total", metrics.Counter, "Reliable packets received again after the original.", float64(cs.Duplicates))

	// A circuit counts among its drops the datagrams its full inbound
	// queue refused, which the socket counts too: they are told once, as
	// inbound_queue_full.
	circuitDrops := uint64(cs.Dropped)
	circuitDrops -= min(circuitDrops, tr.Dropped.QueueFull)
	w.Family("ritual_drops_total", metrics.Counter, "Datagrams and events dropped, by reason.")
	w.Sample(float64(tr.Dropped.Oversized), metrics.L("reason", "oversized"))
	w.Sample(float64(tr.Dropped.QueueFull), metrics.L("reason", "inbound_queue_full"))
	w.Sample(float64(c.Stray+tr.Dropped.Unaccepted), metrics.L("reason", "no_circuit"))
	w.Sample(float64(circuitDrops), metrics.L("reason", "circuit"))
	w.Sample(float64(s.events.Count("anomaly/DROPPED")), metrics.L("reason", "event_queue_full"))

	w.One("ritual_eq_polls_total", metrics.Counter, "EventQueueGet polls received.", float64(s.events.Count("eq.poll")))
	w.One("ritual_eq_deliveries_total", metrics.Counter, "EventQueueGet answers carrying events.", float64(s.events.Count("eq.deliver")))
	w.One("ritual_eq_timeouts_total", metrics.Counter, "EventQueueGet polls answered 502 with nothing to say.", float64(s.events.Count("eq.timeout")))
	w.One("ritual_seed_requests_total", metrics.Counter, "Seed capability requests answered.", float64(s.events.Count("caps.seed_grant")))
	w.One("ritual_caps_requests_total", metrics.Counter, "Requests to capabilities other than the seed and the event queue.", float64(s.events.Count("caps.call")))
	writeWorldMetrics(w, s.Region.World())
	metrics.WriteProcess(w)
}
