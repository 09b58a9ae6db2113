package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"ritual/protocol/llsd"
	"ritual/trace"
	"ritual/trace/cause"
)

// maxCapRequest bounds the seed and event-queue requests the relay reads.
const maxCapRequest = 256 << 10

// serveCap relays a request to a capability the proxy handed out.
func (p *Proxy) serveCap(w http.ResponseWriter, r *http.Request, rest string) {
	tok, sub, _ := strings.Cut(rest, "/")
	if len(sub) > 0 || strings.HasSuffix(rest, "/") {
		sub = "/" + sub
	}
	c := p.lookupCap(tok)
	if c == nil || len(tok) != 32 {
		http.NotFound(w, r)
		return
	}
	target := upstreamCapURL(c.url, sub, r.URL.RawQuery)
	switch c.name {
	case "seed":
		p.serveSeed(w, r, c, target)
	case "EventQueueGet":
		p.serveEQ(w, r, c, target)
	default:
		p.streamCap(w, r, c, target)
	}
}

// serveSeed relays a seed capability request and rewrites every URL of its
// answer to a proxy URL.
func (p *Proxy) serveSeed(w http.ResponseWriter, r *http.Request, c *capEntry, target string) {
	s := c.s
	body, err := readBounded(r.Body, maxCapRequest)
	if err != nil {
		http.Error(w, "ritual proxy: seed request: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var names []string
	if v, err := llsd.Unmarshal(body); err == nil {
		for _, n := range llsdStrings(v) {
			names = append(names, clipName(n))
		}
	}
	s.record(&trace.SeedRequest{Header: hdr(time.Now(), trace.Client, trace.Caps, trace.EndClient, trace.EndCaps), URL: c.url, Names: names})
	start := time.Now()
	resp, data, err := p.forward(r, target, body)
	if err != nil {
		s.record(&trace.CapCall{Header: hdr(time.Now(), trace.Server, trace.Caps, trace.EndCaps, trace.EndClient),
			Capability: "seed", Status: http.StatusBadGateway, Elapsed: time.Since(start), Detail: err.Error()})
		s.seedFailed(c.url, err.Error(), time.Since(start))
		if r.Context().Err() == nil {
			http.Error(w, "ritual proxy: the seed capability could not be reached: "+err.Error(), http.StatusBadGateway)
		}
		return
	}
	s.seedStatus(resp.StatusCode)
	now := time.Now()
	if resp.StatusCode != http.StatusOK {
		s.record(&trace.SeedGrant{Header: hdr(now, trace.Server, trace.Caps, trace.EndCaps, trace.EndClient), Status: resp.StatusCode})
		s.record(&trace.CapCall{Header: hdr(now, trace.Server, trace.Caps, trace.EndCaps, trace.EndClient),
			Capability: "seed", Status: resp.StatusCode, Elapsed: time.Since(start), Detail: "HTTP " + resp.Status})
		answer(w, resp, data)
		return
	}
	var notes []rewriteNote
	out, granted, err := rewriteSeedAnswer(data, func(name, u string) string {
		relayed := p.registerCap(s, name, u)
		if name == "EventQueueGet" {
			s.eqGranted()
		}
		notes = append(notes, rewriteNote{in: "seed capability", field: name, original: u, relayed: relayed, secret: true})
		return relayed
	})
	if err != nil {
		s.record(&trace.Anomaly{Header: hdr(now, trace.Server, trace.Caps, trace.EndCaps, trace.EndClient),
			Kind: trace.AnomalyDropped, Message: "seed capability", Reason: "answer not rewritten: " + err.Error()})
		answer(w, resp, data)
		return
	}
	var denied []string
	if len(names) > 0 {
		have := map[string]bool{}
		for _, g := range granted {
			have[g] = true
		}
		for _, n := range names {
			if !have[n] {
				denied = append(denied, n)
			}
		}
	}
	s.record(&trace.SeedGrant{Header: hdr(now, trace.Server, trace.Caps, trace.EndCaps, trace.EndClient),
		Status: resp.StatusCode, Granted: granted, Denied: denied})
	for _, n := range notes {
		s.record(&trace.Rewrite{Header: hdr(now, trace.Server, trace.Caps, trace.EndProxy, trace.EndClient),
			In: n.in, Field: n.field, Original: n.original, Relayed: n.relayed, Secret: true})
	}
	answer(w, resp, out)
}

// llsdStrings returns the strings of an LLSD array.
func llsdStrings(v any) []string {
	a, ok := llsd.AsArray(v)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := llsd.AsString(e); ok {
			out = append(out, s)
		}
	}
	return out
}

// serveEQ relays one EventQueueGet long poll, tells its events and rewrites
// the addresses and seed capabilities they carry.
func (p *Proxy) serveEQ(w http.ResponseWriter, r *http.Request, c *capEntry, target string) {
	s := c.s
	body, err := readBounded(r.Body, maxCapRequest)
	if err != nil {
		http.Error(w, "ritual proxy: event-queue request: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	poll := &trace.EQPoll{Header: hdr(time.Now(), trace.Client, trace.EQ, trace.EndClient, trace.EndCaps)}
	if v, err := llsd.Unmarshal(body); err == nil {
		if m, ok := llsd.AsMap(v); ok {
			poll.Ack, poll.Done = int(m.Int("ack")), m.Bool("done")
		}
	}
	s.record(poll)
	start := time.Now()
	s.eqPollStart(start)
	resp, data, err := p.forward(r, target, body)
	s.eqPollEnd(start, err == nil)
	now := time.Now()
	if err != nil {
		if r.Context().Err() != nil {
			s.record(&trace.Anomaly{Header: hdr(now, trace.Client, trace.EQ, trace.EndClient, trace.EndCaps), Kind: trace.AnomalyTimeout,
				Message: "EventQueueGet", Reason: "the client closed the poll after " + cause.Dur(now.Sub(start)) + " without an answer"})
			return
		}
		s.record(&trace.EQTimeout{Header: hdr(now, trace.Server, trace.EQ, trace.EndCaps, trace.EndClient), Status: http.StatusBadGateway, Waited: now.Sub(start)})
		http.Error(w, "ritual proxy: the event queue could not be reached: "+err.Error(), http.StatusBadGateway)
		return
	}
	if resp.StatusCode != http.StatusOK {
		s.eqAnswered(false)
		s.record(&trace.EQTimeout{Header: hdr(now, trace.Server, trace.EQ, trace.EndCaps, trace.EndClient), Status: resp.StatusCode, Waited: now.Sub(start)})
		answer(w, resp, data)
		return
	}
	out, ans, notes, err := rewriteEQAnswer(data, eqRewriter{
		Addr: func(region netip.AddrPort) (netip.AddrPort, bool) {
			rl, err := s.relayFor(region)
			if err != nil {
				return netip.AddrPort{}, false
			}
			return rl.public, true
		},
		Seed: func(u string) string { return p.registerCap(s, "seed", u) },
	})
	if err != nil {
		s.eqAnswered(true)
		s.record(&trace.Anomaly{Header: hdr(now, trace.Server, trace.EQ, trace.EndCaps, trace.EndClient),
			Kind: trace.AnomalyDropped, Message: "EventQueueGet", Reason: "answer not rewritten: " + err.Error()})
		answer(w, resp, data)
		return
	}
	s.eqAnswered(true)
	names := make([]string, len(ans.Events))
	for i, e := range ans.Events {
		names[i] = e.Message
		if len(e.Fields) > 0 {
			names[i] += " (" + strings.Join(e.Fields, ", ") + ")"
		}
	}
	s.record(&trace.EQDeliver{Header: hdr(now, trace.Server, trace.EQ, trace.EndCaps, trace.EndClient), ID: ans.ID, Events: names})
	for _, n := range notes {
		s.record(&trace.Rewrite{Header: hdr(now, trace.Server, trace.EQ, trace.EndProxy, trace.EndClient),
			In: "EventQueueGet " + n.in, Field: n.field, Original: n.original, Relayed: n.relayed, Secret: n.secret})
	}
	answer(w, resp, out)
}

// streamCap relays any other capability request with its method, headers,
// status and body streamed both ways.
func (p *Proxy) streamCap(w http.ResponseWriter, r *http.Request, c *capEntry, target string) {
	u, err := url.Parse(target)
	if err != nil {
		http.Error(w, "ritual proxy: bad capability URL", http.StatusBadGateway)
		return
	}
	s := c.s
	start := time.Now()
	var status int
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = u
			pr.Out.Host = ""
		},
		Transport:     p.cfg.Transport,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			status = resp.StatusCode
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status = http.StatusBadGateway
			if !errors.Is(err, r.Context().Err()) || r.Context().Err() == nil {
				http.Error(w, "ritual proxy: the capability could not be reached: "+err.Error(), http.StatusBadGateway)
			}
		},
	}
	rp.ServeHTTP(w, r)
	s.record(&trace.CapCall{Header: hdr(time.Now(), trace.Server, trace.Caps, trace.EndCaps, trace.EndClient),
		Capability: c.name, Status: status, Elapsed: time.Since(start), Detail: fmt.Sprintf("%s %s", r.Method, c.name)})
}
