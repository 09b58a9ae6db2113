package circuit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"ritual/protocol/msg"
	"ritual/trace"
)

// run is the circuit's single owner of its state.
func (c *Conn) run() {
	check := min(max(c.cfg.ResendTimeout/4, 10*time.Millisecond), 250*time.Millisecond)
	tick := time.NewTicker(check)
	defer tick.Stop()
	var pingC <-chan time.Time
	if c.cfg.PingInterval > 0 {
		pt := time.NewTicker(c.cfg.PingInterval)
		defer pt.Stop()
		pingC = pt.C
	}
	c.ackTimer = time.NewTimer(time.Hour)
	c.ackTimer.Stop()
	defer c.ackTimer.Stop()
	var throttleTimer *time.Timer
	var throttleC <-chan time.Time
	c.lastRecv = time.Now()
	// The throttle's bucket starts full: the first burst (a region's
	// scene) goes at once, what follows at the rate.
	c.tokens, c.tokensAt = math.Inf(1), c.lastRecv

	for {
		// Take new messages only while there is room for them among the
		// unacknowledged and the throttle allows.
		var outC <-chan outgoing
		if len(c.unacked) < c.cfg.Unacked && c.spanOK() {
			if wait := c.throttleWait(); wait <= 0 {
				outC = c.outbound
			} else if throttleC == nil {
				throttleTimer = time.NewTimer(wait)
				throttleC = throttleTimer.C
			}
		}
		if c.draining && len(c.outbound) == 0 && len(c.unacked) == 0 {
			// Take in and acknowledge what has already arrived, or the
			// peer resends it to a closed circuit and gives up on a
			// message the application got.
			for len(c.inbound) > 0 {
				bp := <-c.inbound
				c.handleDatagram(*bp)
				putBuf(bp)
			}
			c.flushAcks()
			c.finish(ErrClosed, c.closeReason)
			return
		}
		select {
		case bp := <-c.inbound:
			c.handleDatagram(*bp)
			putBuf(bp)
			// Acknowledge at once when nothing else is waiting: a burst is
			// acknowledged together, a lone packet without delay.
			if len(c.inbound) == 0 && len(c.pendingAcks) > 0 && len(c.outbound) == 0 {
				c.flushAcks()
			}
		case o := <-outC:
			c.transmitNew(o)
		case <-c.ackTimer.C:
			c.ackArmed = false
			c.flushAcks()
		case now := <-tick.C:
			if c.checkResends(now) {
				return
			}
		case <-pingC:
			c.sendPing()
		case <-throttleC:
			throttleC = nil
			throttleTimer = nil
		case <-c.hardStop:
			c.flushAcks()
			c.errMu.Lock()
			reason := c.stopReason
			c.errMu.Unlock()
			c.finish(ErrClosed, reason)
			return
		case r := <-c.closeReq:
			c.draining = true
			c.closeReason = r.reason
		}
	}
}

// finish ends the circuit: fails waiting senders, records the closing and
// removes the circuit from its transport.
func (c *Conn) finish(err error, reason string) {
	c.errMu.Lock()
	c.err = err
	c.errMu.Unlock()
	for seq, u := range c.unacked {
		if u.out.done != nil {
			u.out.done <- ErrClosed
		}
		putBuf(u.out.buf)
		delete(c.unacked, seq)
	}
	c.order = nil
	c.nUnacked.Store(0)
	if c.cfg.Recorder != nil {
		trace.Emit(c.cfg.Recorder, &trace.CircuitClosed{
			Header: c.header(c.cfg.LocalEnd, c.cfg.RemoteEnd),
			Code:   c.cfg.Code, Reason: reason, Stats: c.Stats(),
		})
	}
	c.t.remove(c)
	close(c.done)
	close(c.deliver)
	// Drain what is queued so pooled buffers go back; a sender racing with
	// the close drains after its own push (see afterPush, enqueue).
	c.drainOutbound()
	c.drainInbound()
}

func (c *Conn) header(from, to string) trace.Header {
	return trace.Header{Side: c.cfg.Side, Layer: trace.UDP, From: from, To: to}
}

func (c *Conn) anomaly(kind, message string, seq uint32, reason string) {
	if c.cfg.Recorder == nil {
		return
	}
	trace.Emit(c.cfg.Recorder, &trace.Anomaly{
		Header: c.header(c.cfg.RemoteEnd, c.cfg.LocalEnd),
		Kind:   kind, Message: message, Seq: seq, Reason: reason, Remote: c.remote.String(),
	})
}

