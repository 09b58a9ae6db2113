package narrative_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/narrative"
	"ritual/trace/narrative/narrativetest"
)

// TestRegionChangesOutOfPlace: region changes with no episode begun, with
// unknown kinds or no endpoint, are still told, in the part of their
// layer, and nothing is lost or doubled.
func TestRegionChangesOutOfPlace(t *testing.T) {
	h := trace.Header{Side: trace.Client, Layer: trace.UDP, From: trace.EndClient, To: trace.EndClient}
	at := func(ms int, rc trace.RegionChange) trace.Event {
		rc.Header = h
		rc.Time = narrativetest.Start.Add(time.Duration(ms) * time.Millisecond)
		return &rc
	}
	evs := []trace.Event{
		at(1, trace.RegionChange{Kind: trace.TeleportFinish, Handle: 1, Remote: "127.0.0.1:9001"}),
		at(2, trace.RegionChange{Kind: "something.new", Reason: "a kind this story does not know"}),
		at(3, trace.RegionChange{Kind: trace.ChildReady, End: "region 7,7"}),
		at(4, trace.RegionChange{Kind: trace.TeleportRequest}),
		at(5, trace.RegionChange{Kind: trace.TeleportFailed, Reason: "refused"}),
	}
	parts := narrative.Classify(evs)
	want := []narrative.Part{narrative.PartWorld, narrative.PartWorld, narrative.PartWorld, narrative.PartRegions, narrative.PartRegions}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("event %d in part %d, want %d", i, parts[i], want[i])
		}
	}
	if eps := narrative.Episodes(evs); len(eps) != 1 || eps[0] != "A Teleport (UDP, EQ)" {
		t.Errorf("episodes %q", eps)
	}
	var b bytes.Buffer
	if err := narrative.Render(&b, evs, narrative.Options{}); err != nil {
		t.Fatal(err)
	}
	story := b.String()
	for _, want := range []string{"TELEPORT FINISH", "SOMETHING NEW", "`something.new`", "CHILD READY", "## Part V: A Teleport (UDP, EQ)", "TELEPORT FAILED", "refused"} {
		if !strings.Contains(story, want) {
			t.Errorf("story lacks %q:\n%s", want, story)
		}
	}
}
