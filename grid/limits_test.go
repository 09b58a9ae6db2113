package grid_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"ritual"
	"ritual/caps"
	"ritual/grid"
	"ritual/login"
	"ritual/protocol/llsd"
)

// fromAddr is an HTTP client whose connections come from the loopback
// address src: every address of 127.0.0.0/8 reaches a grid listening on
// 127.0.0.1, so tests can play several hosts.
func fromAddr(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 30 * time.Second}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: d.DialContext}}
}

// rawFrom opens a TCP connection to the grid's HTTP port from src.
func rawFrom(t *testing.T, srv *grid.Server, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func loginFrom(ctx context.Context, srv *grid.Server, src, name, pw string) (*login.Response, error) {
	first, last, _ := strings.Cut(name, " ")
	return login.Login(ctx, login.Params{URI: srv.LoginURI(), First: first, Last: last, Password: pw, HTTPClient: fromAddr(src)})
}

// readUntilClosed reads c until the grid closes it and returns what it
// read and how long that took; it fails if c is still open after limit.
func readUntilClosed(t *testing.T, c net.Conn, limit time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	got, err := io.ReadAll(c)
	el := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v (read %q)", el, got)
	}
	return string(got), el
}

// trickle writes one byte of body to c every gap until stop closes.
func trickle(c net.Conn, gap time.Duration, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(gap):
		}
		if _, err := c.Write([]byte{'<'}); err != nil {
			return
		}
	}
}

// TestSlowClientsAreClosed: headers or a body sent a byte at a time no
// longer hold a connection open past the read limits.
func TestSlowClientsAreClosed(t *testing.T) {
	const headerLimit, readLimit = 300 * time.Millisecond, 800 * time.Millisecond
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		ReadHeaderTimeout: headerLimit, ReadTimeout: readLimit})
	defer stop(t, srv)
	for _, tc := range []struct {
		name, head string
		limit      time.Duration
	}{
		{"slow body", "POST / HTTP/1.1\r\nHost: grid\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n", readLimit},
		{"slow headers", "POST / HTTP/1.1\r\nHost: grid\r\nX-Slow: ", headerLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawFrom(t, srv, "127.0.0.1")
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			defer close(done)
			go trickle(c, 50*time.Millisecond, done)
			got, el := readUntilClosed(t, c, 20*tc.limit)
			t.Logf("closed after %v (limit %v): %q", el.Round(time.Millisecond), tc.limit, firstLine(got))
		})
	}
	// A request sent at a normal pace is still answered.
	if _, err := loginFrom(t.Context(), srv, "127.0.0.1", "Nobody Here", "pw"); !isFailure(err) {
		t.Fatalf("a login after the slow clients: %v", err)
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }

func isFailure(err error) bool { _, ok := errors.AsType[*login.Failure](err); return ok }

