// Package account holds what a grid needs to know about an avatar's
// credentials and name, independent of where accounts are stored.
//
// # Passwords
//
// Viewers never send the password itself: the login request's passwd member
// is "$1$" followed by the lowercase hex MD5 of the password (35 characters;
// see login_to_simulator in the protocol notes). The grid therefore stores a
// slow, salted key derivation of that MD5 form, never of the plain text:
//
//	stored = argon2id(salt, md5hex(password))
//
// so a login carrying "$1$"+md5hex and a tool holding the plain password
// both verify against the same record. [PasswordForm] maps either form to the
// md5hex string. A value that starts with "$1$" and continues with exactly 32
// hex digits is taken as already hashed (LibreMetaverse passes such values
// through the same way); anything else is a plain password.
//
// The stored string is PHC-like and carries its own parameters, so costs can
// be raised later without invalidating existing records ([NeedsRehash]):
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<key, base64>
//
// (base64 is the standard alphabet without padding, as in the PHC string
// format.) Comparison is constant-time.
//
// Each verification allocates Params.Memory KiB for its duration, so a
// service should bound how many run at once (for example to GOMAXPROCS).
//
// # A limit of one client
//
// node-metaverse hashes only the first 16 characters of the password it is
// given. A password longer than 16 characters therefore cannot be used from
// that client: it sends the MD5 of a prefix, which does not match. This
// package does not truncate anything on its own; choose passwords of at most
// 16 characters for accounts that node-metaverse bots log into.
//
// # Names
//
// Avatars are named by a first and a last name. [ValidateName] accepts
// 1–31 characters of ASCII letters, digits, '-', '_' and '.', with no spaces
// (the NameValue lines of ObjectUpdate separate fields with spaces, and names
// are compared without regard to ASCII case, as OpenSimulator does).
package account
