package login

import (
	"sync"

	"ritual"
	"ritual/account"
)

// SetDummyParams makes the unknown-name verification of s use costs p, so
// that tests and fuzzing need not pay the default argon2 cost.
func SetDummyParams(s *Server, p account.Params) {
	s.dummyHash = sync.OnceValues(func() (string, error) {
		return account.Hash(ritual.NewUUID().String(), p)
	})
}

// SetIDs replaces the circuit code and session id source of s.
func SetIDs(s *Server, f func() (uint32, ritual.UUID, ritual.UUID)) { s.newIDs = f }

// RootElement exposes the document element sniffer.
var RootElement = rootElement
