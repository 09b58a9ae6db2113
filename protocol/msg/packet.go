package msg

import (
	"encoding/binary"
	"fmt"
)

// Sizes.
const (
	// HeaderLen is the fixed header: flags, sequence, extra-header length.
	HeaderLen = 6
	// MTU is the largest datagram we aim to send, after zerocoding and
	// appended acks; every peer (OpenSimulator, LibreMetaverse, the
	// viewers) accepts it. MaxAppendedAcks keeps ack tails within it.
	MTU = 1200
	// MaxDatagram is the largest datagram EncodePacket produces, and the
	// receive buffer size a reader should use: OpenSimulator's buffers
	// are this size and it rejects anything larger.
	MaxDatagram = 1400
	// MaxBody bounds the zero-decoded part of a datagram (extra header,
	// message number and body): Packet.Parse refuses zerocoding that
	// expands past it. A scratch buffer of this capacity makes Parse
	// allocation-free.
	MaxBody = 8192
	// MaxAcks is the most acknowledgements one datagram can append (the
	// count is one byte).
	MaxAcks = 255
)

// Packet is a parsed datagram.
//
// Ownership: after Parse, Body aliases either the datagram (unencoded
// packets) or the scratch buffer (zerocoded ones); it is valid only while
// both are unchanged. Acks is the Packet's own slice, reused by the next
// Parse.
type Packet struct {
	Flags    Flags
	Sequence uint32
	ID       ID
	// Body is the message body after zero-decoding, the message number
	// excluded; Message.Decode takes it.
	Body []byte
	// Acks are the appended acknowledgements (sequence numbers), in wire
	// order; empty unless Flags has FlagAcks.
	Acks []uint32
}

// Parse splits a datagram into its parts: header, appended acks (read from
// the tail before anything is zero-decoded), then, zero-decoding into
// scratch when the flag is set, the extra header bytes (skipped), the
// message number and the body. It does not look the number up: Parse
// accepts numbers no message has (see Decode and New).
//
// Parse allocates nothing when p.Acks has room for the acks and, for
// zerocoded packets, scratch has room for the decoded data (MaxBody bytes
// always suffice); scratch's contents are overwritten from index 0. Errors
// are *DecodeError. Their Offset counts bytes of the datagram; for a
// zerocoded packet, positions after the header count bytes of the decoded
// data, except for zerocoding errors, which point into the datagram as
// received.
func (p *Packet) Parse(datagram, scratch []byte) error {
	p.Acks = p.Acks[:0]
	p.Body = nil
	p.ID = 0
	if len(datagram) < HeaderLen {
		p.Flags, p.Sequence = 0, 0
		return &DecodeError{Field: "header", Offset: len(datagram), Err: errShortf("header needs %d bytes, datagram has %d", HeaderLen, len(datagram))}
	}
	p.Flags = Flags(datagram[0])
	p.Sequence = binary.BigEndian.Uint32(datagram[1:5])
	extra := int(datagram[5])

	end := len(datagram)
	if p.Flags&FlagAcks != 0 {
		n := int(datagram[end-1])
		tail := 1 + 4*n
		if end-tail < HeaderLen {
			return &DecodeError{Field: "appended acks", Offset: end - 1,
				Err: errShortf("%d appended acks need %d bytes after the header, %d remain", n, tail, end-HeaderLen)}
		}
		end -= tail
		for i := end; i < end+4*n; i += 4 {
			p.Acks = append(p.Acks, binary.BigEndian.Uint32(datagram[i:i+4]))
		}
	}

	data := datagram[HeaderLen:end]
	if p.Flags&FlagZerocoded != 0 {
		var err error
		data, err = AppendZeroDecode(scratch[:0], data, MaxBody)
		if err != nil {
			if de, ok := err.(*DecodeError); ok {
				de.Offset += HeaderLen
			}
			return err
		}
	}
	if len(data) < extra {
		return &DecodeError{Field: "extra header", Offset: HeaderLen,
			Err: errShortf("extra header of %d bytes, %d remain", extra, len(data))}
	}
	id, n, err := ReadID(data[extra:])
	if err != nil {
		err.(*DecodeError).Offset += HeaderLen + extra
		return err
	}
	p.ID = id
	p.Body = data[extra+n:]
	return nil
}

