package caps

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/trace"
)

// PathPrefix is the path under which the Router serves every capability.
const PathPrefix = "/CAPS/"

// tokenLen is the length of a capability path's token: 16 random bytes in
// hex.
const tokenLen = 32

// maxDepth bounds the nesting of request bodies: no capability request
// here nests deeper than a few levels.
const maxDepth = 16

// Agent is who a grant of capabilities is for.
type Agent struct {
	ID, Session ritual.UUID
	First, Last string
	RegionID    ritual.UUID
	RegionName  string
}

// Event is one event-queue message: the template message name and its
// LLSD body (block name → array of maps of field values, see the protocol
// notes 3.5).
type Event struct {
	Message string
	Body    map[string]any
}

// HandlerFunc serves one capability for the agent it was granted to.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, a Agent)

// seedName is the internal name of the seed capability's path; it is not a
// name a client can ask for.
const seedName = ""

// Router serves the capabilities of the agents granted them: an
// http.Handler for every path under PathPrefix. It is safe for concurrent
// use.
type Router struct {
	cfg    Config
	cfgErr error

	mu     sync.Mutex
	agents map[ritual.UUID]*grant
	// previous holds, per agent, the grant a Handover replaced: it keeps
	// serving (its event queue carries TeleportFinish) until the agent's
	// next Grant, Handover or Revoke.
	previous map[ritual.UUID]*grant
	// children holds, per agent and region, the grants of the
	// neighbouring regions the agent is present in as a child.
	children map[ritual.UUID]map[ritual.UUID]*grant
	paths    map[string]*capability // token → capability
	handlers map[string]HandlerFunc // added with Handle

	unknown atomic.Uint64 // requests for paths that name no capability
}

// grant is one agent's set of capabilities.
type grant struct {
	agent Agent
	seed  string            // the seed's token
	caps  map[string]string // name → token, filled by the seed (Router.mu)
	eq    *queue
}

// capability is what one path serves.
type capability struct {
	name string // seedName for the seed
	g    *grant
}

// NewRouter returns a Router configured by cfg. A bad BaseURL is reported
// by every Grant (wrapping ErrConfig).
func NewRouter(cfg Config) *Router {
	c, err := cfg.fill()
	return &Router{
		cfg:      c,
		cfgErr:   err,
		agents:   make(map[ritual.UUID]*grant),
		paths:    make(map[string]*capability),
		handlers: make(map[string]HandlerFunc),
	}
}

// Handle adds (or replaces) a capability the seed may grant: h serves
// requests to its path, with the agent the path belongs to. The Router
// records a trace.CapCall for every request. Handle panics on an empty
// name, a nil handler or the name EventQueueGet, as http.ServeMux does on
// bad patterns.
func (r *Router) Handle(name string, h HandlerFunc) {
	if name == seedName || h == nil || name == EventQueueGet {
		panic(fmt.Sprintf("caps: Handle(%q): empty name, nil handler or the event queue", name))
	}
	r.mu.Lock()
	r.handlers[name] = h
	r.mu.Unlock()
}

// Grant gives an agent a seed capability and returns its URL, serving from
// this moment. It replaces any earlier grant of the same agent: the earlier
// paths answer 404 and its event queue is closed.
func (r *Router) Grant(a Agent) (seedURL string, err error) {
	g, err := r.newGrant("Grant", a)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropPreviousLocked(a.ID)
	if old := r.agents[a.ID]; old != nil {
		r.dropLocked(old)
	}
	r.agents[a.ID] = g
	g.seed = r.newPathLocked(seedName, g)
	return r.url(g.seed), nil
}

// newGrant makes an agent's grant, not yet serving; op names the caller
// in errors.
func (r *Router) newGrant(op string, a Agent) (*grant, error) {
	if r.cfgErr != nil {
		return nil, r.cfgErr
	}
	if a.ID.IsZero() {
		return nil, fmt.Errorf("%w: %s: zero agent ID", ErrConfig, op)
	}
	return &grant{agent: a, caps: make(map[string]string), eq: newQueue(r.cfg.QueueLimit)}, nil
}

