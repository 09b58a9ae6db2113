package caps

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"ritual"
	"ritual/store"
	"ritual/trace"
)

// Defaults of Config.
const (
	DefaultEQTimeout  = 50 * time.Second
	DefaultMaxBody    = 64 << 10
	DefaultQueueLimit = 256
)

// Capability names the Router serves.
const (
	EventQueueGet              = "EventQueueGet"
	SimulatorFeatures          = "SimulatorFeatures"
	FetchInventoryDescendents2 = "FetchInventoryDescendents2"
	FetchLibDescendents2       = "FetchLibDescendents2"
)

// Config configures a Router. The zero value of every field but BaseURL
// works; NewRouter fills in the defaults.
type Config struct {
	// BaseURL is the scheme and authority clients reach the Router at, for
	// example "http://127.0.0.1:9000". Capability URLs are BaseURL +
	// "/CAPS/<token>/". Required.
	BaseURL string
	// EQTimeout is how long an EventQueueGet poll is held when there is
	// nothing to deliver before it is answered 502 (default 50 s; keep it
	// between 30 and 58 s for node-metaverse, see the protocol notes 3.5).
	// The http.Server's WriteTimeout, if any, must be longer.
	EQTimeout time.Duration
	// Recorder receives probe events; nil means off.
	Recorder trace.Recorder
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
	// Inventory serves FetchInventoryDescendents2 (and
	// FetchLibDescendents2). Nil: neither is granted.
	Inventory store.InventoryFolders
	// LibraryOwner is the account whose folders in Inventory form the
	// shared library that FetchLibDescendents2 serves. Zero: that
	// capability is not granted.
	LibraryOwner ritual.UUID
	// MaxBody bounds a request body in bytes (default 64 KiB); larger
	// bodies are answered 413.
	MaxBody int64
	// QueueLimit bounds the events waiting in one agent's event queue
	// (default 256); Enqueue returns ErrQueueFull past it.
	QueueLimit int
	// Features is the SimulatorFeatures answer; nil means DefaultFeatures().
	// The Router reads it for every request: do not change it afterwards.
	Features map[string]any
}

// fill validates c and sets the defaults of zero fields.
func (c Config) fill() (Config, error) {
	if c.EQTimeout <= 0 {
		c.EQTimeout = DefaultEQTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.QueueLimit <= 0 {
		c.QueueLimit = DefaultQueueLimit
	}
	if c.Features == nil {
		c.Features = DefaultFeatures()
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return c, fmt.Errorf("%w: Config.BaseURL is empty", ErrConfig)
	case err != nil:
		return c, fmt.Errorf("%w: Config.BaseURL: %v", ErrConfig, err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return c, fmt.Errorf("%w: Config.BaseURL %q is not an absolute http(s) URL", ErrConfig, c.BaseURL)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		return c, fmt.Errorf("%w: Config.BaseURL %q has a path, query or fragment; give scheme and host only", ErrConfig, c.BaseURL)
	}
	return c, nil
}

// DefaultFeatures returns the SimulatorFeatures a Ritual region answers:
// what it does not serve (mesh, physics materials, hover height) is said
// plainly as false rather than left for the viewer to guess.
func DefaultFeatures() map[string]any {
	return map[string]any{
		"MeshRezEnabled":             false,
		"MeshUploadEnabled":          false,
		"MeshXferEnabled":            false,
		"PhysicsMaterialsEnabled":    false,
		"AvatarHoverHeightEnabled":   false,
		"MaxMaterialsPerTransaction": 50,
		"PhysicsShapeTypes": map[string]any{
			"convex": false,
			"none":   true,
			"prim":   true,
		},
		"OpenSimExtras": map[string]any{
			"AvatarSkeleton":  false,
			"AnimationSet":    false,
			"ExportSupported": false,
		},
	}
}
