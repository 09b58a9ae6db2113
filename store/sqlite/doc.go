// Package sqlite is the embedded storage backend of a Ritual grid: one
// SQLite database file, driven by the pure-Go modernc.org/sqlite (no cgo),
// implementing the interfaces of package store.
//
// Open takes a directory (the database is DIR/ritual.db) or a file path.
// The database runs in WAL mode with foreign keys on and a busy timeout, so
// a command such as `ritual user create` can write while a server is
// running. Inside one process all writes go through a single connection
// (SQLite admits one writer at a time; queueing in Go avoids lock retries)
// while reads use a pool of read-only connections that WAL lets proceed
// alongside the writer. synchronous=NORMAL: a committed transaction survives
// a crash of the process; the last ones may be lost on power failure.
//
// The schema is versioned by package store/migrate — the versions every
// backend shares, recorded in the schema_version table (and mirrored in
// PRAGMA user_version, which databases of version 1 used alone) — and
// migrated forward on Open, in one transaction per step. A database written by a newer Ritual
// (a higher version than this package knows) is refused with
// ErrNewerSchema rather than misread.
//
// Layout: UUIDs are 16-byte BLOBs, times INTEGER microseconds since the Unix
// epoch (UTC), names compared with COLLATE NOCASE, the heightmap a BLOB of
// little-endian float32 values.
package sqlite