func (c *Conn) handleDatagram(d []byte) {
	now := time.Now()
	c.lastRecv = now
	if err := c.pkt.Parse(d, c.scratch); err != nil {
		c.drop(0, "", fmt.Sprintf("malformed datagram: %v", err))
		return
	}
	p := &c.pkt
	c.statsMu.Lock()
	c.stats.PacketsRecv++
	c.stats.BytesRecv += len(d)
	c.stats.AcksRecv += len(p.Acks)
	c.statsMu.Unlock()
	for _, a := range p.Acks {
		c.acked(a, now)
	}
	reliable := p.Flags&msg.FlagReliable != 0
	if reliable && c.window.has(p.Sequence) {
		c.oweAck(p.Sequence)
		c.statsMu.Lock()
		c.stats.Duplicates++
		c.statsMu.Unlock()
		name := p.ID.String()
		c.anomaly(trace.AnomalyDuplicate, name, p.Sequence, "already received; acknowledged again")
		return
	}

	var delivered msg.Message
	switch p.ID {
	case msg.IDPacketAck:
		if err := c.ackMsg.Decode(p.Body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
			c.dropUnusable(p, "PacketAck", err.Error())
			return
		}
		for _, b := range c.ackMsg.Packets {
			c.acked(b.ID, now)
		}
		c.statsMu.Lock()
		c.stats.AcksRecv += len(c.ackMsg.Packets)
		c.statsMu.Unlock()
		delivered = &c.ackMsg
	case msg.IDStartPingCheck:
		if err := c.pingIn.Decode(p.Body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
			c.dropUnusable(p, "StartPingCheck", err.Error())
			return
		}
		c.pingOut.PingID.PingID = c.pingIn.PingID.PingID
		c.sendControl(&c.pingOut)
	case msg.IDCompletePingCheck:
		if err := c.pongIn.Decode(p.Body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
			c.dropUnusable(p, "CompletePingCheck", err.Error())
			return
		}
		if t := c.pingSent[c.pongIn.PingID.PingID]; !t.IsZero() {
			c.observeRTT(now.Sub(t))
			c.pingSent[c.pongIn.PingID.PingID] = time.Time{}
		}
	default:
		m, ok := msg.New(p.ID)
		if !ok {
			c.dropUnusable(p, "", fmt.Sprintf("unknown message number %s", p.ID))
			return
		}
		if err := m.Decode(p.Body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
			c.dropUnusable(p, m.Name(), err.Error())
			return
		}
		// Only the run loop sends on deliver, so room seen now is room
		// when the message is handed over below.
		if len(c.deliver) == cap(c.deliver) {
			// The application is behind: leave a reliable packet unacked
			// so the peer sends it again later.
			c.drop(p.Sequence, m.Name(), "application queue full")
			return
		}
		delivered = m
	}
	if reliable {
		c.window.mark(p.Sequence)
		c.oweAck(p.Sequence)
	}
	if c.cfg.Recorder != nil {
		ev := &trace.Packet{
			Header:    c.header(c.cfg.RemoteEnd, c.cfg.LocalEnd),
			Dir:       trace.Recv,
			Message:   p.ID.String(),
			Seq:       p.Sequence,
			Reliable:  reliable,
			Resent:    p.Flags&msg.FlagResent != 0,
			Zerocoded: p.Flags&msg.FlagZerocoded != 0,
			Size:      len(d),
			Acks:      len(p.Acks),
			Circuit:   c.cfg.Code,
		}
		ev.Time = now
		if delivered != nil {
			ev.Fields = c.cfg.Summarize(delivered)
		}
		c.cfg.Recorder.Record(ev)
	}
	// The receipt is recorded before the application sees the message, so
	// what the application records in reaction comes after it.
	if delivered != nil && p.ID != msg.IDPacketAck {
		c.deliver <- Inbound{Message: delivered, Seq: p.Sequence, Flags: p.Flags, At: now}
	}
}

// dropUnusable drops a packet whose message cannot be decoded. A reliable
// one is acknowledged all the same (and remembered, so its resends are
// duplicates): sending the same bytes again cannot make them usable.
func (c *Conn) dropUnusable(p *msg.Packet, message, reason string) {
	if p.Flags&msg.FlagReliable != 0 {
		c.window.mark(p.Sequence)
		c.oweAck(p.Sequence)
	}
	c.drop(p.Sequence, message, reason)
}

func (c *Conn) drop(seq uint32, message, reason string) {
	c.statsMu.Lock()
	c.stats.Dropped++
	c.statsMu.Unlock()
	c.anomaly(trace.AnomalyDropped, message, seq, reason)
}

func (c *Conn) observeRTT(rtt time.Duration) {
	if c.srtt == 0 {
		c.srtt = max(rtt, 1) // 0 means "no sample yet"
	} else {
		c.srtt = (7*c.srtt + rtt) / 8
	}
	c.rtt.Store(int64(c.srtt))
}

