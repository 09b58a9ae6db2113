// Package migrate runs the versioned, forward-only schema migrations every
// store backend shares.
//
// A schema version is a number and a name, the same for every backend
// (Names); each backend supplies its own SQL for each version. The versions
// applied to a database are recorded in its schema_version table, one row
// per version with the time it was applied. Run applies the missing steps in
// order, one transaction each, and refuses a database whose version is
// newer than the program (ErrNewerSchema). A step, once released, is never
// edited: a change to the schema is a new step.
package migrate
