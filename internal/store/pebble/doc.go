// Package pebble is the embedded default backend of the online store: a Pebble LSM in a
// directory under the data dir, with a bounded block cache.
//
// Durability: writes go to Pebble's write-ahead log; by default without an fsync per write
// (Options.Sync), because everything in the online store is derived data (published snapshots
// are reloaded from the lake, real-time keys are rebuilt from the stream), so a power loss
// costs at most the last few writes, never consistency. PutBatch is atomic (one Pebble batch).
// DeletePrefix writes a range tombstone (cheap, whatever the number of keys); the space is
// reclaimed by later compactions.
//
// This package must never interpret values, keep references to caller slices, or let a call
// after Close reach Pebble (which would panic).
package pebble
