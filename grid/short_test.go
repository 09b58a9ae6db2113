package grid_test

import (
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/grid"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/trace"
)

// imFromOlderTemplate is an ImprovedInstantMessage a libopenmetaverse
// client sent OpenSimulator (protocol/msg/short_test.go): EstateBlock and
// the MetaData count are not there.
const imFromOlderTemplate = "c00000004b00ffff0001fe22222222333344445555666666666666201d39b7a6fd4f71ad3795dd0d643d690001" +
	"c98559fa85b642f08e7bd7daca3486340020010001eba77bd8b68506b4db2eb1bcac52e05200040d4661756c742054" +
	"657374657200010a0001696d2066726f6d20420003"

// rawIM sends an ImprovedInstantMessage body as it is.
type rawIM struct {
	*msg.ImprovedInstantMessage
	body []byte
}

func (m rawIM) AppendTo(b []byte) []byte { return append(b, m.body...) }

// TestMetricsCountShortMessages: a message from a client with an older
// template is counted in ritual_messages_short_total, by message.
func TestMetricsCountShortMessages(t *testing.T) {
	srv := start(t, grid.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	defer stop(t, srv)
	c := login.Circuit{
		Code: 4711, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: "Old", Last: "Template", Start: "last", Expiry: time.Now().Add(10 * time.Second),
	}
	d, err := srv.Region.Provision(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := circuit.NewTransport(pc, circuit.TransportConfig{})
	go tr.Serve()
	defer tr.Close()
	conn, err := tr.Open(netip.AddrPortFrom(d.SimIP, d.SimPort), circuit.Config{Side: trace.Client, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := conn.SendAcked(ctx, &msg.UseCircuitCode{CircuitCode: msg.UseCircuitCodeCircuitCode{Code: c.Code, SessionID: c.Session, ID: c.Agent}}); err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(imFromOlderTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var p msg.Packet
	if err := p.Parse(raw, nil); err != nil {
		t.Fatal(err)
	}
	body := append([]byte(nil), p.Body...)
	copy(body[0:16], c.Agent[:])
	copy(body[16:32], c.Session[:])
	if err := conn.SendAcked(ctx, rawIM{&msg.ImprovedInstantMessage{}, body}); err != nil {
		t.Fatal(err)
	}
	const key = "ritual_messages_short_total{message=ImprovedInstantMessage}"
	var m map[string]float64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m = scrape(t, srv); m[key] == 1 {
			break
		}
	}
	if m[key] != 1 || m["ritual_messages_total{direction=in,message=ImprovedInstantMessage}"] != 1 {
		t.Errorf("%s = %v, in = %v; want 1 and 1", key, m[key], m["ritual_messages_total{direction=in,message=ImprovedInstantMessage}"])
	}
	if _, ok := m["ritual_messages_short_total{message=UseCircuitCode}"]; ok {
		t.Error("a whole UseCircuitCode counted short")
	}
}
