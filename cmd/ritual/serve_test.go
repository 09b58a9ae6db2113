package main

import (
	"bytes"
	"testing"
)

func TestServeBadLimits(t *testing.T) {
	for _, args := range [][]string{
		{"--max-conns-per-address", "-1"},
		{"--summary-interval", "-1s"},
		{"--read-timeout", "0s"},
		{"--address-throttle", "-2"},
		{"--trusted-proxy", "10.0.0.0/33"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, args...), &out, &errb)
		if code != 2 || errb.Len() == 0 {
			t.Errorf("serve %v: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes(" 10.0.0.0/8, 192.0.2.7 ,::ffff:192.0.2.8, 2001:db8::/32,10.1.2.3/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "192.0.2.8/32", "2001:db8::/32", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %v, want %s", i, got[i], want[i])
		}
	}
	if _, err := parsePrefixes("proxy.example.org"); err == nil {
		t.Error("a host name was accepted")
	}
	if p, err := parsePrefixes(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v, %v", p, err)
	}
}
