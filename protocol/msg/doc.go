// Package msg is the packet codec of the viewer protocol's UDP transport
// (LLUDP): the packet header, appended acknowledgements, zerocoding, and one
// Go type per message of message_template.msg, generated into zmessages.go
// by internal/cmd/msggen. It opens no sockets and starts no goroutines.
//
// # Wire format
//
// A datagram is a six-byte header, the message number, the message body
// and, optionally, appended acknowledgements:
//
//	offset 0     flags: 0x80 zerocoded, 0x40 reliable, 0x20 resent, 0x10 appended acks
//	offset 1..4  sequence number, U32 big-endian
//	offset 5     extra header length E (0 when we send), then E bytes to skip
//	then         message number: High "NN", Medium "FF NN", Low "FF FF HH LL",
//	             Fixed "FF FF FF NN"
//	then         the body: the message's blocks in template order
//	tail         when flag 0x10: N acked sequence numbers, U32 big-endian
//	             each, then one byte N
//
// Zerocoding (flag 0x80) covers everything after the header up to the ack
// tail, message number included: a run of k zero bytes (1 ≤ k ≤ 255) is
// written "00 k", so a Low number such as FF FF 00 95 travels as
// FF FF 00 01 95, and 300 zeros as 00 FF 00 2D.
//
// Inside the body every number is little-endian except IPPORT (big-endian);
// LLUUID is 16 raw bytes; LLQuaternion is X, Y, Z as F32 with W implied;
// "Variable 1" and "Variable 2" fields are a U8 or U16 (little-endian)
// length and the bytes; a Single block is one instance, "Multiple N" exactly
// N instances, and a Variable block a U8 count and that many instances.
//
// For example the StartPingCheck (High 1) datagram with sequence 8, PingID 9
// and OldestUnacked 0x1234 is
//
//	00 00000008 00 01 09 34120000
//	│  │        │  │  │  └ OldestUnacked U32 LE
//	│  │        │  │  └ PingID U8
//	│  │        │  └ message number (High 1)
//	│  │        └ no extra header
//	│  └ sequence number
//	└ flags
//
// # Using it
//
// Receiving: Packet.Parse splits a datagram into header, message number,
// body (zero-decoded into a caller-supplied scratch buffer) and appended
// acks; New (or Packet.Decode) gives a value of the message's type and its
// Decode fills it from the body. Decoding into a value you keep and reuse
// allocates nothing once its slices have grown: Variable fields and blocks
// reuse their capacity and never alias the input.
//
// Short messages: a sender with an older template ends a message where a
// block of ours starts (libopenmetaverse's ImprovedInstantMessage stops
// after MessageBlock; OpenSimulator's RegionInfo lacks the last two
// Variable block counts). Decode takes such absent trailing blocks as zero
// (Single, Multiple) or empty (Variable), as the viewer's own reader does,
// and returns nil; Message.Absent counts them and AbsentBlocks names them,
// so a receiver can note that the message was short. A body that ends
// inside a block is still an error. For example ImprovedInstantMessage
// from such a client ends
//
//	… 0a00 696d2066726f6d204200  Message "im from B\x00" (Variable 2)
//	  0000                       BinaryBucket, empty: the body ends here
//	                             (no EstateBlock, no MetaData count)
//
// and decodes with Absent() == 2 and AbsentBlocks [EstateBlock MetaData].
//
// Sending: AppendPacket writes a whole datagram for a Message. A message's
// AppendTo panics if a Variable field or block is longer than its length
// prefix can say (255 or 65535 bytes, 255 block instances) rather than
// truncate it; call Validate first when the values come from outside, or use
// EncodePacket, which validates and returns an error.
//
// Lookup and ByName describe a message (frequency, trust, zerocoding,
// deprecation and block layout) by number or name.
package msg
