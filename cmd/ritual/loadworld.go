package main

import (
	"bufio"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ritual"
	"ritual/client"
)

// What ritual load measures of the shared world: chat delivery and the
// rate at which each bot hears of the avatars around it.
const (
	// chatSayRange is the range of speech (20 m); a hearer counts as
	// expected when it stood clearly inside it (chatSure) when the line
	// was said, and had been in the region for chatSettle.
	chatSayRange = 20
	chatSure     = chatSayRange - 2
	chatSettle   = 2 * time.Second
	// chatGrace is how long a line may take to be heard before it counts
	// as missed; no bot says a line closer than this to its departure.
	chatGrace = 5 * time.Second
	// rateWarmup is how long after arrival a bot starts counting the
	// updates it receives (the crowd around it is still being sent).
	rateWarmup = 5 * time.Second
	// wanderStep is how far a walking bot goes toward its next goal.
	wanderStep = 30
	// regionMargin keeps wandering goals inside the region; with several
	// regions, borderReach is how far beyond the edge they may lie.
	regionMargin = 5
	borderReach  = 10
	// wanderGiveUp is how long a walking bot follows one goal.
	wanderGiveUp = 20 * time.Second
)

// chatReport is the --json "chat" object.
type chatReport struct {
	N      int     `json:"n"` // lines said
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	Missed int     `json:"missed"` // expected hearers that never heard a line
	// Heard counts deliveries to expected hearers; Expected the hearers
	// expected, all lines together.
	Heard    int `json:"heard"`
	Expected int `json:"expected"`
}

// avatarRates is the --json "avatar_updates_hz" object: per bot, the
// median update rate (full and terse updates a second) of its nearest 10
// avatars and of all it saw; the median over the bots.
type avatarRates struct {
	Nearest10P50 float64 `json:"nearest10_p50"`
	AllP50       float64 `json:"all_p50"`
	Bots         int     `json:"bots"` // bots measured
}

// botSpot is where one bot is, as its own session sees it.
type botSpot struct {
	mu       sync.Mutex
	pos      ritual.Vector3
	region   ritual.RegionHandle
	name     string // the region's name
	arrived  time.Time
	leaves   time.Time
	inRegion bool
}

// chatLine is one numbered line said, in region.
type chatLine struct {
	region  string
	said    time.Time
	expect  map[int]bool
	heardBy map[int]time.Duration
}

// worldLoad is what the bots share: where each one is and the chat ledger.
type worldLoad struct {
	spots []botSpot

	mu    sync.Mutex
	lines map[string]*chatLine
	// rates are the per-bot medians (nearest 10, all); rateRegion the
	// region each bot measured them in (where its window ended).
	near10, all []float64
	rateRegion  []string
	// recvPerSecond is each bot's received bytes a second in the region;
	// recvRegion the region it was in last.
	recvPerSecond []float64
	recvRegion    []string

	rssMax atomic.Int64

	// toFinish and arrival are the teleports' latencies (request to
	// TeleportFinish, request to arrival); tpFailed counts the teleports
	// that failed.
	toFinish, arrival []time.Duration
	tpFailed          int
	tpFailures        map[string]int
}

// teleported records one teleport's outcome.
func (w *worldLoad) teleported(r client.TeleportResult, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.tpFailed++
		if w.tpFailures == nil {
			w.tpFailures = map[string]int{}
		}
		reason := failureReason(err)
		if errors.Is(err, client.ErrNotAcknowledged) {
			// Said before the deadline it ran into.
			reason = "the destination did not acknowledge UseCircuitCode"
		}
		w.tpFailures[reason]++
		return
	}
	w.toFinish = append(w.toFinish, r.ToFinish)
	w.arrival = append(w.arrival, r.Took)
}

func (w *worldLoad) teleportReport() teleportReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := latencies(slices.Clone(w.toFinish), w.tpFailed)
	return teleportReport{latencySummary: f, ToFinish: f, Arrival: latencies(slices.Clone(w.arrival), w.tpFailed),
		Failures: countFailures(w.tpFailures)}
}

// nextRegion is the region after the one named current in regions,
// round-robin (the first when current is none of them).
func nextRegion(regions []string, current string) string {
	i := slices.IndexFunc(regions, func(n string) bool { return strings.EqualFold(n, current) })
	return regions[(i+1)%len(regions)]
}

