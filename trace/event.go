package trace

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Side is the side of the connection a probe sits on.
type Side uint8

// The sides.
const (
	Client Side = iota + 1
	Server
)

func (s Side) String() string {
	switch s {
	case Client:
		return "CLIENT"
	case Server:
		return "SERVER"
	}
	return "UNKNOWN"
}

// MarshalText implements encoding.TextMarshaler.
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Side) UnmarshalText(b []byte) error {
	switch string(b) {
	case "CLIENT":
		*s = Client
	case "SERVER":
		*s = Server
	default:
		return fmt.Errorf("trace: unknown side %q", b)
	}
	return nil
}

// Layer is the transport a signal travels on.
type Layer uint8

// The layers, in the order the ritual meets them.
const (
	Login Layer = iota + 1 // HTTP: XML-RPC or LLSD login
	UDP                    // the region's reliable UDP circuit
	Caps                   // HTTP capabilities (seed and the others)
	EQ                     // the EventQueueGet long poll
)

func (l Layer) String() string {
	switch l {
	case Login:
		return "LOGIN"
	case UDP:
		return "UDP"
	case Caps:
		return "CAPS"
	case EQ:
		return "EQ"
	}
	return "UNKNOWN"
}

// MarshalText implements encoding.TextMarshaler.
func (l Layer) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Layer) UnmarshalText(b []byte) error {
	for c := Login; c <= EQ; c++ {
		if c.String() == string(b) {
			*l = c
			return nil
		}
	}
	return fmt.Errorf("trace: unknown layer %q", b)
}

// Endpoint names of the parties of a ritual, used as Header.From and
// Header.To.
const (
	EndClient = "client" // the viewer or bot
	EndLogin  = "login"  // the login service
	EndRegion = "region" // the region's UDP circuit
	EndCaps   = "caps"   // the region's capability and event-queue HTTP service
)

// Header is what every event carries.
type Header struct {
	// Time is when the signal was observed. It carries Go's monotonic
	// clock reading while in process, so durations between events of one
	// process are monotonic. A Recorder stamps it when the emitter left
	// it zero.
	Time  time.Time `json:"time"`
	Side  Side      `json:"side"`
	Layer Layer     `json:"layer"`
	From  string    `json:"from"`
	To    string    `json:"to"`
}

// Head returns the header; it lets every event type satisfy Event by
// embedding Header.
func (h *Header) Head() *Header { return h }

// Event is one observed signal. Concrete events are pointers to the types
// in this package; Name is the stable name used in JSON lines.
type Event interface {
	Head() *Header
	Name() string
}

// Masker is implemented by events that carry secrets: Masked returns a copy
// with every secret masked.
type Masker interface {
	Masked() Event
}

// Mask hides a secret string, keeping just enough to tell two apart: the
// first four characters followed by an ellipsis. Empty stays empty.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 4 {
		return "…"
	}
	return s[:4] + "…"
}

// MaskURL hides the path of a capability URL, whose unguessable path is the
// secret, and keeps scheme and host so a reader sees where it points.
func MaskURL(u string) string {
	if u == "" {
		return ""
	}
	i := strings.Index(u, "://")
	if i < 0 {
		return Mask(u)
	}
	rest := u[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return u
	}
	return u[:i+3] + rest[:j] + "/…"
}

// Secrets reports whether masking is turned off for a sink or renderer.
type Secrets bool

// The two choices, for readability at call sites.
const (
	HideSecrets Secrets = false
	ShowSecrets Secrets = true
)

// Visible returns ev as a sink or renderer should show it: masked unless
// show is ShowSecrets.
func Visible(ev Event, show Secrets) Event {
	if show {
		return ev
	}
	if m, ok := ev.(Masker); ok {
		return m.Masked()
	}
	return ev
}

// Field is one named value in a packet summary, in the order a reader wants
// to see them. Secret fields are masked by Visible.
type Field struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Secret bool   `json:"secret,omitempty"`
}

// Fields is an ordered list of Field.
type Fields []Field

// Get returns the value of the first field named key.
func (fs Fields) Get(key string) (string, bool) {
	for _, f := range fs {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

func (fs Fields) masked() Fields {
	if fs == nil {
		return nil
	}
	hasSecret := false
	for _, f := range fs {
		hasSecret = hasSecret || f.Secret
	}
	if !hasSecret {
		return fs
	}
	out := make(Fields, len(fs))
	for i, f := range fs {
		if f.Secret {
			f.Value = Mask(f.Value)
		}
		out[i] = f
	}
	return out
}

// registry maps event names to constructors, for reading JSON lines back.
var registry = map[string]func() Event{}

func register(f func() Event) {
	registry[f().Name()] = f
}

// Decode reads one JSON-lines record written by WriterSink back into its
// event type.
func Decode(line []byte) (Event, error) {
	var probe struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return nil, fmt.Errorf("trace: decoding event: %w", err)
	}
	mk, ok := registry[probe.Event]
	if !ok {
		return nil, fmt.Errorf("trace: unknown event %q", probe.Event)
	}
	ev := mk()
	if err := json.Unmarshal(line, ev); err != nil {
		return nil, fmt.Errorf("trace: decoding %s: %w", probe.Event, err)
	}
	return ev, nil
}
