package caps

import (
	"fmt"
	"net/http"
	"time"

	"ritual"
	"ritual/protocol/llsd"
	"ritual/trace"
)

// serveSeed answers the seed capability: an LLSD array of names in, an LLSD
// map of name → URL out for the names granted.
func (r *Router) serveSeed(w http.ResponseWriter, req *http.Request, g *grant) {
	answer := func(e *requestError) {
		fail(w, e)
		r.record(&trace.SeedGrant{
			Header: r.header(trace.Caps, trace.EndCaps, trace.EndClient),
			Agent:  g.agent.ID,
			Status: e.status,
		})
	}
	if e := requirePost(w, req, "seed"); e != nil {
		answer(e)
		return
	}
	v, e := r.readLLSD(w, req, "seed", false)
	if e != nil {
		answer(e)
		return
	}
	names, err := seedNames(v)
	if err != nil {
		answer(badRequest("caps: seed: %v", err))
		return
	}

	out := make(map[string]any, len(names))
	var granted, denied []string
	r.mu.Lock()
	if r.agents[g.agent.ID] != g && r.previous[g.agent.ID] != g && r.children[g.agent.ID][g.agent.RegionID] != g { // revoked or replaced while reading
		r.mu.Unlock()
		answer(&requestError{http.StatusNotFound, "caps: no such capability"})
		return
	}
	for _, name := range names {
		if !r.grantableLocked(name) {
			denied = append(denied, name)
			continue
		}
		tok, ok := g.caps[name]
		if !ok {
			tok = r.newPathLocked(name, g)
			g.caps[name] = tok
		}
		out[name] = r.url(tok)
		granted = append(granted, name)
	}
	r.mu.Unlock()

	if !r.writeLLSD(w, "seed", out) {
		return
	}
	r.record(&trace.SeedGrant{
		Header:  r.header(trace.Caps, trace.EndCaps, trace.EndClient),
		Agent:   g.agent.ID,
		Status:  http.StatusOK,
		Granted: granted,
		Denied:  denied,
	})
}

// seedNames reads a seed request: an array of capability names. Repeated
// names count once; their order is kept.
func seedNames(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("request is %s, want an array of capability names", llsdKind(v))
	}
	names := make([]string, 0, len(arr))
	seen := make(map[string]bool, len(arr))
	for i, e := range arr {
		var name string
		switch s := e.(type) {
		case string:
			name = s
		case llsd.URI:
			name = string(s)
		default:
			return nil, fmt.Errorf("element %d is %s, want a string", i, llsdKind(e))
		}
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	return names, nil
}

// llsdKind names the LLSD type of a decoded value, for error messages.
func llsdKind(v any) string {
	switch v.(type) {
	case nil:
		return "undef"
	case bool:
		return "a boolean"
	case int32:
		return "an integer"
	case float64:
		return "a real"
	case string:
		return "a string"
	case llsd.URI:
		return "a uri"
	case ritual.UUID:
		return "a uuid"
	case time.Time:
		return "a date"
	case []byte:
		return "binary"
	case []any:
		return "an array"
	case map[string]any, llsd.Map, llsd.OrderedMap:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}