func newWorldLoad(n int) *worldLoad {
	return &worldLoad{spots: make([]botSpot, n), lines: map[string]*chatLine{}}
}

func (w *worldLoad) setSpot(i int, sess *client.Session) {
	s := &w.spots[i]
	pos, rg := sess.Position(), sess.Region()
	h := rg.Handle
	s.mu.Lock()
	if h != s.region {
		// In another region: settled again only after a while.
		s.arrived = time.Now()
	}
	s.pos, s.region, s.name = pos, h, rg.Name
	s.mu.Unlock()
}

// said records a line and who should hear it: the bots in the region for
// a while, staying for the grace period, clearly within speech range.
func (w *worldLoad) said(i int, text string, now time.Time) {
	from := &w.spots[i]
	from.mu.Lock()
	p, h, name := from.pos, from.region, from.name
	from.mu.Unlock()
	l := &chatLine{region: name, said: now, expect: map[int]bool{}, heardBy: map[int]time.Duration{}}
	for j := range w.spots {
		s := &w.spots[j]
		s.mu.Lock()
		ok := s.inRegion && s.region == h && now.Sub(s.arrived) >= chatSettle && s.leaves.Sub(now) > chatGrace && dist(p, s.pos) <= chatSure
		s.mu.Unlock()
		if ok {
			l.expect[j] = true
		}
	}
	w.mu.Lock()
	w.lines[text] = l
	w.mu.Unlock()
}

// heard records that bot j heard a line.
func (w *worldLoad) heard(j int, text string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.lines[text]
	if l == nil {
		return
	}
	if _, dup := l.heardBy[j]; !dup {
		l.heardBy[j] = now.Sub(l.said)
	}
}

func dist(a, b ritual.Vector3) float32 {
	dx, dy, dz := a.X-b.X, a.Y-b.Y, a.Z-b.Z
	return float32(math.Sqrt(float64(dx*dx + dy*dy + dz*dz)))
}

