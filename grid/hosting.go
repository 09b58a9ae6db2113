package grid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"ritual"
	"ritual/login"
	"ritual/sim"
	"ritual/store"
)

// The channels processes sharing a store wake each other on
// (store.Notifier): a login service tells a region a circuit waits for it
// (the payload is the region's id), a region tells login services it
// answered one (region id ":" circuit code).
const (
	circuitsChannel = "ritual_circuits"
	answersChannel  = "ritual_answers"
)

// pollInterval is how often regions and login services look at the store
// for what a lost notification did not tell them.
const pollInterval = time.Second

// hosting keeps this process's regions on the grid's map (their
// heartbeats), takes off the map the regions of processes that stopped
// beating, and provisions the circuits login services hand to this
// process's regions.
type hosting struct {
	gs      store.GridStore
	regions []*sim.Region
	hosts   []store.RegionHost
	cfg     Config
	log     *slog.Logger
	msgr    *messenger // clears the presence in the regions swept

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startHosting registers the regions, each served at addrs[i], and starts
// the heartbeats, the sweeper and the hand-off of circuits.
func startHosting(ctx context.Context, gs store.GridStore, regions []*sim.Region, addrs []netip.AddrPort, httpBase string, cfg Config, msgr *messenger) (*hosting, error) {
	h := &hosting{gs: gs, regions: regions, cfg: cfg, log: cfg.Logger, msgr: msgr}
	for i, r := range regions {
		rec := store.RegionHost{
			Region: r.Info().ID, Instance: ritual.NewUUID(),
			SimIP: addrs[i].Addr(), SimPort: addrs[i].Port(), HTTPBase: httpBase,
		}
		if err := gs.Hosts().Register(ctx, &rec); err != nil {
			for _, done := range h.hosts {
				gs.Hosts().Unregister(context.Background(), done.Region, done.Instance)
			}
			return nil, fmt.Errorf("grid: putting region %q on the map: %w", r.Info().Name, err)
		}
		h.hosts = append(h.hosts, rec)
	}
	bg, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.wg.Add(2)
	go h.heartbeats(bg)
	go h.sweeper(bg)
	if len(regions) > 0 {
		var wake <-chan string
		if n, ok := gs.(store.Notifier); ok {
			c, err := n.Listen(bg, circuitsChannel)
			if err != nil {
				h.stop()
				return nil, fmt.Errorf("grid: listening for circuits: %w", err)
			}
			wake = c
		}
		h.wg.Add(1)
		go h.handOffs(bg, wake)
	}
	return h, nil
}

// stop ends the loops and takes the regions off the map.
func (h *hosting) stop() error {
	h.cancel()
	h.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, rec := range h.hosts {
		if err := h.gs.Hosts().Unregister(ctx, rec.Region, rec.Instance); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("grid: taking region %s off the map: %w", rec.Region, err))
		}
	}
	return errors.Join(errs...)
}

func (h *hosting) heartbeats(ctx context.Context) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i := range h.hosts {
			rec := &h.hosts[i]
			err := h.gs.Hosts().Heartbeat(ctx, rec.Region, rec.Instance)
			if !errors.Is(err, store.ErrNotFound) {
				if err != nil && ctx.Err() == nil {
					h.log.Warn("grid: heartbeat failed", "region", h.regions[i].Info().Name, "err", err)
				}
				continue
			}
			// Off the map: swept after a pause, or replaced by another
			// process running the same region.
			if other, err := h.gs.Hosts().Get(ctx, rec.Region); err == nil && other.Instance != rec.Instance &&
				time.Since(other.Heartbeat) < h.cfg.HeartbeatTimeout {
				h.log.Error("grid: another process runs this region; not taking it back",
					"region", h.regions[i].Info().Name, "sim", netip.AddrPortFrom(other.SimIP, other.SimPort))
				continue
			}
			if err := h.gs.Hosts().Register(ctx, rec); err != nil {
				h.log.Warn("grid: putting the region back on the map failed", "region", h.regions[i].Info().Name, "err", err)
			} else {
				h.log.Warn("grid: the region had been taken off the map (missed heartbeats); it is back", "region", h.regions[i].Info().Name)
				// Its agents' presence went with it: they are here still.
				if h.msgr != nil {
					for _, ra := range h.regions[i].RootAgents() {
						h.msgr.Arrived(ra.Agent, ra.Session, rec.Region)
					}
				}
			}
		}
	}
}

