package stream

import (
	"context"
	"errors"
	"time"
)

// Errors returned (wrapped) by every backend.
var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("stream is closed")
	// ErrTooLarge is returned by Publish for a message longer than MaxMessageBytes.
	ErrTooLarge = errors.New("message is larger than the stream accepts")
)

// Stream is a durable, append-only log of messages.
type Stream interface {
	// Publish stores data durably and returns nil only when it is durable (fsynced
	// locally, or acknowledged by the stream's quorum). id is a dedup key: a second
	// Publish with the same id within the dedup window stores nothing and returns nil.
	// id must be non-empty. data must not be longer than MaxMessageBytes.
	Publish(ctx context.Context, id string, data []byte) error
	// MaxMessageBytes is the largest message Publish accepts.
	MaxMessageBytes() int
	// Consumer opens the durable pull consumer called name, creating it (from the start
	// of the stream) if it does not exist.
	Consumer(ctx context.Context, name string, opts ConsumerOptions) (Consumer, error)
	// Info describes the stream's content.
	Info(ctx context.Context) (Info, error)
	// Close releases the connection (and stops the embedded server, if any).
	// Consumers opened from this stream stop working. Close is idempotent.
	Close() error
}

// ConsumerOptions tune a consumer; the zero value gives the defaults.
type ConsumerOptions struct {
	// AckWait is how long a delivered message may stay unacknowledged before it is
	// redelivered (default 30 s).
	AckWait time.Duration
	// MaxAckPending caps delivered-but-unacknowledged messages (default 20,000).
	MaxAckPending int
}

// Consumer is a durable pull consumer.
type Consumer interface {
	// Fetch returns up to max messages. It returns at once with what is available; when
	// nothing is, it waits up to wait for the first message to arrive, then returns
	// whatever has arrived. Nothing arriving in time is not an error: the result is
	// empty. A done ctx returns ctx.Err().
	Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error)
	// Info describes the consumer's position.
	Info(ctx context.Context) (ConsumerInfo, error)
	// Close stops this handle; the durable consumer and its position stay on the server.
	// Deliveries not acknowledged are redelivered after their AckWait.
	Close() error
}

// Delivery is one message handed to a consumer.
type Delivery interface {
	// Data is the message as published. It must not be modified.
	Data() []byte
	// ID is the id given to Publish.
	ID() string
	// Seq is the message's sequence number in the stream (from 1, increasing).
	Seq() uint64
	// NumDelivered is 1 on first delivery, more on redeliveries.
	NumDelivered() uint64
	// Ack acknowledges the message and waits until the server has recorded it.
	Ack(ctx context.Context) error
	// Nak asks for a redelivery as soon as possible.
	Nak() error
	// InProgress restarts the message's AckWait (for slow processing).
	InProgress() error
}

// Info describes a stream.
type Info struct {
	Messages uint64 // messages stored
	Bytes    uint64 // bytes stored
	FirstSeq uint64 // sequence of the oldest message stored
	LastSeq  uint64 // sequence of the newest message ever stored (0 when none)
	Replicas int    // copies kept of each message
}

// ConsumerInfo describes a consumer's position.
type ConsumerInfo struct {
	Pending    uint64 // messages stored but never delivered to this consumer
	AckPending uint64 // messages delivered but not acknowledged yet
	AckFloor   uint64 // stream sequence up to which every message is acknowledged
	Delivered  uint64 // stream sequence of the last message delivered
}

// Lag is the number of messages this consumer still has to acknowledge.
func (c ConsumerInfo) Lag() uint64 { return c.Pending + c.AckPending }
