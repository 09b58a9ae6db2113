// Package postgres is the PostgreSQL store backend (on pgx): the storage of
// a grid that outgrows one machine, shared by a login service and region
// processes on several hosts.
//
// Open takes a connection string (postgres://user@host/db?... or the
// key=value form) and migrates the schema (package store/migrate; the same
// versions as store/sqlite, recorded in schema_version). Several processes
// may open one database at once: migrations run under an advisory lock.
// It passes the store/storetest conformance suite like store/sqlite, and is
// a store.GridStore and a store.Notifier (NOTIFY, and LISTEN on a
// connection of its own per listener, reconnecting when it is lost).
//
// Names are compared without regard to ASCII case, as in store/sqlite: each
// name is kept as given beside an ASCII-folded copy that carries the unique
// index and the ordering (byte order, collation "C"), so the result does not
// depend on the server's locale.
package postgres
