package proxy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"ritual/circuit"
	"ritual/protocol/msg"
	"ritual/trace"
)

// relay is one UDP relay socket of one session: the client sends to it as
// if it were the region, and the region's datagrams come back on it. It
// passes datagrams only between the session's client (the address that sent
// the session's UseCircuitCode) and the region the grid handed out.
type relay struct {
	s         *Session
	pc        net.PacketConn
	region    netip.AddrPort // the upstream region
	public    netip.AddrPort // what the client is told
	regionNet net.Addr

	// Owned by the run goroutine.
	client    netip.AddrPort
	clientNet net.Addr
	pkt       msg.Packet
	scratch   []byte
	seen      [2]seqWindow // by sender: 0 client, 1 region

	refused atomic.Int64
	closed  atomic.Bool
}

// seqWindow remembers the last sequence numbers one side sent, to tell a
// duplicate (a datagram seen before) from a resend that arrives first.
type seqWindow struct {
	ring [1024]uint32
	set  map[uint32]struct{}
	n    int
}

// seen records seq and reports whether it was there already.
func (w *seqWindow) seen(seq uint32) bool {
	if w.set == nil {
		w.set = make(map[uint32]struct{}, len(w.ring))
	}
	if _, ok := w.set[seq]; ok {
		return true
	}
	i := w.n % len(w.ring)
	if w.n >= len(w.ring) {
		delete(w.set, w.ring[i])
	}
	w.ring[i] = seq
	w.set[seq] = struct{}{}
	w.n++
	return false
}

func newRelay(s *Session, pc net.PacketConn, region netip.AddrPort, publicHost netip.Addr) *relay {
	local := addrPort(pc.LocalAddr())
	return &relay{
		s: s, pc: pc, region: region,
		public:    netip.AddrPortFrom(publicHost, local.Port()),
		regionNet: net.UDPAddrFromAddrPort(region),
		scratch:   make([]byte, msg.MaxBody),
	}
}

// maxDatagram is the receive buffer: larger than any protocol datagram, so
// whatever arrives is relayed whole.
const maxDatagram = 64 << 10

func (r *relay) run() {
	defer r.s.p.wg.Done()
	buf := make([]byte, maxDatagram)
	var out []byte // a rewritten datagram; grown on the first rewrite
	for {
		n, from, err := r.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || r.closed.Load() {
				return
			}
			continue
		}
		now := time.Now()
		src := addrPort(from)
		d := buf[:n]
		switch {
		case src == r.region:
			if !r.client.IsValid() {
				r.refuse(now, src, d, "the region sent before the client did")
				continue
			}
			out = r.forwardRegion(d, out[:0])
			r.observe(now, trace.Server, d, out)
		case r.client.IsValid() && src == r.client:
			_, _ = r.pc.WriteTo(d, r.regionNet)
			r.observe(now, trace.Client, d, nil)
		case !r.client.IsValid() && r.isUseCircuitCode(d):
			r.client, r.clientNet = src, from
			_, _ = r.pc.WriteTo(d, r.regionNet)
			r.observe(now, trace.Client, d, nil)
		default:
			r.refuse(now, src, d, "neither this session's client nor its region")
		}
	}
}

// forwardRegion sends a region's datagram to the client, rewritten when
// it carries another region's address; it returns the bytes sent when they
// differ from d (else out emptied).
func (r *relay) forwardRegion(d, out []byte) []byte {
	if err := r.pkt.Parse(d, r.scratch); err == nil {
		switch r.pkt.ID {
		case msg.IDEnableSimulator, msg.IDTeleportFinish, msg.IDCrossedRegion:
			if b, ok := r.rewriteUDP(d, out); ok {
				_, _ = r.pc.WriteTo(b, r.clientNet)
				return b
			}
		}
	}
	_, _ = r.pc.WriteTo(d, r.clientNet)
	return out[:0]
}

// isUseCircuitCode reports whether d is the session's UseCircuitCode.
func (r *relay) isUseCircuitCode(d []byte) bool {
	if err := r.pkt.Parse(d, r.scratch); err != nil || r.pkt.ID != msg.IDUseCircuitCode {
		return false
	}
	var m msg.UseCircuitCode
	if err := m.Decode(r.pkt.Body); err != nil && !errors.Is(err, msg.ErrTrailingData) {
		return false
	}
	return m.CircuitCode.Code == r.s.circuitCode()
}

// refuse drops a datagram from a stranger: the relay is never an open relay.
func (r *relay) refuse(now time.Time, src netip.AddrPort, d []byte, why string) {
	if r.refused.Add(1) > 16 {
		return // told enough; still counted
	}
	side := trace.Client
	if src == r.region {
		side = trace.Server
	}
	r.s.record(&trace.Anomaly{Header: hdr(now, side, trace.UDP, src.String(), trace.EndProxy),
		Kind: trace.AnomalyReject, Remote: src.String(), Reason: fmt.Sprintf("%d-byte datagram not relayed: %s", len(d), why)})
}

