// Package storetest is the conformance suite every store backend runs, so
// that the embedded SQLite store and a PostgreSQL one behave alike:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, dir string) store.Store {
//			s, err := sqlite.Open(dir)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// It exercises every method of package store's interfaces, their error
// cases, persistence across Close and reopen, Close itself and concurrent
// use (run it with -race).
package storetest