// hold keeps bot i in the region for o.duration: it follows its world
// events (chat heard), wanders if --walk, says a numbered line every
// --chat-every, and measures the update rates it receives. It returns why
// the session ended early, if it did.
func (w *worldLoad) hold(ctx context.Context, o loadOptions, i int, name string, sess *client.Session) error {
	now := time.Now()
	end := now.Add(o.duration)
	spot := &w.spots[i]
	spot.mu.Lock()
	spot.pos, spot.region, spot.name, spot.arrived, spot.leaves, spot.inRegion = sess.Position(), sess.Region().Handle, sess.Region().Name, now, end, true
	spot.mu.Unlock()
	defer func() {
		spot.mu.Lock()
		spot.inRegion = false
		spot.mu.Unlock()
	}()
	rng := rand.New(rand.NewPCG(uint64(i), uint64(now.UnixNano())))
	hold := time.NewTimer(o.duration)
	defer hold.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var chat <-chan time.Time
	if o.chatEvery > 0 {
		// Spread the first lines over one period.
		first := time.Duration(rng.Int64N(int64(o.chatEvery)))
		t := time.NewTimer(first)
		defer t.Stop()
		chat = t.C
	}
	var teleport <-chan time.Time
	var tpTimer *time.Timer
	if o.teleportEvery > 0 {
		// The first teleport comes half a period to a period after the
		// arrival, so the bots' teleports spread over time.
		half := o.teleportEvery / 2
		tpTimer = time.NewTimer(half + time.Duration(rng.Int64N(int64(max(half, 1)))))
		defer tpTimer.Stop()
		teleport = tpTimer.C
	}
	var chatTick *time.Ticker
	defer func() {
		if chatTick != nil {
			chatTick.Stop()
		}
	}()
	// Update counts by avatar from the measuring window's start; an
	// avatar that left the view meanwhile is not counted.
	var before map[ritual.UUID]int
	var beforeAt time.Time
	counts := map[ritual.UUID]int{}
	left := map[ritual.UUID]bool{}
	lineNo := 0
	var goalIn ritual.RegionHandle
	var goalAt time.Time
	for {
		select {
		case <-hold.C:
			w.rates(sess, before, counts, left, beforeAt)
			return nil
		case <-ctx.Done():
			w.rates(sess, before, counts, left, beforeAt)
			return nil
		case <-sess.Done():
			return sess.Err()
		case ev := <-sess.WorldEvents():
			switch ev.Kind {
			case client.ChatHeard:
				if ev.Chat.Type == client.Say {
					w.heard(i, ev.Chat.Text, ev.At)
				}
			case client.AvatarArrived, client.AvatarMoved:
				if before != nil {
					counts[ev.Avatar.ID]++
				}
			case client.AvatarLeft:
				if before != nil {
					left[ev.Avatar.ID] = true
				}
			}
		case <-teleport:
			to := nextRegion(o.regions, sess.Region().Name)
			tctx, cancel := context.WithTimeout(ctx, o.timeout)
			goal := ritual.Vector3{X: 118 + rng.Float32()*20, Y: 118 + rng.Float32()*20, Z: 25}
			r, err := sess.Teleport(tctx, to, goal, ritual.Vector3{X: 1})
			cancel()
			if ctx.Err() == nil {
				w.teleported(r, err)
			}
			w.setSpot(i, sess)
			tpTimer.Reset(o.teleportEvery)
		case <-chat:
			if chatTick == nil {
				chatTick = time.NewTicker(o.chatEvery)
				chat = chatTick.C
			}
			t := time.Now()
			if end.Sub(t) > chatGrace {
				lineNo++
				text := name + " line " + strconv.Itoa(lineNo)
				w.setSpot(i, sess)
				w.said(i, text, t)
				sess.Say(text)
			}
		case t := <-tick.C:
			w.setSpot(i, sess)
			if o.walk && sess.Moving() && (sess.Region().Handle != goalIn || t.Sub(goalAt) > wanderGiveUp) {
				// A goal set in another region's coordinates (the bot
				// crossed or teleported), or one the bot cannot reach (an
				// edge with no region beyond): choose another.
				sess.Stop()
			}
			if o.walk && !sess.Moving() {
				p := sess.Position()
				size := float32(sess.Region().SizeX)
				if size <= 0 {
					size = 256
				}
				lo, hi := float32(regionMargin), size-regionMargin
				if len(o.regions) > 1 {
					// Goals may lie beyond the edge: the bot crosses into
					// the neighbour, or stops at an edge with none.
					lo, hi = -borderReach, size+borderReach
				}
				goalIn, goalAt = sess.Region().Handle, t
				a := rng.Float64() * 2 * math.Pi
				g := ritual.Vector3{
					X: min(max(p.X+float32(wanderStep*math.Cos(a)), lo), hi),
					Y: min(max(p.Y+float32(wanderStep*math.Sin(a)), lo), hi),
					Z: p.Z,
				}
				sess.WalkTo(g)
			}
			if before == nil && t.Sub(now) >= rateWarmup {
				before, beforeAt = updateCounts(sess), t
			}
		}
	}
}

func updateCounts(s *client.Session) map[ritual.UUID]int {
	m := map[ritual.UUID]int{}
	for _, a := range s.Avatars() {
		m[a.ID] = a.Updates
	}
	return m
}

// rates records the bot's update rates over the window since at: the
// median over its nearest 10 avatars and over all, counting only avatars
// in view for the whole window (in view at both ends, never gone between).
func (w *worldLoad) rates(s *client.Session, before, counts map[ritual.UUID]int, left map[ritual.UUID]bool, at time.Time) {
	if before == nil {
		return
	}
	secs := time.Since(at).Seconds()
	if secs < 1 {
		return
	}
	var near, all []float64
	for _, a := range s.Avatars() { // nearest first
		if _, ok := before[a.ID]; !ok || left[a.ID] {
			continue
		}
		r := float64(counts[a.ID]) / secs
		all = append(all, r)
		if len(near) < 10 {
			near = append(near, r)
		}
	}
	if len(all) == 0 {
		return
	}
	w.mu.Lock()
	w.near10 = append(w.near10, median(near))
	w.all = append(w.all, median(all))
	w.rateRegion = append(w.rateRegion, s.Region().Name)
	w.mu.Unlock()
}

