package metrics

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

var processStart = time.Now()

// goSamples are the runtime metrics WriteProcess reports.
var goSamples = []struct {
	key, name, typ, help string
}{
	{"/sched/goroutines:goroutines", "go_goroutines", Gauge, "Goroutines that currently exist."},
	{"/memory/classes/heap/objects:bytes", "go_memstats_heap_alloc_bytes", Gauge, "Bytes of allocated heap objects."},
	{"/memory/classes/total:bytes", "go_memstats_sys_bytes", Gauge, "Bytes of memory obtained from the OS by the Go runtime."},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", Counter, "Completed GC cycles."},
}

// WriteProcess writes the process's resident memory (where the system
// tells it), start time and a few Go runtime figures.
func WriteProcess(w *Writer) {
	if rss, ok := residentBytes(); ok {
		w.One("process_resident_memory_bytes", Gauge, "Resident memory size in bytes.", float64(rss))
	}
	w.One("process_start_time_seconds", Gauge, "Start time of the process since the Unix epoch in seconds.",
		float64(processStart.UnixNano())/1e9)
	samples := make([]metrics.Sample, len(goSamples))
	for i, g := range goSamples {
		samples[i].Name = g.key
	}
	metrics.Read(samples)
	for i, g := range goSamples {
		var v float64
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			v = float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			v = samples[i].Value.Float64()
		default:
			continue // not supported by this runtime
		}
		w.One(g.name, g.typ, g.help, v)
	}
}

// residentBytes reads the resident set size from /proc/self/statm (Linux).
func residentBytes() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
