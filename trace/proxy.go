package trace

// Events only a relay between the two sides records (ritual proxy). The
// relay attributes every other event to the side that sent the signal; these
// tell what the relay itself did to the conversation.

func init() {
	register(func() Event { return new(Rewrite) })
	register(func() Event { return new(Undecoded) })
	register(func() Event { return new(SessionEnd) })
}

// EndProxy names the relay as an endpoint, in Header.From or Header.To.
const EndProxy = "proxy"

// Rewrite is a value the relay replaced in a message it passed on: an
// address or capability the grid handed out, replaced by the relay's own so
// the client's next step comes through the relay too. Header.Side is the
// side whose message was rewritten.
type Rewrite struct {
	Header
	// In names the message: "login reply", "seed capability",
	// "EventQueueGet EnableSimulator", "UDP TeleportFinish", ...
	In string `json:"in"`
	// Field names the value: "sim_ip:sim_port", "seed_capability",
	// "EventQueueGet", ...
	Field    string `json:"field"`
	Original string `json:"original"`
	Relayed  string `json:"relayed"`
	// Secret marks capability URLs, which are masked.
	Secret bool `json:"secret,omitempty"`
}

// Name implements Event.
func (*Rewrite) Name() string { return "proxy.rewrite" }

// Masked implements Masker.
func (e *Rewrite) Masked() Event {
	if !e.Secret {
		return e
	}
	c := *e
	c.Original, c.Relayed = MaskURL(c.Original), MaskURL(c.Relayed)
	return &c
}

// Undecoded is a datagram the relay passed on although the codec could not
// decode it: its sender's side, size, sequence number (when the header was
// readable), the codec's error and its first bytes in hex.
type Undecoded struct {
	Header
	Seq   uint32 `json:"seq,omitempty"`
	Size  int    `json:"size"`
	Error string `json:"error"`
	Hex   string `json:"hex,omitempty"`
}

// Name implements Event.
func (*Undecoded) Name() string { return "udp.undecoded" }

// Masked implements Masker: only the header and message number (the first
// 10 bytes) are shown, since the body of an undecodable datagram may hold
// a session id.
func (e *Undecoded) Masked() Event {
	if len(e.Hex) <= 20 {
		return e
	}
	c := *e
	c.Hex = c.Hex[:20] + "…"
	return &c
}

// SessionEnd closes the story of one session through the relay, with why:
// "logout", "circuit timeout", "stalled", "login refused", "shutdown", ...
type SessionEnd struct {
	Header
	Reason string `json:"reason"`
	// Complete reports whether the ritual completed before the end.
	Complete bool `json:"complete"`
	// Untold counts the routine packets (AgentUpdate, PacketAck, pings,
	// ...) of a long session that were counted but not kept for the
	// story; the JSON-lines log has them.
	Untold int `json:"untold,omitempty"`
}

// Name implements Event.
func (*SessionEnd) Name() string { return "proxy.session_end" }
