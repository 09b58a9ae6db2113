// Package store defines what a Ritual grid keeps between restarts —
// accounts, their inventory folders, regions, terrain and the objects in a
// region — as interfaces that storage backends implement.
//
// store/sqlite is the embedded default (one SQLite file, pure Go);
// store/postgres keeps a grid shared by several processes and machines.
// Both run the one conformance suite in store/storetest, which pins down
// the behaviour described here, and the same schema versions
// (store/migrate).
//
// # Errors
//
// Every backend reports the same domain errors, wrapped with context and
// testable with errors.Is: ErrNotFound (no such account, folder, region,
// terrain or object), ErrExists (a name, id, grid location or local id is
// taken) and ErrInvalid (a value the store refuses to keep, such as a bad
// avatar name, a non-finite coordinate or a heightmap whose size does not
// match its dimensions). After Close every method returns ErrClosed.
//
// # Accounts and inventory
//
// Names are compared without regard to ASCII case, as OpenSimulator does:
// "test user" finds "Test User". Names follow account.ValidateName.
// Creating an account creates its inventory skeleton in the same
// transaction (see DefaultSkeleton): the root folder "My Inventory" of type
// FolderRoot and the system folders below it, among them Current Outfit
// (FolderCurrentOutfit, 46), which node-metaverse requires in the login
// reply's inventory-skeleton. Deleting an account deletes its folders.
//
// Folder versions start at 1. Creating or deleting a folder increments the
// version of its parent, which is how viewers learn that their cached copy
// of a folder's contents is stale.
//
// # Regions, terrain and objects
//
// A region has a unique name (case-insensitive) and a grid location in
// 256 m units; regions may not overlap. Deleting a region deletes its
// terrain and objects. Terrain is one heightmap per region, row-major
// (Heights[y*W+x]) in metres. Objects are prims keyed by UUID with a
// local id unique within their region; their shape is kept exactly as the
// integers ObjectUpdate carries (see the protocol notes, section 5.1).
//
// # A grid over several processes
//
// A GridStore also keeps what the processes of one grid share beyond the
// records above: the map of running regions (Hosts: where each serves, with
// a heartbeat, swept when it stops), the circuits a login service hands to
// a region in another process (Circuits) and each agent's last location
// (Locations). A Notifier lets those processes wake each other instead of
// polling. Both backends are GridStores; store/postgres notifies across
// processes (LISTEN/NOTIFY), store/sqlite within one Store only.
//
// # Time
//
// Stores keep timestamps to the microsecond, in UTC.
package store
