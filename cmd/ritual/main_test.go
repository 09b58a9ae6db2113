package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"nosuch"}, &out, &errb); code != 2 {
		t.Fatalf("exit = %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "nosuch"`) {
		t.Fatalf("stderr = %q", errb.String())
	}
}

func TestUsageListsDemo(t *testing.T) {
	var out, errb bytes.Buffer
	run([]string{"help"}, &out, &errb)
	if !strings.Contains(errb.String(), "demo") {
		t.Fatalf("usage lacks demo: %q", errb.String())
	}
}
