// Package cache puts a bounded in-process cache (otter) in front of any store.Store and is itself
// a store.Store, so serving code does not know whether it talks to a cache.
//
// What it caches: values found by Get and MultiGet, bounded by their weight in bytes
// (Options.MaxBytes) and kept for Options.TTL; and "not found" answers for Options.NegativeTTL
// (short), so a storm of lookups for customers without a profile does not reach the backend.
//
// How it stays correct:
//   - Put, PutBatch and Delete through the wrapper write the backend first, then invalidate the
//     keys. A load that races with the write is discarded by otter (an invalidation during a
//     load discards the loaded value), so a stale value is never cached after the write returns.
//   - DeletePrefix (and InvalidatePrefix) deletes in the backend, then bumps a prefix epoch and
//     walks the cached keys, invalidating those with the prefix: O(cached entries), fine for
//     the rare callers (erasure of a customer, dropping an old snapshot version). A load that
//     started before the bump invalidates its own entry when it sees the epoch changed, so an
//     in-flight load cannot resurrect a deleted key.
//   - Writes made elsewhere (another process, the profile updater on another node, a direct
//     write to the backend) are invisible until Invalidate / InvalidatePrefix is called for
//     them (for example from an invalidation message on the stream) or the TTL passes. The TTL
//     is therefore the bound on staleness if an invalidation message is lost.
//
// In front of the Redis backend, wire the server's invalidations to the cache so that writes by
// other processes are seen within milliseconds instead of after the TTL:
//
//	var c atomic.Pointer[cache.Cache]
//	rs, err := redis.Open(redis.Options{OnInvalidate: func(k []byte) {
//		if cc := c.Load(); cc != nil {
//			cc.HandleInvalidation(k)
//		}
//	}})
//	cc, err := cache.New(rs, cache.Options{})
//	c.Store(cc)
//
// Returned slices are shared with the cache and with other callers: never modify them.
//
// This package must never modify a value, hold a backend error in the cache, or let the cache
// outlive Close.
package cache
