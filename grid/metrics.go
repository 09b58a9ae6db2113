package grid

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector is the grid's prometheus.Collector. Every figure is read at
// scrape time from counts kept where things happen (the region's atomic
// counters, each circuit's own counts, the login service's outcomes, the
// capability and event-queue events), so scraping costs the packet path
// nothing.
type collector struct{ s *Server }

// Describe implements prometheus.Collector: the grid's families vary in
// their labels (reasons, messages), so it is an unchecked collector.
func (collector) Describe(chan<- *prometheus.Desc) {}

// family is one metric family of the collector: its descriptor, made
// once, and its type.
type family struct {
	typ  prometheus.ValueType
	desc *prometheus.Desc
}

func newFamily(name string, typ prometheus.ValueType, help string, labels ...string) *family {
	return &family{typ: typ, desc: prometheus.NewDesc(name, help, labels, nil)}
}

var (
	famCircuits       = newFamily("ritual_circuits", prometheus.GaugeValue, "Circuits open on the region's UDP socket.")
	famPending        = newFamily("ritual_circuits_pending", prometheus.GaugeValue, "Circuits provisioned by a login and waiting for UseCircuitCode.")
	famAgents         = newFamily("ritual_agents", prometheus.GaugeValue, "Agents with a circuit to the region, root and child (ritual_world_avatars counts the avatars present).")
	famOpened         = newFamily("ritual_circuits_opened_total", prometheus.CounterValue, "Circuits opened by a valid UseCircuitCode.")
	famClosed         = newFamily("ritual_circuits_closed_total", prometheus.CounterValue, "Agents' circuits closed, by reason (timeout: the client went silent).", "reason")
	famRefusals       = newFamily("ritual_circuit_refusals_total", prometheus.CounterValue, "Circuits refused: logins refused because the region is full (region_full), and UseCircuitCode refused, by reason.", "reason")
	famLogouts        = newFamily("ritual_logouts_total", prometheus.CounterValue, "LogoutRequests answered.")
	famPasswordChecks = newFamily("ritual_password_checks_total", prometheus.CounterValue, "Passwords verified (argon2id runs), unknown names' included.")
	famConnsRefused   = newFamily("ritual_http_connections_refused_total", prometheus.CounterValue, "HTTP connections refused (503) because their address held its share already.")
	famLogins         = newFamily("ritual_logins_total", prometheus.CounterValue, "Login requests answered, by outcome.", "outcome")
	famPackets        = newFamily("ritual_packets_total", prometheus.CounterValue, "Datagrams carried by the region's circuits.", "direction")
	famBytes          = newFamily("ritual_bytes_total", prometheus.CounterValue, "Bytes carried by the region's circuits.", "direction")
	famAcks           = newFamily("ritual_acks_total", prometheus.CounterValue, "Acknowledgements carried, appended or in PacketAck.", "direction")
	famMessages       = newFamily("ritual_messages_total", prometheus.CounterValue, "Messages the region's agents handled (in) and sent (out), by message; acknowledgements and pings stay in the circuits.", "direction", "message")
	famShortMessages  = newFamily("ritual_messages_short_total", prometheus.CounterValue, "Messages the region's agents handled that came without some trailing blocks (a client with an older template), by message; they are among ritual_messages_total's.", "message")
	famResends        = newFamily("ritual_resends_total", prometheus.CounterValue, "Reliable packets sent again for want of an acknowledgement.")
	famReliableLost   = newFamily("ritual_reliable_lost_total", prometheus.CounterValue, "Reliable packets given up after the last resend.")
	famDuplicates     = newFamily("ritual_duplicates_total", prometheus.CounterValue, "Reliable packets received again after the original.")
	famDrops          = newFamily("ritual_drops_total", prometheus.CounterValue, "Datagrams and events dropped, by reason.", "reason")
	famEQPolls        = newFamily("ritual_eq_polls_total", prometheus.CounterValue, "EventQueueGet polls received.")
	famEQDeliveries   = newFamily("ritual_eq_deliveries_total", prometheus.CounterValue, "EventQueueGet answers carrying events.")
	famEQTimeouts     = newFamily("ritual_eq_timeouts_total", prometheus.CounterValue, "EventQueueGet polls answered 502 with nothing to say.")
	famSeedRequests   = newFamily("ritual_seed_requests_total", prometheus.CounterValue, "Seed capability requests answered.")
	famCapsRequests   = newFamily("ritual_caps_requests_total", prometheus.CounterValue, "Requests to capabilities other than the seed and the event queue.")
	famBorderNews     = newFamily("ritual_border_news_total", prometheus.CounterValue, "Border news (child views, chat near a border) for regions of other processes, sent or dropped because their queue was full.", "outcome")
)

