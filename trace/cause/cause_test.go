package cause_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ritual/trace"
	"ritual/trace/cause"
)

func TestCauses(t *testing.T) {
	tests := []struct {
		name  string
		c     cause.Cause
		step  cause.Step
		kind  cause.Kind
		fault cause.Side
		text  string
	}{
		{"circuit", cause.NoCircuitAnswer("127.0.0.1:9001", 3), cause.StepCircuitAcked, cause.CircuitUnanswered, cause.Region,
			"the region never answered UseCircuitCode (sent 3 times); the login service gave sim 127.0.0.1:9001"},
		{"circuit once", cause.NoCircuitAnswer("127.0.0.1:9001", 1), cause.StepCircuitAcked, cause.CircuitUnanswered, cause.Region,
			"the region never answered UseCircuitCode (sent once); the login service gave sim 127.0.0.1:9001"},
		{"client never connected", cause.ClientNeverConnected("127.0.0.1:9001"), cause.StepCircuitAcked, cause.ClientNoCircuit, cause.Client,
			"the client never sent UseCircuitCode; the login service gave sim 127.0.0.1:9001"},
		{"seed blank", cause.SeedCapabilityBlank(), cause.StepSeed, cause.SeedBlank, cause.LoginService,
			"the login reply's seed capability is blank"},
		{"seed 500", cause.SeedHTTPStatus(500), cause.StepSeed, cause.SeedStatus, cause.Capabilities,
			"the seed capability answered HTTP 500"},
		{"seed silent", cause.SeedNoAnswer(30 * time.Second), cause.StepSeed, cause.SeedSilent, cause.Capabilities,
			"the seed capability did not answer within 30 s"},
		{"eq", cause.EventQueueHeld(2, 60*time.Second), cause.StepEventQueue, cause.EventQueueSilent, cause.Capabilities,
			"the event queue held 2 polls for 60 s and delivered nothing"},
		{"eq one poll", cause.EventQueueHeld(1, 1500*time.Millisecond), cause.StepEventQueue, cause.EventQueueSilent, cause.Capabilities,
			"the event queue held 1 poll for 1.5 s and delivered nothing"},
		{"eq gone", cause.EventQueueGone(404), cause.StepEventQueue, cause.EventQueueEnded, cause.Capabilities,
			"the event queue answered HTTP 404: the region has no event queue for the agent"},
		{"terrain", cause.TerrainStopped(17, 256), cause.StepTerrain, cause.TerrainShort, cause.Region,
			"the region sent 17 of 256 terrain patches and nothing since"},
		{"client acks", cause.ClientStoppedAcking(cause.StepTerrain, 41), cause.StepTerrain, cause.ClientSilent, cause.Client,
			"the client stopped acknowledging after seq 41"},
		{"login pending", cause.LoginPending(20 * time.Second), cause.StepLoginAnswered, cause.LoginSilent, cause.LoginService,
			"the login service has not answered in 20 s"},
		{"login timeout", cause.LoginFailedText("http://127.0.0.1:9000/", `login: Post "http://127.0.0.1:9000/": context deadline exceeded`, 12*time.Second),
			cause.StepLoginAnswered, cause.LoginSilent, cause.LoginService, "the login service did not answer within 12 s"},
		{"login refused connection", cause.LoginFailedText("http://127.0.0.1:1/", `login: Post "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, time.Millisecond),
			cause.StepLoginAnswered, cause.LoginUnreachable, cause.LoginService, "the login service at http://127.0.0.1:1/ could not be reached: nothing is listening at 127.0.0.1:1"},
		{"login no such host", cause.LoginFailedText("http://grid.invalid/", `login: Post "http://grid.invalid/": dial tcp: lookup grid.invalid: no such host`, time.Millisecond),
			cause.StepLoginAnswered, cause.LoginUnreachable, cause.Client, "the host name grid.invalid is not known (DNS has no such name)"},
		{"login cancelled", cause.LoginFailedText("http://127.0.0.1:9000/", `login: Post "http://127.0.0.1:9000/": context canceled`, time.Second),
			cause.StepLoginAnswered, cause.LoginUnreachable, cause.Client, "the client gave up before an answer came"},
		{"login status", cause.LoginHTTPStatus(503), cause.StepLoginAnswered, cause.LoginStatus, cause.LoginService, "the login service answered HTTP 503"},
		{"login key", cause.LoginRefusedBy("key", "Could not authenticate your avatar."), cause.StepLoginAccepted, cause.LoginRefused, cause.Client,
			`the login service refused the login (reason "key"): "Could not authenticate your avatar."`},
		{"login presence", cause.LoginRefusedBy("presence", ""), cause.StepLoginAccepted, cause.LoginRefused, cause.LoginService,
			`the login service refused the login (reason "presence")`},
		{"handshake", cause.NoRegionHandshake(10 * time.Second), cause.StepHandshake, cause.NoHandshake, cause.Region,
			"the region acknowledged UseCircuitCode but sent no RegionHandshake within 10 s of CompleteAgentMovement"},
		{"movement", cause.NoMovementComplete(2500 * time.Millisecond), cause.StepMovementComplete, cause.NoMovement, cause.Region,
			"the region sent RegionHandshake but no AgentMovementComplete in 2.5 s"},
		{"objects", cause.NoObject(75*time.Millisecond, 0), cause.StepFirstObject, cause.NoObjects, cause.Region, "the region sent no object in 75 ms"},
		{"region silent", cause.RegionWentSilent(cause.StepTerrain, time.Minute), cause.StepTerrain, cause.RegionSilent, cause.Region,
			"the region sent nothing for 60 s and the circuit was closed"},
		{"region unacked", cause.RegionStoppedAcking(cause.StepFirstObject, 11), cause.StepFirstObject, cause.RegionUnacked, cause.Region,
			"the region stopped acknowledging: a reliable packet went unacknowledged though sent 11 times"},
		{"disabled", cause.RegionDisabled(cause.StepTerrain), cause.StepTerrain, cause.Disabled, cause.Region, "the region sent DisableSimulator"},
		{"kicked", cause.KickedOut(cause.StepTerrain, "bye"), cause.StepTerrain, cause.Kicked, cause.Region, `the region disconnected the agent (KickUser): "bye"`},
		{"blame", cause.NoCircuitAnswer("10.0.0.5:9000", 2).Blame(cause.Unknown), cause.StepCircuitAcked, cause.CircuitUnanswered, cause.Unknown,
			"the region never answered UseCircuitCode (sent 2 times); the login service gave sim 10.0.0.5:9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if c.Step != tt.step || c.Kind != tt.kind || c.Fault != tt.fault {
				t.Errorf("step %d kind %s fault %q, want %d %s %q", c.Step, c.Kind, c.Fault, tt.step, tt.kind, tt.fault)
			}
			if !strings.Contains(c.Text, tt.text) {
				t.Errorf("text %q\nwant it to contain %q", c.Text, tt.text)
			}
			plain(t, c)
		})
	}
}

func TestMeans(t *testing.T) {
	c := cause.EventQueueHeld(2, time.Minute)
	if !strings.Contains(c.String(), "no EstablishAgentCommunication, no parcel information") {
		t.Errorf("event queue cause does not say what it means: %q", c)
	}
	if !strings.HasPrefix(c.String(), c.Text+"; ") || c.Lines()[0] != c.String() || len(c.Lines()) != 1+len(c.Check) {
		t.Errorf("String %q, Lines %q", c.String(), c.Lines())
	}
	if s := cause.SeedCapabilityBlank().String(); !strings.Contains(s, "no event queue") {
		t.Errorf("blank seed does not say what it means: %q", s)
	}
}

func TestSimAddress(t *testing.T) {
	tests := []struct {
		ip     string
		port   int
		host   string
		usable bool
		text   string
	}{
		{"127.0.0.1", 9000, "127.0.0.1", true, ""},
		{"203.0.113.9", 9000, "grid.example.org", true, ""},
		{"0.0.0.0", 9000, "127.0.0.1", false, "sim 0.0.0.0:9000, which no client can send to"},
		{"127.0.0.1", 9000, "grid.example.org", false, "loopback sim 127.0.0.1:9000 to a client that reached it at grid.example.org"},
		{"192.168.1.20", 9000, "203.0.113.5", false, "private sim 192.168.1.20:9000"},
		{"192.168.1.20", 9000, "192.168.1.2", true, ""},
		{"10.0.0.5", 9000, "grid.example.org", false, "private sim 10.0.0.5:9000, which only clients inside the grid's network can reach"},
		{"sim.example.org", 9000, "127.0.0.1", false, `sim_ip "sim.example.org", which is not an IP address`},
		{"", 0, "127.0.0.1", false, "gave no sim address"},
	}
	for _, tt := range tests {
		c, bad := cause.SimAddressUnusable(tt.ip, tt.port, tt.host)
		if bad == tt.usable {
			t.Errorf("%s:%d from %s: unusable = %t (%q)", tt.ip, tt.port, tt.host, bad, c.Text)
			continue
		}
		if bad {
			if !strings.Contains(c.Text, tt.text) || c.Fault != cause.LoginService || c.Kind != cause.SimAddress {
				t.Errorf("%s: %+v, want text %q", tt.ip, c, tt.text)
			}
			plain(t, c)
		}
	}
}

func TestDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		250 * time.Microsecond:  "0.25 ms",
		75 * time.Millisecond:   "75 ms",
		999 * time.Millisecond:  "999 ms",
		time.Second:             "1 s",
		1234 * time.Millisecond: "1.2 s",
		12 * time.Second:        "12 s",
		60 * time.Second:        "60 s",
		125 * time.Second:       "2 min 5 s",
		3 * time.Minute:         "3 min",
		-2 * time.Second:        "-2 s",
	} {
		if got := cause.Dur(d); got != want {
			t.Errorf("Dur(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestExplainRealErrors feeds Explain the errors Go's HTTP client really
// returns, and checks that none of their jargon survives.
func TestExplainRealErrors(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()

	hold := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold }))
	defer slow.Close()
	defer close(hold)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plainSrv.Close()
	hijack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	defer hijack.Close()

	get := func(uri string, timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, uri, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return errors.New("no error")
		}
		return err
	}
	tests := []struct {
		name     string
		uri      string
		timeout  time.Duration
		words    string
		fault    cause.Side
		timeout_ bool
	}{
		{"refused", closed, 5 * time.Second, "nothing is listening at " + strings.TrimSuffix(strings.TrimPrefix(closed, "http://"), "/"), "", false},
		{"deadline", slow.URL + "/", 50 * time.Millisecond, "no answer within", "", true},
		{"unknown authority", tlsSrv.URL + "/", 5 * time.Second, "not signed by an authority this machine trusts", "", false},
		{"https to plain", strings.Replace(plainSrv.URL, "http://", "https://", 1) + "/", 5 * time.Second, "the URI should begin with http://", cause.Client, false},
		{"closed without answer", hijack.URL + "/", 5 * time.Second, "closed the connection without answering", "", false},
		{"scheme", "ftp://127.0.0.1/", 5 * time.Second, "does not begin with http:// or https://", cause.Client, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := get(tt.uri, tt.timeout)
			x := cause.Explain(err, tt.uri, tt.timeout)
			if x.Timeout != tt.timeout_ || !strings.Contains(x.Words, tt.words) || x.Fault != tt.fault {
				t.Errorf("Explain(%v) = %+v, want words %q fault %q timeout %t", err, x, tt.words, tt.fault, tt.timeout_)
			}
			login := cause.LoginFailed(tt.uri, err, tt.timeout)
			seed := cause.SeedFailed(tt.uri, err, tt.timeout)
			plain(t, login)
			plain(t, seed)
			if tt.timeout_ && (login.Kind != cause.LoginSilent || seed.Kind != cause.SeedSilent) {
				t.Errorf("timeout told as %s / %s", login.Kind, seed.Kind)
			}
			if seed.Fault == cause.LoginService {
				t.Errorf("seed failure blames the login service: %+v", seed)
			}
		})
	}
	// A resolver's answer, as the dialer wraps it.
	dnsErr := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "grid.invalid", IsNotFound: true}}
	if x := cause.Explain(dnsErr, "http://grid.invalid:8002/", time.Second); !strings.Contains(x.Words, "host name grid.invalid is not known") {
		t.Errorf("DNS: %+v", x)
	}
}

func TestStallAndAnomaly(t *testing.T) {
	h := trace.Header{Side: trace.Client, Layer: trace.Caps}
	seed := cause.SeedHTTPStatus(500)
	st := cause.Stall(h, "[CLIENT] [CAPS] SEED REQUEST", "", 75*time.Millisecond, seed, cause.NoObject(time.Second, 0))
	if st.Step != int(cause.StepSeed) || st.Cause != string(cause.SeedStatus) || st.Fault != "capabilities" ||
		st.Expected != "the seed capability answers" || st.Waited != 75*time.Millisecond {
		t.Errorf("stall %+v", st)
	}
	if len(st.Causes) < 2 || st.Causes[0] != seed.String() {
		t.Errorf("stall causes %q", st.Causes)
	}
	an := cause.Anomaly(h, trace.AnomalyTimeout, "EventQueueGet", "", cause.EventQueueHeld(2, time.Minute))
	if an.Cause != string(cause.EventQueueSilent) || an.Fault != "capabilities" || !strings.Contains(an.Reason, "delivered nothing") {
		t.Errorf("anomaly %+v", an)
	}
}

// jargon is what Go libraries say and users should not have to read.
var jargon = []string{"context deadline", "dial tcp", "Post \"", "connect:", "x509", "tls:", "EOF", "%!", "<nil>", "i/o timeout", "lookup "}

func plain(t *testing.T, c cause.Cause) {
	t.Helper()
	for _, line := range c.Lines() {
		for _, j := range jargon {
			if strings.Contains(line, j) {
				t.Errorf("cause %s speaks jargon %q: %q", c.Kind, j, line)
			}
		}
		if strings.HasSuffix(line, ".") {
			t.Errorf("cause line ends with a full stop: %q", line)
		}
	}
}
