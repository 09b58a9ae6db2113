package grid_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"ritual/account"
	"ritual/client"
	"ritual/grid"
	"ritual/login"
	"ritual/store"
)

// cheapKDF keeps account creation and login fast in tests.
var cheapKDF = account.Params{Memory: 64, Time: 1, Threads: 1}

func addAccounts(t *testing.T, srv *grid.Server, pw string, names ...string) {
	t.Helper()
	h, err := account.Hash(pw, cheapKDF)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		first, last, _ := strings.Cut(n, " ")
		if err := srv.Store.Accounts().Create(t.Context(), &store.Account{First: first, Last: last, PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
}

// scrape reads /metrics as samples keyed name{label=value,...}.
func scrape(t *testing.T, srv *grid.Server) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %s, %q", resp.Status, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetName()+"="+l.GetValue())
			}
			key := name
			if len(parts) > 0 {
				key += "{" + strings.Join(parts, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Untyped != nil:
				out[key] = m.Untyped.GetValue()
			case m.Histogram != nil:
				// A histogram is read as its count and sum.
				cut := len(name)
				out[key[:cut]+"_count"+key[cut:]] = float64(m.Histogram.GetSampleCount())
				out[key[:cut]+"_sum"+key[cut:]] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

func botConfig(srv *grid.Server, name, pw string) client.Config {
	first, last, _ := strings.Cut(name, " ")
	return client.Config{
		LoginURI: srv.LoginURI(), First: first, Last: last, Password: pw,
		AgentUpdateInterval: 20 * time.Millisecond,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestMetricsAndLimits drives a grid through logins, a full region, a
// throttled address and a logout, and reads each of them back from
// /metrics.
func TestMetricsAndLimits(t *testing.T) {
	srv := start(t, grid.Config{
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", MaxCircuits: 2,
		AddressThrottle: login.Throttle{Burst: 2, Every: time.Hour},
	})
	defer stop(t, srv)
	const pw = "secret"
	addAccounts(t, srv, pw, "Ann Bot", "Ben Bot", "Cat Bot")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	var sessions []*client.Session
	for _, name := range []string{"Ann Bot", "Ben Bot"} {
		s, err := client.Login(ctx, botConfig(srv, name, pw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer s.Close()
		if err := s.WaitRitual(ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sessions = append(sessions, s)
	}
	// The region holds two circuits: the third login is refused, and the
	// client is told why.
	_, err := client.Login(ctx, botConfig(srv, "Cat Bot", pw))
	f, ok := errors.AsType[*login.Failure](err)
	if !ok || f.Reason != login.ReasonPresence || !strings.Contains(f.Message, "full") {
		t.Fatalf("third login with MaxCircuits 2: %v, want a presence refusal saying the region is full", err)
	}
	// Two wrong passwords from this address, then even a right one is
	// refused.
	for range 2 {
		_, err := client.Login(ctx, botConfig(srv, "Cat Bot", "wrong"))
		if f, ok := errors.AsType[*login.Failure](err); !ok || f.Reason != login.ReasonKey {
			t.Fatalf("wrong password: %v", err)
		}
	}
	_, err = client.Login(ctx, botConfig(srv, "Cat Bot", pw))
	if f, ok := errors.AsType[*login.Failure](err); !ok || !strings.Contains(f.Message, "Too many failed logins from your address") {
		t.Fatalf("after two failures from the address: %v", err)
	}

	if res, err := sessions[0].Logout(ctx); err != nil || !res.ReplyReceived {
		t.Fatalf("logout: %+v, %v", res, err)
	}
	var m map[string]float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		m = scrape(t, srv)
		if m["ritual_circuits_closed_total{reason=logout}"] == 1 && m["ritual_messages_total{direction=in,message=AgentUpdate}"] >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logout or AgentUpdates never counted:\n%v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for key, want := range map[string]float64{
		"ritual_logins_total{outcome=ok}":                                    2,
		"ritual_logins_total{outcome=region_full}":                           1,
		"ritual_logins_total{outcome=bad_credentials}":                       2,
		"ritual_logins_total{outcome=throttled_address}":                     1,
		"ritual_circuit_refusals_total{reason=region_full}":                  1,
		"ritual_circuit_refusals_total{reason=unknown_code}":                 0,
		"ritual_circuits_opened_total":                                       2,
		"ritual_circuits":                                                    1,
		"ritual_agents":                                                      1,
		"ritual_logouts_total":                                               1,
		"ritual_seed_requests_total":                                         2,
		"ritual_circuits_closed_total{reason=timeout}":                       0,
		"ritual_messages_total{direction=in,message=UseCircuitCode}":         2,
		"ritual_messages_total{direction=out,message=AgentMovementComplete}": 2,
		"ritual_messages_total{direction=out,message=LogoutReply}":           1,
		// Every answered login is timed; every agent's steps are timed
		// once, and the one logout.
		"ritual_login_duration_seconds_count":            6,
		"ritual_phase_seconds_count{phase=handshake}":    2,
		"ritual_phase_seconds_count{phase=capabilities}": 2,
		"ritual_phase_seconds_count{phase=movement}":     2,
		"ritual_phase_seconds_count{phase=first_object}": 2,
		"ritual_phase_seconds_count{phase=terrain}":      2,
		"ritual_phase_seconds_count{phase=logout}":       1,
	} {
		if got, ok := m[key]; !ok || got != want {
			t.Errorf("%s = %v (present %t), want %v", key, got, ok, want)
		}
	}
	for _, key := range []string{
		"ritual_packets_total{direction=in}", "ritual_packets_total{direction=out}",
		"ritual_bytes_total{direction=out}", "ritual_acks_total{direction=in}",
		"ritual_messages_total{direction=out,message=LayerData}", "ritual_eq_polls_total",
		"process_resident_memory_bytes", "go_goroutines", "go_memstats_heap_alloc_bytes",
		"process_start_time_seconds", "ritual_login_duration_seconds_sum", "ritual_phase_seconds_sum{phase=terrain}",
	} {
		if m[key] <= 0 {
			t.Errorf("%s = %v, want > 0", key, m[key])
		}
	}
	for _, key := range []string{"ritual_resends_total", "ritual_drops_total{reason=oversized}", "ritual_drops_total{reason=circuit}",
		"ritual_chat_total{outcome=heard}", "ritual_instant_messages_total{outcome=stored_offline}", "ritual_world_passes_total{outcome=skipped_behind}",
		"ritual_world_frames_total", "ritual_world_updates_total{kind=full}"} {
		if _, ok := m[key]; !ok {
			t.Errorf("%s missing", key)
		}
	}
	// Outgoing LayerData: every patch went to both agents.
	if got := m["ritual_messages_total{direction=out,message=LayerData}"]; int(got)%2 != 0 {
		t.Errorf("LayerData out %v is not the same for two agents", got)
	}
	if t.Failed() {
		t.Logf("metrics: %v", fmt.Sprint(m))
	}
}

func TestNoMetrics(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NoMetrics: true})
	defer stop(t, srv)
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("GET /metrics answered %s with NoMetrics", resp.Status)
	}
}
