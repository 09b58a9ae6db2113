// Package tracetest helps tests assert what the observer saw: that probe
// tags appear in an expected order, and that events carry expected values.
package tracetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"ritual/trace"
)

// Tags returns the tag of every event, in order.
func Tags(events []trace.Event) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = trace.Tag(ev)
	}
	return out
}

// InOrder checks that the given tags appear in events in that order (other
// events may come between them). It returns nil or an error naming the
// first tag not found after the previous one.
func InOrder(events []trace.Event, tags ...string) error {
	i := 0
	for _, want := range tags {
		found := false
		for ; i < len(events); i++ {
			if trace.Tag(events[i]) == want {
				found = true
				i++
				break
			}
		}
		if !found {
			return fmt.Errorf("tag %q not found in order; saw:\n  %s", want, strings.Join(Tags(events), "\n  "))
		}
	}
	return nil
}

// ExpectOrder fails t unless the tags appear in events in that order.
func ExpectOrder(t testing.TB, events []trace.Event, tags ...string) {
	t.Helper()
	if err := InOrder(events, tags...); err != nil {
		t.Fatal(err)
	}
}

// First returns the first event of type E, and whether there was one.
func First[E trace.Event](events []trace.Event) (E, bool) {
	for _, ev := range events {
		if e, ok := ev.(E); ok {
			return e, true
		}
	}
	var zero E
	return zero, false
}

// All returns every event of type E, in order.
func All[E trace.Event](events []trace.Event) []E {
	var out []E
	for _, ev := range events {
		if e, ok := ev.(E); ok {
			out = append(out, e)
		}
	}
	return out
}

// WaitFor waits until pred holds for the events recorded in m, or fails t
// after timeout, listing what was seen.
func WaitFor(t testing.TB, m *trace.Memory, timeout time.Duration, what string, pred func([]trace.Event) bool) []trace.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := m.Changed()
		evs := m.Events()
		if pred(evs) {
			return evs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s; saw:\n  %s", timeout, what, strings.Join(Tags(m.Events()), "\n  "))
			return nil
		}
	}
}
