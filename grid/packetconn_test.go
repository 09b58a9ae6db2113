package grid_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/circuit/simnet"
	"ritual/grid"
	"ritual/login"
)

// provision asks the region where a new circuit's client must send UDP.
func provision(t *testing.T, g *grid.Server) netip.AddrPort {
	t.Helper()
	d, err := g.Region.Provision(t.Context(), login.Circuit{
		Code: 77, Agent: ritual.NewUUID(), Session: ritual.NewUUID(),
		First: "A", Last: "B", Expiry: time.Now().Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(d.SimIP, d.SimPort)
}

// TestPacketConn: a grid given its UDP socket serves the region on it,
// hands clients that socket's address (or ExternalHost's IP with its port),
// keeps HTTP on TCP, and closes the socket when it closes.
func TestPacketConn(t *testing.T) {
	for _, tc := range []struct {
		external string
		want     string
	}{
		{"", "10.9.0.1:7000"},
		{"192.0.2.7", "192.0.2.7:7000"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			n := simnet.New(1)
			pc, err := n.Listen("10.9.0.1:7000")
			if err != nil {
				t.Fatal(err)
			}
			g := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ExternalHost: tc.external, PacketConn: pc})
			if got := provision(t, g).String(); got != tc.want {
				t.Errorf("clients are sent to %s, want %s", got, tc.want)
			}
			host := "127.0.0.1"
			if tc.external != "" {
				host = tc.external
			}
			if !strings.HasPrefix(g.LoginURI(), "http://"+host+":") {
				t.Errorf("login URI %s", g.LoginURI())
			}
			if _, err := net.Dial("tcp", g.Addr()); err != nil {
				t.Errorf("HTTP not listening at %s: %v", g.Addr(), err)
			}
			stop(t, g)
			if _, _, err := pc.ReadFrom(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("the socket is still open after Close: %v", err)
			}
		})
	}
}

// noAddr is a socket with no address a client could be sent to.
type noAddr struct{ *simnet.Conn }

func (noAddr) LocalAddr() net.Addr { return &net.UnixAddr{Name: "@x", Net: "unixgram"} }

// TestPacketConnWithoutAddress: a socket whose address cannot be handed to
// clients is a clear error, and the grid closes it.
func TestPacketConnWithoutAddress(t *testing.T) {
	pc, err := simnet.New(1).Listen("10.9.0.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	_, err = grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", PacketConn: noAddr{pc}})
	if err == nil || !strings.Contains(err.Error(), "sim_ip") {
		t.Fatalf("Start = %v, want an error about the address", err)
	}
	if _, _, err := pc.ReadFrom(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the socket is still open after a failed start: %v", err)
	}
}
