package observatory

import (
	"bytes"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ritual/trace"
	"ritual/trace/narrative"
)

//go:embed assets/live.js
var liveJS string

// tokenCookie carries the observatory token once given in ?token=.
const tokenCookie = "ritual_observatory"

// ServeHTTP implements http.Handler:
//
//	PREFIX                    the sessions of the last hour (?name=, ?state= filter)
//	PREFIX?...&stream=1       Server-Sent Events: the list's rows as they change
//	PREFIX s/ID               one session's page, growing as its events arrive
//	PREFIX s/ID/stream        Server-Sent Events: the session's page body, then "end"
//	PREFIX sessions.json      the list as JSON
func (l *Live) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !l.authorized(w, r) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "observatory: use GET", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, l.cfg.Prefix)
	if !ok && r.URL.Path+"/" == l.cfg.Prefix {
		http.Redirect(w, r, l.cfg.Prefix, http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; connect-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case !ok:
		http.NotFound(w, r)
	case rest == "" && r.URL.Query().Get("stream") != "":
		l.serveListStream(w, r)
	case rest == "":
		l.serveList(w, r)
	case rest == "sessions.json":
		l.serveJSON(w, r)
	case strings.HasPrefix(rest, "s/"):
		id, sub, _ := strings.Cut(strings.TrimPrefix(rest, "s/"), "/")
		l.mu.RLock()
		s := l.byID[id]
		l.mu.RUnlock()
		switch {
		case s == nil:
			http.Error(w, "observatory: no such session (it may be older than the window kept)", http.StatusNotFound)
		case sub == "":
			l.serveSession(w, r, s)
		case sub == "stream":
			l.serveSessionStream(w, r, s)
		default:
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// authorized checks the token when one is configured.
func (l *Live) authorized(w http.ResponseWriter, r *http.Request) bool {
	if l.cfg.Token == "" {
		return true
	}
	want := []byte(l.cfg.Token)
	match := func(s string) bool { return s != "" && subtle.ConstantTimeCompare([]byte(s), want) == 1 }
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && match(bearer) {
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && match(c.Value) {
		return true
	}
	if q := r.URL.Query(); match(q.Get("token")) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: l.cfg.Token, Path: l.cfg.Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="ritual observatory"`)
	http.Error(w, "observatory: this page needs the observatory token (give it as ?token=, or as a bearer token)", http.StatusUnauthorized)
	return false
}

// filter is the list's filter from the query.
type filter struct {
	name, state string
}

func filterOf(q url.Values) filter {
	return filter{name: strings.TrimSpace(q.Get("name")), state: q.Get("state")}
}

func (f filter) keep(s Summary) bool {
	if f.state != "" && s.State != f.state {
		return false
	}
	return f.name == "" || strings.Contains(strings.ToLower(s.Agent), strings.ToLower(f.name))
}

func (f filter) query() string {
	q := url.Values{}
	if f.name != "" {
		q.Set("name", f.name)
	}
	if f.state != "" {
		q.Set("state", f.state)
	}
	return q.Encode()
}

func (l *Live) serveList(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r.URL.Query())
	var b bytes.Buffer
	writeHead(&b, "Ritual observatory")
	b.WriteString("<header>\n<h1>Ritual observatory</h1>\n")
	b.WriteString(`<p class="summary"><span class="live-dot" aria-hidden="true"></span><span class="live-status" role="status">Live: this list follows the grid as agents arrive.</span></p>` + "\n</header>\n<main id=\"main\">\n")
	fmt.Fprintf(&b, `<form class="filters" method="get" action="%s" role="search"><label>Agent name <input type="search" name="name" value="%s" /></label><label>State <select name="state"><option value="">any</option>`, esc(l.cfg.Prefix), esc(f.name))
	for _, st := range States {
		sel := ""
		if st == f.state {
			sel = ` selected="selected"`
		}
		fmt.Fprintf(&b, `<option value="%s"%s>%s</option>`, esc(st), sel, esc(st))
	}
	b.WriteString(`</select></label><button type="submit">Filter</button></form>` + "\n")
	fmt.Fprintf(&b, `<table class="sessions" data-stream="%s"><caption>Sessions of the last %s, newest first</caption><thead><tr><th scope="col">Agent</th><th scope="col">State</th><th scope="col">Furthest step</th><th scope="col">Elapsed</th><th scope="col">Anomalies</th><th scope="col">Started</th></tr></thead>`+"\n",
		esc(l.cfg.Prefix+"?"+joinQuery(f.query(), "stream=1")), esc(l.cfg.Window.String()))
	b.WriteString("<tbody>")
	l.writeRows(&b, f)
	b.WriteString("</tbody></table>\n")
	b.WriteString(`<p class="older">` + esc(l.olderLine()) + "</p>\n</main>\n")
	writeTail(&b, liveJS)
	writeHTML(w, r, b.Bytes())
}

func joinQuery(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}

func (l *Live) olderLine() string {
	older, n := l.Older()
	s := fmt.Sprintf("%d older sessions summarised", n)
	if n > 0 {
		var parts []string
		for _, st := range States {
			if older[st] > 0 {
				parts = append(parts, strconv.Itoa(older[st])+" "+st)
			}
		}
		s += ": " + strings.Join(parts, ", ")
	}
	if u := l.Unattributed(); u > 0 {
		s += fmt.Sprintf("; %d events belonged to no session kept (stray datagrams, refused circuits)", u)
	}
	return s + "."
}

func (l *Live) writeRows(b *bytes.Buffer, f filter) int {
	n := 0
	for _, s := range l.Sessions() {
		if !f.keep(s) {
			continue
		}
		n++
		fmt.Fprintf(b, `<tr data-session="%s" data-state="%s"><th scope="row"><a href="%s">%s</a></th><td><span class="state %s">%s</span></td><td>%s</td><td>%s</td><td class="anomalies">%d</td><td>%s</td></tr>`+"\n",
			esc(s.ID), esc(s.State), esc(l.cfg.Prefix+"s/"+s.ID), esc(orDash(s.Agent)), esc(strings.ReplaceAll(s.State, " ", "-")), esc(s.State),
			esc(s.Step), esc(s.Elapsed.Round(time.Millisecond).String()), s.Anomalies, esc(s.Started.UTC().Format("15:04:05 UTC")))
	}
	if n == 0 {
		b.WriteString(`<tr><td colspan="6">No sessions match.</td></tr>`)
	}
	return n
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func writeHTML(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body) //nolint:errcheck // the reader has gone
}

func (l *Live) serveJSON(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r.URL.Query())
	out := []Summary{}
	for _, s := range l.Sessions() {
		if f.keep(s) {
			out = append(out, s)
		}
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b) //nolint:errcheck
}

// sessionBody renders a session's page body: the report of its events so
// far and what was counted rather than kept.
func (l *Live) sessionBody(s *session) ([]byte, bool) {
	evs, _, ended, folded, dropped := s.snapshot()
	var b bytes.Buffer
	opt := Options{Show: l.cfg.Show, Narrative: l.cfg.Narrative}
	prepared := preparedEvents(evs, l.cfg.Show)
	if len(prepared) == 0 {
		b.WriteString("<header><h1>A session with no events yet</h1></header>")
		return b.Bytes(), ended
	}
	if _, err := writeBody(&b, prepared, opt); err != nil {
		b.Reset()
		fmt.Fprintf(&b, "<header><h1>Session %s</h1></header><main id=\"main\"><p class=\"missing\">%s</p></main>", esc(s.id), esc(err.Error()))
	}
	if len(folded) > 0 || dropped > 0 {
		names := make([]string, 0, len(folded))
		for k := range folded {
			names = append(names, k)
		}
		slices.Sort(names)
		parts := make([]string, len(names))
		for i, k := range names {
			parts[i] = strconv.Itoa(folded[k]) + " " + k
		}
		line := "Not kept, counted: " + strings.Join(parts, ", ")
		if dropped > 0 {
			line += fmt.Sprintf("; %d other events", dropped)
		}
		fmt.Fprintf(&b, "<p class=\"folded\">%s.</p>\n", esc(line))
	}
	return b.Bytes(), ended
}

func (l *Live) serveSession(w http.ResponseWriter, r *http.Request, s *session) {
	body, ended := l.sessionBody(s)
	var b bytes.Buffer
	writeHead(&b, "Session "+s.id+" — Ritual observatory")
	fmt.Fprintf(&b, `<p class="back"><a href="%s">All sessions</a> · <span class="live-dot%s" aria-hidden="true"></span><span class="live-status" role="status">%s</span></p>`+"\n",
		esc(l.cfg.Prefix), map[bool]string{true: " off", false: ""}[ended], map[bool]string{true: "Ended.", false: "Live: this page grows as the session's events arrive."}[ended])
	streamAttr := ""
	if !ended {
		streamAttr = ` data-stream="` + esc(l.cfg.Prefix+"s/"+s.id+"/stream") + `"`
	}
	fmt.Fprintf(&b, `<div id="live"%s>`+"\n", streamAttr)
	b.Write(body)
	b.WriteString("</div>\n")
	writeTail(&b, liveJS)
	writeHTML(w, r, b.Bytes())
}

// stream prepares an SSE response, or answers 503 when too many are open.
func (l *Live) stream(w http.ResponseWriter) (func(event string, data any) bool, func(), bool) {
	if l.watchers.Add(1) > int64(l.cfg.MaxWatchers) {
		l.watchers.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "observatory: too many pages are watching; try again soon", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) //nolint:errcheck // a server without deadlines has none to lift
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data any) bool {
		j, err := json.Marshal(data)
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, j); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	return send, func() { l.watchers.Add(-1) }, true
}

// minInterval coalesces bursts of events into one update.
const minInterval = 150 * time.Millisecond

func (l *Live) serveSessionStream(w http.ResponseWriter, r *http.Request, s *session) {
	send, done, ok := l.stream(w)
	if !ok {
		return
	}
	defer done()
	var sent uint64
	for {
		ch := s.changed()
		version := s.currentVersion()
		if version != sent {
			body, ended := l.sessionBody(s)
			sent = version
			if ended {
				send("end", map[string]string{"html": string(body)})
				return
			}
			if !send("update", map[string]string{"html": string(body)}) {
				return
			}
		}
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		case <-l.done:
			return
		}
		select {
		case <-time.After(minInterval):
		case <-r.Context().Done():
			return
		case <-l.done:
			return
		}
	}
}

func (l *Live) serveListStream(w http.ResponseWriter, r *http.Request) {
	send, done, ok := l.stream(w)
	if !ok {
		return
	}
	defer done()
	f := filterOf(r.URL.Query())
	tick := time.NewTicker(time.Second) // elapsed times move on
	defer tick.Stop()
	for {
		ch := l.listChangedCh()
		var b bytes.Buffer
		l.writeRows(&b, f)
		if !send("rows", map[string]string{"html": b.String(), "older": l.olderLine()}) {
			return
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-r.Context().Done():
			return
		case <-l.done:
			return
		}
		select {
		case <-time.After(minInterval):
		case <-r.Context().Done():
			return
		case <-l.done:
			return
		}
	}
}

// preparedEvents sorts and masks events as the renderers read them.
func preparedEvents(evs []trace.Event, show trace.Secrets) []trace.Event {
	return narrative.Prepare(evs, show)
}
