package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
)

// errUnavailable is the outcome of requests refused because the breaker is open.
var (
	errUnavailable = errors.New("the event stream is unavailable")
	errAbandoned   = errors.New("request abandoned before its envelope was built")
)

// pending is one accepted request waiting for its events to be durable.
type pending struct {
	chunks    [][]byte // encoded events (JSON lines), each ≤ the stream's message limit
	events    int
	bytes     int64
	enqueued  time.Time
	remaining atomic.Int32 // chunks not yet resolved
	abandoned atomic.Bool  // the handler answered (503) or the client left: no need to store
	err       atomic.Pointer[error]
	done      chan struct{}
}

// resolve records the outcome of one chunk; the last one releases the request.
func (p *pending) resolve(c *Collector, err error) {
	if err != nil {
		p.err.CompareAndSwap(nil, &err)
	}
	if p.remaining.Add(-1) == 0 {
		c.pendingBytes.Add(-p.bytes)
		close(p.done)
	}
}

func (p *pending) outcome() error {
	if e := p.err.Load(); e != nil {
		return *e
	}
	return nil
}

type item struct {
	p      *pending
	data   []byte
	events int // events credited to this chunk: all of the request's on its first chunk
}

// run is the committer: it gathers requests into envelopes and hands each to a
// publishing goroutine, at most MaxPublishing at a time.
func (c *Collector) run() {
	defer close(c.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var backlog []item
	expand := func(p *pending) {
		if p.abandoned.Load() {
			// Answered 503 already (it waited past AckTimeout in the queue): storing it now
			// would only add a duplicate of what the client will send again.
			for range p.chunks {
				p.resolve(c, errAbandoned)
			}
			return
		}
		for i, ch := range p.chunks {
			n := 0
			if i == 0 {
				n = p.events
			}
			backlog = append(backlog, item{p, ch, n})
		}
	}
	for {
		if len(backlog) == 0 {
			select {
			case p := <-c.queue:
				expand(p)
			case <-c.quit:
				// Requests whose handlers gave up may still be queued: publish them too.
				select {
				case p := <-c.queue:
					expand(p)
				default:
					return
				}
			}
		}
		timer.Reset(c.opts.CommitDelay)
		timerDone := false
		var env []byte
		var members []item
		for {
			// Take what fits; a chunk that does not fit waits for the next envelope.
			for len(backlog) > 0 && len(env)+len(backlog[0].data) <= c.maxMsg {
				if env == nil {
					env = c.newEnvelope(c.envCap(backlog))
				}
				env = append(env, backlog[0].data...)
				members = append(members, backlog[0])
				backlog[0] = item{}
				backlog = backlog[1:]
			}
			if len(backlog) > 0 || len(env) >= c.opts.CommitBytes {
				c.slots <- struct{}{} // full: wait for a publisher
				break
			}
			if timerDone {
				// Keep gathering while every publisher is busy: that is the group commit.
				select {
				case c.slots <- struct{}{}:
				case p := <-c.queue:
					expand(p)
					continue
				}
				break
			}
			select {
			case p := <-c.queue:
				expand(p)
			case <-timer.C:
				timerDone = true
			}
		}
		timer.Stop()
		if len(backlog) == 0 {
			backlog = nil // let the array go
		}
		env, members = c.dropAbandoned(env, members)
		if len(members) == 0 {
			<-c.slots
			continue
		}
		c.publishing.Add(1)
		go c.publish(env, members)
	}
}

// dropAbandoned removes from an envelope the requests whose handlers gave up while it was
// gathered (they were answered 503 and will be sent again).
func (c *Collector) dropAbandoned(env []byte, members []item) ([]byte, []item) {
	n := 0
	for _, m := range members {
		if m.p.abandoned.Load() {
			n++
		}
	}
	if n == 0 {
		return env, members
	}
	kept := make([]item, 0, len(members)-n)
	env = env[:0] // rebuilt in place: kept chunks only move towards the start
	for _, m := range members {
		if m.p.abandoned.Load() {
			m.p.resolve(c, errAbandoned)
			continue
		}
		env = append(env, m.data...)
		kept = append(kept, m)
	}
	return env, kept
}

// newEnvelope returns an empty envelope buffer of at least n bytes, reusing the buffer
// of an envelope already published when one is free: under load envelopes are
// CommitBytes large, and allocating (and clearing) them, or growing them while requests
// keep arriving, cost more CPU than anything else the committer does.
func (c *Collector) newEnvelope(n int) []byte {
	if b, ok := c.envPool.Get().(*[]byte); ok {
		if cap(*b) >= n {
			return (*b)[:0]
		}
	}
	return make([]byte, 0, max(n, c.opts.CommitBytes+c.opts.CommitBytes/2))
}

// releaseEnvelope hands a published envelope's buffer back for reuse. The stream keeps
// no reference to it once Publish returned nil (stream.Stream's contract).
func (c *Collector) releaseEnvelope(env []byte) {
	if cap(env) <= 4*c.opts.CommitBytes {
		c.envPool.Put(&env)
	}
}

// envCap sizes a new envelope buffer: the soft target, or more when the first chunk is
// larger, never over the stream's limit.
func (c *Collector) envCap(backlog []item) int {
	n := 0
	for _, it := range backlog {
		if n+len(it.data) > c.maxMsg {
			break
		}
		n += len(it.data)
		if n >= c.opts.CommitBytes {
			break
		}
	}
	return max(n, min(c.opts.CommitBytes, 64<<10))
}

// publish writes one envelope durably and releases its requests. It holds one slot.
func (c *Collector) publish(env []byte, members []item) {
	defer func() {
		<-c.slots
		c.publishing.Done()
	}()
	events := 0
	oldest := members[0].p.enqueued
	for _, m := range members {
		if m.p.enqueued.Before(oldest) {
			oldest = m.p.enqueued
		}
		events += m.events
	}
	var err error
	if !c.breaker.allow(c.opts.Now()) {
		err = errUnavailable
	} else {
		id := c.idPrefix + strconv.FormatUint(c.envSeq.Add(1), 36)
		err = c.publishWithRetry(id, env, oldest)
		if err == nil {
			c.metrics.envBytes.Observe(float64(len(env)))
			c.metrics.envEvents.Observe(float64(events))
		}
	}
	for _, m := range members {
		m.p.resolve(c, err)
	}
	if err == nil {
		// Acknowledged, so the client library has sent every byte. After a failure
		// (a timeout) it might still hold the buffer to send: leave it to the GC.
		c.releaseEnvelope(env)
	}
}

// publishWithRetry publishes with one envelope id, so a retry after an attempt whose
// acknowledgement was lost never stores the envelope twice. It retries a failed attempt
// while the oldest request of the envelope still waits for it.
func (c *Collector) publishWithRetry(id string, env []byte, oldest time.Time) error {
	giveUp := oldest.Add(c.opts.AckTimeout)
	var err error
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.PublishTimeout)
		err = c.opts.Stream.Publish(ctx, id, env)
		cancel()
		took := time.Since(start)
		c.metrics.publish.Observe(took.Seconds())
		if err == nil {
			c.breaker.success(c.opts.Now())
			return nil
		}
		c.log.Warn("cannot publish envelope", "envelope", id, "bytes", len(env), "attempt", attempt, "took", took, "err", err)
		if attempt >= 2 || time.Now().Add(5*time.Millisecond).After(giveUp) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.breaker.fail(c.opts.Now(), err)
	return fmt.Errorf("cannot publish envelope %s: %w", id, err)
}

// breaker answers "unavailable" at once after a publish failed (including one that got no
// answer within PublishTimeout), until ProbeInterval has passed; then requests flow again
// and the next publish decides. A publish that is merely slow does not trip it: requests
// waiting longer than AckTimeout get 503 anyway, and publishes that complete keep
// acknowledging the rest, so an overloaded collector sheds load instead of collapsing.
type breaker struct {
	openUntil atomic.Int64 // unix nanoseconds; 0 when closed
	interval  time.Duration
	log       *slog.Logger
	trips     atomic.Uint64
}

func (b *breaker) allow(now time.Time) bool {
	u := b.openUntil.Load()
	return u == 0 || now.UnixNano() >= u
}

func (b *breaker) available() bool { return b.openUntil.Load() == 0 }

func (b *breaker) fail(now time.Time, err error) {
	if b.openUntil.Swap(now.Add(b.interval).UnixNano()) == 0 {
		b.trips.Add(1)
		b.log.Error("event stream unavailable: answering 503 until it recovers", "err", err, "probe_every", b.interval)
	}
}

func (b *breaker) success(now time.Time) {
	if b.openUntil.Swap(0) != 0 {
		b.log.Info("event stream available again", "at", now)
	}
}
