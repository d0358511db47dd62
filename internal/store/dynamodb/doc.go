// Package dynamodb is the DynamoDB backend of the online store (aws-sdk-go-v2).
//
// Table layout: one table with a binary partition key "k" (the raw store key) and a binary
// attribute "v" (the value; left out when the value is empty, because that costs nothing and
// works on every DynamoDB-compatible server). Options.CreateTable creates it when missing, with
// on-demand (PAY_PER_REQUEST) billing.
//
// Reads are strongly consistent by default (Options.EventuallyConsistent halves their cost and
// may return a value up to about a second old). MultiGet uses BatchGetItem, 100 distinct keys
// per request, and PutBatch uses BatchWriteItem, 25 distinct items per request; both retry the
// unprocessed keys/items with backoff until done or ctx ends. PutBatch is NOT atomic: a failure
// part way leaves the earlier chunks written (the online store's writers re-run whole loads).
// An item (key + value) must stay under DynamoDB's 400 KB item limit; larger values get an error
// wrapping ErrItemTooLarge, so callers split such values (for example a model) into parts.
//
// DeletePrefix cost: DynamoDB has no prefix index on a hash key, so DeletePrefix is a parallel
// Scan of the WHOLE table (Options.ScanSegments segments) filtered with begins_with, followed
// by batched deletes. It consumes read capacity for every item in the table, not just the
// matching ones: O(table size) per call. Keep it for rare operations (erasure, tests). To drop
// an old snapshot version cheaply in production, give each version its own table (and delete
// the table) or set a DynamoDB TTL attribute when writing it.
//
// This package must never talk to an endpoint other than the one it was configured with, hold
// caller slices after a call returns, or retry past ctx's deadline.
package dynamodb
