// Package peer is the transport of the calls the regions of a grid make to
// the regions of other processes sharing the grid's store: a teleport's
// arrival, a child agent for a neighbour, a border crossing, the release
// of an agent that arrived.
//
// A call is an HTTP POST of a JSON body to
// PathPrefix + "{regionID}/{op}" on the HTTP side of the process running
// the region (store.RegionHost.HTTPBase). It is signed with the grid's
// secret (store.GridStore.Secret, 32 random bytes kept in the database and
// shared by every process of the grid, never sent to clients, never in a
// URL, never logged): the Header carries a version, the time of the call
// in Unix seconds, a random nonce and an HMAC-SHA256 over the method, the
// path, the time, the nonce and the SHA-256 of the body, keyed with a key
// derived from the secret. The receiving Verifier refuses a missing or bad
// signature, a time more than MaxSkew from its clock and a nonce it has
// seen within that window (a bounded set: when it is full of live nonces
// the call is refused rather than remembered less). Bodies are at most
// MaxBody bytes.
//
// An answer is JSON too; a refusal carries an *Error, a code the caller
// turns back into the error it stands for (a region that is not there, a
// full region, one shutting down) and a message.
package peer
