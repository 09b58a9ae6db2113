// Package caps serves a region's HTTP capabilities — the seed capability,
// EventQueueGet and the few others a client needs to connect — and holds the
// client side of the same exchanges.
//
// # Server
//
// A Router is an http.Handler for every path under /CAPS/. Grant registers an
// agent and returns its seed capability URL, live at once (node-metaverse
// posts the seed while it is still reading the login reply, before any UDP).
// Every capability path is /CAPS/<32 hex digits>/ — 128 bits from
// crypto/rand, one path per agent per capability, made when the seed first
// grants it, bound to that agent and no other. Revoke (or a new Grant of the
// same agent) makes every path of the agent answer 404.
//
// The seed capability (POST) reads an LLSD array of capability names and
// answers an LLSD map of name → absolute URL for the names it grants; unknown
// names are left out. Request bodies are decoded by their own form (XML,
// binary or notation, told from the first bytes) whatever their Content-Type
// says, because real clients vary (application/llsd+xml, application/xml,
// text/xml, none); a body that is not LLSD is a 400 with a plain-text reason,
// one over Config.MaxBody a 413, any method but POST a 405.
//
// Granted capabilities:
//
//	EventQueueGet               long poll, see below
//	SimulatorFeatures           GET or POST → LLSD map of features
//	FetchInventoryDescendents2  the agent's own folders (Config.Inventory)
//	FetchLibDescendents2        the library's folders (Config.LibraryOwner)
//	anything added with Router.Handle
//
// EventQueueGet reads {ack, done} and holds the request until the agent has
// events (200, {events: [{message, body}], id}) or Config.EQTimeout passes
// (502, empty body, as OpenSimulator and Second Life answer). Batch ids start
// at a random value and go up by one per batch. A batch stays the agent's
// until a poll acknowledges its id: a poll that does not is answered with the
// same batch again, so an answer lost on the way is not an event lost.
// done: true closes the queue (later polls get 404). A new poll of the same
// agent supersedes a waiting one, which is answered 409: usually nobody
// reads it any more, and a client that really runs two poll loops backs off
// instead of having them knock each other out in a tight loop. Enqueue adds to a bounded per-agent queue (ErrQueueFull when
// full; the drop is counted and traced).
//
//	client                                   Router
//	  | POST seed  <array><string>EventQueueGet…  |
//	  | <── 200 <map><key>EventQueueGet</key><string>http://…/CAPS/3f…/
//	  | POST EQ  {ack: undef, done: false}       |  (held ≤ EQTimeout)
//	  | <── 200 {events: [{message, body}…], id: 8211}
//	  | POST EQ  {ack: 8211, done: false}        |
//	  | <── 502 (nothing to say)                 |
//
// # Client
//
// RequestSeed posts the names and returns the granted map; EventQueueClient
// runs the poll loop (502 and client-side timeouts re-poll at once, 404 and
// 410 stop it, other failures back off); GetLLSD and PostLLSD call any other
// capability.
//
// # Observer
//
// With a trace.Recorder the server records SEED GRANT, RECV POLL, DELIVER,
// TIMEOUT and CALL <capability>; the client records SEED REQUEST, SEED
// RESPONSE, POLL, RECV EVENTS, TIMEOUT (a 502 or a poll that timed out) and
// CALL <capability>.
package caps
