package sim

import (
	"errors"
	"sync/atomic"

	"ritual/circuit"
	"ritual/protocol/msg"
	"ritual/trace"
)

// Why UseCircuitCode was refused, as Counters.Rejects counts it.
const (
	RejectUnknown   = "unknown_code"    // no circuit provisioned with that code
	RejectInUse     = "in_use"          // the circuit is in use from another address
	RejectExpired   = "expired"         // provisioned, but UseCircuitCode came too late
	RejectMismatch  = "mismatch"        // agent or session differ from what was provisioned
	RejectClosing   = "closing"         // the region is shutting down
	RejectMalformed = "malformed"       // the UseCircuitCode could not be decoded
	RejectNoCircuit = "circuit_refused" // the transport would not open it (too many circuits)
)

var rejectReasons = [...]string{RejectUnknown, RejectInUse, RejectExpired, RejectMismatch, RejectClosing, RejectMalformed, RejectNoCircuit}

// Why an agent's circuit closed, as Counters.Closed counts it.
const (
	ClosedLogout  = "logout"  // LogoutRequest answered
	ClosedKicked  = "kicked"  // KickUser sent: another login, or the region shut down
	ClosedTimeout = "timeout" // the client was silent past the circuit's timeout
	ClosedOther   = "closed"  // CloseCircuit from the client, or the socket closed
)

var closeReasons = [...]string{ClosedLogout, ClosedKicked, ClosedTimeout, ClosedOther}

// Count is one named count.
type Count struct {
	Name  string
	Count uint64
}

// MessageCount is how many of one message the region received from its
// agents and sent to them. Short counts the ones received without some
// trailing blocks (a sender with an older template; they are among In).
type MessageCount struct {
	Name    string
	In, Out uint64
	Short   uint64
}

// Traffic is what every circuit of the region has carried, closed ones
// included.
type Traffic struct {
	// Circuits sums the circuits' own counts.
	Circuits trace.CircuitStats
	// Dropped are the datagrams the socket's transport dropped before any
	// circuit saw them.
	Dropped circuit.DropCounts
}

// messageIndex maps a message ID to a dense index into the per-message
// counters without a map lookup: the template numbers are small within
// each frequency.
type messageIndex struct {
	names               []string
	high, medium, fixed [256]int16
	low                 []int16
}

var msgIndex = newMessageIndex()

func newMessageIndex() *messageIndex {
	x := &messageIndex{}
	infos := msg.Infos()
	maxLow := 0
	for _, in := range infos {
		if in.Frequency == msg.Low {
			maxLow = max(maxLow, int(in.ID.Number()))
		}
	}
	x.low = make([]int16, maxLow+1)
	for i := range x.high {
		x.high[i], x.medium[i], x.fixed[i] = -1, -1, -1
	}
	for i := range x.low {
		x.low[i] = -1
	}
	for i, in := range infos {
		x.names = append(x.names, in.Name)
		n := in.ID.Number()
		switch in.Frequency {
		case msg.High:
			x.high[n] = int16(i)
		case msg.Medium:
			x.medium[n] = int16(i)
		case msg.Low:
			x.low[n] = int16(i)
		case msg.Fixed:
			x.fixed[n&0xFF] = int16(i)
		}
	}
	return x
}

// of returns the index of id, or -1.
func (x *messageIndex) of(id msg.ID) int {
	n := id.Number()
	switch id.Frequency() {
	case msg.High:
		return int(x.high[n&0xFF])
	case msg.Medium:
		return int(x.medium[n&0xFF])
	case msg.Low:
		if int(n) < len(x.low) {
			return int(x.low[n])
		}
	case msg.Fixed:
		return int(x.fixed[n&0xFF])
	}
	return -1
}

// counters are the region's counts beyond the ones in Region itself.
// Every one is an atomic updated where the event happens; nothing is
// locked or allocated per packet.
type counters struct {
	full    atomic.Uint64
	rejects [len(rejectReasons)]atomic.Uint64
	closed  [len(closeReasons)]atomic.Uint64
	in, out []atomic.Uint64 // by messageIndex
	short   []atomic.Uint64 // by messageIndex: received without trailing blocks
}

func newCounters() *counters {
	n := len(msgIndex.names)
	return &counters{in: make([]atomic.Uint64, n), out: make([]atomic.Uint64, n), short: make([]atomic.Uint64, n)}
}

// countIn counts a message an agent's handler received, and whether it
// was short.
func (c *counters) countIn(m msg.Message) {
	if i := msgIndex.of(m.ID()); i >= 0 {
		c.in[i].Add(1)
		if m.Absent() > 0 {
			c.short[i].Add(1)
		}
	}
}

func (c *counters) countOut(id msg.ID) {
	if i := msgIndex.of(id); i >= 0 {
		c.out[i].Add(1)
	}
}

func (c *counters) reject(reason string) {
	for i, r := range rejectReasons {
		if r == reason {
			c.rejects[i].Add(1)
			return
		}
	}
}

func (c *counters) close(reason string) {
	for i, r := range closeReasons {
		if r == reason {
			c.closed[i].Add(1)
			return
		}
	}
}

// closeReason names why an agent's circuit closed.
func closeReason(a *agent) string {
	switch {
	case errors.Is(a.conn.Err(), circuit.ErrTimeout):
		return ClosedTimeout
	case a.loggedOut:
		return ClosedLogout
	case a.kicked.Load():
		return ClosedKicked
	}
	return ClosedOther
}

func addStats(dst *trace.CircuitStats, s trace.CircuitStats) {
	dst.PacketsSent += s.PacketsSent
	dst.PacketsRecv += s.PacketsRecv
	dst.BytesSent += s.BytesSent
	dst.BytesRecv += s.BytesRecv
	dst.Resent += s.Resent
	dst.AcksSent += s.AcksSent
	dst.AcksRecv += s.AcksRecv
	dst.Duplicates += s.Duplicates
	dst.Dropped += s.Dropped
	dst.ReliableLost += s.ReliableLost
}

// Traffic returns what the region's circuits have carried: the closed ones'
// final counts plus the open ones' counts now. It reads each open circuit's
// counts under that circuit's lock once; call it at scrape time, not per
// packet.
func (r *Region) Traffic() Traffic {
	r.mu.Lock()
	tr := Traffic{Circuits: r.closedStats}
	conns := make([]*circuit.Conn, 0, len(r.live))
	for a := range r.live {
		conns = append(conns, a.conn)
	}
	r.mu.Unlock()
	for _, c := range conns {
		addStats(&tr.Circuits, c.Stats())
	}
	if t := r.transport.Load(); t != nil {
		tr.Dropped = t.Dropped()
	}
	return tr
}

// Messages returns, for every message the region has received or sent at
// least once, how many of it went each way. Only what reaches the agents'
// handlers and what they send is counted here: acknowledgements and pings
// stay inside the circuits (see Traffic).
func (r *Region) Messages() []MessageCount {
	var out []MessageCount
	for i, name := range msgIndex.names {
		in, o := r.counts.in[i].Load(), r.counts.out[i].Load()
		if in != 0 || o != 0 {
			out = append(out, MessageCount{Name: name, In: in, Out: o, Short: r.counts.short[i].Load()})
		}
	}
	return out
}
