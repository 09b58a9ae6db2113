package sim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"ritual"
	"ritual/circuit"
	"ritual/login"
	"ritual/protocol/msg"
	"ritual/sim"
)

// TestChildOfEndedSession: a neighbour's child admission for a session
// that ended never takes a later session's place. A login's circuit
// waiting here is kept (the admission is refused, ErrArriving) and opens;
// with the later session's avatar here, the old session's child is
// refused (ErrOtherSession); and a later session's child admission while
// an earlier session's child circuit lives on gets a circuit of its own,
// which opens.
func TestChildOfEndedSession(t *testing.T) {
	r := newRig(t)
	agent := ritual.NewUUID()
	circ := func(code uint32) login.Circuit {
		return login.Circuit{Code: code, Agent: agent, Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
			First: "Twice", Last: "Over", Start: "last", Expiry: time.Now().Add(10 * time.Second)}
	}
	open := func(c login.Circuit) *circuit.Conn {
		t.Helper()
		conn := r.dial(t)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := conn.SendAcked(ctx, ucc(c)); err != nil {
			t.Fatalf("UseCircuitCode %d: %v", c.Code, err)
		}
		return conn
	}

	// The first session's child lives on here.
	first := circ(9901)
	if _, err := r.region.AdmitChild(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	open(first)

	// A later session's child gets its own circuit.
	second := circ(9902)
	if _, err := r.region.AdmitChild(t.Context(), second); err != nil {
		t.Fatalf("a later session's child: %v", err)
	}
	open(second)

	// A later login waits here; the first session's neighbour tells of it
	// late: refused, and the login's circuit opens.
	third := circ(9903)
	if _, err := r.region.Provision(t.Context(), third); err != nil {
		t.Fatal(err)
	}
	late := first
	late.Code = 9904
	if _, err := r.region.AdmitChild(t.Context(), late); !errors.Is(err, sim.ErrArriving) {
		t.Fatalf("a late child beside a waiting login: %v, want ErrArriving", err)
	}
	conn := open(third)
	cam := &msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: agent, SessionID: third.Session, CircuitCode: third.Code}}
	if err := conn.Send(cam, true); err != nil {
		t.Fatal(err)
	}

	// The login's avatar is here: an earlier session's child is refused.
	for deadline := time.Now().Add(5 * time.Second); r.region.World().Avatars < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the login's avatar never arrived")
		}
	}
	late.Code = 9905
	if _, err := r.region.AdmitChild(t.Context(), late); !errors.Is(err, sim.ErrOtherSession) {
		t.Fatalf("a late child beside the later session's avatar: %v, want ErrOtherSession", err)
	}
}
