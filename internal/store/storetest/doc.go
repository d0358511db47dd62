// Package storetest is the one conformance suite that every store.Store implementation (each
// backend and each wrapper) runs from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// newStore must return an empty store that no other subtest sees (a fresh directory, a fresh
// key namespace or table) and register its own clean-up with t.Cleanup; the suite closes the
// store itself and tolerates a second Close from the clean-up.
//
// The suite must never depend on a particular backend, sleep for timing, or leave goroutines
// running after it returns.
package storetest
