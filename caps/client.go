package caps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"ritual/protocol/llsd"
	"ritual/trace"
)

// MaxResponseBody bounds the answers the client side reads (16 MiB).
const MaxResponseBody = 16 << 20

// RequestSeed posts the capability names to a seed capability and returns
// the capabilities granted, name → absolute URL. Entries of the answer that
// are not absolute http(s) URLs are left out (and reported as denied). An
// answer other than 200 is a *StatusError (errors.Is ErrStatus) with the
// status and the start of the body; hc nil means http.DefaultClient.
//
// With a Recorder it records trace.SeedRequest, then trace.SeedGrant as the
// client sees the answer (granted in the order asked, then any extra names
// the server sent, sorted; denied in the order asked).
func RequestSeed(ctx context.Context, hc *http.Client, seedURL string, names []string, rec trace.Recorder) (map[string]string, error) {
	trace.Emit(rec, &trace.SeedRequest{
		Header: clientHeader(trace.Caps, trace.EndClient, trace.EndCaps),
		URL:    seedURL,
		Names:  slices.Clone(names),
	})
	body, err := llsd.MarshalXML(names)
	if err != nil {
		return nil, fmt.Errorf("caps: seed: encoding the request: %w", err)
	}
	status, data, err := roundTrip(ctx, hc, http.MethodPost, seedURL, body)
	if err != nil {
		return nil, fmt.Errorf("caps: seed: %w", err)
	}
	grantEv := &trace.SeedGrant{
		Header: clientHeader(trace.Caps, trace.EndCaps, trace.EndClient),
		Status: status,
	}
	if status != http.StatusOK {
		trace.Emit(rec, grantEv)
		return nil, newStatusError("seed", seedURL, status, data)
	}
	caps, err := parseSeedAnswer(data)
	if err != nil {
		trace.Emit(rec, grantEv)
		return nil, fmt.Errorf("caps: seed %s: %w", trace.MaskURL(seedURL), err)
	}
	asked := make(map[string]bool, len(names))
	for _, n := range names {
		if asked[n] {
			continue
		}
		asked[n] = true
		if _, ok := caps[n]; ok {
			grantEv.Granted = append(grantEv.Granted, n)
		} else {
			grantEv.Denied = append(grantEv.Denied, n)
		}
	}
	for _, n := range sortedNames(caps) {
		if !asked[n] {
			grantEv.Granted = append(grantEv.Granted, n)
		}
	}
	trace.Emit(rec, grantEv)
	return caps, nil
}

// parseSeedAnswer reads the seed's map of name → URL.
func parseSeedAnswer(data []byte) (map[string]string, error) {
	v, err := llsd.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	m, ok := llsd.AsMap(v)
	if !ok {
		return nil, fmt.Errorf("%w: answer is %s, want a map of capability URLs", ErrBadResponse, llsdKind(v))
	}
	out := make(map[string]string, len(m))
	for name, v := range m {
		var s string
		switch u := v.(type) {
		case string:
			s = u
		case llsd.URI:
			s = string(u)
		default:
			continue
		}
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		out[name] = s
	}
	return out, nil
}

// GetLLSD calls a capability with GET and decodes its LLSD answer (nil for
// an empty one). capability names it in the trace.CapCall it records and
// in errors. A status other than 2xx is a *StatusError.
func GetLLSD(ctx context.Context, hc *http.Client, rec trace.Recorder, capability, capURL string) (any, error) {
	return callLLSD(ctx, hc, rec, capability, http.MethodGet, capURL, nil)
}

// PostLLSD calls a capability with body as LLSD XML and decodes its LLSD
// answer, as GetLLSD does.
func PostLLSD(ctx context.Context, hc *http.Client, rec trace.Recorder, capability, capURL string, body any) (any, error) {
	data, err := llsd.MarshalXML(body)
	if err != nil {
		return nil, fmt.Errorf("caps: %s: encoding the request: %w", capability, err)
	}
	return callLLSD(ctx, hc, rec, capability, http.MethodPost, capURL, data)
}

func callLLSD(ctx context.Context, hc *http.Client, rec trace.Recorder, capability, method, capURL string, body []byte) (any, error) {
	start := time.Now()
	status, data, err := roundTrip(ctx, hc, method, capURL, body)
	ev := &trace.CapCall{
		Header:     clientHeader(trace.Caps, trace.EndClient, trace.EndCaps),
		Capability: capability,
		Status:     status,
	}
	defer func() {
		ev.Elapsed = time.Since(start)
		trace.Emit(rec, ev)
	}()
	if err != nil {
		ev.Detail = err.Error()
		return nil, fmt.Errorf("caps: %s: %w", capability, err)
	}
	if status < 200 || status > 299 {
		se := newStatusError(capability, capURL, status, data)
		ev.Detail = se.Excerpt
		return nil, se
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	v, err := llsd.Unmarshal(data)
	if err != nil {
		ev.Detail = "malformed answer"
		return nil, fmt.Errorf("caps: %s %s: %w: %w", capability, trace.MaskURL(capURL), ErrBadResponse, err)
	}
	return v, nil
}

// roundTrip sends one request (an LLSD XML body when body is not nil) and
// reads the answer, at most MaxResponseBody bytes. Errors never carry the
// capability URL unmasked.
func roundTrip(ctx context.Context, hc *http.Client, method, capURL string, body []byte) (int, []byte, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, capURL, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("bad capability URL %s: %w", trace.MaskURL(capURL), maskURLError(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", llsd.FormatXML.ContentType())
	}
	req.Header.Set("Accept", llsd.FormatXML.ContentType())
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, maskURLError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading the answer from %s: %w", trace.MaskURL(capURL), maskURLError(err))
	}
	if len(data) > MaxResponseBody {
		return resp.StatusCode, nil, fmt.Errorf("%w: answer from %s larger than %d bytes", ErrBadResponse, trace.MaskURL(capURL), MaxResponseBody)
	}
	return resp.StatusCode, data, nil
}

// maskURLError hides the secret path of the URL a *url.Error names.
func maskURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		c := *ue
		c.URL = trace.MaskURL(c.URL)
		return &c
	}
	return err
}

func clientHeader(l trace.Layer, from, to string) trace.Header {
	return trace.Header{Side: trace.Client, Layer: l, From: from, To: to}
}
