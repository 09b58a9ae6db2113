package proxy

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ritual/protocol/msg"
)

// BenchmarkRelayDatagram measures the latency one datagram takes from a
// sender's socket to the receiver's on loopback: direct, and through a
// relay socket (forwarded, then decoded and recorded) in each direction.
// added-p50-µs is the median relayed time minus the median direct time;
// allocs/op counts every goroutine's allocations, the relay's decoding and
// recording included.
func BenchmarkRelayDatagram(b *testing.B) {
	// A typical reliable, zerocoded message from the region.
	cam := &msg.AgentMovementComplete{}
	cam.SimData.ChannelVersion = []byte("Ritual Server\x00")
	payload, err := msg.EncodePacket(nil, msg.FlagReliable|msg.FlagZerocoded, 5, cam, nil)
	if err != nil {
		b.Fatal(err)
	}
	var direct time.Duration
	b.Run("direct", func(b *testing.B) {
		direct = measure(b, func(f *relayFixture) (net.PacketConn, net.PacketConn, netip.AddrPort) {
			return f.client, f.region, addrPort(f.region.LocalAddr())
		}, payload)
	})
	for _, dir := range []string{"client-to-region", "region-to-client"} {
		b.Run(dir, func(b *testing.B) {
			p50 := measure(b, func(f *relayFixture) (net.PacketConn, net.PacketConn, netip.AddrPort) {
				// The relay learns its client from UseCircuitCode.
				send(b, f.client, f.rl.public, ucc(b, 42))
				recv(b, f.region, time.Second)
				if dir == "client-to-region" {
					return f.client, f.region, f.rl.public
				}
				return f.region, f.client, f.rl.public
			}, payload)
			b.ReportMetric(float64(p50-direct)/1e3, "added-p50-µs")
		})
	}
}

// measure sends payload b.N times from one socket to another (waiting for
// each) and reports the median and 99th percentile; it returns the median.
func measure(b *testing.B, setup func(*relayFixture) (from, to net.PacketConn, dst netip.AddrPort), payload []byte) time.Duration {
	f := newRelayFixture(b)
	from, to, dst := setup(f)
	buf := make([]byte, 65536)
	dstAddr := net.UDPAddrFromAddrPort(dst)
	var times []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := from.WriteTo(payload, dstAddr); err != nil {
			b.Fatal(err)
		}
		_ = to.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := to.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	p50, p99 := times[len(times)/2], times[len(times)*99/100]
	b.ReportMetric(float64(p50)/1e3, "p50-µs")
	b.ReportMetric(float64(p99)/1e3, "p99-µs")
	return p50
}
