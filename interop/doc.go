// Package interop holds the real-client tests: a third-party viewer library,
// node-metaverse (npm @caspertech/node-metaverse), logs into a Ritual grid
// that the test starts in-process on free loopback ports, and the test
// asserts what the client itself saw: a completed connect, RegionHandshake,
// AgentMovementComplete, prims, the whole terrain through the client's own
// LayerData decoder, and a LogoutReply when it logs out. Other scenarios:
// two bots in the region at once, a wrong password refused with reason
// "key", and the shared world (nm-world.mjs): two bots see each other's
// avatars, one hears the other's chat with its name and position, sees it
// walk and leave, they exchange an instant message, and a message to an
// account that is offline is answered for it and delivered at its next
// login. Teleports (nm-teleport.mjs): logged in to West, node-metaverse
// teleports to East with its own command (map search by name,
// TeleportLocationRequest, TeleportFinish on the event queue, a new circuit)
// and must arrive there, handshake and AgentMovementComplete at East's
// handle, and log out from East.
//
// The Node side lives in testdata/ (so that Go's ./... never walks its
// node_modules): package.json and package-lock.json pin node-metaverse
// 0.8.16 (with the npm xmlrpc 1.3.2 in place of the git dependency it
// names), and nm-ritual.mjs drives the bots and prints one JSON line with
// what they saw. scripts/test installs it with `npm ci`.
//
// Without Node.js or without the installed packages the tests skip, except
// under CI (the CI environment variable set), where that is a failure. When
// a test fails it prints node-metaverse's own log and the grid's side of the
// story, told by trace/narrative from the grid's probes, which is what an
// operator needs to see why the client did not get in.
package interop