// Handover grants an agent the capabilities of the region it is
// teleporting to, as Grant does, but the grant it replaces keeps serving:
// its event queue still answers the client's polls, so the source region
// can tell the client where to go (EnqueuePrevious). The replaced grant
// ends at the agent's next Grant, Handover or Revoke.
func (r *Router) Handover(a Agent) (seedURL string, err error) {
	g, err := r.newGrant("Handover", a)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropPreviousLocked(a.ID)
	if old := r.agents[a.ID]; old != nil {
		if r.previous == nil {
			r.previous = map[ritual.UUID]*grant{}
		}
		r.previous[a.ID] = old
	}
	r.agents[a.ID] = g
	g.seed = r.newPathLocked(seedName, g)
	return r.url(g.seed), nil
}

// GrantChild gives an agent a seed capability at a neighbouring region
// (a.RegionID) where it is present as a child agent, without touching its
// other grants. It replaces the agent's earlier child grant for the same
// region and ends at RevokeRegion for that region or at Revoke.
func (r *Router) GrantChild(a Agent) (seedURL string, err error) {
	g, err := r.newGrant("GrantChild", a)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.children == nil {
		r.children = map[ritual.UUID]map[ritual.UUID]*grant{}
	}
	byRegion := r.children[a.ID]
	if byRegion == nil {
		byRegion = map[ritual.UUID]*grant{}
		r.children[a.ID] = byRegion
	}
	if old := byRegion[a.RegionID]; old != nil {
		r.dropPathsLocked(old)
	}
	byRegion[a.RegionID] = g
	g.seed = r.newPathLocked(seedName, g)
	return r.url(g.seed), nil
}

// dropChildrenLocked ends the agent's child grants: all of them when
// region is zero.
func (r *Router) dropChildrenLocked(agent, region ritual.UUID) {
	for id, g := range r.children[agent] {
		if region.IsZero() || id == region {
			delete(r.children[agent], id)
			r.dropPathsLocked(g)
		}
	}
	if len(r.children[agent]) == 0 {
		delete(r.children, agent)
	}
}

// RevokeRegion ends the agent's grants made for region (caps.Agent's
// RegionID): what a region does when an agent that teleported away leaves
// it, without touching the grant of the region the agent went to.
func (r *Router) RevokeRegion(agent, region ritual.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropChildrenLocked(agent, region)
	if g := r.previous[agent]; g != nil && g.agent.RegionID == region {
		r.dropPreviousLocked(agent)
	}
	if g := r.agents[agent]; g != nil && g.agent.RegionID == region {
		r.dropLocked(g)
	}
}

// Reinstate undoes a Handover that did not end in the agent's arrival:
// when the grant the Handover replaced is region's (caps.Agent's
// RegionID), it is the agent's grant again and the grant made by the
// Handover ends. It reports whether it did.
func (r *Router) Reinstate(agent, region ritual.UUID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.previous[agent]
	if g == nil || g.agent.RegionID != region {
		return false
	}
	delete(r.previous, agent)
	if cur := r.agents[agent]; cur != nil {
		r.dropPathsLocked(cur)
	}
	r.agents[agent] = g
	return true
}

// dropPreviousLocked ends the grant a Handover replaced, if any.
func (r *Router) dropPreviousLocked(agent ritual.UUID) {
	if g := r.previous[agent]; g != nil {
		delete(r.previous, agent)
		r.dropPathsLocked(g)
	}
}

// EnqueuePrevious adds an event to the event queue of the grant a
// Handover replaced, or to the agent's grant when there was no Handover:
// the queue of the region the agent is leaving.
func (r *Router) EnqueuePrevious(agent ritual.UUID, ev Event) error {
	r.mu.Lock()
	g := r.previous[agent]
	if g == nil {
		g = r.agents[agent]
	}
	r.mu.Unlock()
	return r.enqueue(g, agent, ev)
}

// EnqueueRegion adds an event to the event queue of the agent's grant made
// for region (caps.Agent's RegionID): its root grant when that is
// region's, else the grant a Handover replaced when that is region's, else
// as EnqueuePrevious. It is how a region the agent leaves reaches the
// queue the client polls there, whether the destination's grant was made
// by this Router (a region of the same process) or by another.
func (r *Router) EnqueueRegion(agent, region ritual.UUID, ev Event) error {
	r.mu.Lock()
	cur, prev := r.agents[agent], r.previous[agent]
	var g *grant
	switch {
	case cur != nil && cur.agent.RegionID == region:
		g = cur
	case prev != nil:
		g = prev
	default:
		g = cur
	}
	r.mu.Unlock()
	return r.enqueue(g, agent, ev)
}