// eqURL grants an agent capabilities and returns its event queue's URL.
func eqURL(t *testing.T, srv *grid.Server, agent ritual.UUID) string {
	t.Helper()
	seed, err := srv.Caps.Grant(caps.Agent{ID: agent, Session: ritual.NewUUID(), First: "Eq", Last: "Tester"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := llsd.MarshalXML([]any{caps.EventQueueGet})
	resp, err := http.Post(seed, "application/llsd+xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v, err := llsd.UnmarshalXML(b)
	if err != nil {
		t.Fatalf("seed answer %s: %v", b, err)
	}
	u, _ := v.(map[string]any)[caps.EventQueueGet].(string)
	if u == "" {
		t.Fatalf("seed granted no event queue: %s", b)
	}
	return u
}

// poll sends one EventQueueGet and returns its status and body.
func poll(t *testing.T, url string, ack any) (int, string, time.Duration) {
	t.Helper()
	body, _ := llsd.MarshalXML(map[string]any{"ack": ack, "done": false})
	start := time.Now()
	resp, err := http.Post(url, "application/llsd+xml", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start)
}

// TestEventQueueOutlivesReadTimeout: a poll is held for the event queue's
// own timeout, far longer than the read limit, and answered.
func TestEventQueueOutlivesReadTimeout(t *testing.T) {
	const eqTimeout, readLimit = 900 * time.Millisecond, 150 * time.Millisecond
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		EQTimeout: eqTimeout, ReadHeaderTimeout: readLimit, ReadTimeout: readLimit})
	defer stop(t, srv)
	agent := ritual.NewUUID()
	url := eqURL(t, srv, agent)

	// Nothing to say: the poll is held the whole EQTimeout, then 502.
	status, _, el := poll(t, url, nil)
	if status != http.StatusBadGateway || el < eqTimeout {
		t.Fatalf("idle poll: %d after %v, want 502 after at least %v", status, el, eqTimeout)
	}
	// An event that comes after the read limit is delivered on the held
	// poll.
	go func() {
		time.Sleep(3 * readLimit)
		srv.Caps.Enqueue(agent, caps.Event{Message: "TestEvent", Body: map[string]any{"Info": []any{map[string]any{"N": 1}}}})
	}()
	status, body, el := poll(t, url, nil)
	if status != http.StatusOK || !strings.Contains(body, "TestEvent") {
		t.Fatalf("poll with a late event: %d after %v: %s", status, el, body)
	}
}

func TestWriteTimeoutMustExceedEQTimeout(t *testing.T) {
	_, err := grid.Start(t.Context(), grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		EQTimeout: time.Minute, WriteTimeout: 30 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "must exceed the event-queue timeout") {
		t.Fatalf("WriteTimeout below EQTimeout: %v", err)
	}
}

// TestConnectionsPerAddress: one address holding its share of connections
// gets the next one refused with 503, while other addresses are served.
func TestConnectionsPerAddress(t *testing.T) {
	const capN = 4
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", MaxConnsPerAddress: capN})
	defer stop(t, srv)
	addAccounts(t, srv, "secret", "Own Er")

	// The hog opens its share and sends nothing (each is held until the
	// header timeout).
	for range capN {
		rawFrom(t, srv, "127.0.0.2")
	}
	over := rawFrom(t, srv, "127.0.0.2")
	got, _ := readUntilClosed(t, over, 5*time.Second)
	if resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection %d from one address read %q, want a 503", capN+1, got)
	}
	// Another address logs in meanwhile, several connections at once.
	var wg sync.WaitGroup
	errs := make(chan error, capN)
	for range capN {
		wg.Go(func() {
			if _, err := loginFrom(t.Context(), srv, "127.0.0.3", "Own Er", "secret"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("login from another address while one is at its cap: %v", err)
	}
	if m := scrape(t, srv); m["ritual_http_connections_refused_total"] != 1 {
		t.Errorf("ritual_http_connections_refused_total = %v, want 1", m["ritual_http_connections_refused_total"])
	}
}

// TestOwnerLogsInDuringAttack: another address guessing at an account's
// password, 50 guesses at a time, is refused after its allowance and
// does not keep the owner out.
func TestOwnerLogsInDuringAttack(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", AccountDelay: 20 * time.Millisecond})
	defer stop(t, srv)
	addAccounts(t, srv, "secret", "Own Er")
	ctx := t.Context()

	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	slots := make(chan struct{}, 50) // 50 at a time
	for i := range 100 {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			_, err := loginFrom(ctx, srv, "127.0.0.2", "Own Er", fmt.Sprintf("guess%d", i))
			f, ok := errors.AsType[*login.Failure](err)
			key := "error"
			switch {
			case ok && strings.Contains(f.Message, "Too many failed logins"):
				key = "throttled"
			case ok:
				key = "wrong"
			case err == nil:
				key = "ok"
			default:
				t.Logf("guess %d: %v", i, err)
			}
			mu.Lock()
			outcomes[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if outcomes["wrong"] != login.DefaultAccountAddressThrottle.Burst || outcomes["throttled"] != 100-login.DefaultAccountAddressThrottle.Burst {
		t.Errorf("100 guesses, 50 at a time: %v, want %d wrong and the rest throttled", outcomes, login.DefaultAccountAddressThrottle.Burst)
	}
	if n := srv.Login.PasswordChecks(); n != uint64(login.DefaultAccountAddressThrottle.Burst) {
		t.Errorf("%d passwords checked for 100 guesses, 50 at a time", n)
	}
	// The guesser is refused even with the right password; the owner,
	// from another address, logs in.
	if _, err := loginFrom(ctx, srv, "127.0.0.2", "Own Er", "secret"); !isFailure(err) {
		t.Errorf("the guessing address with the right password: %v, want a refusal", err)
	}
	if _, err := loginFrom(ctx, srv, "127.0.0.3", "Own Er", "secret"); err != nil {
		t.Fatalf("the owner during the attack: %v", err)
	}
}
