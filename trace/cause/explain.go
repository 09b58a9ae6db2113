package cause

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"time"
)

// Explanation is an HTTP request's failure in plain words.
type Explanation struct {
	// Words say what went wrong, to follow "could not be reached: "
	// ("nothing is listening at 127.0.0.1:9000").
	Words string
	// Fault is the side at fault; empty means the service that was asked
	// (the login service, the capabilities).
	Fault Side
	// Timeout reports that no answer came in time; Waited is how long.
	Timeout bool
	Waited  time.Duration
	// Check lists what may be behind it.
	Check []string
}

// Explain turns the error of an HTTP request to uri, which took waited,
// into plain words: what Go's HTTP client, dialer, resolver and TLS stack
// say, told as what it means.
func Explain(err error, uri string, waited time.Duration) Explanation {
	if err == nil {
		return Explanation{Words: "it failed for no reason given", Fault: Unknown}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return Explanation{Timeout: true, Waited: waited, Words: "no answer within " + Dur(waited)}
	}
	return ExplainText(err.Error(), uri, waited)
}

// textRule maps a fragment of an error's text to its meaning.
type textRule struct {
	fragments []string
	timeout   bool
	fault     Side
	words     func(host string) string
	check     string
}

var textRules = []textRule{
	{fragments: []string{"context deadline exceeded", "Client.Timeout exceeded", "i/o timeout", "timeout awaiting response headers", "TLS handshake timeout"}, timeout: true},
	{fragments: []string{"context canceled", "operation was canceled"}, fault: Client,
		words: func(string) string { return "the client gave up before an answer came" }},
	{fragments: []string{"connection refused"},
		words: func(h string) string { return "nothing is listening at " + h }},
	{fragments: []string{"no such host"}, fault: Client,
		words: func(h string) string { return "the host name " + hostOnly(h) + " is not known (DNS has no such name)" },
		check: "the host name in the URI is misspelt"},
	{fragments: []string{"server misbehaving", "Temporary failure in name resolution"}, fault: Network,
		words: func(h string) string {
			return "the host name " + hostOnly(h) + " could not be looked up (the DNS server failed)"
		}},
	{fragments: []string{"no route to host", "network is unreachable", "host is unreachable"}, fault: Network,
		words: func(h string) string { return "there is no network route to " + hostOnly(h) }},
	{fragments: []string{"connection reset"}, fault: Network,
		words: func(h string) string { return "the connection to " + h + " was cut (reset) before an answer came" },
		check: "a firewall or proxy on the way cuts the connection, or the service crashed"},
	{fragments: []string{"certificate signed by unknown authority"},
		words: func(string) string { return "its HTTPS certificate is not signed by an authority this machine trusts" }},
	{fragments: []string{"certificate is valid for", "certificate is not valid for any names"},
		words: func(h string) string { return "its HTTPS certificate is for another name than " + hostOnly(h) }},
	{fragments: []string{"certificate has expired", "is not yet valid"},
		words: func(string) string { return "its HTTPS certificate has expired (or is not yet valid)" }},
	{fragments: []string{"first record does not look like a TLS handshake"}, fault: Client,
		words: func(h string) string { return h + " does not speak HTTPS: the URI should begin with http://" }},
	{fragments: []string{"server gave HTTP response to HTTPS client"}, fault: Client,
		words: func(h string) string { return h + " answers plain HTTP: the URI should begin with http://" }},
	{fragments: []string{"unsupported protocol scheme"}, fault: Client,
		words: func(string) string { return "the URI does not begin with http:// or https://" }},
	{fragments: []string{"EOF"},
		words: func(h string) string { return h + " closed the connection without answering" },
		check: "the service crashed on the request, or a proxy on the way drops it"},
}

// ExplainText is Explain for an error known only by its text (a recorded
// event's detail).
func ExplainText(detail, uri string, waited time.Duration) Explanation {
	host := hostOf(uri)
	for _, r := range textRules {
		for _, f := range r.fragments {
			if !strings.Contains(detail, f) {
				continue
			}
			if r.timeout {
				return Explanation{Timeout: true, Waited: waited, Words: "no answer within " + Dur(waited)}
			}
			x := Explanation{Words: r.words(host), Fault: r.fault}
			if r.check != "" {
				x.Check = []string{r.check}
			}
			return x
		}
	}
	return Explanation{Words: innermost(detail), Fault: Unknown}
}

// innermost keeps the last part of a wrapped error's text, where the
// cause is ("login: Post \"http://…\": the thing" → "the thing").
func innermost(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\": "); i >= 0 {
		s = s[i+3:]
	}
	if s == "" {
		return "it failed for no reason given"
	}
	return s
}

// hostOf returns uri's host:port (the scheme's default port when none is
// written), or uri itself when it is not a URL.
func hostOf(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" {
		if uri == "" {
			return "the address"
		}
		return uri
	}
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "https":
		return net.JoinHostPort(u.Hostname(), "443")
	case "http":
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