func emit[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](ch chan<- prometheus.Metric, f *family, v N, labels ...string) {
	ch <- prometheus.MustNewConstMetric(f.desc, f.typ, float64(v), labels...)
}

// Collect implements prometheus.Collector.
func (g collector) Collect(ch chan<- prometheus.Metric) {
	s := g.s
	if s.Login != nil {
		for _, o := range s.Login.Counts().Outcomes() {
			emit(ch, famLogins, o.Count, o.Name)
		}
		emit(ch, famPasswordChecks, s.Login.PasswordChecks())
	}
	emit(ch, famConnsRefused, s.ConnsRefused())
	sent, dropped := s.BorderNews()
	emit(ch, famBorderNews, sent, "sent")
	emit(ch, famBorderNews, dropped, "dropped")

	// A process without a region (a login service alone) has no region
	// metrics; one with several reports its first region's (Server.Region).
	if s.Region != nil {
		c := s.Region.Counters()
		emit(ch, famCircuits, c.Circuits)
		emit(ch, famPending, c.Pending)
		emit(ch, famAgents, c.AgentsInWorld)
		emit(ch, famOpened, c.Accepted)
		for _, n := range c.Closed {
			emit(ch, famClosed, n.Count, n.Name)
		}
		emit(ch, famRefusals, c.Full, "region_full")
		for _, n := range c.Rejects {
			emit(ch, famRefusals, n.Count, n.Name)
		}
		emit(ch, famLogouts, c.Logouts)

		tr := s.Region.Traffic()
		cs := tr.Circuits
		emit(ch, famPackets, cs.PacketsRecv, "in")
		emit(ch, famPackets, cs.PacketsSent, "out")
		emit(ch, famBytes, cs.BytesRecv, "in")
		emit(ch, famBytes, cs.BytesSent, "out")
		emit(ch, famAcks, cs.AcksRecv, "in")
		emit(ch, famAcks, cs.AcksSent, "out")
		for _, m := range s.Region.Messages() {
			if m.In > 0 {
				emit(ch, famMessages, m.In, "in", m.Name)
			}
			if m.Out > 0 {
				emit(ch, famMessages, m.Out, "out", m.Name)
			}
			if m.Short > 0 {
				emit(ch, famShortMessages, m.Short, m.Name)
			}
		}
		emit(ch, famResends, cs.Resent)
		emit(ch, famReliableLost, cs.ReliableLost)
		emit(ch, famDuplicates, cs.Duplicates)

		// A circuit counts among its drops the datagrams its full inbound
		// queue refused, which the socket counts too: they are told once, as
		// inbound_queue_full.
		circuitDrops := uint64(cs.Dropped)
		circuitDrops -= min(circuitDrops, tr.Dropped.QueueFull)
		emit(ch, famDrops, tr.Dropped.Oversized, "oversized")
		emit(ch, famDrops, tr.Dropped.QueueFull, "inbound_queue_full")
		emit(ch, famDrops, c.Stray+tr.Dropped.Unaccepted, "no_circuit")
		emit(ch, famDrops, circuitDrops, "circuit")
		emit(ch, famDrops, s.events.Count("anomaly/DROPPED"), "event_queue_full")
		collectWorld(ch, s.Region.World())
		if s.msgr != nil {
			s.msgr.collect(ch)
		}
	}
	emit(ch, famEQPolls, s.events.Count("eq.poll"))
	emit(ch, famEQDeliveries, s.events.Count("eq.deliver"))
	emit(ch, famEQTimeouts, s.events.Count("eq.timeout"))
	emit(ch, famSeedRequests, s.events.Count("caps.seed_grant"))
	emit(ch, famCapsRequests, s.events.Count("caps.call"))
}
