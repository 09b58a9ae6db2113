package metrics

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ritual"
	"ritual/trace"
)

// The phases of ritual_phase_seconds, as the server sees an agent reach
// them, timed from its login's circuit provision (logout: from the
// LogoutRequest to the circuit's close).
const (
	PhaseHandshake    = "handshake"    // RegionHandshakeReply received
	PhaseCapabilities = "capabilities" // the seed capability answered
	PhaseMovement     = "movement"     // AgentMovementComplete sent
	PhaseFirstObject  = "first_object" // the first object update sent
	PhaseTerrain      = "terrain"      // every land patch sent
	PhaseLogout       = "logout"       // LogoutRequest to circuit closed
)

// DefaultTerrainPatches is the land patches of a 256 m region, the total
// PhaseTerrain waits for unless Phases.TerrainPatches says otherwise.
const DefaultTerrainPatches = 256

// maxTracked bounds the agents Phases follows at once; past it the
// oldest provisions are forgotten (their later phases go unobserved).
const maxTracked = 1 << 16

// Phases is a trace.Recorder and prometheus.Collector: it follows the
// server side's events of each agent's ritual and observes the login
// service's answer time in ritual_login_duration_seconds and each phase
// in ritual_phase_seconds{phase}. It keeps a small record per agent from
// provision to circuit close, bounded by maxTracked. Packets other than
// the few that mark a phase are passed over without locking.
type Phases struct {
	// TerrainPatches is the land patches that make the full terrain
	// (DefaultTerrainPatches when zero).
	TerrainPatches int

	login prometheus.Histogram
	phase *prometheus.HistogramVec

	mu      sync.Mutex
	byCode  map[uint32]*progress
	byAgent map[ritual.UUID]*progress
	order   []uint32 // codes in provision order, for eviction
}

type progress struct {
	code     uint32
	agent    ritual.UUID
	start    time.Time
	done     map[string]bool
	patches  int
	logoutAt time.Time
}

// NewPhases returns a Phases with empty histograms.
func NewPhases() *Phases {
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	return &Phases{
		login: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ritual_login_duration_seconds",
			Help:    "Time the login service took to answer a login request, from reading it to the response.",
			Buckets: buckets,
		}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ritual_phase_seconds",
			Help:    "Time from a login's circuit provision to each step of the ritual the server saw the agent reach (logout: from LogoutRequest to the circuit's close).",
			Buckets: buckets,
		}, []string{"phase"}),
		byCode:  map[uint32]*progress{},
		byAgent: map[ritual.UUID]*progress{},
	}
}

// Describe implements prometheus.Collector.
func (p *Phases) Describe(ch chan<- *prometheus.Desc) {
	p.login.Describe(ch)
	p.phase.Describe(ch)
}

// Collect implements prometheus.Collector.
func (p *Phases) Collect(ch chan<- prometheus.Metric) {
	p.login.Collect(ch)
	p.phase.Collect(ch)
}

// Tracked returns how many agents' rituals are being followed.
func (p *Phases) Tracked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byCode)
}

// Record implements trace.Recorder. Only server-side events count.
func (p *Phases) Record(ev trace.Event) {
	h := ev.Head()
	if h.Side != trace.Server {
		return
	}
	switch e := ev.(type) {
	case *trace.Packet:
		p.packet(e)
	case *trace.LoginResponse:
		if e.Elapsed > 0 {
			p.login.Observe(e.Elapsed.Seconds())
		}
	case *trace.CircuitProvision:
		p.provision(e)
	case *trace.SeedGrant:
		if e.Agent.IsZero() || e.Status != 200 {
			return
		}
		p.mu.Lock()
		if pr := p.byAgent[e.Agent]; pr != nil {
			p.reach(pr, PhaseCapabilities, h.Time)
		}
		p.mu.Unlock()
	case *trace.CircuitClosed:
		p.mu.Lock()
		if pr := p.byCode[e.Code]; pr != nil {
			if !pr.logoutAt.IsZero() {
				p.phase.WithLabelValues(PhaseLogout).Observe(h.Time.Sub(pr.logoutAt).Seconds())
			}
			p.forget(pr)
		}
		p.mu.Unlock()
	}
}

func (p *Phases) provision(e *trace.CircuitProvision) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.byCode[e.Code]; old != nil {
		p.forget(old)
	}
	for len(p.byCode) >= maxTracked && len(p.order) > 0 {
		if pr := p.byCode[p.order[0]]; pr != nil {
			p.forget(pr)
		}
		p.order = p.order[1:]
	}
	pr := &progress{code: e.Code, agent: e.Agent, start: e.Head().Time, done: map[string]bool{}}
	p.byCode[e.Code] = pr
	p.byAgent[e.Agent] = pr // a newer login of the agent replaces an older
	p.order = append(p.order, e.Code)
	if len(p.order) > 2*maxTracked {
		p.compact()
	}
}

// compact drops the codes of forgotten agents from the eviction order.
func (p *Phases) compact() {
	kept := p.order[:0]
	for _, c := range p.order {
		if p.byCode[c] != nil {
			kept = append(kept, c)
		}
	}
	p.order = kept
}

func (p *Phases) forget(pr *progress) {
	delete(p.byCode, pr.code)
	if p.byAgent[pr.agent] == pr {
		delete(p.byAgent, pr.agent)
	}
}

func (p *Phases) reach(pr *progress, phase string, at time.Time) {
	if pr.done[phase] {
		return
	}
	pr.done[phase] = true
	p.phase.WithLabelValues(phase).Observe(max(0, at.Sub(pr.start).Seconds()))
}

func (p *Phases) packet(e *trace.Packet) {
	var phase string
	switch {
	case e.Dir == trace.Recv && e.Message == "RegionHandshakeReply":
		phase = PhaseHandshake
	case e.Dir == trace.Recv && e.Message == "LogoutRequest":
		phase = PhaseLogout
	case e.Dir != trace.Send:
		return
	case e.Message == "AgentMovementComplete":
		phase = PhaseMovement
	case e.Message == "ObjectUpdate" || e.Message == "ObjectUpdateCompressed" || e.Message == "ObjectUpdateCached":
		phase = PhaseFirstObject
	case e.Message == "LayerData" && !e.Resent:
		phase = PhaseTerrain
	default:
		return
	}
	at := e.Head().Time
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.byCode[e.Circuit]
	if pr == nil {
		return
	}
	switch phase {
	case PhaseLogout:
		if pr.logoutAt.IsZero() {
			pr.logoutAt = at
		}
	case PhaseTerrain:
		if pr.done[PhaseTerrain] {
			return
		}
		if layer, ok := e.Fields.Get("layer"); ok && !strings.HasPrefix(strings.ToLower(layer), "land") {
			return
		}
		n, _ := e.Fields.Get("patches")
		k, err := strconv.Atoi(n)
		if err != nil || k < 0 {
			return
		}
		pr.patches += k
		total := p.TerrainPatches
		if total <= 0 {
			total = DefaultTerrainPatches
		}
		if pr.patches >= total {
			p.reach(pr, PhaseTerrain, at)
		}
	default:
		p.reach(pr, phase, at)
	}
}
