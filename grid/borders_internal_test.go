package grid

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"ritual"
	"ritual/sim"
)

// TestBordersNeverBlock: news for regions of other processes is queued
// without waiting; what finds the queue full is dropped and counted, and
// news for a region that is not running is dropped and counted too.
func TestBordersNeverBlock(t *testing.T) {
	d := &directory{cfg: Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	// No dispatcher: the queue fills.
	b := &borders{d: d, in: make(chan borderCall, borderQueue), peers: map[string]chan borderCall{}, stop: make(chan struct{})}
	d.borders = b
	start := time.Now()
	for range borderQueue + 5 {
		d.RelayChat(ritual.HandleFromGrid(7, 7), sim.ChatLine{Text: "hi"})
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("queueing took %v", took)
	}
	if got := b.dropped.Load(); got != 5 {
		t.Errorf("dropped %d, want 5", got)
	}
	b.close()

	// With the dispatcher, news for a region the grid does not run is
	// dropped.
	d.borders = newBorders(d)
	defer d.borders.close()
	d.UpdateChildView(ritual.HandleFromGrid(7, 7), sim.ChildView{Agent: ritual.NewUUID()})
	for deadline := time.Now().Add(5 * time.Second); d.borders.dropped.Load() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d, want 1", d.borders.dropped.Load())
		}
	}
}