// observe decodes a relayed datagram and records it as sent by side.
// sent, when not empty, is what was actually passed on (rewritten).
func (r *relay) observe(now time.Time, side trace.Side, d, sent []byte) {
	from, to := trace.EndClient, trace.EndRegion
	win := &r.seen[0]
	if side == trace.Server {
		from, to = trace.EndRegion, trace.EndClient
		win = &r.seen[1]
	}
	s := r.s
	if err := r.pkt.Parse(d, r.scratch); err != nil {
		s.record(&trace.Undecoded{Header: hdr(now, side, trace.UDP, from, to), Seq: r.pkt.Sequence, Size: len(d), Error: err.Error(), Hex: hexPrefix(d)})
		s.datagram(now, side, "", 0, false, false, nil, nil)
		return
	}
	m, err := r.pkt.Decode()
	if err != nil && !errors.Is(err, msg.ErrTrailingData) {
		s.record(&trace.Undecoded{Header: hdr(now, side, trace.UDP, from, to), Seq: r.pkt.Sequence, Size: len(d), Error: err.Error(), Hex: hexPrefix(d)})
		s.datagram(now, side, "", r.pkt.Sequence, false, false, r.pkt.Acks, nil)
		return
	}
	name := m.Name()
	fields := circuit.DefaultSummary(m)
	size := len(d)
	if len(sent) > 0 {
		size = len(sent)
	}
	resent := r.pkt.Flags&msg.FlagResent != 0
	dup := win.seen(r.pkt.Sequence)
	s.record(&trace.Packet{Header: hdr(now, side, trace.UDP, from, to),
		Dir: trace.Send, Message: name, Seq: r.pkt.Sequence,
		Reliable: r.pkt.Flags&msg.FlagReliable != 0, Resent: resent,
		Zerocoded: r.pkt.Flags&msg.FlagZerocoded != 0, Size: size, Acks: len(r.pkt.Acks),
		Circuit: s.circuitCode(), Fields: fields})
	if dup {
		s.record(&trace.Anomaly{Header: hdr(now, side, trace.UDP, from, to), Kind: trace.AnomalyDuplicate,
			Message: name, Seq: r.pkt.Sequence, Reason: "the relay passed this sequence number before"})
	}
	s.datagram(now, side, name, r.pkt.Sequence, r.pkt.Flags&msg.FlagReliable != 0, dup, r.pkt.Acks, fields)
}

func hexPrefix(d []byte) string {
	return hex.EncodeToString(d[:min(len(d), 32)])
}

// rewriteUDP rewrites EnableSimulator, TeleportFinish and CrossedRegion to
// name a relay for the region they announce; it re-encodes the datagram
// with the same flags, sequence number and appended acks.
func (r *relay) rewriteUDP(d, out []byte) ([]byte, bool) {
	m, err := r.pkt.Decode()
	if err != nil && !errors.Is(err, msg.ErrTrailingData) {
		return nil, false
	}
	s := r.s
	relayFor := func(ip [4]byte, port uint16) ([4]byte, uint16, bool) {
		region := netip.AddrPortFrom(netip.AddrFrom4(ip), port)
		rl, err := s.relayFor(region)
		if err != nil {
			return ip, port, false
		}
		s.record(&trace.Rewrite{Header: hdr(time.Now(), trace.Server, trace.UDP, trace.EndProxy, trace.EndClient),
			In: "UDP " + m.Name(), Field: "region address", Original: region.String(), Relayed: rl.public.String()})
		return rl.public.Addr().As4(), rl.public.Port(), true
	}
	seed := func(b []byte) []byte {
		u := cString(b)
		if !isHTTPURL(u) {
			return b
		}
		relayed := s.p.registerCap(s, "seed", u)
		s.record(&trace.Rewrite{Header: hdr(time.Now(), trace.Server, trace.UDP, trace.EndProxy, trace.EndClient),
			In: "UDP " + m.Name(), Field: "seed capability", Original: u, Relayed: relayed, Secret: true})
		nb := []byte(relayed)
		if len(b) > 0 && b[len(b)-1] == 0 {
			nb = append(nb, 0)
		}
		return nb
	}
	var ok bool
	switch m := m.(type) {
	case *msg.EnableSimulator:
		m.SimulatorInfo.IP, m.SimulatorInfo.Port, ok = relayFor(m.SimulatorInfo.IP, m.SimulatorInfo.Port)
	case *msg.TeleportFinish:
		m.Info.SimIP, m.Info.SimPort, ok = relayFor(m.Info.SimIP, m.Info.SimPort)
		m.Info.SeedCapability = seed(m.Info.SeedCapability)
	case *msg.CrossedRegion:
		m.RegionData.SimIP, m.RegionData.SimPort, ok = relayFor(m.RegionData.SimIP, m.RegionData.SimPort)
		m.RegionData.SeedCapability = seed(m.RegionData.SeedCapability)
	}
	if !ok {
		return nil, false
	}
	flags := r.pkt.Flags &^ msg.FlagAcks
	b, err := msg.EncodePacket(out[:0], flags, r.pkt.Sequence, m, r.pkt.Acks)
	if err != nil {
		return nil, false
	}
	return b, true
}

// cString returns a Variable field as text without its trailing NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (r *relay) close() {
	if r.closed.CompareAndSwap(false, true) {
		_ = r.pc.Close()
	}
}
