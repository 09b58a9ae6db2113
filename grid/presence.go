package grid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ritual"
	"ritual/sim"
	"ritual/store"
	"ritual/store/sqlite"
)

// The channels of who is online where (store.Notifier):
//
//   - presenceChannel: "set AGENT REGION" when an agent becomes a root
//     agent in a region, "clear AGENT REGION" when it leaves the grid from
//     there, "region REGION" when a region's presence is cleared at once
//     (it stopped, or was swept off the map).
//   - imChannel: "AGENT" when messages relayed to the agent wait in the
//     store; "typing AGENT FROM ID DIALOG NAME" for a typing indicator,
//     sent live and never stored.
const (
	presenceChannel = "ritual_presence"
	imChannel       = "ritual_im"
)

// presenceQueue bounds the presence changes waiting to be written.
const presenceQueue = 1024

// mailPoll is how often a process whose store notifies only itself
// (SQLite) wakes its root agents to look for messages relayed by other
// processes sharing the file, while the map shows any.
const mailPoll = 2 * time.Second

// presenceTTL is how long a looked-up presence is trusted without a
// notification saying it changed.
const presenceTTL = 2 * time.Second

// presenceOp is a presence change waiting to be written.
type presenceOp struct {
	set                    bool
	agent, session, region ritual.UUID
}

// messenger is the process's sim.Messenger: it writes presence changes to
// the store in order, off the agents' packet paths, and relays instant
// messages to agents in other regions — of this process directly, of
// others through the store and a notification.
type messenger struct {
	st  store.Store
	gs  store.GridStore // nil when the store keeps no presence
	n   store.Notifier  // nil when the store notifies no one
	dir *directory
	log *slog.Logger

	qmu    sync.Mutex
	closed bool // ops is closed (qmu)
	// abandoned keeps the presence of a process that stops as a crash
	// would (tests).
	abandoned bool
	ops       chan presenceOp
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	once      sync.Once

	// Counts for /metrics.
	imsRelayed, typingRelayed             atomic.Uint64
	presenceSet, presenceCleared          atomic.Uint64
	presenceLost, presenceFailed, cleared atomic.Uint64

	mu    sync.Mutex
	cache map[ritual.UUID]cachedPresence
	gen   uint64 // counts the drops, so a look that raced one is not kept
}

type cachedPresence struct {
	p      store.AgentPresence
	online bool
	at     time.Time
}

func newMessenger(st store.Store, dir *directory, log *slog.Logger) *messenger {
	m := &messenger{st: st, dir: dir, log: log, ops: make(chan presenceOp, presenceQueue), cancel: func() {},
		cache: map[ritual.UUID]cachedPresence{}}
	m.gs, _ = st.(store.GridStore)
	m.n, _ = st.(store.Notifier)
	return m
}

// start runs the presence writer and, when the store notifies, the
// listeners of the two channels.
func (m *messenger) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if m.gs != nil {
		m.wg.Go(m.writer)
	}
	if _, ok := m.st.(*sqlite.Store); ok && m.gs != nil {
		m.wg.Go(func() { m.lookForMail(ctx) })
	}
	if m.n == nil {
		return nil
	}
	ims, err := m.n.Listen(ctx, imChannel)
	if err != nil {
		cancel()
		return fmt.Errorf("grid: listening for relayed messages: %w", err)
	}
	pres, err := m.n.Listen(ctx, presenceChannel)
	if err != nil {
		cancel()
		return fmt.Errorf("grid: listening for presence changes: %w", err)
	}
	m.wg.Go(func() {
		for p := range ims {
			m.relayed(p)
		}
	})
	m.wg.Go(func() {
		for p := range pres {
			m.presenceChanged(p)
		}
	})
	return nil
}

// stop writes the presence changes still queued and ends the listeners.
// The regions must be closed first (their agents' leaving is queued).
func (m *messenger) stop() {
	m.once.Do(func() {
		m.qmu.Lock()
		m.closed = true
		close(m.ops)
		m.qmu.Unlock()
		m.cancel()
		m.wg.Wait()
	})
}

// Arrived implements sim.Messenger.
func (m *messenger) Arrived(agent, session, region ritual.UUID) {
	m.queue(presenceOp{set: true, agent: agent, session: session, region: region})
}

// Left implements sim.Messenger.
func (m *messenger) Left(agent, session, region ritual.UUID) {
	m.queue(presenceOp{agent: agent, session: session, region: region})
}

func (m *messenger) queue(op presenceOp) {
	if m.gs == nil {
		return
	}
	m.qmu.Lock()
	defer m.qmu.Unlock()
	if m.closed {
		// After stop (a region closing late): nothing more is written;
		// the region's presence is cleared as a whole.
		return
	}
	select {
	case m.ops <- op:
	default:
		m.presenceLost.Add(1)
		m.log.Warn("grid: presence queue full; a presence change is lost", "agent", op.agent, "region", op.region)
	}
}