// sweeper takes off the map the regions whose heartbeats stopped, and
// drops expired circuits.
func (h *hosting) sweeper(ctx context.Context) {
	defer h.wg.Done()
	t := time.NewTicker(h.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		swept, err := h.gs.Hosts().Sweep(ctx, time.Now().Add(-h.cfg.HeartbeatTimeout))
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("grid: sweeping the map failed", "err", err)
			}
			continue
		}
		for _, id := range swept {
			name := id.String()
			if r, err := h.gs.Regions().Get(ctx, id); err == nil {
				name = r.Name
			}
			h.log.Warn("grid: region taken off the map: no heartbeat", "region", name, "timeout", h.cfg.HeartbeatTimeout)
			// Its agents are online no more (their circuits went with
			// the process).
			if h.msgr != nil {
				if err := h.msgr.clearRegions(ctx, id); err != nil && ctx.Err() == nil {
					h.log.Warn("grid: clearing a swept region's presence failed", "region", name, "err", err)
				}
			}
		}
		if _, err := h.gs.Circuits().Expire(ctx, time.Now()); err != nil && ctx.Err() == nil {
			h.log.Warn("grid: expiring handed-off circuits failed", "err", err)
		}
	}
}

// handOffs provisions the circuits login services hand to this process's
// regions: on a notification, and every pollInterval.
func (h *hosting) handOffs(ctx context.Context, wake <-chan string) {
	defer h.wg.Done()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		for _, r := range h.regions {
			h.provisionPending(ctx, r)
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				wake = nil
			}
		case <-t.C:
		}
	}
}

// handOffAnswer is a region's answer to a handed-off circuit, as JSON in
// store.PendingCircuit.Answer.
type handOffAnswer struct {
	Destination *login.Destination `json:"destination,omitempty"`
	Reason      string             `json:"reason,omitempty"`
	Error       string             `json:"error,omitempty"`
}

func (h *hosting) provisionPending(ctx context.Context, r *sim.Region) {
	id := r.Info().ID
	pend, err := h.gs.Circuits().Unanswered(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("grid: reading handed-off circuits failed", "region", r.Info().Name, "err", err)
		}
		return
	}
	for _, p := range pend {
		if time.Now().After(p.Expiry) {
			continue
		}
		c := login.Circuit{
			Code: p.Code, Agent: p.Agent, Session: p.Session, SecureSession: p.SecureSession,
			First: p.First, Last: p.Last, Start: p.Start, Expiry: p.Expiry,
		}
		c.ClientAddr, _ = netip.ParseAddr(p.ClientAddr)
		var ans handOffAnswer
		dest, err := r.Provision(ctx, c)
		if err != nil {
			ans.Error = err.Error()
			if f, ok := errors.AsType[*login.Failure](err); ok {
				ans.Reason, ans.Error = f.Reason, f.Message
			} else if errors.Is(err, login.ErrRegionFull) {
				ans.Reason = login.ReasonPresence
			}
		} else {
			ans.Destination = &dest
		}
		b, _ := json.Marshal(ans)
		if err := h.gs.Circuits().Answer(ctx, id, p.Code, string(b)); err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
				h.log.Warn("grid: answering a handed-off circuit failed", "region", r.Info().Name, "err", err)
			}
			continue
		}
		if n, ok := h.gs.(store.Notifier); ok {
			n.Notify(ctx, answersChannel, id.String()+":"+strconv.FormatUint(uint64(p.Code), 10))
		}
	}
}

// router is the login service's login.Region: it places each agent in the
// region its start location asks for — one of this process's regions
// directly, or one of another process through the store — and refuses the
// login, naming the region, when that region is not running.
type router struct {
	st    store.Store
	gs    store.GridStore // nil when the store keeps no map
	local []*sim.Region
	cfg   Config

	mu     sync.Mutex
	signal chan struct{} // closed and replaced when an answer arrives
	cancel context.CancelFunc
	wg     sync.WaitGroup // locations being recorded
}

