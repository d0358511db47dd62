// Package redis is the Redis backend of the online store, on rueidis with client-side caching:
// Get and MultiGet use DoCache / DoMultiCache, so a repeated read is answered from this
// process's memory and the server (RESP3 CLIENT TRACKING) tells the client to drop a key when
// any client writes it. Options.ClientCacheTTL bounds how long a value is kept locally.
//
// Consistency: the client uses one multiplexed connection, and every write pipelines a PING
// behind it, so the invalidations of this client's own writes are applied before the write
// returns: a Get after a Put in the same process sees the Put. Writes by other clients are seen
// once their invalidation arrives (a few milliseconds on a LAN; measured ~6 ms on loopback).
//
// Layout: every key is stored as Options.Namespace followed by the raw key bytes, so several
// deployments (or test runs) can share one server without seeing each other's keys.
//
// Atomicity and cost: PutBatch is one MSET (atomic on a single server). DeletePrefix walks the
// key space with SCAN MATCH <namespace+prefix>* and UNLINKs what it finds: O(keys in the
// database), not O(keys deleted), and keys written under the prefix while it runs may survive.
// Use it for rare operations (erasure, dropping an old snapshot version). Cluster mode is not
// supported (SCAN and MSET would have to go per node/slot).
//
// Failure and recovery: the dial timeout is short (Options.DialTimeout) and every call is
// bounded by its ctx deadline, or by Options.OpTimeout when ctx has none, so when Redis is down
// the serving path gets an error in bounded time and can fall back. Open fails if Redis cannot
// be reached at all. After a connection is lost, rueidis flushes the client-side cache (its
// invalidations may have been missed; OnInvalidate receives nil then) and reconnects on the
// next command by itself, so calls succeed again as soon as the server is back; nothing needs
// to be reopened.
//
// An otter cache (package cache) in front of this backend does not hear about writes made by
// other clients unless Options.OnInvalidate is wired to its Invalidate (and to InvalidateAll
// for nil). With client-side caching on, that outer cache is usually unnecessary.
//
// This package must never hand out a value that the server has invalidated, keep references to
// caller slices after a call returns, or block a call past its deadline.
package redis
