package circuit

// windowBits is how many recent sequence numbers a circuit remembers to
// recognise duplicates. It divides 2^32, so a bit's index stays continuous
// when the 32-bit counter wraps.
const windowBits = 4096

// rolloverDistance is how far behind the highest sequence number a
// datagram must be for the window to take it as the peer's counter having
// started again rather than as a very late resend: LibreMetaverse rolls its
// counter over from 0xFFFFFF to 1, and no resend is a million packets late
// (a packet is given up long before).
const rolloverDistance = 1 << 20

// window remembers which of the most recent windowBits sequence numbers
// have been received, comparing numbers in serial arithmetic (RFC 1982) so
// that a counter wrapping at 2^32 keeps working. Anything older than the
// window counts as received: a retransmission that late is a duplicate
// (senders keep their unacknowledged packets within the window; see
// maxSpan). A number more than rolloverDistance behind the highest is the
// peer's counter rolling over and starts the window again.
type window struct {
	init    bool
	highest uint32
	bits    [windowBits / 64]uint64
}

// has reports whether seq was received already.
func (w *window) has(seq uint32) bool {
	if !w.init {
		return false
	}
	d := int32(seq - w.highest)
	switch {
	case d > 0:
		return false
	case d <= -rolloverDistance:
		return false // the peer's counter rolled over: a new packet
	case d <= -windowBits:
		return true
	}
	i := seq % windowBits
	return w.bits[i/64]&(1<<(i%64)) != 0
}

// mark records seq as received.
func (w *window) mark(seq uint32) {
	d := int32(seq - w.highest)
	switch {
	case !w.init || d <= -rolloverDistance:
		w.init = true
		w.highest = seq
		w.bits = [windowBits / 64]uint64{}
	case d >= windowBits:
		w.bits = [windowBits / 64]uint64{}
		w.highest = seq
	case d > 0:
		// Forget what the bits between the old highest and seq remembered
		// from a lap ago.
		for s := w.highest + 1; s != seq+1; s++ {
			i := s % windowBits
			w.bits[i/64] &^= 1 << (i % 64)
		}
		w.highest = seq
	case d <= -windowBits:
		return
	}
	i := seq % windowBits
	w.bits[i/64] |= 1 << (i % 64)
}
