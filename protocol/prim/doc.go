// Package prim holds the codecs for the binary blobs that travel inside the
// object messages of the viewer protocol: the server encodes them, the client
// decodes them, and neither needs the packet codec to do so. Each codec works
// on the bytes of one template field (or one Data blob), never on a packet.
//
// What lives here, by message and field (message_template.msg names):
//
//	ObjectUpdate.ObjectData.ObjectData     Motion: the motion blob, chosen by length
//	    76 = CollisionPlane(4×F32) + 60
//	    60 = Position, Velocity, Acceleration (V3 F32), Rotation (x,y,z F32, w implied), AngularVelocity
//	    48 = CollisionPlane(4×F32) + 32
//	    32 = the same quantities as U16 (see FloatToU16), rotation as 4×U16
//	    16 = the same quantities as U8 (see FloatToU8), rotation as 4×U8
//	ObjectUpdate.ObjectData.Path*/Profile*  Shape (natural values) <-> ShapeParams (wire integers)
//	ObjectUpdate.ObjectData.TextureEntry    TextureEntry: eleven sections, each
//	    default value, then (face bitfield, value)*, then 00
//	    bitfield = big-endian base-128 varint of a face mask (bit f = face f)
//	ObjectUpdate.ObjectData.ExtraParams     ExtraParams: count U8, then (type U16, length U32, data)*
//	ObjectUpdate.ObjectData.TextureAnim     TextureAnim: 16 bytes
//	ObjectUpdateCompressed.ObjectData.Data  Compressed: fixed head, then sections chosen by CompressedFlags
//	ImprovedTerseObjectUpdate.ObjectData.Data          Terse: 44 bytes (prim) or 60 (avatar)
//	ImprovedTerseObjectUpdate.ObjectData.TextureEntry  AppendTerseTextureEntry / TerseTextureEntry
//
// All multi-byte numbers are little-endian. Quantized quantities follow the
// conventions of the reference implementations (OpenSimulator, LibreMetaverse):
// U16/U8 range packing truncates on encode and snaps values within one step of
// zero to zero on decode; TextureEntry offsets and rotations are S16; path and
// profile parameters use the quanta documented on Shape.
//
// Encoders append to a caller's slice (AppendTo) and never allocate beyond
// growing it. Decoders fill a caller-owned value, never retain the input slice,
// never panic, and return a *DecodeError naming the blob, the field and the byte
// offset of the first problem; it unwraps to one of the package's sentinel
// errors (ErrShort, ErrTrailing, ErrLength, ErrRange, ErrEmpty).
package prim
