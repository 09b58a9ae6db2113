package connlimit_test

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"ritual/internal/connlimit"
)

// dialFrom connects to addr from the loopback address src (any of
// 127.0.0.0/8 reaches a listener on 127.0.0.1).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serveEcho accepts on l and echoes every connection until l closes.
func serveEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c) //nolint:errcheck
		}()
	}
}

// echoes reports whether c answers a byte with the same byte.
func echoes(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return false
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err == nil && b[0] == 'x'
}

func TestCapPerAddress(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.New(inner, 3, []byte("busy\n"))
	defer l.Close()
	go serveEcho(l)
	addr := inner.Addr().String()

	var held []net.Conn
	for range 3 {
		c := dialFrom(t, "127.0.0.2", addr)
		if !echoes(t, c) {
			t.Fatal("a connection within the cap does not work")
		}
		held = append(held, c)
	}
	// The fourth from the same address is told and closed.
	over := dialFrom(t, "127.0.0.2", addr)
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(over)
	if err != nil || string(got) != "busy\n" {
		t.Fatalf("connection over the cap read %q, %v; want the reply, then EOF", got, err)
	}
	if l.Refused() != 1 {
		t.Errorf("Refused() = %d, want 1", l.Refused())
	}
	// Another address is not affected, and the first three still work.
	if c := dialFrom(t, "127.0.0.3", addr); !echoes(t, c) {
		t.Fatal("another address's connection does not work")
	}
	for i, c := range held {
		if !echoes(t, c) {
			t.Fatalf("held connection %d stopped working", i)
		}
	}
	// Closing one frees its place.
	held[0].Close()
	src := netip.MustParseAddr("127.0.0.2")
	deadline := time.Now().Add(5 * time.Second)
	for l.Open(src) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after a close %d are counted open, want 2", l.Open(src))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if c := dialFrom(t, "127.0.0.2", addr); !echoes(t, c) {
		t.Fatal("a place freed by a close cannot be taken")
	}
}

func TestIPv6CountsItsSlash64(t *testing.T) {
	inner, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	l := connlimit.New(inner, 1, nil)
	defer l.Close()
	go serveEcho(l)
	c := dialFrom(t, "::1", inner.Addr().String())
	if !echoes(t, c) {
		t.Fatal("first connection does not work")
	}
	if n := l.Open(netip.MustParseAddr("::2")); n != 1 {
		t.Errorf("::2 (same /64 as ::1) counts %d open, want 1", n)
	}
	over := dialFrom(t, "::1", inner.Addr().String())
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := over.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection over the cap read %d bytes", n)
	}
}

func TestExempt(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.New(inner, 1, nil)
	l.Exempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.4/32")}
	defer l.Close()
	go serveEcho(l)
	for i := range 3 {
		if c := dialFrom(t, "127.0.0.4", inner.Addr().String()); !echoes(t, c) {
			t.Fatalf("exempt connection %d does not work", i+1)
		}
	}
	if l.Refused() != 0 {
		t.Errorf("Refused() = %d for an exempt address", l.Refused())
	}
}