// traffic records what bot i received while it stayed.
func (w *worldLoad) traffic(i, bytesRecv int, in time.Duration) {
	if in <= 0 {
		return
	}
	spot := &w.spots[i]
	spot.mu.Lock()
	region := spot.name
	spot.mu.Unlock()
	w.mu.Lock()
	w.recvPerSecond = append(w.recvPerSecond, float64(bytesRecv)/in.Seconds())
	w.recvRegion = append(w.recvRegion, region)
	w.mu.Unlock()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// report summarises chat delivery and update rates.
func (w *worldLoad) report() (chatReport, avatarRates, float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ar := avatarRates{Nearest10P50: round2(median(w.near10)), AllP50: round2(median(w.all)), Bots: len(w.all)}
	return w.chat(func(*chatLine) bool { return true }), ar, math.Round(median(w.recvPerSecond))
}

// chat summarises the lines keep accepts; w.mu is held.
func (w *worldLoad) chat(keep func(*chatLine) bool) chatReport {
	var cr chatReport
	var lat []time.Duration
	for _, l := range w.lines {
		if !keep(l) {
			continue
		}
		cr.N++
		for j := range l.expect {
			cr.Expected++
			d, ok := l.heardBy[j]
			if !ok || d > chatGrace {
				cr.Missed++
				continue
			}
			cr.Heard++
			lat = append(lat, d)
		}
	}
	p := summarize(lat)
	cr.P50, cr.P95, cr.P99, cr.Max = p.P50, p.P95, p.P99, p.Max
	return cr
}

// regionCrowd is one region's share of the figures, the --json
// "by_region" object under the region's name. A bot counts in the region
// it was in last (where it left, failed, or measured its update rates);
// a bot that never arrived, in the region it was bound for; a chat line,
// in the region it was said in (its hearers were all there).
type regionCrowd struct {
	Bots                int            `json:"bots"`
	Completed           int            `json:"completed"`
	Failed              int            `json:"failed"`
	Failures            []failureCount `json:"failures"`
	Chat                chatReport     `json:"chat"`
	AvatarUpdatesHz     avatarRates    `json:"avatar_updates_hz"`
	RecvBytesPerBotPerS float64        `json:"recv_bytes_per_bot_per_s_p50"`
}

// byRegion splits the figures by region; nil when the bots were in one
// region only (the whole report is that region's).
func (w *worldLoad) byRegion(o loadOptions, results []botResult) map[string]regionCrowd {
	where := make([]string, len(results))
	names := map[string]bool{}
	for i, r := range results {
		if i < len(w.spots) {
			s := &w.spots[i]
			s.mu.Lock()
			where[i] = s.name
			s.mu.Unlock()
		}
		if where[i] == "" {
			where[i] = r.region
		}
		if where[i] == "" && len(o.regions) > 0 {
			where[i] = o.regions[i%len(o.regions)]
		}
		if where[i] != "" {
			names[where[i]] = true
		}
	}
	if len(names) < 2 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]regionCrowd{}
	for name := range names {
		var rc regionCrowd
		failures := map[string]int{}
		for i, r := range results {
			if where[i] != name {
				continue
			}
			rc.Bots++
			if r.completed {
				rc.Completed++
			} else {
				rc.Failed++
				failures[r.reason]++
			}
		}
		rc.Failures = countFailures(failures)
		rc.Chat = w.chat(func(l *chatLine) bool { return l.region == name })
		var near, all, recv []float64
		for k, rg := range w.rateRegion {
			if rg == name {
				near, all = append(near, w.near10[k]), append(all, w.all[k])
			}
		}
		for k, rg := range w.recvRegion {
			if rg == name {
				recv = append(recv, w.recvPerSecond[k])
			}
		}
		rc.AvatarUpdatesHz = avatarRates{Nearest10P50: round2(median(near)), AllP50: round2(median(all)), Bots: len(all)}
		rc.RecvBytesPerBotPerS = math.Round(median(recv))
		out[name] = rc
	}
	return out
}

// watchRSS reads the grid's resident memory from its /metrics every few
// seconds until ctx ends, keeping the largest.
func (w *worldLoad) watchRSS(ctx context.Context, hc *http.Client, loginURI string) {
	url := strings.TrimSuffix(loginURI, "/") + "/metrics"
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if v, ok := scrapeRSS(ctx, hc, url); ok && int64(v) > w.rssMax.Load() {
			w.rssMax.Store(int64(v))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func scrapeRSS(ctx context.Context, hc *http.Client, url string) (float64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