// Revoke ends an agent's grant: every path of it answers 404 from now on and
// a waiting EventQueueGet poll is answered 404. Revoking an agent without a
// grant does nothing.
func (r *Router) Revoke(agent ritual.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropPreviousLocked(agent)
	r.dropChildrenLocked(agent, ritual.UUID{})
	if g := r.agents[agent]; g != nil {
		r.dropLocked(g)
	}
}

// dropLocked removes g and its paths and closes its queue.
func (r *Router) dropLocked(g *grant) {
	delete(r.agents, g.agent.ID)
	r.dropPathsLocked(g)
}

// dropPathsLocked removes g's paths and closes its queue.
func (r *Router) dropPathsLocked(g *grant) {
	delete(r.paths, g.seed)
	for _, tok := range g.caps {
		delete(r.paths, tok)
	}
	g.eq.close(errRevoked)
}

// newPathLocked makes a fresh token for name of g and registers it.
func (r *Router) newPathLocked(name string, g *grant) string {
	for {
		tok := newToken()
		if _, taken := r.paths[tok]; !taken {
			r.paths[tok] = &capability{name: name, g: g}
			return tok
		}
	}
}

func newToken() string {
	var b [tokenLen / 2]byte
	rand.Read(b[:]) // never fails (crypto/rand aborts the program instead)
	return hex.EncodeToString(b[:])
}

func (r *Router) url(tok string) string {
	return r.cfg.BaseURL + PathPrefix + tok + "/"
}

// Enqueue adds an event to an agent's event queue, for the next
// EventQueueGet answer. The body is encoded at once, so the caller may
// reuse it. It fails with ErrUnknownAgent (no grant), ErrQueueFull (the
// queue holds Config.QueueLimit events; the drop is counted and traced),
// ErrQueueClosed (the client ended its queue) or ErrBadEvent.
func (r *Router) Enqueue(agent ritual.UUID, ev Event) error {
	r.mu.Lock()
	g := r.agents[agent]
	r.mu.Unlock()
	return r.enqueue(g, agent, ev)
}

func (r *Router) enqueue(g *grant, agent ritual.UUID, ev Event) error {
	if g == nil {
		return fmt.Errorf("caps: enqueue %s for %s: %w", ev.Message, agent, ErrUnknownAgent)
	}
	frag, err := encodeEvent(ev)
	if err != nil {
		return fmt.Errorf("caps: enqueue %s for %s: %w", ev.Message, agent, err)
	}
	if err := g.eq.push(queuedEvent{message: ev.Message, xml: frag}); err != nil {
		if errors.Is(err, ErrQueueFull) {
			r.record(&trace.Anomaly{
				Header:  r.header(trace.EQ, trace.EndCaps, trace.EndClient),
				Kind:    trace.AnomalyDropped,
				Message: ev.Message,
				Reason:  fmt.Sprintf("event queue full (%d events)", r.cfg.QueueLimit),
			})
		}
		return fmt.Errorf("caps: enqueue %s for %s: %w", ev.Message, agent, err)
	}
	return nil
}

// QueueStats counts what one agent's event queue holds and has done.
type QueueStats struct {
	Pending   int // events waiting for the next answer
	Unacked   int // events in the last answer, not yet acknowledged
	Batches   int // answers with events sent (resends included)
	Delivered int // events acknowledged by the client
	Dropped   int // events refused with ErrQueueFull
}

// QueueStats returns the counts of an agent's event queue, and false when
// the agent has no grant.
func (r *Router) QueueStats(agent ritual.UUID) (QueueStats, bool) {
	r.mu.Lock()
	g := r.agents[agent]
	r.mu.Unlock()
	if g == nil {
		return QueueStats{}, false
	}
	return g.eq.snapshot(), true
}

// ServeHTTP serves the capability the path names, or 404.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	tok, ok := parsePath(req.URL.Path)
	var c *capability
	if ok {
		r.mu.Lock()
		c = r.paths[tok]
		r.mu.Unlock()
	}
	if c == nil {
		r.unknown.Add(1)
		http.Error(w, "caps: no such capability", http.StatusNotFound)
		return
	}
	switch c.name {
	case seedName:
		r.serveSeed(w, req, c.g)
	case EventQueueGet:
		r.serveEventQueue(w, req, c.g)
	default:
		r.serveCap(w, req, c)
	}
}

// UnknownPaths returns how many requests named no capability (answered
// 404): a revoked one, or a guess.
func (r *Router) UnknownPaths() uint64 { return r.unknown.Load() }

