package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestServeBadLimits(t *testing.T) {
	for _, args := range [][]string{
		{"--max-conns-per-address", "-1"},
		{"--summary-interval", "-1s"},
		{"--read-timeout", "0s"},
		{"--address-throttle", "-2"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0"}, args...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), "must") {
			t.Errorf("serve %v: exit %d, stderr %q; want 2 and a message", args, code, errb.String())
		}
	}
}