// rto is the first retransmission timeout for a new packet: the
// configured one, or three round trips when that is longer.
func (c *Conn) rto() time.Duration {
	r := c.cfg.ResendTimeout
	if c.srtt > 0 && 3*c.srtt > r {
		r = min(3*c.srtt, c.cfg.MaxResendTimeout)
	}
	return r
}

func (c *Conn) acked(seq uint32, now time.Time) {
	u, ok := c.unacked[seq]
	if !ok {
		return
	}
	delete(c.unacked, seq)
	c.nUnacked.Store(int64(len(c.unacked)))
	if u.tries == 0 {
		c.observeRTT(now.Sub(u.lastSent))
	}
	if u.out.done != nil {
		u.out.done <- nil
	}
	putBuf(u.out.buf)
}

func (c *Conn) oweAck(seq uint32) {
	c.pendingAcks = append(c.pendingAcks, seq)
	if len(c.pendingAcks) >= msg.MaxAcks {
		c.flushAcks()
		return
	}
	if !c.ackArmed {
		c.ackArmed = true
		c.ackTimer.Reset(c.cfg.AckDelay)
	}
}

// flushAcks sends every owed acknowledgement as PacketAck messages.
func (c *Conn) flushAcks() {
	for len(c.pendingAcks) > 0 {
		n := min(len(c.pendingAcks), msg.MaxAcks)
		c.ackOut.Packets = c.ackOut.Packets[:0]
		for _, s := range c.pendingAcks[:n] {
			c.ackOut.Packets = append(c.ackOut.Packets, msg.PacketAckPackets{ID: s})
		}
		c.pendingAcks = append(c.pendingAcks[:0], c.pendingAcks[n:]...)
		c.statsMu.Lock()
		c.stats.AcksSent += n
		c.statsMu.Unlock()
		c.sendControl(&c.ackOut)
	}
	if c.ackArmed {
		c.ackTimer.Stop()
		c.ackArmed = false
	}
}

// nextSeq numbers the next packet. The counter wraps at 2^32 and skips 0,
// which StartPingCheck's OldestUnacked uses for "none".
func (c *Conn) nextSeq() uint32 {
	c.seq++
	if c.seq == 0 {
		c.seq = 1
	}
	return c.seq
}

// maxSpan bounds how far the newest sequence number may run ahead of the
// oldest unacknowledged reliable packet before new messages wait. The
// receiver's duplicate window covers windowBits numbers and takes anything
// older for a duplicate (acknowledged, never delivered), so a resend must
// stay inside it; the other half leaves room for the control messages
// (acknowledgements, pings) that are numbered outside the queue.
const maxSpan = windowBits / 2

// oldestUnacked returns the sequence number of the oldest reliable packet
// awaiting acknowledgement, and whether there is one.
func (c *Conn) oldestUnacked() (uint32, bool) {
	for len(c.order) > 0 {
		if _, ok := c.unacked[c.order[0]]; ok {
			return c.order[0], true
		}
		c.order = c.order[1:]
	}
	return 0, false
}

// spanOK reports whether a new packet keeps every unacknowledged one
// within maxSpan of the newest sequence number.
func (c *Conn) spanOK() bool {
	oldest, ok := c.oldestUnacked()
	return !ok || c.seq-oldest < maxSpan
}

// sendControl sends an unreliable control message (PacketAck, pings) at
// once, outside the outbound queue and the throttle.
func (c *Conn) sendControl(m msg.Message) {
	seq := c.nextSeq()
	var flags msg.Flags
	if m.Zerocoded() {
		flags = msg.FlagZerocoded
	}
	b, err := msg.EncodePacket(c.sendBuf[:0], flags, seq, m, nil)
	if err != nil {
		c.cfg.Logger.Error("circuit: encoding control message", "message", m.Name(), "err", err)
		return
	}
	var fields trace.Fields
	if c.cfg.Recorder != nil {
		fields = c.cfg.Summarize(m)
	}
	c.write(b, m.Name(), seq, false, false, fields)
}

// transmitNew sends a message from the outbound queue for the first time.
func (c *Conn) transmitNew(o outgoing) {
	seq := c.nextSeq()
	b := (*o.buf)[:o.n]
	binary.BigEndian.PutUint32(b[1:5], seq)
	if o.reliable {
		c.unacked[seq] = unacked{out: o, seq: seq, lastSent: time.Now(), rto: c.rto()}
		c.order = append(c.order, seq)
		c.nUnacked.Store(int64(len(c.unacked)))
		c.write(b, o.name, seq, true, false, o.fields)
		return
	}
	c.write(b, o.name, seq, false, false, o.fields)
	if o.done != nil {
		o.done <- nil
	}
	putBuf(o.buf)
}

