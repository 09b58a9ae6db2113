package simnet_test

import (
	"errors"
	"net"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"ritual/circuit/simnet"
)

func listen(t *testing.T, n *simnet.Network, addr string) *simnet.Conn {
	t.Helper()
	c, err := n.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receive reads every datagram that arrives within wait of the last one.
func receive(c *simnet.Conn, wait time.Duration) []byte {
	var got []byte
	buf := make([]byte, 16)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return got
		}
		got = append(got, buf[:n]...)
	}
}

func send(t *testing.T, from, to *simnet.Conn, count int) {
	t.Helper()
	for i := range count {
		if _, err := from.WriteTo([]byte{byte(i)}, to.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLinkBehaviour: each impairment happens at about its configured
// rate, only in the direction it is set for, and the counts add up.
func TestLinkBehaviour(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(1)
		a := listen(t, n, "10.0.0.1:1000")
		b := listen(t, n, "10.0.0.2:2000")
		n.SetLink("10.0.0.1:1000", "10.0.0.2:2000", simnet.Link{Loss: 0.2, Duplicate: 0.1, Reorder: 0.2, Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond})
		const count = 4000
		send(t, a, b, count)
		got := receive(b, time.Second)
		st := n.Stats()
		near := func(what string, got int, rate float64, base int) {
			want := rate * float64(base)
			if float64(got) < 0.8*want || float64(got) > 1.2*want {
				t.Errorf("%s: %d, want about %.0f", what, got, want)
			}
		}
		near("lost", st.Lost, 0.2, count)
		near("duplicated", st.Duplicated, 0.1, count-st.Lost)
		near("reordered", st.Reordered, 0.2, count-st.Lost+st.Duplicated)
		if len(got) != st.Delivered || st.Delivered != count-st.Lost+st.Duplicated {
			t.Errorf("received %d, stats %+v", len(got), st)
		}
		var inversions int
		for i := 1; i < len(got); i++ {
			if got[i] < got[i-1] && got[i-1]-got[i] < 128 {
				inversions++
			}
		}
		if inversions == 0 {
			t.Error("nothing arrived out of order")
		}
		// The other direction is clean.
		n2 := n.Stats()
		send(t, b, a, 100)
		if back := receive(a, time.Second); len(back) != 100 {
			t.Errorf("clean direction delivered %d of 100", len(back))
		}
		if s := n.Stats(); s.Lost != n2.Lost || s.Duplicated != n2.Duplicated || s.Reordered != n2.Reordered {
			t.Errorf("clean direction was impaired: %+v then %+v", n2, s)
		}
	})
}

// TestDelay: a datagram arrives after the link's delay, not before.
func TestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(1)
		a := listen(t, n, "10.0.0.1:1000")
		b := listen(t, n, "10.0.0.2:2000")
		n.SetDefault(simnet.Link{Delay: 40 * time.Millisecond})
		start := time.Now()
		send(t, a, b, 1)
		buf := make([]byte, 4)
		k, from, err := b.ReadFrom(buf)
		if err != nil || k != 1 {
			t.Fatalf("ReadFrom = %d, %v", k, err)
		}
		if d := time.Since(start); d != 40*time.Millisecond {
			t.Errorf("arrived after %v, want 40ms", d)
		}
		if from.String() != "10.0.0.1:1000" {
			t.Errorf("from %v", from)
		}
	})
}

// TestReplay: the same seed and the same traffic give the same arrivals.
func TestReplay(t *testing.T) {
	run := func(seed uint64) []byte {
		var got []byte
		synctest.Test(t, func(t *testing.T) {
			n := simnet.New(seed)
			a := listen(t, n, "10.0.0.1:1000")
			b := listen(t, n, "10.0.0.2:2000")
			n.SetDefault(simnet.Link{Loss: 0.3, Duplicate: 0.2, Reorder: 0.3, Delay: time.Millisecond, Jitter: time.Millisecond})
			send(t, a, b, 200)
			got = receive(b, time.Second)
		})
		return got
	}
	first, again, other := run(5), run(5), run(6)
	if !slices.Equal(first, again) {
		t.Error("the same seed gave different arrivals")
	}
	if slices.Equal(first, other) {
		t.Error("different seeds gave the same arrivals")
	}
}

// TestEndpoints: port 0 picks a free port, an address is taken once, a
// closed endpoint reads net.ErrClosed and datagrams to it are lost, a
// read deadline expires with os.ErrDeadlineExceeded, a full receive queue
// drops.
func TestEndpoints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(1)
		a := listen(t, n, "10.0.0.1:0")
		b := listen(t, n, "10.0.0.1:0")
		if a.LocalAddr().String() == b.LocalAddr().String() {
			t.Fatalf("two endpoints at %v", a.LocalAddr())
		}
		if _, err := n.Listen(a.LocalAddr().String()); err == nil {
			t.Error("an address in use was taken again")
		}
		if _, err := n.Listen("nonsense"); err == nil {
			t.Error("a bad address was accepted")
		}
		a.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := a.ReadFrom(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read past the deadline: %v", err)
		}
		send(t, a, b, simnet.QueueLimit+10)
		if st := n.Stats(); st.Overflowed != 10 {
			t.Errorf("overflowed %d, want 10", st.Overflowed)
		}
		b.Close()
		if _, _, err := b.ReadFrom(make([]byte, 4)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: %v", err)
		}
		before := n.Stats().Lost
		send(t, a, b, 1)
		if n.Stats().Lost != before+1 {
			t.Error("a datagram to a closed endpoint was not lost")
		}
		if _, err := b.WriteTo([]byte{1}, a.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write after close: %v", err)
		}
	})
}
