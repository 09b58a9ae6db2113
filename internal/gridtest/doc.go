// Package gridtest starts a whole Ritual grid in the test's process, with
// accounts, for tests that need a real server to talk to: the end-to-end,
// interop and client tests.
//
//	g := gridtest.Start(t)                      // one account, Test User
//	s, err := client.Login(ctx, client.Config{
//		LoginURI: g.LoginURI,
//		First: g.Accounts[0].First, Last: g.Accounts[0].Last,
//		Password: g.Accounts[0].Password,
//	})
//
// Start opens an SQLite store in t.TempDir, binds HTTP and UDP on
// 127.0.0.1:0, creates the accounts the options name (Test User, password
// "password", when none is named) with a cheap key-derivation cost so that
// creating accounts and logging in stay fast, and closes the grid and then
// the store through t.Cleanup (or earlier, through Grid.Stop), reporting a
// grid that failed to close or stopped serving as a test error. Options
// add a trace recorder, a logger (the default discards the grid's log), a
// packet connection such as a circuit/simnet endpoint, circuit tuning, a
// step that prepares the store before the grid starts (a region with a
// bigger scene, say), or any other grid.Config setting.
//
// It is for tests only: it takes a testing.TB and fails the test on any
// error.
package gridtest
