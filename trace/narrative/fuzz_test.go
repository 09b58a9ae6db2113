package narrative_test

import (
	"bytes"
	"errors"
	"testing"

	"ritual/trace"
	"ritual/trace/narrative"
)

// FuzzRender reads a JSON-lines event log, as `ritual` writes and reads
// it, and tells its story. The property: no panic, and the same log
// always tells the same story.
func FuzzRender(f *testing.F) {
	for _, st := range streams {
		var buf bytes.Buffer
		sink := trace.NewWriterSink(&buf, trace.ShowSecrets)
		for _, ev := range st.events() {
			sink.Record(ev)
		}
		if err := sink.Flush(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"event":"udp.packet","time":"2026-11-25T12:00:00Z","side":"SERVER","layer":"UDP","dir":"SEND","message":"LayerData","fields":[{"key":"patches","value":"-1"}]}`))
	f.Add([]byte(`{"event":"ritual.stall","side":"CLIENT","layer":"UDP","step":-9,"waited_ns":-9223372036854775808}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := trace.ReadJSONL(bytes.NewReader(data))
		if err != nil {
			return
		}
		var a, b bytes.Buffer
		errA := narrative.Render(&a, evs, narrative.Options{})
		errB := narrative.Render(&b, evs, narrative.Options{})
		if (errA == nil) != (errB == nil) || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatal("the same events told two stories")
		}
		if errA != nil && !errors.Is(errA, narrative.ErrNoEvents) {
			t.Fatalf("unexpected error %v", errA)
		}
	})
}
