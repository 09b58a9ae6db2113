package msg

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"ritual"
)

var (
	agentA   = uuid("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
	session1 = uuid("11111111-2222-3333-4444-555555555555")
)

// packetVectors are the packet vectors of PROTOCOL.md section 9 with the
// message each one carries, written out from its "fields".
func packetVectors(t testing.TB) []struct {
	name  string
	flags Flags
	seq   uint32
	acks  []uint32
	want  Message
} {
	return []struct {
		name  string
		flags Flags
		seq   uint32
		acks  []uint32
		want  Message
	}{
		{"use_circuit_code", FlagReliable, 1, nil, &UseCircuitCode{
			CircuitCode: UseCircuitCodeCircuitCode{Code: 123456789, SessionID: session1, ID: agentA},
		}},
		{"zerocoded_region_handshake_reply", FlagReliable | FlagZerocoded, 2, nil, &RegionHandshakeReply{
			AgentData: RegionHandshakeReplyAgentData{
				AgentID:   uuid("01000000-0000-0000-0000-000000000002"),
				SessionID: uuid("00000000-0000-0000-0000-0000000000ff"),
			},
			RegionInfo: RegionHandshakeReplyRegionInfo{Flags: 7},
		}},
		{"packet_ack", 0, 5, nil, &PacketAck{
			Packets: []PacketAckPackets{{ID: 1}, {ID: 2}, {ID: 0x01020304}},
		}},
		{"complete_ping_check_appended_acks", FlagAcks, 7, []uint32{1, 2}, &CompletePingCheck{
			PingID: CompletePingCheckPingID{PingID: 5},
		}},
		{"start_ping_check", 0, 8, nil, &StartPingCheck{
			PingID: StartPingCheckPingID{PingID: 9, OldestUnacked: 0x1234},
		}},
		{"agent_movement_complete", FlagReliable, 9, nil, &AgentMovementComplete{
			AgentData: AgentMovementCompleteAgentData{AgentID: agentA, SessionID: session1},
			Data: AgentMovementCompleteData{
				Position:     ritual.Vector3{X: 128, Y: 128, Z: 25},
				LookAt:       ritual.Vector3{X: 1},
				RegionHandle: 1099511628032000,
				Timestamp:    1700000000,
			},
			SimData: AgentMovementCompleteSimData{ChannelVersion: []byte("Test")},
		}},
		{"complete_agent_movement", FlagReliable, 2, nil, &CompleteAgentMovement{
			AgentData: CompleteAgentMovementAgentData{AgentID: agentA, SessionID: session1, CircuitCode: 123456789},
		}},
		{"region_handshake", FlagReliable | FlagZerocoded, 1, nil, &RegionHandshake{
			RegionInfo: RegionHandshakeRegionInfo{
				SimAccess:            13,
				SimName:              []byte("Test Region\x00"),
				SimOwner:             uuid("cccccccc-0000-0000-0000-000000000001"),
				WaterHeight:          20,
				BillableFactor:       1,
				TerrainDetail0:       uuid("11111111-0000-0000-0000-000000000001"),
				TerrainDetail1:       uuid("11111111-0000-0000-0000-000000000002"),
				TerrainDetail2:       uuid("11111111-0000-0000-0000-000000000003"),
				TerrainDetail3:       uuid("11111111-0000-0000-0000-000000000004"),
				TerrainStartHeight00: 10, TerrainStartHeight01: 10, TerrainStartHeight10: 10, TerrainStartHeight11: 10,
				TerrainHeightRange00: 60, TerrainHeightRange01: 60, TerrainHeightRange10: 60, TerrainHeightRange11: 60,
			},
			RegionInfo2: RegionHandshakeRegionInfo2{RegionID: uuid("0b6b0b2a-7c2e-4d5e-9f0a-123456789abc")},
			RegionInfo3: RegionHandshakeRegionInfo3{CPUClassID: 9, CPURatio: 1, ProductName: []byte("Mainland\x00")},
			RegionInfo4: []RegionHandshakeRegionInfo4{{RegionProtocols: 1 << 63}},
		}},
		{"agent_throttle", FlagReliable | FlagZerocoded, 4, nil, &AgentThrottle{
			AgentData: AgentThrottleAgentData{AgentID: agentA, SessionID: session1, CircuitCode: 123456789},
			Throttle: AgentThrottleThrottle{
				Throttles: f32bytes(150000, 170000, 34000, 34000, 446000, 446000, 220000),
			},
		}},
		{"object_update_box", FlagReliable | FlagZerocoded, 20, nil, &ObjectUpdate{
			RegionData: ObjectUpdateRegionData{RegionHandle: 1099511628032000, TimeDilation: 65535},
			ObjectData: []ObjectUpdateObjectData{{
				ID:           1001,
				FullID:       uuid("33333333-4444-5555-6666-777777777777"),
				PCode:        9,
				Material:     3,
				Scale:        ritual.Vector3{X: 0.5, Y: 0.5, Z: 0.5},
				ObjectData:   unhex(t, "00000043000000430000c841000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"),
				PathCurve:    16,
				ProfileCurve: 1,
				PathScaleX:   100,
				PathScaleY:   100,
				TextureEntry: unhex(t, "222222223333444455556666666666660000000000000000803f000000803f000000000000000000000000000000000000000000000000000000000000000000"),
			}},
		}},
		{"logout_reply", FlagReliable | FlagZerocoded, 30, nil, &LogoutReply{
			AgentData:     LogoutReplyAgentData{AgentID: agentA, SessionID: session1},
			InventoryData: []LogoutReplyInventoryData{{}},
		}},
		{"agent_wearables_update_empty", FlagReliable | FlagZerocoded, 31, nil, &AgentWearablesUpdate{
			AgentData: AgentWearablesUpdateAgentData{AgentID: agentA, SessionID: session1, SerialNum: 1},
		}},
		{"layerdata_flat_patch_packet", FlagReliable, 10, nil, &LayerData{
			LayerID:   LayerDataLayerID{Type: 0x4C},
			LayerData: LayerDataLayerData{Data: unhex(t, "0801104c000000a4410100652610")},
		}},
	}
}

func TestVectors(t *testing.T) {
	for _, tt := range packetVectors(t) {
		t.Run(tt.name, func(t *testing.T) {
			v := loadVector(t, tt.name)
			wire := unhex(t, v.Hex)

			var p Packet
			if err := p.Parse(wire, make([]byte, 0, MaxBody)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Flags != tt.flags || p.Sequence != tt.seq || p.ID != tt.want.ID() {
				t.Errorf("header = %v seq %d %v, want %v seq %d %v", p.Flags, p.Sequence, p.ID, tt.flags, tt.seq, tt.want.ID())
			}
			if !reflect.DeepEqual(p.Acks, tt.acks) && !(len(p.Acks) == 0 && len(tt.acks) == 0) {
				t.Errorf("acks = %v, want %v", p.Acks, tt.acks)
			}
			got, err := p.Decode()
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, tt.want)
			}

			// Re-encoding the expected value gives the wire bytes.
			if err := tt.want.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			enc := AppendPacket(nil, tt.flags, tt.seq, tt.want, tt.acks)
			if !bytes.Equal(enc, wire) {
				t.Errorf("AppendPacket =\n%x\nwant\n%x", enc, wire)
			}
			if v.DecodedHex != "" {
				plain := unhex(t, v.DecodedHex)
				enc := AppendPacket(nil, tt.flags&^FlagZerocoded, tt.seq, tt.want, tt.acks)
				enc[0] |= byte(tt.flags & FlagZerocoded) // decoded_hex keeps the flag byte
				if !bytes.Equal(enc, plain) {
					t.Errorf("unencoded packet =\n%x\nwant decoded_hex\n%x", enc, plain)
				}
				dec, err := AppendZeroDecode(nil, wire[HeaderLen:], MaxBody)
				if err != nil || !bytes.Equal(dec, plain[HeaderLen:]) {
					t.Errorf("AppendZeroDecode = %x, %v; want %x", dec, err, plain[HeaderLen:])
				}
				if coded := AppendZeroEncode(nil, plain[HeaderLen:]); !bytes.Equal(coded, wire[HeaderLen:]) {
					t.Errorf("AppendZeroEncode = %x, want %x", coded, wire[HeaderLen:])
				}
			}
		})
	}
}

// TestVectorZerocodeLongRun: 300 zeros are coded 00 FF 00 2D.
func TestVectorZerocodeLongRun(t *testing.T) {
	v := loadVector(t, "zerocode_long_run")
	wire, plain := unhex(t, v.Hex), unhex(t, v.DecodedHex)
	var p Packet
	if err := p.Parse(wire, nil); err != nil {
		t.Fatal(err)
	}
	wantBody := append(make([]byte, 300), 1)
	if p.Flags != FlagZerocoded || p.Sequence != 3 || p.ID != 4 || !bytes.Equal(p.Body, wantBody) {
		t.Errorf("Parse = %v %d %v body %x", p.Flags, p.Sequence, p.ID, p.Body)
	}
	if coded := AppendZeroEncode(nil, plain[HeaderLen:]); !bytes.Equal(coded, wire[HeaderLen:]) {
		t.Errorf("AppendZeroEncode = %x, want %x", coded, wire[HeaderLen:])
	}
	// The body is not a valid AgentUpdate (High 4): 301 bytes against 114.
	err := new(AgentUpdate).Decode(p.Body)
	if err == nil || !errors.Is(err, ErrTrailingData) {
		t.Errorf("AgentUpdate.Decode of the long run = %v, want trailing data", err)
	}
}
