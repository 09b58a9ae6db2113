package circuit

// Test hooks: the pooled-buffer count and the circuit's internal queues.

func init() { bufTracking = true }

// BuffersOut returns how many pooled buffers are taken and not yet
// returned.
func BuffersOut() int64 { return bufsOut.Load() }

// OutboundLen returns how many messages wait in c's outbound queue.
func OutboundLen(c *Conn) int { return len(c.outbound) }

// InboundLen returns how many datagrams wait in c's inbound queue.
func InboundLen(c *Conn) int { return len(c.inbound) }

// WithInitialSeq makes circuits opened with cfg count their sequence
// numbers up from seq.
func WithInitialSeq(cfg Config, seq uint32) Config {
	cfg.initialSeq = seq
	return cfg
}
