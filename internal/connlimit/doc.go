// Package connlimit caps the connections a listener holds open at once for
// one remote address, so that one host cannot take every connection a
// server can keep. Listener wraps a net.Listener: a connection over the cap
// is answered with Listener.Reply (if any) and closed at once, and counted;
// the others are handed on, and free their place when closed. An IPv6
// address counts with its /64, as one host's share of a network.
package connlimit
