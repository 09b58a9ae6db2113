package observatory_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ritual"
	"ritual/observatory"
	"ritual/trace"
	"ritual/trace/narrative/narrativetest"
)

func serverRitual() []trace.Event { return narrativetest.Only(narrativetest.Ritual(), trace.Server) }

// feed records evs with their times moved to now, as a live server would.
func feed(l *observatory.Live, evs []trace.Event) {
	shift := time.Since(narrativetest.Start)
	for _, ev := range evs {
		ev.Head().Time = ev.Head().Time.Add(shift)
		l.Record(ev)
	}
}

func only(t *testing.T, l *observatory.Live) observatory.Summary {
	t.Helper()
	ss := l.Sessions()
	if len(ss) != 1 {
		t.Fatalf("%d sessions, want 1: %+v", len(ss), ss)
	}
	return ss[0]
}

func TestLiveSession(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{})
	defer l.Close()
	evs := serverRitual()
	var upToLogout []trace.Event
	for _, ev := range evs {
		if p, ok := ev.(*trace.Packet); ok && p.Message == "LogoutRequest" {
			break
		}
		upToLogout = append(upToLogout, ev)
	}
	feed(l, upToLogout)
	s := only(t, l)
	if s.Agent != "Test User" || s.State != observatory.StateComplete || !strings.Contains(s.Step, "the ritual completes") {
		t.Fatalf("before logout: %+v", s)
	}
	feed(l, evs[len(upToLogout):])
	if s := only(t, l); s.State != observatory.StateLoggedOut {
		t.Fatalf("after logout: %+v", s)
	}
	if n := l.Unattributed(); n != 0 {
		t.Errorf("%d events of the ritual not attributed to its session", n)
	}

	srv := httptest.NewServer(l)
	defer srv.Close()
	list := get(t, srv.URL+"/observatory/", http.StatusOK)
	wellFormed(t, []byte(list))
	for _, want := range []string{"Test User", `data-state="logged out"`, `name="name"`, `<option value="stalled">`} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if got := get(t, srv.URL+"/observatory/?name=nobody", http.StatusOK); strings.Contains(got, "Test User") {
		t.Error("the name filter kept a session it should not")
	}
	if got := get(t, srv.URL+"/observatory/?state=stalled", http.StatusOK); strings.Contains(got, "Test User") {
		t.Error("the state filter kept a session it should not")
	}
	page := get(t, srv.URL+"/observatory/s/"+s.ID, http.StatusOK)
	wellFormed(t, []byte(page))
	for _, want := range []string{`<svg class="seq"`, "RegionHandshakeReply", `class="phase done" data-phase="handshake"`} {
		if !strings.Contains(page, want) {
			t.Errorf("session page lacks %q", want)
		}
	}
	if strings.Contains(page, narrativetest.Session) {
		t.Error("the session page shows the session id")
	}
	var js []observatory.Summary
	if err := json.Unmarshal([]byte(get(t, srv.URL+"/observatory/sessions.json", http.StatusOK)), &js); err != nil || len(js) != 1 {
		t.Errorf("sessions.json: %v, %d", err, len(js))
	}
	get(t, srv.URL+"/observatory/s/999", http.StatusNotFound)
}

func get(t *testing.T, url string, status int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %s, want %d", url, resp.Status, status)
	}
	return string(b)
}

// TestLiveStall: a session that stops after its login is diagnosed once
// StallAfter has passed, and its page says why.
func TestLiveStall(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{StallAfter: 50 * time.Millisecond})
	defer l.Close()
	var login []trace.Event
	for _, ev := range serverRitual() {
		if _, ok := ev.(*trace.CircuitCheck); ok {
			break
		}
		login = append(login, ev)
	}
	feed(l, login)
	deadline := time.Now().Add(5 * time.Second)
	for only(t, l).State != observatory.StateStalled {
		if time.Now().After(deadline) {
			t.Fatalf("never stalled: %+v", only(t, l))
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv := httptest.NewServer(l)
	defer srv.Close()
	page := get(t, srv.URL+"/observatory/s/"+only(t, l).ID, http.StatusOK)
	if !strings.Contains(page, `id="diagnosis"`) || !strings.Contains(page, "the client never sent UseCircuitCode") {
		t.Errorf("the stalled session's page lacks its diagnosis")
	}
}

func TestLiveBounded(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{MaxSessions: 4, MaxEvents: 20})
	defer l.Close()
	now := time.Now()
	for i := range 10 {
		name := fmt.Sprintf("Bot%d", i)
		agent := ritual.UUID{byte(i + 1)}
		srvH := func(l trace.Layer) trace.Header { return trace.Header{Time: now, Side: trace.Server, Layer: l} }
		l.Record(&trace.LoginRequest{Header: srvH(trace.Login), First: name, Last: "Bot"})
		l.Record(&trace.LoginAuth{Header: srvH(trace.Login), OK: true, Agent: agent, First: name, Last: "Bot"})
		l.Record(&trace.CircuitProvision{Header: srvH(trace.Login), Agent: agent, Code: uint32(100 + i)})
		l.Record(&trace.LoginResponse{Header: srvH(trace.Login), OK: true, Agent: agent, CircuitCode: uint32(100 + i)})
	}
	ss := l.Sessions()
	if len(ss) != 4 || ss[0].Agent != "Bot9 Bot" {
		t.Fatalf("kept %d sessions, newest %q; want 4, Bot9 Bot", len(ss), ss[0].Agent)
	}
	if _, n := l.Older(); n != 6 {
		t.Errorf("%d older sessions summarised, want 6", n)
	}
	// A long session keeps MaxEvents events and counts the rest.
	for range 1000 {
		l.Record(&trace.Packet{Header: trace.Header{Time: now, Side: trace.Server, Layer: trace.UDP}, Dir: trace.Recv, Message: "AgentUpdate", Circuit: 109})
	}
	s := l.Sessions()[0]
	if s.Events > 25 || s.Events+s.Folded != 1004 {
		t.Errorf("kept %d events and counted %d, want at most 25 kept of 1004", s.Events, s.Folded)
	}
	// Events of a summarised session are counted, not kept.
	before := l.Unattributed()
	l.Record(&trace.Packet{Header: trace.Header{Time: now, Side: trace.Server}, Message: "AgentUpdate", Circuit: 100})
	if l.Unattributed() != before+1 {
		t.Error("an event of a forgotten session was not counted as unattributed")
	}
}

