package sim_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"ritual"
	"ritual/login"
	"ritual/protocol/llsd"
	"ritual/protocol/msg"
)

// poll asks the router for the EventQueueGet capability through the seed
// and makes one poll; it returns the events of the answer.
// ack < 0 acknowledges nothing.
func (r *rig) poll(t *testing.T, seed string, ack int32) ([]any, int32) {
	t.Helper()
	post := func(u, body string) []byte {
		t.Helper()
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, p.Path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/llsd+xml")
		w := httptest.NewRecorder()
		r.router.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", p.Path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	v, err := llsd.Unmarshal(post(seed, "<llsd><array><string>EventQueueGet</string></array></llsd>"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := llsd.AsMap(v)
	eq := m.String("EventQueueGet")
	if eq == "" {
		t.Fatalf("seed answer %v has no EventQueueGet", v)
	}
	a := "<undef />"
	if ack >= 0 {
		a = fmt.Sprintf("<integer>%d</integer>", ack)
	}
	v, err = llsd.Unmarshal(post(eq, "<llsd><map><key>ack</key>"+a+"<key>done</key><boolean>false</boolean></map></llsd>"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ = llsd.AsMap(v)
	evs, _ := llsd.AsArray(m["events"])
	return evs, m.Int("id")
}

// arriveSeed provisions an agent, opens its circuit and completes its
// movement; it returns the circuit, its seed capability URL and the
// client end of its circuit.
func (r *rig) arriveSeed(t *testing.T, code uint32) (login.Circuit, string, func(msg.Message)) {
	t.Helper()
	c := login.Circuit{
		Code: code, Agent: ritual.NewUUID(), Session: ritual.NewUUID(), SecureSession: ritual.NewUUID(),
		First: "Test", Last: "User", Start: "last", Expiry: time.Now().Add(5 * time.Second),
	}
	d, err := r.region.Provision(t.Context(), c)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	conn := r.dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := conn.SendAcked(ctx, ucc(c)); err != nil {
		t.Fatalf("UseCircuitCode not acked: %v", err)
	}
	cam := &msg.CompleteAgentMovement{AgentData: msg.CompleteAgentMovementAgentData{AgentID: c.Agent, SessionID: c.Session, CircuitCode: c.Code}}
	if err := conn.Send(cam, true); err != nil {
		t.Fatal(err)
	}
	next[*msg.AgentMovementComplete](t, conn, 5*time.Second)
	return c, d.SeedCapability, func(m msg.Message) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := conn.SendAcked(ctx, m); err != nil {
			t.Fatalf("%s not acked: %v", m.Name(), err)
		}
	}
}

// parcelData checks that ev is a ParcelProperties event and returns its
// one ParcelData block.
func parcelData(t *testing.T, ev any) llsd.Map {
	t.Helper()
	m, _ := llsd.AsMap(ev)
	if name := m.String("message"); name != "ParcelProperties" {
		t.Fatalf("event %q, want ParcelProperties", name)
	}
	body, _ := llsd.AsMap(m["body"])
	for _, block := range []string{"ParcelData", "MediaData", "ParcelExtendedFlags", "AgeVerificationBlock", "ParcelEnvironmentBlock", "RegionAllowAccessBlock"} {
		if a, _ := llsd.AsArray(body[block]); len(a) != 1 {
			t.Errorf("block %s has %d entries, want 1", block, len(a))
		}
	}
	pds, _ := llsd.AsArray(body["ParcelData"])
	if len(pds) != 1 {
		t.Fatalf("ParcelData = %v", body["ParcelData"])
	}
	pd, _ := llsd.AsMap(pds[0])
	return pd
}

// TestArrivalParcelProperties: the first poll after arrival delivers
// ParcelProperties describing the region's one parcel, as OpenSimulator's
// does.
func TestArrivalParcelProperties(t *testing.T) {
	r := newRig(t)
	_, seed, _ := r.arriveSeed(t, 5501)
	evs, id := r.poll(t, seed, -1)
	if len(evs) != 1 {
		t.Fatalf("first poll: %d events (id %d), want ParcelProperties", len(evs), id)
	}
	pd := parcelData(t, evs[0])
	info := r.region.Info()
	if got := pd.Int("LocalID"); got != 1 {
		t.Errorf("LocalID = %d", got)
	}
	if got := pd.Int("Area"); got != 256*256 {
		t.Errorf("Area = %d, want 65536", got)
	}
	if got := pd.String("Name"); got != "Your Parcel" {
		t.Errorf("Name = %q", got)
	}
	if max, _ := llsd.AsVector3(pd["AABBMax"]); max != (ritual.Vector3{X: 256, Y: 256}) {
		t.Errorf("AABBMax = %v", pd["AABBMax"])
	}
	if bm, _ := llsd.AsBinary(pd["Bitmap"]); len(bm) != 512 || bytes.Count(bm, []byte{0xff}) != 512 {
		t.Errorf("Bitmap has %d bytes, want 512 all set", len(bm))
	}
	flags, _ := llsd.AsBinary(pd["ParcelFlags"])
	if len(flags) != 4 || binary.BigEndian.Uint32(flags) != 0x2800204b {
		t.Errorf("ParcelFlags = % x, want OpenSimulator's 28 00 20 4b", flags)
	}
	if owner, ok := llsd.AsUUID(pd["OwnerID"]); !ok || owner != ritual.ZeroUUID {
		t.Errorf("OwnerID = %v (the generated region's prims are the zero id's)", pd["OwnerID"])
	}
	if claim, _ := llsd.AsDate(pd["ClaimDate"]); !claim.Equal(info.Created.Truncate(time.Second)) {
		t.Errorf("ClaimDate = %v, want the region's creation %v", claim, info.Created)
	}
	if got := pd.Int("TotalPrims"); got != int32(r.region.Objects()) || got == 0 {
		t.Errorf("TotalPrims = %d, region has %d", got, r.region.Objects())
	}
	if pd.Int("MaxPrims") != 15000 || pd.Int("LandingType") != 2 || pd.Int("SequenceID") != 0 || !pd.Bool("SeeAVs") {
		t.Errorf("MaxPrims %d LandingType %d SequenceID %d SeeAVs %v", pd.Int("MaxPrims"), pd.Int("LandingType"), pd.Int("SequenceID"), pd.Bool("SeeAVs"))
	}
}

// TestParcelPropertiesRequest: a viewer's UDP request is answered on the
// event queue, its SequenceID echoed; an unknown local id gets nothing.
func TestParcelPropertiesRequest(t *testing.T) {
	r := newRig(t)
	c, seed, send := r.arriveSeed(t, 5502)
	evs, id := r.poll(t, seed, -1)
	if len(evs) != 1 {
		t.Fatalf("arrival poll: %d events", len(evs))
	}
	ad := msg.ParcelPropertiesRequestAgentData{AgentID: c.Agent, SessionID: c.Session}
	send(&msg.ParcelPropertiesRequest{AgentData: ad, ParcelData: msg.ParcelPropertiesRequestParcelData{SequenceID: -1, East: 4, North: 4, SnapSelection: true}})
	send(&msg.ParcelPropertiesRequestByID{AgentData: msg.ParcelPropertiesRequestByIDAgentData(ad), ParcelData: msg.ParcelPropertiesRequestByIDParcelData{SequenceID: 7, LocalID: 9}})
	send(&msg.ParcelPropertiesRequestByID{AgentData: msg.ParcelPropertiesRequestByIDAgentData(ad), ParcelData: msg.ParcelPropertiesRequestByIDParcelData{SequenceID: 8, LocalID: 1}})
	var got []any
	for deadline := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		evs, id = r.poll(t, seed, id)
		got = append(got, evs...)
	}
	if len(got) != 2 {
		t.Fatalf("%d events after three requests, want 2", len(got))
	}
	if pd := parcelData(t, got[0]); pd.Int("SequenceID") != -1 || !pd.Bool("SnapSelection") {
		t.Errorf("first answer SequenceID %d SnapSelection %v, want -1 true", pd.Int("SequenceID"), pd.Bool("SnapSelection"))
	}
	if pd := parcelData(t, got[1]); pd.Int("SequenceID") != 8 {
		t.Errorf("second answer SequenceID %d, want 8 (local id 9 has no parcel)", pd.Int("SequenceID"))
	}
}
