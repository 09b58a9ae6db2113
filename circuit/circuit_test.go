package circuit_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/circuit/simnet"
	"ritual/protocol/msg"
	"ritual/trace"
	"ritual/trace/tracetest"
)

const (
	srvAddr = "127.0.0.1:9000"
	cliAddr = "127.0.0.1:50000"
)

// rig is a server transport that opens a circuit for any sender, and a
// client transport with a circuit to the server, on a simulated network.
type rig struct {
	net      *simnet.Network
	srv, cli *circuit.Transport
	srvConns chan *circuit.Conn
	client   *circuit.Conn
	rec      *trace.Memory
}

func newRig(t *testing.T, cfg circuit.Config) *rig {
	t.Helper()
	r := &rig{net: simnet.New(1), srvConns: make(chan *circuit.Conn, 4), rec: &trace.Memory{}}
	spc, err := r.net.Listen(srvAddr)
	if err != nil {
		t.Fatal(err)
	}
	cpc, err := r.net.Listen(cliAddr)
	if err != nil {
		t.Fatal(err)
	}
	scfg := cfg
	scfg.Side = trace.Server
	scfg.Recorder = r.rec
	r.srv = circuit.NewTransport(spc, circuit.TransportConfig{
		Accept: func(from netip.AddrPort, d []byte) {
			c, err := r.srv.Open(from, scfg)
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			c.Inject(d)
			r.srvConns <- c
		},
	})
	r.cli = circuit.NewTransport(cpc, circuit.TransportConfig{})
	go r.srv.Serve()
	go r.cli.Serve()
	ccfg := cfg
	ccfg.Side = trace.Client
	ccfg.Recorder = r.rec
	r.client, err = r.cli.Open(netip.MustParseAddrPort(srvAddr), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cli.Close()
		r.srv.Close()
	})
	return r
}

func useCircuitCode(code uint32) *msg.UseCircuitCode {
	return &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{
		Code:      code,
		SessionID: ritual.MustParseUUID("11111111-2222-3333-4444-555555555555"),
		ID:        ritual.MustParseUUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
	}}
}

func TestReliableDeliveryAndAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := r.client.SendAcked(ctx, useCircuitCode(123456789)); err != nil {
			t.Fatalf("SendAcked: %v", err)
		}
		srv := <-r.srvConns
		in := <-srv.Inbox()
		u, ok := in.Message.(*msg.UseCircuitCode)
		if !ok || u.CircuitCode.Code != 123456789 {
			t.Fatalf("server got %T %+v", in.Message, in.Message)
		}
		if in.Flags&msg.FlagReliable == 0 {
			t.Fatal("reliable flag lost")
		}
		// And back: the server's reply rides to the client.
		if err := srv.SendAcked(ctx, &msg.RegionHandshakeReply{}); err != nil {
			t.Fatalf("server SendAcked: %v", err)
		}
		back := <-r.client.Inbox()
		if _, ok := back.Message.(*msg.RegionHandshakeReply); !ok {
			t.Fatalf("client got %T", back.Message)
		}
		if srv.Unacked() != 0 || r.client.Unacked() != 0 {
			t.Fatalf("unacked left: server %d client %d", srv.Unacked(), r.client.Unacked())
		}
		tracetest.ExpectOrder(t, r.rec.Events(),
			"[CLIENT] [UDP] SEND UseCircuitCode",
			"[SERVER] [UDP] RECV UseCircuitCode",
		)
		p, _ := tracetest.First[*trace.Packet](r.rec.Events())
		if v, _ := p.Fields.Get("CircuitCode"); v != "123456789" {
			t.Fatalf("summary CircuitCode = %q", v)
		}
	})
}

func TestResendUnderLossAndExactlyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{})
		ctx := t.Context()
		// Lose everything from the client at first: the packet must be resent.
		r.net.SetLink(cliAddr, srvAddr, simnet.Link{Loss: 1})
		done := make(chan error, 1)
		go func() { done <- r.client.SendAcked(ctx, useCircuitCode(7)) }()
		time.Sleep(1500 * time.Millisecond)
		r.net.SetLink(cliAddr, srvAddr, simnet.Link{Duplicate: 1})
		if err := <-done; err != nil {
			t.Fatalf("SendAcked: %v", err)
		}
		srv := <-r.srvConns
		<-srv.Inbox()
		time.Sleep(3 * time.Second)
		select {
		case in := <-srv.Inbox():
			t.Fatalf("delivered twice: %T seq %d", in.Message, in.Seq)
		default:
		}
		if s := r.client.Stats(); s.Resent == 0 {
			t.Fatalf("client stats %+v: no resend", s)
		}
		if s := srv.Stats(); s.Duplicates == 0 {
			t.Fatalf("server stats %+v: duplicate not seen", s)
		}
	})
}

