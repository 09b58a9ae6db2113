// Package template parses message_template.msg, the file that defines every
// message of the viewer protocol's UDP transport (LLUDP): its name, its
// frequency class and number, whether it is trusted and zerocoded, and the
// blocks and fields of its body in wire order.
//
// The grammar, after "//" comments are stripped, is a sequence of tokens
// separated by white space and braces:
//
//	version 2.0
//	{ Name Frequency Number Trust Encoding [Flag]
//		{ Block Single|Multiple N|Variable
//			{ Field Type [Size] } ...
//		} ...
//	} ...
//
// Frequency is High, Medium, Low or Fixed; Number is decimal, or hexadecimal
// (0xFFFFFFxx) as Fixed messages are written. Trust is Trusted or NotTrusted,
// Encoding Zerocoded or Unencoded, and the optional flag one of
// UDPDeprecated, Deprecated or UDPBlackListed. Field types are the integer
// types U8 … U64 and S8 … S64, F32, F64, BOOL, LLUUID, LLVector3,
// LLVector3d, LLVector4, LLQuaternion, IPADDR, IPPORT, "Fixed N" (N raw
// bytes) and "Variable 1|2" (a one- or two-byte length, then that many bytes).
//
// Parse checks more than syntax: message numbers must lie in their
// frequency's range and be unique, names must be unique within their scope,
// and counts and sizes must be positive and in range. Every error names the
// line and what was wrong. File.AppendText writes a File back in the same
// grammar, so a parsed file can be printed and parsed again to the same value.
//
// The code generator in internal/cmd/msggen reads the template through this
// package to produce the packet codec in protocol/msg.
package template
