// Package store defines the online key-value store that serving reads precomputed, versioned
// results from: customer profiles, predicted sizes, co-visitation neighbours, head-query candidate
// lists and models. Values are opaque bytes; callers encode them with a compact binary encoding.
//
// Backends live in subpackages: pebble (embedded default), redis (rueidis, with client-side
// caching and server-assisted invalidation) and dynamodb (aws-sdk-go-v2). The cache subpackage
// puts an in-process otter cache in front of any Store. The storetest subpackage is the one
// conformance suite every backend and wrapper must pass.
//
// # Contract
//
//   - Keys are non-empty byte strings of at most MaxKeyLen bytes; any byte value is allowed,
//     including 0x00 and 0xff. A bad key returns an error wrapping ErrInvalidKey, never a panic.
//   - Get returns an error wrapping ErrNotFound for an absent key. A present empty value is
//     returned as a non-nil, zero-length slice, so callers can tell "absent" from "empty".
//   - MultiGet returns one entry per requested key, in request order; nil means absent. Duplicate
//     keys are allowed and answered each time.
//   - PutBatch applies every pair; when a key appears twice, the later pair wins. Whether the batch
//     is atomic depends on the backend and is documented there (Pebble and Redis: atomic;
//     DynamoDB: not atomic, 25 items per request).
//   - Delete of an absent key is not an error. DeletePrefix removes every key that starts with the
//     non-empty prefix and nothing else; an empty prefix is rejected (it would wipe the store).
//   - Slices returned by Get and MultiGet must be treated as read-only: a cache in front of the
//     backend may hand the same slice to several callers. Slices passed to Put are not retained.
//   - Every method honours ctx where the backend can (remote backends bound their waits by the
//     ctx deadline; a ctx that is already done returns its error). After Close every method
//     returns an error wrapping ErrClosed; Close itself is idempotent.
//   - All methods are safe for concurrent use.
//
// # Key-space conventions (advice; the caller owns the layout)
//
// A short ASCII tag, a slash, then the components, with the customer or item id last so that one
// DeletePrefix reaches everything of one version or one customer:
//
//	p/<version>/<customer>     profile from the published snapshot <version>
//	sz/<version>/<customer>    predicted sizes from snapshot <version>
//	cv/<version>/<item>        co-visitation neighbours from snapshot <version>
//	hq/<version>/<query hash>  head-query candidate list from snapshot <version>
//	m/<version>/<name>         models (ranker, size model) of snapshot <version>
//	rt/<customer>              real-time profile delta written by the profile updater
//	snap/current               the version readers should use (swap it last, after a full load)
//
// Terminate variable-length components with the separator (DeletePrefix("p/12/") rather than
// "p/12", which would also remove "p/123/..."). Dropping an old snapshot is DeletePrefix of its
// version tag, e.g. "p/11/"; erasing a customer is Delete of each of their keys in the versions
// still kept plus Delete("rt/<customer>"), followed by cache invalidation (package cache).
// Keep keys short: on the profile path the key is part of every lookup and of the stored size.
//
// This package must never import a backend, do I/O of its own or interpret values.
package store
