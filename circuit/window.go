package circuit

// windowBits is how many recent sequence numbers a circuit remembers to
// recognise duplicates.
const windowBits = 4096

// window remembers which of the most recent windowBits sequence numbers
// have been received. Anything older than the window counts as received:
// a retransmission that late is a duplicate.
type window struct {
	init    bool
	highest uint32
	bits    [windowBits / 64]uint64
}

func (w *window) has(seq uint32) bool {
	if !w.init {
		return false
	}
	if seq > w.highest {
		return false
	}
	if w.highest-seq >= windowBits {
		return true
	}
	i := seq % windowBits
	return w.bits[i/64]&(1<<(i%64)) != 0
}

func (w *window) mark(seq uint32) {
	if !w.init {
		w.init = true
		w.highest = seq
	} else if seq > w.highest {
		if seq-w.highest >= windowBits {
			w.bits = [windowBits / 64]uint64{}
		} else {
			for s := w.highest + 1; s != seq; s++ {
				i := s % windowBits
				w.bits[i/64] &^= 1 << (i % 64)
			}
			i := seq % windowBits
			w.bits[i/64] &^= 1 << (i % 64)
		}
		w.highest = seq
	} else if w.highest-seq >= windowBits {
		return
	}
	i := seq % windowBits
	w.bits[i/64] |= 1 << (i % 64)
}
