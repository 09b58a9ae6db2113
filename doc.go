// Package ritual holds the value types shared by every part of Ritual: the
// server, the client library, the observer and the tools built on them.
//
// These are the types the viewer protocol carries on the wire (see
// message_template.msg): UUID (LLUUID), Vector3 (LLVector3), Vector3d
// (LLVector3d), Vector4 (LLVector4), Quaternion (LLQuaternion) and
// RegionHandle (the U64 that names a region by its south-west corner in
// metres). Packages under protocol/ encode and decode them; nothing here
// knows about sockets.
package ritual
