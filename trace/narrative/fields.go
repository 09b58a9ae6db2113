package narrative

// The Packet.Fields keys the story reads beyond showing them. They are the
// contract between the probes that emit packets and this renderer; every
// other field is shown as recorded, in the order recorded.
const (
	// FieldRegionName on RegionHandshake: the region's name, used in the
	// title when no CircuitProvision names the region.
	FieldRegionName = "RegionName"

	// FieldAckIDs on PacketAck: the acknowledged sequence numbers, decimal,
	// separated by commas ("0" or "3,4,5"). With it the story tells the
	// acknowledgements of UseCircuitCode, RegionHandshake and
	// RegionHandshakeReply in Part II and counts acks exactly; without it a
	// PacketAck counts as one ack and is never told.
	FieldAckIDs = "ids"

	// FieldPatches on LayerData: how many terrain patches the packet
	// carries, a decimal integer.
	FieldPatches = "patches"

	// FieldLayer on LayerData: the layer type, "land" (assumed when absent;
	// any value beginning with "land" counts as land), "wind", "cloud" or
	// "water". Only land patches count toward the terrain total.
	FieldLayer = "layer"

	// FieldObjects on ObjectUpdate, ObjectUpdateCompressed,
	// ObjectUpdateCached, ImprovedTerseObjectUpdate and KillObject: how
	// many objects (ObjectData blocks) the packet carries, decimal.
	FieldObjects = "objects"

	// FieldKinds on the same messages: the objects by kind, as
	// comma-separated kind:count pairs ("prim:2,avatar:1"). Kinds are the
	// emitter's words; the story pluralises them with an "s" ("prims",
	// "avatars", "trees"). Suggested names by PCode: 9 prim, 47 avatar,
	// 95 grass, 111 tree (new tree), 143 particle system, 255 tree.
	FieldKinds = "kinds"
)

// DefaultPatches is the terrain total assumed when no terrain Milestone
// says how many patches were expected: a 256 m region of 16 m patches.
const DefaultPatches = 256

// terrainMessages are always told as a stream summary, even for one
// packet; so are the messages of objectWords.
var terrainMessages = map[string]bool{"LayerData": true}
