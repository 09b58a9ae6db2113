package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ritual/metrics"
	"ritual/trace"
)

func TestHandler(t *testing.T) {
	ev := &metrics.Events{}
	ev.Record(&trace.EQPoll{})
	ev.Record(&trace.Anomaly{Kind: trace.AnomalyDropped})
	if ev.Count("eq.poll") != 1 || ev.Count("anomaly/DROPPED") != 1 || ev.Count("anomaly") != 0 {
		t.Fatalf("event counts: poll %d, dropped %d", ev.Count("eq.poll"), ev.Count("anomaly/DROPPED"))
	}
	reg, err := metrics.NewRegistry(metrics.NewPhases())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewRegistry(metrics.NewPhases(), metrics.NewPhases()); err == nil {
		t.Error("two collectors of the same metrics registered without an error")
	}
	srv := httptest.NewServer(metrics.Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"go_goroutines ", "process_start_time_seconds ", "# TYPE ritual_login_duration_seconds histogram"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s, want 405", resp.Status)
	}
}