// Decode returns a new value of the packet's message type decoded from its
// body. It allocates; to decode without allocating, keep a value per
// message type and call its Decode on p.Body.
func (p *Packet) Decode() (Message, error) {
	m, ok := New(p.ID)
	if !ok {
		return nil, &DecodeError{Field: "message number", Offset: HeaderLen,
			Err: errf(ErrUnknownMessage, "no message has number %s", p.ID)}
	}
	if err := m.Decode(p.Body); err != nil {
		return m, err
	}
	return m, nil
}

// AppendPacket appends a complete datagram to b: header (no extra header
// bytes), message number, m's body and, when acks is not empty, the acks
// with FlagAcks set (whatever flags says about FlagAcks).
//
// When flags has FlagZerocoded, the number and body are zerocoded, as
// asked, even where coding makes them longer (lone zero bytes cost two) —
// unless that would take a datagram that fits MTU unencoded past it: then,
// as LibreMetaverse does, they are sent plain and the flag is cleared.
// Receivers honour the flag bit, so either form is correct. AppendPacket
// does not otherwise enforce MTU; callers keep bodies small enough
// (MaxAppendedAcks helps with the acks).
//
// AppendPacket allocates nothing when b has room. Like Message.AppendTo it
// panics if m is invalid (see Validate), and it panics if len(acks) >
// MaxAcks; EncodePacket checks both and returns an error instead.
func AppendPacket(b []byte, flags Flags, seq uint32, m Message, acks []uint32) []byte {
	if len(acks) > MaxAcks {
		panic(&EncodeError{Message: m.Name(), Field: "appended acks", Len: len(acks), Max: MaxAcks})
	}
	flags &^= FlagAcks
	if len(acks) > 0 {
		flags |= FlagAcks
	}
	start := len(b)
	b = append(b, byte(flags), byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq), 0)
	body := len(b)
	b = m.ID().AppendTo(b)
	b = m.AppendTo(b)
	if flags&FlagZerocoded != 0 {
		// Encode after the plain copy, then move the coded bytes down
		// over it (or keep the plain copy).
		plainEnd := len(b)
		plainLen := plainEnd - body
		b = AppendZeroEncode(b, b[body:plainEnd])
		codedLen := len(b) - plainEnd
		ackTail := 0
		if len(acks) > 0 {
			ackTail = 1 + 4*len(acks)
		}
		if codedLen <= plainLen || HeaderLen+codedLen+ackTail <= MTU {
			n := copy(b[body:], b[plainEnd:])
			b = b[:body+n]
		} else {
			b = b[:plainEnd]
			b[start] &^= byte(FlagZerocoded)
		}
	}
	for _, a := range acks {
		b = binary.BigEndian.AppendUint32(b, a)
	}
	if len(acks) > 0 {
		b = append(b, byte(len(acks)))
	}
	return b
}

// EncodePacket is AppendPacket with checks: it returns an *EncodeError
// (wrapping ErrTooLong) if m does not validate or acks has more than
// MaxAcks entries, and an ErrTooLong error if the datagram would exceed
// MaxDatagram (b is then returned unchanged).
func EncodePacket(b []byte, flags Flags, seq uint32, m Message, acks []uint32) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return b, err
	}
	if len(acks) > MaxAcks {
		return b, &EncodeError{Message: m.Name(), Field: "appended acks", Len: len(acks), Max: MaxAcks}
	}
	start := len(b)
	out := AppendPacket(b, flags, seq, m, acks)
	if n := len(out) - start; n > MaxDatagram {
		return b, fmt.Errorf("msg: encode %s: datagram of %d bytes exceeds %d: %w", m.Name(), n, MaxDatagram, ErrTooLong)
	}
	return out, nil
}

// MaxAppendedAcks returns how many acks can be appended to a datagram of
// n bytes while it stays within MTU (at most MaxAcks, at least 0).
func MaxAppendedAcks(n int) int {
	room := (MTU - n - 1) / 4
	return max(0, min(room, MaxAcks))
}

// SetResent sets FlagResent in a datagram built by AppendPacket, for a
// retransmission that reuses the bytes.
func SetResent(datagram []byte) {
	if len(datagram) > 0 {
		datagram[0] |= byte(FlagResent)
	}
}
