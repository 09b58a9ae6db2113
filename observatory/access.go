package observatory

import (
	"net"
	"net/netip"
	"strings"
)

// Access decides whether the live observatory may be served on an HTTP
// listener at listen (host:port): always with a token, and without one
// only when the listener is on loopback, where only this machine reaches
// it. why says which, for the operator.
func Access(listen, token string) (on bool, why string) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	loopback := strings.EqualFold(host, "localhost")
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		loopback = true
	}
	switch {
	case token != "":
		return true, "the observatory needs its token"
	case loopback:
		return true, "the observatory is open on loopback"
	}
	return false, "the observatory is off: the HTTP listener is not on loopback and no --observatory-token was given"
}