func newRouter(st store.Store, local []*sim.Region, cfg Config) *router {
	r := &router{st: st, local: local, cfg: cfg, signal: make(chan struct{}), cancel: func() {}}
	r.gs, _ = st.(store.GridStore)
	if n, ok := st.(store.Notifier); ok && r.gs != nil && !cfg.NoLogin {
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		if c, err := n.Listen(ctx, answersChannel); err == nil {
			go func() {
				for range c {
					r.wake()
				}
			}()
		} else {
			cfg.Logger.Warn("grid: listening for regions' answers failed; polling", "err", err)
		}
	}
	return r
}

func (r *router) close() {
	r.cancel()
	r.wg.Wait()
}

func (r *router) wake() {
	r.mu.Lock()
	close(r.signal)
	r.signal = make(chan struct{})
	r.mu.Unlock()
}

func (r *router) waitChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signal
}

func refuse(format string, args ...any) error {
	return &login.Failure{Reason: login.ReasonConnect, Message: fmt.Sprintf(format, args...)}
}

// Provision implements login.Region, and records where the agent went as
// its last location.
func (r *router) Provision(ctx context.Context, c login.Circuit) (login.Destination, error) {
	dest, err := r.place(ctx, c)
	if err == nil && r.gs != nil {
		r.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			l := store.AgentLocation{Agent: c.Agent, Region: dest.RegionID, Position: dest.Position}
			if err := r.gs.Locations().Set(ctx, &l); err != nil {
				r.cfg.Logger.Warn("grid: recording the agent's location failed", "region", dest.RegionName, "err", err)
			}
		})
	}
	return dest, err
}

// last places the agent where it was last placed, when that region is in
// this process or running on the map; ok false otherwise.
func (r *router) last(ctx context.Context, c login.Circuit) (dest login.Destination, ok bool, err error) {
	l, err := r.gs.Locations().Get(ctx, c.Agent)
	if err != nil {
		return login.Destination{}, false, nil
	}
	return r.placeAt(ctx, c, l.Region, l.Position)
}

// home places the agent at its home (set from the viewer), when one is
// set and its region is in this process or running on the map; ok false
// otherwise.
func (r *router) home(ctx context.Context, c login.Circuit) (dest login.Destination, ok bool, err error) {
	h, err := r.st.Homes().Get(ctx, c.Agent)
	if err != nil {
		return login.Destination{}, false, nil
	}
	return r.placeAt(ctx, c, h.Region, h.Position)
}

// placeAt places the agent at pos in the region with the given id, when
// that region is in this process or running on the map; ok false
// otherwise (the caller places it in the default region).
func (r *router) placeAt(ctx context.Context, c login.Circuit, region ritual.UUID, pos ritual.Vector3) (dest login.Destination, ok bool, err error) {
	for _, lr := range r.local {
		if lr.Info().ID == region {
			c.Start = startURI(lr.Info().Name, pos)
			dest, err := lr.Provision(ctx, c)
			return dest, true, err
		}
	}
	if r.gs == nil {
		return login.Destination{}, false, nil
	}
	reg, err := r.gs.Regions().Get(ctx, region)
	if err != nil {
		return login.Destination{}, false, nil
	}
	h, err := r.gs.Hosts().Get(ctx, reg.ID)
	if err != nil || time.Since(h.Heartbeat) > r.cfg.HeartbeatTimeout {
		return login.Destination{}, false, nil // not running: the default region
	}
	c.Start = startURI(reg.Name, pos)
	dest, err = r.handOff(ctx, reg, c)
	return dest, true, err
}

// startURI is the start location of a spot in a region.
func startURI(region string, p ritual.Vector3) string {
	return fmt.Sprintf("uri:%s&%g&%g&%g", url.PathEscape(region), p.X, p.Y, p.Z)
}

// place finds the agent's region and provisions the circuit there.
func (r *router) place(ctx context.Context, c login.Circuit) (login.Destination, error) {
	name, _, _, named := login.ParseStart(c.Start)
	if !named {
		// "last": where the agent was last placed, when that region runs.
		if c.Start == "last" && r.gs != nil {
			if dest, ok, err := r.last(ctx, c); ok {
				return dest, err
			}
		}
		// "home": the agent's home (set from the viewer), when its region
		// runs.
		if c.Start == "home" {
			if dest, ok, err := r.home(ctx, c); ok {
				return dest, err
			}
		}
		// Else, and for "home": this process's first region, else the
		// first running region of the map by name.
		if len(r.local) > 0 {
			return r.local[0].Provision(ctx, c)
		}
		reg, err := r.anyRunning(ctx)
		if err != nil {
			return login.Destination{}, err
		}
		return r.handOff(ctx, reg, c)
	}
	for _, l := range r.local {
		if strings.EqualFold(l.Info().Name, name) {
			return l.Provision(ctx, c)
		}
	}
	reg, err := r.st.Regions().ByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return login.Destination{}, refuse("There is no region named %q on this grid.", name)
	}
	if err != nil {
		return login.Destination{}, fmt.Errorf("grid: region %q: %w", name, err)
	}
	if r.gs == nil {
		return login.Destination{}, refuse("Region %q is not running.", reg.Name)
	}
	return r.handOff(ctx, reg, c)
}