// writer writes the queued presence changes, in order, and tells the
// other processes.
func (m *messenger) writer() {
	for op := range m.ops {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		what := "set"
		if op.set {
			err = m.gs.Presence().Set(ctx, &store.AgentPresence{Agent: op.agent, Session: op.session, Region: op.region})
		} else {
			what = "clear"
			err = m.gs.Presence().Clear(ctx, op.agent, op.session, op.region)
		}
		m.forget(op.agent)
		switch {
		case err == nil:
			if op.set {
				m.presenceSet.Add(1)
			} else {
				m.presenceCleared.Add(1)
			}
			m.notify(ctx, presenceChannel, what+" "+op.agent.String()+" "+op.region.String())
		case !op.set && errors.Is(err, store.ErrNotFound):
			// The agent arrived elsewhere since: its presence is that one.
		default:
			m.presenceFailed.Add(1)
			m.log.Warn("grid: recording presence failed", "op", what, "agent", op.agent, "region", op.region, "err", err)
		}
		cancel()
	}
}

// clearRegions removes the presence of every agent in the regions (they
// stopped, or their heartbeats did) and tells the other processes.
func (m *messenger) clearRegions(ctx context.Context, regions ...ritual.UUID) error {
	if m.gs == nil {
		return nil
	}
	var errs []error
	for _, id := range regions {
		n, err := m.gs.Presence().ClearRegion(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("grid: clearing the presence in region %s: %w", id, err))
			continue
		}
		m.forgetAll()
		m.cleared.Add(uint64(n))
		if n > 0 {
			m.notify(ctx, presenceChannel, "region "+id.String())
		}
	}
	return errors.Join(errs...)
}

func (m *messenger) notify(ctx context.Context, channel, payload string) {
	if m.n == nil {
		return
	}
	if err := m.n.Notify(ctx, channel, payload); err != nil {
		m.log.Warn("grid: notifying failed", "channel", channel, "err", err)
	}
}

// presenceChanged drops the looked-up presence a notification says is
// stale.
func (m *messenger) presenceChanged(payload string) {
	f := strings.Fields(payload)
	if len(f) >= 2 && (f[0] == "set" || f[0] == "clear") {
		if id, err := ritual.ParseUUID(f[1]); err == nil {
			m.forget(id)
			return
		}
	}
	m.forgetAll()
}

func (m *messenger) forget(agent ritual.UUID) {
	m.mu.Lock()
	delete(m.cache, agent)
	m.gen++
	m.mu.Unlock()
}

func (m *messenger) forgetAll() {
	m.mu.Lock()
	clear(m.cache)
	m.gen++
	m.mu.Unlock()
}

// where returns the agent's presence, from the store or a recent look.
func (m *messenger) where(ctx context.Context, agent ritual.UUID) (store.AgentPresence, bool, error) {
	m.mu.Lock()
	c, ok := m.cache[agent]
	gen := m.gen
	m.mu.Unlock()
	if ok && time.Since(c.at) < presenceTTL {
		return c.p, c.online, nil
	}
	p, err := m.gs.Presence().Get(ctx, agent)
	online := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return p, false, fmt.Errorf("grid: looking up the recipient's presence: %w", err)
	}
	m.mu.Lock()
	if m.gen == gen { // no change was notified while looking
		if len(m.cache) >= presenceQueue {
			clear(m.cache)
		}
		m.cache[agent] = cachedPresence{p: p, online: online, at: time.Now()}
	}
	m.mu.Unlock()
	return p, online, nil
}

// Relay implements sim.Messenger: the recipient is found among this
// process's regions, else by its presence; a message is stored for it and
// its region woken (directly, and through imChannel for a region of
// another process), a typing indicator handed over live.
func (m *messenger) Relay(ctx context.Context, om *store.OfflineMessage) (string, error) {
	local := m.dir.list()
	var where string
	for _, r := range local {
		if r.HoldsRoot(om.To) {
			where = r.Info().Name
			break
		}
	}
	if where == "" && m.gs != nil {
		p, online, err := m.where(ctx, om.To)
		if err != nil {
			return "", err
		}
		if online {
			where = p.Region.String()
			if reg, err := m.st.Regions().Get(ctx, p.Region); err == nil {
				where = reg.Name
			}
		}
	}
	if where == "" {
		return "", sim.ErrNotOnline
	}
	if om.Dialog != sim.IMFromAgent {
		m.typingRelayed.Add(1)
		if !m.forwardLocal(om) {
			m.notify(ctx, imChannel, typingPayload(om))
		}
		return where, nil
	}
	if err := m.st.Messages().Save(ctx, om); err != nil {
		return "", fmt.Errorf("grid: keeping the message for region %s: %w", where, err)
	}
	m.imsRelayed.Add(1)
	m.wakeLocal(om.To)
	m.notify(ctx, imChannel, om.To.String())
	return where, nil
}

