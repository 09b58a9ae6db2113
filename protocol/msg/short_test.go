package msg

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Two ImprovedInstantMessage datagrams a libopenmetaverse client (Fault
// Tester) sent OpenSimulator (testdata/captures/opensim-crowd-b-actor.jsonl,
// lines 193 and 223): its template ends the message after MessageBlock, so
// EstateBlock and the MetaData count are not there.
const (
	imToTestUser = "c00000004b00ffff0001fe22222222333344445555666666666666201d39b7a6fd4f71ad3795dd0d643d690001" +
		"c98559fa85b642f08e7bd7daca3486340020010001eba77bd8b68506b4db2eb1bcac52e05200040d4661756c742054" +
		"657374657200010a0001696d2066726f6d20420003"
	imToOffline = "c00000005c00ffff0001fe22222222333344445555666666666666201d39b7a6fd4f71ad3795dd0d643d6900013333" +
		"33334444555566667777777777770020010001111111117777111133331111111111110004" +
		"0d4661756c74205465737465720001160001696d20746f206f66666c696e65206163636f756e740003"
)

// parseBody returns the zero-decoded body of a datagram given in hex.
func parseBody(t *testing.T, datagram string) (ID, []byte) {
	t.Helper()
	var p Packet
	if err := p.Parse(unhex(t, datagram), nil); err != nil {
		t.Fatal(err)
	}
	return p.ID, p.Body
}

func TestShortImprovedInstantMessage(t *testing.T) {
	tests := []struct {
		name, datagram string
		to             string
		text           string
	}{
		{"to Test User", imToTestUser, "c98559fa-85b6-42f0-8e7b-d7daca348634", "im from B\x00"},
		{"to the offline account", imToOffline, "33333333-4444-5555-6666-777777777777", "im to offline account\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, body := parseBody(t, tt.datagram)
			if id != IDImprovedInstantMessage {
				t.Fatalf("message %v", id)
			}
			// Decode into a value that held a whole message: the absent
			// blocks must not keep its values.
			var m ImprovedInstantMessage
			whole := &ImprovedInstantMessage{
				EstateBlock: ImprovedInstantMessageEstateBlock{EstateID: 9},
				MetaData:    []ImprovedInstantMessageMetaData{{Data: []byte("xyz")}},
			}
			if err := m.Decode(whole.AppendTo(nil)); err != nil || m.Absent() != 0 {
				t.Fatalf("whole message: Absent %d, %v", m.Absent(), err)
			}
			if err := m.Decode(body); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if m.Absent() != 2 || !reflect.DeepEqual(AbsentBlocks(&m), []string{"EstateBlock", "MetaData"}) {
				t.Errorf("Absent %d, AbsentBlocks %v; want 2, [EstateBlock MetaData]", m.Absent(), AbsentBlocks(&m))
			}
			if m.AgentData.AgentID != uuid("22222222-3333-4444-5555-666666666666") ||
				m.MessageBlock.ToAgentID != uuid(tt.to) || string(m.MessageBlock.Message) != tt.text ||
				string(m.MessageBlock.FromAgentName) != "Fault Tester\x00" || m.MessageBlock.Dialog != 0 || m.MessageBlock.Offline != 1 {
				t.Errorf("decoded %+v", m)
			}
			if m.EstateBlock.EstateID != 0 || len(m.MetaData) != 0 || cap(m.MetaData) == 0 {
				t.Errorf("absent blocks: EstateBlock %+v, MetaData %v (cap %d): want zero, empty, capacity kept",
					m.EstateBlock, m.MetaData, cap(m.MetaData))
			}
			// Re-encoded, it carries every block and is whole.
			var again ImprovedInstantMessage
			enc := m.AppendTo(nil)
			if err := again.Decode(enc); err != nil || again.Absent() != 0 || !bytes.Equal(again.AppendTo(nil), enc) ||
				!bytes.Equal(enc[:len(body)], body) || hexOf(enc[len(body):]) != "0000000000" {
				t.Errorf("re-encoded: Absent %d, %v, %+v", again.Absent(), err, again)
			}
			// A short message decodes into a grown value without allocating.
			if n := testing.AllocsPerRun(100, func() {
				if err := m.Decode(body); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("decoding the short message allocates %v times", n)
			}
			// A failed decode is not short.
			if err := m.Decode(append(body, 0x07)); err == nil || m.Absent() != 0 {
				t.Errorf("cut inside EstateBlock: %v, Absent %d", err, m.Absent())
			}
		})
	}
}

// TestAbsentTrailingBlocks: a body that ends where a block starts decodes,
// that block and all after it zero or empty.
func TestAbsentTrailingBlocks(t *testing.T) {
	_, im := parseBody(t, imToTestUser)
	imBody := hexOf(im) // AgentData and MessageBlock, nothing after
	rh := &RegionHandshake{RegionInfo: RegionHandshakeRegionInfo{RegionFlags: 0x0d, SimName: []byte("Ritual")}}
	tests := []struct {
		name   string
		m      Message
		body   string
		absent []string
		check  func(Message) bool
	}{
		{"IM without EstateBlock and MetaData", &ImprovedInstantMessage{}, imBody, []string{"EstateBlock", "MetaData"},
			func(m Message) bool {
				return string(m.(*ImprovedInstantMessage).MessageBlock.Message) == "im from B\x00"
			}},
		{"IM without MetaData", &ImprovedInstantMessage{}, imBody + "07000000", []string{"MetaData"},
			func(m Message) bool { return m.(*ImprovedInstantMessage).EstateBlock.EstateID == 7 }},
		{"IM whole, no MetaData", &ImprovedInstantMessage{}, imBody + "07000000 00", nil,
			func(m Message) bool { return m.(*ImprovedInstantMessage).EstateBlock.EstateID == 7 }},
		{"IM whole, one MetaData", &ImprovedInstantMessage{}, imBody + "07000000 01 0300 616263", nil,
			func(m Message) bool {
				md := m.(*ImprovedInstantMessage).MetaData
				return len(md) == 1 && string(md[0].Data) == "abc"
			}},
		{"LogoutReply without the InventoryData count", &LogoutReply{InventoryData: make([]LogoutReplyInventoryData, 2)},
			hexOf(agentA[:]) + hexOf(session1[:]), []string{"InventoryData"},
			func(m Message) bool {
				r := m.(*LogoutReply)
				return r.AgentData.AgentID == agentA && r.AgentData.SessionID == session1 && len(r.InventoryData) == 0
			}},
		{"CoarseLocationUpdate without AgentData", &CoarseLocationUpdate{}, "00 01000200", []string{"AgentData"},
			func(m Message) bool { c := m.(*CoarseLocationUpdate); return c.Index.You == 1 && c.Index.Prey == 2 }},
		{"CoarseLocationUpdate with Location only", &CoarseLocationUpdate{Index: CoarseLocationUpdateIndex{You: 5}}, "00",
			[]string{"Index", "AgentData"},
			func(m Message) bool { return m.(*CoarseLocationUpdate).Index.You == 0 }},
		{"CoarseLocationUpdate from nothing", &CoarseLocationUpdate{}, "", []string{"Location", "Index", "AgentData"}, nil},
		{"StartPingCheck from nothing", &StartPingCheck{PingID: StartPingCheckPingID{PingID: 3}}, "", []string{"PingID"},
			func(m Message) bool { return m.(*StartPingCheck).PingID == StartPingCheckPingID{} }},
		{"Multiple block absent", &TestMessage{NeighborBlock: [4]TestMessageNeighborBlock{{Test0: 1}, {Test2: 2}}},
			"01000000", []string{"NeighborBlock"},
			func(m Message) bool {
				tm := m.(*TestMessage)
				return tm.TestBlock1.Test1 == 1 && tm.NeighborBlock == [4]TestMessageNeighborBlock{}
			}},
		{"RegionHandshake with RegionInfo only", &RegionHandshake{RegionInfo3: RegionHandshakeRegionInfo3{ProductName: []byte("x")}},
			hexOf(rh.RegionInfo.appendTo(nil, 0)), []string{"RegionInfo2", "RegionInfo3", "RegionInfo4"},
			func(m Message) bool {
				r := m.(*RegionHandshake)
				return string(r.RegionInfo.SimName) == "Ritual" && len(r.RegionInfo3.ProductName) == 0 && r.RegionInfo4 == nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.m.Decode(unhex(t, tt.body)); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := AbsentBlocks(tt.m); !reflect.DeepEqual(got, tt.absent) || tt.m.Absent() != len(tt.absent) {
				t.Errorf("Absent %d, AbsentBlocks %q; want %q", tt.m.Absent(), got, tt.absent)
			}
			if tt.check != nil && !tt.check(tt.m) {
				t.Errorf("decoded %+v", tt.m)
			}
		})
	}
}

// TestCutInsideBlock: a body that ends inside a block (a field, a Variable
// field's data, a Variable block's instances or a Multiple block's
// instances) is still refused.
func TestCutInsideBlock(t *testing.T) {
	_, im := parseBody(t, imToTestUser)
	imBody := hexOf(im)
	n := len(im)
	tests := []struct {
		name         string
		m            Message
		body         string
		block, field string
		offset       int
		says         string
	}{
		{"IM cut in EstateID", &ImprovedInstantMessage{}, imBody + "07", "EstateBlock", "EstateID", n,
			"U32 needs 4 bytes, 1 remain"},
		{"IM cut later in EstateID", &ImprovedInstantMessage{}, imBody + "070000", "EstateBlock", "EstateID", n,
			"U32 needs 4 bytes, 3 remain"},
		{"IM MetaData count without instances", &ImprovedInstantMessage{}, imBody + "07000000 01", "MetaData", "", n + 4,
			"count 1 needs at least 2 bytes, 0 remain"},
		{"IM MetaData data cut", &ImprovedInstantMessage{}, imBody + "07000000 01 0300 61", "MetaData", "Data", n + 7,
			"Variable 2 length 3, 1 bytes remain"},
		{"IM cut in BinaryBucket's length", &ImprovedInstantMessage{}, imBody[:2*n-2], "MessageBlock", "BinaryBucket", n - 2,
			"Variable 2 length needs 2 bytes, 1 remain"},
		{"IM cut in AgentData", &ImprovedInstantMessage{}, imBody[:40], "AgentData", "SessionID", 16,
			"LLUUID needs 16 bytes, 4 remain"},
		{"Multiple block with one of four instances", &TestMessage{}, "01000000 010000000200000003000000", "NeighborBlock", "Test0", 16,
			"U32 needs 4 bytes, 0 remain"},
		{"CoarseLocationUpdate cut in Index", &CoarseLocationUpdate{}, "00 0100", "Index", "Prey", 3,
			"S16 needs 2 bytes, 0 remain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Decode(unhex(t, tt.body))
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrShortBuffer) {
				t.Fatalf("Decode = %v, want a *DecodeError wrapping ErrShortBuffer", err)
			}
			want := DecodeError{Message: tt.m.Name(), Block: tt.block, Field: tt.field, Offset: tt.offset}
			if got := (DecodeError{de.Message, de.Block, de.Field, de.Offset, nil}); got != want {
				t.Errorf("error at %+v, want %+v (%v)", got, want, err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if tt.m.Absent() != 0 {
				t.Errorf("Absent %d after a failed decode", tt.m.Absent())
			}
		})
	}
}

func TestAbsentBlocksOfWholeMessages(t *testing.T) {
	for _, m := range []Message{&CloseCircuit{}, &StartPingCheck{}, &ImprovedInstantMessage{}} {
		if err := m.Decode(m.AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
		if m.Absent() != 0 || AbsentBlocks(m) != nil {
			t.Errorf("%s: Absent %d, AbsentBlocks %v", m.Name(), m.Absent(), AbsentBlocks(m))
		}
	}
}
