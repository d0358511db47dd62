// Package lake is Bespoke's Parquet event lake (CONTRACT §5): the Writer that files
// events from the stream into Hive-style partitions, the Storage backends it writes to
// (a local folder, FS, or an S3 bucket prefix, S3), and the readers built on the same
// layout: Scan for training, Stats for `bespoke lake stats`, Compact for merging small
// files and erasing customers.
//
// Layout, relative to the lake root:
//
//	events/event=<EscapeName(name)>/dt=YYYY-MM-DD/hour=HH/<unique>.parquet   (event time, UTC)
//	events/…/hour=HH/c-<unique>.parquet   a compacted file; its footer key bespoke.supersedes
//	                                     names the files of the folder it replaces
//	dead_letters/dt=YYYY-MM-DD/<unique>.parquet   what could not be filed, with the reason
//	_erasures/<unique>.json               erasure requests waiting for the next Compact
//	_tmp/                                 (FS only) files being written; never listed
//
// # What it must never do
//
// Never make a partial file visible, never acknowledge (call done for) a batch before
// every one of its events is in a durable, published file, never write an event twice,
// and never drop anything silently: what cannot be filed goes to dead_letters.
//
// # Exactly once: the crash-safety argument
//
// The caller (the stream consumer) acknowledges a stream message only when done(nil) is
// called for its batch; unacknowledged messages are delivered again after a crash. The
// writer keeps a seen-set of messageIds in Pebble under WriterOptions.StateDir. A file
// goes through these steps, in this order:
//
//  1. rows are written to a temporary object (FS: <root>/_tmp; S3: a multipart upload),
//     invisible to List/Stat/Open and to every outside reader;
//  2. the file's key and messageIds are recorded as a pending marker, with fsync;
//  3. the file is published atomically (FS: fsync, rename, fsync folder; S3:
//     CompleteMultipartUpload or PutObject);
//  4. the messageIds are recorded as seen and the marker removed (no fsync needed);
//  5. batches whose every file is published get done(nil).
//
// Crash before 2 or between 2 and 3: the file is not published and no batch waiting for
// it was acknowledged, so its events are delivered again; at start-up the marker (if
// any) is found, the file is not in the lake, the marker is dropped, and the events are
// written anew. Crash between 3 and 4 (or after 4 before Pebble's WAL reached the disk):
// the marker survives (it was synced), the file exists, so start-up records its
// messageIds as seen; the redelivered events are dropped as duplicates. A file later
// merged by Compact counts as existing (a compacted file in its folder names it).
// Crash after 5: the stream does not redeliver; if it does anyway, the ids are seen.
// An event whose messageId is already in an unpublished file of this run is not written
// again: its batch waits for that file instead. The same rule drops a client's second
// copy of an event received within DedupWindow (7 days by received time), which is
// where CONTRACT §2's "stored once" is guaranteed. If publishing fails and the writer
// cannot tell whether the file exists (S3 timeout and HEAD failing), it stops accepting
// events; a restart resolves the marker from the lake. Tests simulate each crash point
// by building a new Writer over the same folders.
//
// Limits: dead letters are not deduplicated on redelivery; only one Compact may run on
// a lake at a time; during the instant between a compacted file's publication and the
// deletion of its inputs (or after a crash there, until the next Compact), outside
// readers such as DuckDB see both copies — dedupe on message_id if that matters to you.
//
// # Order
//
// Scan returns hours in ascending order; with ScanOptions.Sorted the rows of each hour
// are sorted by (timestamp, message_id), which makes the whole scan event-time ordered.
package lake
