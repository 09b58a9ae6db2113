// Command msggen generates protocol/msg/zmessages.go, the packet codec, from
// message_template.msg. It runs through go generate in protocol/msg:
//
//	//go:generate go run ritual/internal/cmd/msggen -out zmessages.go
//
// The template is the file named by -template, else $RITUAL_TEMPLATE, else
// ../shared/protocol/message_template.msg beside the module root (the
// nearest directory upward holding go.mod). The template itself is never
// part of the repository.
//
// For every template message it writes a struct named as the message, with
// one field per block (a struct for Single, an array for "Multiple N", a
// slice for Variable) of a struct type named <Message><Block>, whose fields
// are named as the template's; the Message methods (ID, Name, Trusted,
// Zerocoded, AppendTo, Decode, Validate); an ID constant per message
// (IDUseCircuitCode, ...); and the lookup tables behind msg.Lookup, msg.ByName
// and msg.New. It fails, naming the template lines, if two generated names
// would collide with each other or with a name the package already declares
// by hand. The output goes through go/format and depends only on the
// template, so regenerating is reproducible.
package main
