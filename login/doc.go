// Package login is the first step of the ritual, on both sides:
// login_to_simulator, the HTTP exchange in which a client proves who it is
// and learns where its region is and how to enter it.
//
// # Server
//
// Server is the grid's login service, an http.Handler serving one URL in
// both wire forms (see the protocol notes, sections 1 and 7.1):
//
//	XML-RPC  POST text/xml             <methodCall> login_to_simulator (one struct param)
//	         reply                     <methodResponse> with one struct
//	LLSD     POST application/llsd+xml <llsd><map> of the same members
//	         reply                     <llsd><map>
//
// The form is told by the body's document element, then by the
// Content-Type. A request names the avatar (first, last) and carries passwd,
// "$1$" + the hex MD5 of the password (a plain password is accepted too);
// account.Verify checks it against the stored hash. On success the server
// draws a circuit code and session ids from crypto/rand, has the Region
// provision the circuit (Region.Provision) before it answers, and replies
// with everything viewers and bots need to connect:
//
//	login "true", first_name, last_name ("quoted" as Linden Lab does),
//	agent_access(_max), sim_ip (an IPv4 literal), sim_port, agent_id,
//	session_id, secure_session_id, circuit_code (int), seconds_since_epoch,
//	login-flags, global-textures, seed_capability, event_categories,
//	classified_categories, ui-config, inventory-skeleton (the account's
//	folders, Current Outfit among them), inventory-skel-lib, inventory-root,
//	inventory-lib-root, inventory-lib-owner, gestures, start_location,
//	home, look_at, max-agent-groups, message, region_x, region_y (metres),
//	buddy-list; map-server-url when configured.
//
// The XML-RPC reply adds http_port, event_notifications and
// region_size_x/y, as OpenSimulator's does; in the LLSD reply the
// top-level ids are typed <uuid> (nested ids are strings in both forms).
// home and look_at are notation strings in exactly OpenSimulator's shape:
//
//	home    {'region_handle':[r256000,r256000], 'position':[r128,r128,r25], 'look_at':[r1,r0,r0]}
//	look_at [r0.9991014,r0.04238612,r0]
//
// (node-metaverse turns every [, ] and ' of home into " and parses the
// result as JSON; any other shape breaks it.) A refused login is login
// "false" with a reason key and a message; see Server for the mapping.
//
// Failed attempts are throttled (Throttle, a token bucket per key) three
// ways: per source address whatever the names (an IPv6 address counts with
// its /64), per account name from one address, and per account name from
// every address together. Each failure takes a token from its keys'
// buckets; correct logins take nothing, so any number of them from one
// address pass, and a correct login starts its account afresh. While the
// address's bucket, or the account's from that address, is empty, the
// address's attempts are refused (reason "key", a message saying how long
// to wait) before any password is checked.
//
// An attempt reserves its tokens before its password is checked and keeps
// them only if it fails: attempts beyond what the buckets hold wait for the
// verdicts of those in flight, so no number of simultaneous guesses gets
// more password checks than the allowance (and simultaneous correct logins
// are all heard).
//
// The account's allowance from every address slows guessing spread over
// many addresses without locking the owner out: once it is spent, an
// address that has failed for the account lately is refused, but one that
// has not (the owner's, in the usual case) is heard after a short delay
// (Config.AccountDelay), one attempt at a time. So each guessing address
// gets one guess at the account, not its whole allowance, while the owner's
// login only waits. Someone who guesses the password has logged in anyway;
// someone who fails from a fresh address has spent that address's clean
// slate for the account.
//
// The throttles remember a bounded number of keys. The address is the HTTP
// peer's, or for a peer in Config.TrustedProxies the rightmost address of
// X-Forwarded-For that is not a trusted proxy itself; without that, behind
// a reverse proxy every login comes from the proxy. Counts tells how many requests
// ended in each outcome, PasswordChecks how many passwords were verified,
// RefusedAddresses from how many addresses refused requests came.
//
// # Client
//
// Login is the client side: it sends the request in either form, hashes a
// plain password to the viewer form, bounds the reply (MaxResponseBytes) and
// parses it into a Response. A refusal is a *Failure error, distinct from
// transport errors, HTTP errors (*StatusError) and malformed replies
// (ErrBadResponse). ParseResponse reads a reply of either form on its own.
//
// # Probes
//
// Both sides record trace events when given a Recorder. The server:
// LoginRequest ([SERVER] [LOGIN] RECV login_to_simulator), LoginAuth (AUTH
// SUCCESS / AUTH FAILURE), CircuitProvision (CIRCUIT PROVISION, login to
// region) and LoginResponse (SEND Response); a body that is not a login
// request is an Anomaly DROPPED, and a region refusing the circuit an
// Anomaly REJECT. The client: LoginStart (START), LoginResponse (RECV
// Response) and LoginProgress (PROGRESS ConnectingToSim, or Failed with the
// reason). Events carry session ids and capability URLs as they are; sinks
// mask them.
package login