// parsePath returns the token of a capability path: PathPrefix, 32
// lowercase hex digits, then nothing or a slash and anything (some clients
// append a query path, as node-metaverse does for ViewerAsset).
func parsePath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, PathPrefix)
	if !ok {
		return "", false
	}
	tok, _, _ := strings.Cut(rest, "/")
	if len(tok) != tokenLen {
		return "", false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return tok, true
}

// builtin returns the handler of a built-in capability other than the
// event queue, if it is enabled by the configuration.
func (r *Router) builtin(name string) (func(http.ResponseWriter, *http.Request, *grant) string, bool) {
	switch name {
	case SimulatorFeatures:
		return r.serveFeatures, true
	case FetchInventoryDescendents2:
		if r.cfg.Inventory != nil {
			return r.serveFetchInventory, true
		}
	case FetchLibDescendents2:
		if r.cfg.Inventory != nil && !r.cfg.LibraryOwner.IsZero() {
			return r.serveFetchLibrary, true
		}
	}
	return nil, false
}

// grantableLocked reports whether the seed grants name.
func (r *Router) grantableLocked(name string) bool {
	if name == EventQueueGet {
		return true
	}
	if _, ok := r.handlers[name]; ok {
		return true
	}
	_, ok := r.builtin(name)
	return ok
}

// serveCap serves a capability other than the seed and the event queue,
// recording a trace.CapCall.
func (r *Router) serveCap(w http.ResponseWriter, req *http.Request, c *capability) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	var detail string
	r.mu.Lock()
	h := r.handlers[c.name]
	r.mu.Unlock()
	if h != nil {
		h(sw, req, c.g.agent)
	} else if b, ok := r.builtin(c.name); ok {
		detail = b(sw, req, c.g)
	} else {
		http.Error(sw, "caps: capability no longer served", http.StatusNotFound)
	}
	r.record(&trace.CapCall{
		Header:     r.header(trace.Caps, trace.EndClient, trace.EndCaps),
		Agent:      c.g.agent.ID,
		Capability: c.name,
		Status:     sw.code(),
		Elapsed:    time.Since(start),
		Detail:     detail,
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// requestError is a request the Router refuses, with the status to answer.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// readLLSD reads and decodes a request body of at most Config.MaxBody bytes.
// The form is told from the body itself, not from Content-Type (clients
// send application/llsd+xml, application/xml, text/xml or nothing). An
// empty body is nil when allowEmpty, else an error.
func (r *Router) readLLSD(w http.ResponseWriter, req *http.Request, op string, allowEmpty bool) (any, *requestError) {
	data, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &requestError{http.StatusRequestEntityTooLarge,
				fmt.Sprintf("caps: %s: request body larger than %d bytes", op, r.cfg.MaxBody)}
		}
		return nil, badRequest("caps: %s: reading request body: %v", op, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if allowEmpty {
			return nil, nil
		}
		return nil, badRequest("caps: %s: empty request body, want an LLSD document", op)
	}
	v, err := llsd.Options{MaxDepth: maxDepth}.Unmarshal(llsd.FormatAuto, data)
	if err != nil {
		return nil, badRequest("caps: %s: request body is not LLSD: %v", op, err)
	}
	return v, nil
}

// fail answers a refused request in plain text.
func fail(w http.ResponseWriter, e *requestError) {
	http.Error(w, e.msg, e.status)
}

// writeLLSD answers v as LLSD XML.
func (r *Router) writeLLSD(w http.ResponseWriter, op string, v any) bool {
	body, err := llsd.MarshalXML(v)
	if err != nil {
		r.cfg.Logger.Error("caps: encoding answer", "capability", op, "err", err)
		http.Error(w, "caps: "+op+": cannot encode the answer", http.StatusInternalServerError)
		return false
	}
	writeXML(w, http.StatusOK, body)
	return true
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", llsd.FormatXML.ContentType())
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func requirePost(w http.ResponseWriter, req *http.Request, op string) *requestError {
	if req.Method == http.MethodPost {
		return nil
	}
	w.Header().Set("Allow", http.MethodPost)
	return &requestError{http.StatusMethodNotAllowed, "caps: " + op + ": method " + req.Method + " not allowed, use POST"}
}

func (r *Router) header(l trace.Layer, from, to string) trace.Header {
	return trace.Header{Side: trace.Server, Layer: l, From: from, To: to}
}

func (r *Router) record(ev trace.Event) {
	trace.Emit(r.cfg.Recorder, ev)
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
