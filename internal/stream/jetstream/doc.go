// Package jetstream implements stream.Stream on NATS JetStream, with one code path for
// two deployments:
//
//   - embedded (Config.URL empty): a nats-server runs inside the process with its JetStream
//     file store under Config.Dir, reached through an in-process connection (no TCP
//     listener unless Config.ListenAddr asks for one). The server runs with SyncAlways, so
//     a publish acknowledgement means the message is fsynced. Throughput comes from
//     callers packing many events into one message (group commit), not from relaxing
//     the sync.
//   - external (Config.URL "nats://host:port[,nats://…]"): an existing server or cluster;
//     the stream is created with min(3, cluster size) replicas unless Config.Replicas says
//     otherwise, so a publish acknowledgement means a quorum stored it.
//
// Publish uses the JetStream dedup window (Nats-Msg-Id) so retries never store twice, and
// fails at once while disconnected (no client-side reconnect buffer), so callers can
// answer "unavailable" quickly instead of queueing.
//
// It must never acknowledge a publish before the server did, never buffer published
// messages in the client, and never relax the embedded server's sync setting.
package jetstream