// forwardLocal hands a typing indicator to the region of this process
// holding its recipient as a root agent; false when none does (or its
// queue is full).
func (m *messenger) forwardLocal(om *store.OfflineMessage) bool {
	for _, r := range m.dir.list() {
		if r.HoldsRoot(om.To) && r.Forward(om) {
			return true
		}
	}
	return false
}

// wakeLocal has the regions of this process take the messages kept for
// the agent, the one holding it as a root agent delivering them.
func (m *messenger) wakeLocal(to ritual.UUID) {
	for _, r := range m.dir.list() {
		r.Wake(to)
	}
}

// lookForMail wakes the process's root agents every mailPoll while
// regions of other processes are on the map: their notifications do not
// reach this process.
func (m *messenger) lookForMail(ctx context.Context) {
	t := time.NewTicker(mailPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !m.othersOnMap(ctx) {
			continue
		}
		for _, r := range m.dir.list() {
			for _, ra := range r.RootAgents() {
				r.Wake(ra.Agent)
			}
		}
	}
}

// othersOnMap reports whether the map shows a region this process does
// not run.
func (m *messenger) othersOnMap(ctx context.Context) bool {
	hosts, err := m.gs.Hosts().List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("grid: reading the map failed", "err", err)
		}
		return false
	}
	local := m.dir.list()
	for _, h := range hosts {
		if !slices.ContainsFunc(local, func(r *sim.Region) bool { return r.Info().ID == h.Region }) {
			return true
		}
	}
	return false
}

// Kept implements sim.Messenger: the regions that may hold the agent,
// arrived since its presence was looked up, are woken.
func (m *messenger) Kept(to ritual.UUID) {
	m.wakeLocal(to)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.notify(ctx, imChannel, to.String())
}

// relayed handles a notification on imChannel: the recipient's region in
// this process delivers.
func (m *messenger) relayed(payload string) {
	if om, ok := parseTyping(payload); ok {
		m.forwardLocal(om)
		return
	}
	to, err := ritual.ParseUUID(payload)
	if err != nil {
		m.log.Debug("grid: a malformed relayed-message notification", "payload", payload)
		return
	}
	m.wakeLocal(to)
}

// typingPayload is a typing indicator as imChannel carries it.
func typingPayload(om *store.OfflineMessage) string {
	return "typing " + om.To.String() + " " + om.From.String() + " " + om.ID.String() + " " +
		strconv.Itoa(int(om.Dialog)) + " " + om.FromName
}

// parseTyping reads a typingPayload.
func parseTyping(p string) (*store.OfflineMessage, bool) {
	f := strings.SplitN(p, " ", 6)
	if len(f) != 6 || f[0] != "typing" {
		return nil, false
	}
	to, err1 := ritual.ParseUUID(f[1])
	from, err2 := ritual.ParseUUID(f[2])
	id, err3 := ritual.ParseUUID(f[3])
	dialog, err4 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil ||
		(dialog != sim.IMStartTyping && dialog != sim.IMStopTyping) || len(f[5]) > store.MaxMessageName {
		return nil, false
	}
	return &store.OfflineMessage{To: to, From: from, ID: id, Dialog: uint8(dialog), FromName: f[5], Sent: time.Now()}, true
}

var famPresence = newFamily("ritual_presence_changes_total", prometheus.CounterValue,
	"Changes of who is online where written by this process's regions (set: arrivals; cleared: departures; "+
		"cleared_with_region: presences removed with a region that stopped or was swept), and those lost (queue full) or failed.", "op")

// collect emits the messenger's counts.
func (m *messenger) collect(ch chan<- prometheus.Metric) {
	emit(ch, famIMs, m.imsRelayed.Load(), "relayed")
	emit(ch, famIMs, m.typingRelayed.Load(), "relayed_typing")
	emit(ch, famPresence, m.presenceSet.Load(), "set")
	emit(ch, famPresence, m.presenceCleared.Load(), "cleared")
	emit(ch, famPresence, m.cleared.Load(), "cleared_with_region")
	emit(ch, famPresence, m.presenceLost.Load(), "lost")
	emit(ch, famPresence, m.presenceFailed.Load(), "failed")
}

// regionDirectory is what each region of the process is given as its
// sim.Directory: the grid's regions (directory) and who is online where
// (messenger).
type regionDirectory struct {
	*directory
	*messenger
}

var (
	_ sim.Directory     = regionDirectory{}
	_ sim.Messenger     = regionDirectory{}
	_ sim.Neighbourhood = regionDirectory{}
	_ sim.Releaser      = regionDirectory{}
	_ sim.Borders       = regionDirectory{}
)
