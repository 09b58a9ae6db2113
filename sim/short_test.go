package sim_test

import (
	"encoding/hex"
	"testing"
	"time"

	"ritual"
	"ritual/protocol/msg"
	"ritual/sim"
	"ritual/trace"
)

// imFromOlderTemplate is an ImprovedInstantMessage a libopenmetaverse
// client sent OpenSimulator (protocol/msg/short_test.go): its template
// ends the message after MessageBlock, so EstateBlock and the MetaData
// count are not there.
const imFromOlderTemplate = "c00000004b00ffff0001fe22222222333344445555666666666666201d39b7a6fd4f71ad3795dd0d643d690001" +
	"c98559fa85b642f08e7bd7daca3486340020010001eba77bd8b68506b4db2eb1bcac52e05200040d4661756c742054" +
	"657374657200010a0001696d2066726f6d20420003"

// rawIM sends an ImprovedInstantMessage body as it is, short or not.
type rawIM struct {
	*msg.ImprovedInstantMessage
	body []byte
}

func (m rawIM) AppendTo(b []byte) []byte { return append(b, m.body...) }

// TestShortMessageNoted: a message from a client with an older template is
// handled, and the region notes in the packet's trace event, and counts,
// that it came short.
func TestShortMessageNoted(t *testing.T) {
	r := newRig(t)
	ann := r.arrive(t, "Ann", "Sender", ritual.UUID{})
	bob := r.arrive(t, "Bob", "Reader", ritual.UUID{})
	waitFor(t, ann, 5*time.Second, "Bob's avatar", fullOf(bob.c.Agent))

	d, err := hex.DecodeString(imFromOlderTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var p msg.Packet
	if err := p.Parse(d, nil); err != nil || p.ID != msg.IDImprovedInstantMessage {
		t.Fatalf("capture: %v %v", p.ID, err)
	}
	// The capture's ids become Ann's (agent, session) and Bob's (to).
	body := append([]byte(nil), p.Body...)
	copy(body[0:16], ann.c.Agent[:])
	copy(body[16:32], ann.c.Session[:])
	copy(body[33:49], bob.c.Agent[:])
	if err := ann.conn.Send(rawIM{&msg.ImprovedInstantMessage{}, body}, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, 3*time.Second, "Ann's short IM", imFrom("im from B"))

	var noted *trace.Packet
	for _, ev := range r.rec.Events() {
		if pk, ok := ev.(*trace.Packet); ok && pk.Side == trace.Server && pk.Dir == trace.Recv && pk.Message == "ImprovedInstantMessage" {
			noted = pk
		}
	}
	if noted == nil {
		t.Fatal("no packet event for the IM received")
	}
	var short string
	for _, f := range noted.Fields {
		if f.Key == sim.ShortField {
			short = f.Value
		}
	}
	if short != "EstateBlock, MetaData absent" {
		t.Errorf("packet event fields %v: short = %q, want %q", noted.Fields, short, "EstateBlock, MetaData absent")
	}
	var got sim.MessageCount
	for _, m := range r.region.Messages() {
		if m.Name == "ImprovedInstantMessage" {
			got = m
		}
	}
	if got.In != 1 || got.Short != 1 {
		t.Errorf("ImprovedInstantMessage counted %+v, want In 1 Short 1", got)
	}
	// A whole message is not noted.
	ann.im(bob.c.Agent, "whole")
	waitFor(t, bob, 3*time.Second, "Ann's whole IM", imFrom("whole"))
	for _, m := range r.region.Messages() {
		if m.Name == "ImprovedInstantMessage" && (m.In != 2 || m.Short != 1) {
			t.Errorf("after a whole IM: %+v, want In 2 Short 1", m)
		}
	}
}