func TestGiveUpAndDeadCircuit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{MaxResends: 3, Timeout: 20 * time.Second, Unacked: 16, PingInterval: -1})
		r.net.SetLink(cliAddr, srvAddr, simnet.Link{Loss: 1})
		err := r.client.SendAcked(t.Context(), useCircuitCode(1))
		if !errors.Is(err, circuit.ErrGaveUp) {
			t.Fatalf("SendAcked = %v, want ErrGaveUp", err)
		}
		// Many more reliable packets: the unacked set stays bounded.
		for range 100 {
			r.client.Send(useCircuitCode(2), true)
		}
		time.Sleep(100 * time.Millisecond)
		if n := r.client.Unacked(); n > 16 {
			t.Fatalf("unacked = %d, bound 16", n)
		}
		<-r.client.Done()
		if !errors.Is(r.client.Err(), circuit.ErrTimeout) {
			t.Fatalf("Err = %v, want ErrTimeout", r.client.Err())
		}
		if s := r.client.Stats(); s.ReliableLost == 0 {
			t.Fatalf("stats %+v", s)
		}
		var closed bool
		for _, ev := range r.rec.Events() {
			if c, ok := ev.(*trace.CircuitClosed); ok && c.Head().Side == trace.Client {
				closed = true
			}
		}
		if !closed {
			t.Fatal("no CIRCUIT CLOSED event")
		}
	})
}

func TestMalformedDatagramsAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{PingInterval: -1})
		if err := r.client.SendAcked(t.Context(), useCircuitCode(9)); err != nil {
			t.Fatal(err)
		}
		srv := <-r.srvConns
		<-srv.Inbox()
		// Garbage, a truncated header, an unknown number, a bad zero run.
		for _, d := range [][]byte{
			{0x00},
			{0x40, 0, 0, 0, 9, 0},
			{0x00, 0, 0, 0, 10, 0, 0xff, 0xff, 0xfe, 0xfe},
			{0x80, 0, 0, 0, 11, 0, 0xff, 0xff, 0x00},
		} {
			r.cli.WriteTo(d, netip.MustParseAddrPort(srvAddr))
		}
		time.Sleep(100 * time.Millisecond)
		if s := srv.Stats(); s.Dropped != 4 {
			t.Fatalf("dropped = %d, want 4 (stats %+v)", s.Dropped, s)
		}
		// The circuit still works.
		if err := r.client.SendAcked(t.Context(), useCircuitCode(10)); err != nil {
			t.Fatal(err)
		}
		drops := tracetest.All[*trace.Anomaly](r.rec.Events())
		if len(drops) < 4 || drops[0].Kind != trace.AnomalyDropped {
			t.Fatalf("anomalies = %+v", drops)
		}
	})
}

func TestPingAndGracefulClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{PingInterval: time.Second})
		if err := r.client.SendAcked(t.Context(), useCircuitCode(5)); err != nil {
			t.Fatal(err)
		}
		srv := <-r.srvConns
		time.Sleep(3 * time.Second)
		var pings, pongs int
		for _, p := range tracetest.All[*trace.Packet](r.rec.Events()) {
			if p.Dir == trace.Recv && p.Message == "CompletePingCheck" {
				pongs++
			}
			if p.Dir == trace.Send && p.Message == "StartPingCheck" {
				pings++
			}
		}
		if pings == 0 || pongs == 0 {
			t.Fatalf("pings %d, pongs %d", pings, pongs)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		srv.Send(&msg.LogoutReply{}, true)
		srv.CloseGracefully(ctx, "logout")
		if srv.Unacked() != 0 {
			t.Fatal("closed with unacked packets")
		}
		got := <-r.client.Inbox()
		if _, ok := got.Message.(*msg.LogoutReply); !ok {
			t.Fatalf("client got %T", got.Message)
		}
	})
}

func TestQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{OutboundQueue: 4, Unacked: 1, PingInterval: -1})
		r.net.SetLink(cliAddr, srvAddr, simnet.Link{Loss: 1})
		var full bool
		for range 20 {
			if err := r.client.Send(useCircuitCode(3), true); errors.Is(err, circuit.ErrQueueFull) {
				full = true
			}
		}
		if !full {
			t.Fatal("a 4-deep outbound queue took 20 messages")
		}
		r.client.Close("test")
		<-r.client.Done()
		if err := r.client.Send(useCircuitCode(3), true); !errors.Is(err, circuit.ErrClosed) {
			t.Fatalf("Send after close = %v", err)
		}
	})
}

func TestNoAppendedAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, circuit.Config{NoAppendedAcks: true, PingInterval: -1})
		ctx := t.Context()
		if err := r.client.SendAcked(ctx, useCircuitCode(1)); err != nil {
			t.Fatal(err)
		}
		srv := <-r.srvConns
		<-srv.Inbox()
		// A burst both ways: acks are owed while packets go out, yet none
		// rides on them.
		for range 20 {
			r.client.Send(useCircuitCode(2), true)
			srv.Send(&msg.RegionHandshakeReply{}, true)
		}
		time.Sleep(2 * time.Second)
		var acked int
		for _, p := range tracetest.All[*trace.Packet](r.rec.Events()) {
			if p.Dir == trace.Send && p.Acks > 0 {
				t.Fatalf("%s sent %s with %d appended acks", p.Side, p.Message, p.Acks)
			}
			if p.Dir == trace.Send && p.Message == "PacketAck" {
				acked++
			}
		}
		if acked == 0 || srv.Unacked() != 0 || r.client.Unacked() != 0 {
			t.Fatalf("PacketAcks %d, unacked server %d client %d", acked, srv.Unacked(), r.client.Unacked())
		}
	})
}