// anyRunning returns the first region by name with a live record.
func (r *router) anyRunning(ctx context.Context) (store.Region, error) {
	if r.gs == nil {
		return store.Region{}, refuse("No region of this grid is running.")
	}
	hosts, err := r.gs.Hosts().List(ctx)
	if err != nil {
		return store.Region{}, fmt.Errorf("grid: reading the map: %w", err)
	}
	var best store.Region
	for _, h := range hosts {
		if time.Since(h.Heartbeat) > r.cfg.HeartbeatTimeout {
			continue
		}
		reg, err := r.gs.Regions().Get(ctx, h.Region)
		if err != nil {
			continue
		}
		if best.Name == "" || strings.ToLower(reg.Name) < strings.ToLower(best.Name) {
			best = reg
		}
	}
	if best.Name == "" {
		return store.Region{}, refuse("No region of this grid is running.")
	}
	return best, nil
}

// handOff gives c to reg, run by another process, through the store and
// waits for its answer.
func (r *router) handOff(ctx context.Context, reg store.Region, c login.Circuit) (login.Destination, error) {
	h, err := r.gs.Hosts().Get(ctx, reg.ID)
	if errors.Is(err, store.ErrNotFound) {
		return login.Destination{}, refuse("Region %q is not running (it is not on the grid's map).", reg.Name)
	}
	if err != nil {
		return login.Destination{}, fmt.Errorf("grid: reading the map: %w", err)
	}
	if age := time.Since(h.Heartbeat); age > r.cfg.HeartbeatTimeout {
		return login.Destination{}, refuse("Region %q is not answering (its last heartbeat was %v ago).", reg.Name, age.Round(time.Second))
	}
	p := store.PendingCircuit{
		Region: reg.ID, Code: c.Code, Agent: c.Agent, Session: c.Session, SecureSession: c.SecureSession,
		First: c.First, Last: c.Last, Start: c.Start, Expiry: c.Expiry,
	}
	if c.ClientAddr.IsValid() {
		p.ClientAddr = c.ClientAddr.String()
	}
	if err := r.gs.Circuits().Offer(ctx, &p); err != nil {
		return login.Destination{}, fmt.Errorf("grid: handing the circuit to region %q: %w", reg.Name, err)
	}
	defer r.gs.Circuits().Remove(context.WithoutCancel(ctx), reg.ID, c.Code)
	if n, ok := r.gs.(store.Notifier); ok {
		n.Notify(ctx, circuitsChannel, reg.ID.String())
	}
	deadline := time.NewTimer(r.cfg.HandOffTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		wake := r.waitChan()
		got, err := r.gs.Circuits().Get(ctx, reg.ID, c.Code)
		if err != nil {
			return login.Destination{}, fmt.Errorf("grid: waiting for region %q: %w", reg.Name, err)
		}
		if got.Answer != "" {
			var ans handOffAnswer
			if err := json.Unmarshal([]byte(got.Answer), &ans); err != nil {
				return login.Destination{}, fmt.Errorf("grid: region %q answered %q: %w", reg.Name, got.Answer, err)
			}
			if ans.Destination == nil {
				reason := ans.Reason
				if reason == "" {
					reason = login.ReasonConnect
				}
				return login.Destination{}, &login.Failure{Reason: reason, Message: fmt.Sprintf("Region %q refused the login: %s", reg.Name, ans.Error)}
			}
			return *ans.Destination, nil
		}
		select {
		case <-ctx.Done():
			return login.Destination{}, ctx.Err()
		case <-deadline.C:
			return login.Destination{}, refuse("Region %q did not answer within %v.", reg.Name, r.cfg.HandOffTimeout)
		case <-wake:
		case <-poll.C:
		}
	}
}