// write sends b (which has no acks appended) with as many owed acks as fit.
func (c *Conn) write(b []byte, name string, seq uint32, reliable, resent bool, fields trace.Fields) {
	out := append(c.sendBuf[:0], b...)
	if resent {
		msg.SetResent(out)
	}
	acks := 0
	if n := min(len(c.pendingAcks), msg.MaxAppendedAcks(len(out))); n > 0 && !c.cfg.NoAppendedAcks {
		for _, s := range c.pendingAcks[:n] {
			out = binary.BigEndian.AppendUint32(out, s)
		}
		out = append(out, byte(n))
		out[0] |= byte(msg.FlagAcks)
		c.pendingAcks = append(c.pendingAcks[:0], c.pendingAcks[n:]...)
		acks = n
		if len(c.pendingAcks) == 0 && c.ackArmed {
			c.ackTimer.Stop()
			c.ackArmed = false
		}
	}
	c.sendBuf = out[:0]
	c.statsMu.Lock()
	c.stats.PacketsSent++
	c.stats.BytesSent += len(out)
	c.stats.AcksSent += acks
	if resent {
		c.stats.Resent++
	}
	c.statsMu.Unlock()
	// The probe records the send as the datagram is handed to the socket,
	// so a receipt on the other side never precedes it.
	if c.cfg.Recorder != nil {
		c.cfg.Recorder.Record(&trace.Packet{
			Header:    trace.Header{Time: time.Now(), Side: c.cfg.Side, Layer: trace.UDP, From: c.cfg.LocalEnd, To: c.cfg.RemoteEnd},
			Dir:       trace.Send,
			Message:   name,
			Seq:       seq,
			Reliable:  reliable,
			Resent:    resent,
			Zerocoded: out[0]&byte(msg.FlagZerocoded) != 0,
			Size:      len(out),
			Acks:      acks,
			Circuit:   c.cfg.Code,
			Fields:    fields,
		})
	}
	if err := c.t.WriteTo(out, c.remote); err != nil {
		c.cfg.Logger.Debug("circuit: write failed", "remote", c.remote, "err", err)
	}
	c.spend(len(out))
}

// checkResends resends what is due, gives up what ran out of tries, and
// closes a silent circuit; it reports whether the circuit closed.
func (c *Conn) checkResends(now time.Time) bool {
	if now.Sub(c.lastRecv) >= c.cfg.Timeout {
		c.flushAcks()
		c.anomaly(trace.AnomalyTimeout, "", 0, fmt.Sprintf("no datagram from the peer for %v", c.cfg.Timeout))
		c.finish(ErrTimeout, fmt.Sprintf("peer silent for %v", c.cfg.Timeout))
		return true
	}
	for seq, u := range c.unacked {
		if now.Sub(u.lastSent) < u.rto {
			continue
		}
		var why string
		switch {
		case u.tries >= c.cfg.MaxResends:
			why = fmt.Sprintf("unacknowledged after %d resends; given up", u.tries)
		case c.seq-seq >= windowBits:
			// The peer would take a resend this far behind for a
			// duplicate and acknowledge it without delivering it.
			why = fmt.Sprintf("unacknowledged and %d packets behind the newest, past the peer's duplicate window; given up", c.seq-seq)
		}
		if why != "" {
			delete(c.unacked, seq)
			c.nUnacked.Store(int64(len(c.unacked)))
			c.statsMu.Lock()
			c.stats.ReliableLost++
			c.statsMu.Unlock()
			c.anomaly(trace.AnomalyTimeout, u.out.name, seq, why)
			if u.out.done != nil {
				u.out.done <- ErrGaveUp
			}
			putBuf(u.out.buf)
			continue
		}
		u.tries++
		u.lastSent = now
		u.rto = min(2*u.rto, c.cfg.MaxResendTimeout)
		c.unacked[seq] = u // replacing an existing key while ranging is allowed
		c.write((*u.out.buf)[:u.out.n], u.out.name, seq, true, true, u.out.fields)
	}
	return false
}

func (c *Conn) sendPing() {
	c.pingID++
	c.startOut.PingID.PingID = c.pingID
	oldest, _ := c.oldestUnacked()
	c.startOut.PingID.OldestUnacked = oldest
	c.pingSent[c.pingID] = time.Now()
	c.sendControl(&c.startOut)
}

// throttleWait returns how long to wait before sending more under the
// throttle (0 or less: send now).
func (c *Conn) throttleWait() time.Duration {
	rate := math.Float64frombits(c.throttle.Load())
	if rate <= 0 {
		return 0
	}
	now := time.Now()
	burst := max(rate/4, 64*1024)
	c.tokens = min(burst, c.tokens+now.Sub(c.tokensAt).Seconds()*rate)
	c.tokensAt = now
	if c.tokens >= 0 {
		return 0
	}
	return time.Duration(-c.tokens / rate * float64(time.Second))
}

func (c *Conn) spend(n int) {
	if math.Float64frombits(c.throttle.Load()) > 0 {
		c.tokens -= float64(n)
	}
}
