package metrics

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"ritual/trace"
)

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Family("ritual_logins_total", Counter, "Login requests answered, by outcome.\nSecond line \\ here.")
	w.Sample(2000, L("outcome", "ok"))
	w.Sample(3, L("outcome", `say "hi"`+"\n\\"), L("x", ""))
	w.One("ritual_circuits", Gauge, "Open circuits.", 12)
	w.One("odd", Gauge, "", math.Inf(1))
	w.One("odd2", Gauge, "", 1.5e-7)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `# HELP ritual_logins_total Login requests answered, by outcome.\nSecond line \\ here.
# TYPE ritual_logins_total counter
ritual_logins_total{outcome="ok"} 2000
ritual_logins_total{outcome="say \"hi\"\n\\",x=""} 3
# HELP ritual_circuits Open circuits.
# TYPE ritual_circuits gauge
ritual_circuits 12
# HELP odd 
# TYPE odd gauge
odd +Inf
# HELP odd2 
# TYPE odd2 gauge
odd2 1.5e-07
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	samples, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 5 || samples[1].Label("outcome") != `say "hi"`+"\n\\" || samples[1].Value != 3 || !math.IsInf(samples[3].Value, 1) {
		t.Errorf("parsed back %+v", samples)
	}
}

func TestWriterErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(w *Writer)
		want error
	}{
		{"bad metric name", func(w *Writer) { w.Family("9lives", Counter, "") }, ErrBadName},
		{"bad label name", func(w *Writer) { w.Family("a", Counter, ""); w.Sample(1, L("a-b", "")) }, ErrBadName},
		{"colon in label", func(w *Writer) { w.Family("a", Counter, ""); w.Sample(1, L("a:b", "")) }, ErrBadName},
		{"no family", func(w *Writer) { w.Sample(1) }, ErrFamily},
		{"family twice", func(w *Writer) { w.One("a", Gauge, "", 1); w.One("a", Gauge, "", 2) }, ErrFamily},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter(io.Discard)
			tc.f(w)
			if err := w.Flush(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	w := NewWriter(io.Discard)
	w.Family("a", "histogram", "")
	if w.Err() == nil {
		t.Error("histogram type accepted")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		samples int
		err     string // "" for none
	}{
		{"a 1\n", 1, ""},
		{"# HELP a x\n\n  a{b=\"c\" , d=\"e\",} 1 1700000000000\n", 1, ""},
		{"a{} 2\nb NaN\nc -Inf\n", 3, ""},
		{"a 1\nb\n", 1, "line 2"},
		{"a{b=\"c} 1\n", 0, "unterminated"},
		{"a{b=c} 1\n", 0, "not quoted"},
		{"a{b} 1\n", 0, "without '='"},
		{"a{b=\"\\t\"} 1\n", 0, "unknown escape"},
		{"a{b=\"x\" c=\"y\"} 1\n", 0, "want ',' or '}'"},
		{"a 1 2 3\n", 0, "optional timestamp"},
		{"a one\n", 0, "not a number"},
		{"a 0x10\n", 0, "not a number"},
		{"a 1 now\n", 0, "timestamp"},
		{"-a 1\n", 0, "invalid metric name"},
		{"a{1=\"\"} 1\n", 0, "invalid label name"},
		{"a{b=\"\\", 0, "escape at the end"},
	} {
		samples, err := Parse(strings.NewReader(tc.in))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrSyntax)):
			t.Errorf("Parse(%q) error %v, want ErrSyntax with %q", tc.in, err, tc.err)
		case len(samples) != tc.samples:
			t.Errorf("Parse(%q) = %d samples, want %d", tc.in, len(samples), tc.samples)
		}
	}
	if _, err := Parse(strings.NewReader("a " + strings.Repeat("1", MaxLine+1))); err == nil {
		t.Error("a line over MaxLine was read")
	}
}

func TestHandler(t *testing.T) {
	h := Handler(func(w *Writer) { w.One("up", Gauge, "Up.", 1) })
	for _, tc := range []struct {
		method string
		status int
		body   string
	}{
		{http.MethodGet, 200, "up 1\n"},
		{http.MethodHead, 200, ""},
		{http.MethodPost, 405, "use GET"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/metrics", nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) || (tc.body == "" && rec.Body.Len() != 0) {
			t.Errorf("%s: %d %q", tc.method, rec.Code, rec.Body)
		}
		if tc.status == 200 && rec.Header().Get("Content-Type") != ContentType {
			t.Errorf("%s: content type %q", tc.method, rec.Header().Get("Content-Type"))
		}
	}
	bad := Handler(func(w *Writer) { w.Sample(1) })
	rec := httptest.NewRecorder()
	bad.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("a collector error answered %d", rec.Code)
	}
}

func TestEvents(t *testing.T) {
	var e Events
	trace.Emit(&e, &trace.EQPoll{})
	trace.Emit(&e, &trace.EQPoll{})
	trace.Emit(&e, &trace.Anomaly{Kind: trace.AnomalyDropped})
	if e.Count("eq.poll") != 2 || e.Count("anomaly/DROPPED") != 1 || e.Count("eq.timeout") != 0 {
		t.Errorf("counts: poll %d, dropped %d", e.Count("eq.poll"), e.Count("anomaly/DROPPED"))
	}
}

func TestWriteProcess(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	WriteProcess(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	samples, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range samples {
		got[s.Name] = s.Value
	}
	if got["go_goroutines"] < 1 || got["process_start_time_seconds"] <= 0 {
		t.Errorf("process samples %v", got)
	}
	if runtime.GOOS == "linux" && got["process_resident_memory_bytes"] < 1<<20 {
		t.Errorf("resident memory %v on Linux", got["process_resident_memory_bytes"])
	}
}
