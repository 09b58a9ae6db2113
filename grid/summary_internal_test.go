package grid

import "testing"

func TestRefusalsString(t *testing.T) {
	for _, tc := range []struct {
		r    refusals
		want string
	}{
		{refusals{badCredentials: 4812, addresses: 3, noCircuit: 61844},
			"refused 4,812 logins for bad credentials from 3 addresses; dropped 61,844 datagrams with no circuit"},
		{refusals{badCredentials: 1, addresses: 1}, "refused 1 login for bad credentials from 1 address"},
		{refusals{badCredentials: 5, throttled: 195, malformed: 2, addresses: 4096, addressesMore: true},
			"refused 5 logins for bad credentials, 195 for too many failures and 2 that could not be read from more than 4,096 addresses"},
		{refusals{badCredentials: 1, malformed: 1, addresses: 2},
			"refused 1 login for bad credentials and 1 that could not be read from 2 addresses"},
		{refusals{throttled: 1000000, addresses: 2}, "refused 1,000,000 logins for too many failures from 2 addresses"},
		{refusals{connsRefused: 1, oversized: 1}, "refused 1 connection over the per-address cap; dropped 1 datagram too large"},
		{refusals{noCircuit: 10, oversized: 2, queueFull: 999, useRefused: 7, unknownCaps: 1234},
			"dropped 10 datagrams with no circuit, 2 too large and 999 on full circuit queues; refused 7 UseCircuitCode; answered 1,234 requests for unknown capabilities"},
		{refusals{}, ""},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.r, got, tc.want)
		}
		if tc.r.any() != (tc.want != "") {
			t.Errorf("%+v: any() = %t", tc.r, tc.r.any())
		}
	}
}

func TestRefusalsSince(t *testing.T) {
	prev := refusals{badCredentials: 10, noCircuit: 100, addresses: 9}
	now := refusals{badCredentials: 15, noCircuit: 100, unknownCaps: 3, addresses: 2}
	d := now.since(prev)
	if want := (refusals{badCredentials: 5, unknownCaps: 3, addresses: 2}); d != want {
		t.Errorf("since = %+v, want %+v", d, want)
	}
	// A counter that went backwards (never expected) reads as zero.
	if d := prev.since(now); d.badCredentials != 0 || d.unknownCaps != 0 {
		t.Errorf("backwards: %+v", d)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 61844: "61,844", 1234567: "1,234,567", 18446744073709551615: "18,446,744,073,709,551,615"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