func TestLiveRefused(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{})
	defer l.Close()
	feed(l, narrativetest.Only(narrativetest.LoginRefused(), trace.Server))
	if s := only(t, l); s.State != observatory.StateRefused {
		t.Fatalf("%+v", s)
	}
}

func TestLiveToken(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{Token: "s3cret"})
	defer l.Close()
	srv := httptest.NewServer(l)
	defer srv.Close()
	get(t, srv.URL+"/observatory/", http.StatusUnauthorized)
	get(t, srv.URL+"/observatory/?token=wrong", http.StatusUnauthorized)
	req, _ := http.NewRequest("GET", srv.URL+"/observatory/", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bearer: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// ?token= sets a cookie and drops the token from the address.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(srv.URL + "/observatory/?token=s3cret&state=complete")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(resp.Header.Get("Location"), "s3cret") || len(resp.Cookies()) != 1 {
		t.Fatalf("?token=: %s, Location %q, %d cookies", resp.Status, resp.Header.Get("Location"), len(resp.Cookies()))
	}
	req, _ = http.NewRequest("GET", srv.URL+resp.Header.Get("Location"), nil)
	req.AddCookie(resp.Cookies()[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("cookie: %v %v", resp.Status, err)
	}
	resp.Body.Close()
}

func TestAccess(t *testing.T) {
	for _, tt := range []struct {
		listen, token string
		on            bool
	}{
		{"127.0.0.1:9000", "", true},
		{"[::1]:9000", "", true},
		{"localhost:9000", "", true},
		{"0.0.0.0:9000", "", false},
		{":9000", "", false},
		{"192.0.2.10:9000", "", false},
		{"192.0.2.10:9000", "t", true},
	} {
		if on, why := observatory.Access(tt.listen, tt.token); on != tt.on || why == "" {
			t.Errorf("Access(%q, %q) = %v, %q; want %v", tt.listen, tt.token, on, why, tt.on)
		}
	}
}

// TestLiveStream: the session page's stream sends the page as it grows,
// and "end" when the session ends.
func TestLiveStream(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{})
	defer l.Close()
	evs := serverRitual()
	feed(l, evs[:3])
	srv := httptest.NewServer(l)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/observatory/s/"+only(t, l).ID+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	rd := bufio.NewReader(resp.Body)
	next := func() (string, string) {
		var ev, data string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			case line == "" && ev != "":
				var d struct{ HTML string }
				if err := json.Unmarshal([]byte(data), &d); err != nil {
					t.Fatal(err)
				}
				return ev, d.HTML
			}
		}
	}
	if ev, html := next(); ev != "update" || !strings.Contains(html, "login_to_simulator") {
		t.Fatalf("first: %s %.100q", ev, html)
	}
	go feed(l, evs[3:])
	for {
		ev, html := next()
		if ev == "end" {
			if !strings.Contains(html, "LogoutRequest") {
				t.Errorf("the final page lacks the logout")
			}
			break
		}
	}
}

// BenchmarkLiveRecord: what the observatory costs a circuit per packet
// (a background AgentUpdate of a kept session, many circuits at once).
func BenchmarkLiveRecord(b *testing.B) {
	l := observatory.NewLive(observatory.LiveConfig{})
	defer l.Close()
	now := time.Now()
	const sessions = 200
	for i := range sessions {
		agent := ritual.UUID{byte(i), byte(i >> 8), 1}
		h := trace.Header{Time: now, Side: trace.Server, Layer: trace.Login}
		name := fmt.Sprintf("Bot%d", i)
		l.Record(&trace.LoginRequest{Header: h, First: name, Last: "Bot"})
		l.Record(&trace.LoginAuth{Header: h, OK: true, Agent: agent, First: name, Last: "Bot"})
		l.Record(&trace.CircuitProvision{Header: h, Agent: agent, Code: uint32(i + 1)})
		l.Record(&trace.LoginResponse{Header: h, OK: true, Agent: agent, CircuitCode: uint32(i + 1)})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			l.Record(&trace.Packet{Header: trace.Header{Time: now, Side: trace.Server, Layer: trace.UDP}, Dir: trace.Recv, Message: "AgentUpdate", Circuit: uint32(i%sessions + 1)})
		}
	})
}

// TestLiveStreamOutlivesWriteTimeout: a server's WriteTimeout (the grid
// sets one) does not cut a page's event stream.
func TestLiveStreamOutlivesWriteTimeout(t *testing.T) {
	l := observatory.NewLive(observatory.LiveConfig{})
	defer l.Close()
	evs := serverRitual()
	feed(l, evs[:3])
	srv := httptest.NewUnstartedServer(l)
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/observatory/s/"+only(t, l).ID+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(500 * time.Millisecond)
	go feed(l, evs[3:])
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended before the session did: %v", err)
		}
		if line == "event: end\n" {
			return
		}
	}
}
