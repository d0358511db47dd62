package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Option configures a Client.
type Option func(*config) error

type config struct {
	batchSize     int
	flushInterval time.Duration
	maxBody       int
	maxRetries    int
	backoffBase   time.Duration
	backoffCap    time.Duration
	maxRetryAfter time.Duration
	queueSize     int
	queueBytes    int
	block         bool
	gzip          bool
	httpClient    *http.Client
	onError       func(*DeliveryError)
	userAgent     string
}

func defaultConfig() config {
	return config{
		batchSize:     100,
		flushInterval: 5 * time.Second,
		maxBody:       500 << 10,
		maxRetries:    10,
		backoffBase:   200 * time.Millisecond,
		backoffCap:    30 * time.Second,
		maxRetryAfter: 10 * time.Minute,
		queueSize:     10000,
		queueBytes:    64 << 20,
		gzip:          true,
		httpClient:    &http.Client{Timeout: 30 * time.Second},
		userAgent:     "bespoke-go/" + Version,
	}
}

// WithBatchSize sets how many events make a batch (default 100).
func WithBatchSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("batch size must be at least 1, got %d", n)
		}
		c.batchSize = n
		return nil
	}
}

// WithFlushInterval sets how long the oldest queued event may wait before a partial batch is
// sent (default 5 s).
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("flush interval must be positive, got %v", d)
		}
		c.flushInterval = d
		return nil
	}
}

// WithMaxBodyBytes bounds the uncompressed size of one request body (default 500 KiB; the
// collector refuses bodies above 512 KiB).
func WithMaxBodyBytes(n int) Option {
	return func(c *config) error {
		if n < MaxEventBytes+64 {
			return fmt.Errorf("max body bytes must hold one event (at least %d), got %d", MaxEventBytes+64, n)
		}
		c.maxBody = n
		return nil
	}
}

// WithRetries sets the number of retries after the first attempt (default 10) and the
// full-jitter backoff: before retry n the sender waits random(0, min(cap, base·2ⁿ)), or the
// server's Retry-After when that is longer (defaults 200 ms and 30 s).
func WithRetries(n int, base, cap time.Duration) Option {
	return func(c *config) error {
		if n < 0 || base <= 0 || cap < base {
			return fmt.Errorf("retries need n ≥ 0 and 0 < base ≤ cap, got n=%d base=%v cap=%v", n, base, cap)
		}
		c.maxRetries, c.backoffBase, c.backoffCap = n, base, cap
		return nil
	}
}

// WithQueueSize bounds the events held in memory (queued or being sent): at most n events and
// b bytes (defaults 10,000 and 64 MiB).
func WithQueueSize(n, b int) Option {
	return func(c *config) error {
		if n < 1 || b < MaxEventBytes {
			return fmt.Errorf("queue must hold at least 1 event and %d bytes, got %d and %d", MaxEventBytes, n, b)
		}
		c.queueSize, c.queueBytes = n, b
		return nil
	}
}

// WithBlockWhenFull makes Enqueue wait for room, until its context is done, instead of
// returning ErrQueueFull at once.
func WithBlockWhenFull() Option {
	return func(c *config) error { c.block = true; return nil }
}

// WithoutGzip sends uncompressed bodies.
func WithoutGzip() Option {
	return func(c *config) error { c.gzip = false; return nil }
}

// WithHTTPClient sets the HTTP client (default: http.Client with a 30 s timeout per attempt).
func WithHTTPClient(h *http.Client) Option {
	return func(c *config) error {
		if h == nil {
			return errors.New("http client is nil")
		}
		c.httpClient = h
		return nil
	}
}

// WithErrorHandler is called, from the sender goroutine, for every batch or part of a batch that
// could not be delivered. The same failures are also returned by the next Flush or Close.
func WithErrorHandler(f func(*DeliveryError)) Option {
	return func(c *config) error { c.onError = f; return nil }
}

// Failure is an event that was not delivered.
type Failure struct {
	MessageID string
	Event     string // event name, or "identify"/"page"
	Status    int    // HTTP status of the last answer, 0 when there was none
	Err       error
}

// DeliveryError lists events that were not delivered.
type DeliveryError struct {
	Failures []Failure
	// Omitted counts failures left out of Failures to bound memory (see maxFailures).
	Omitted int
}

func (e *DeliveryError) Error() string {
	n := len(e.Failures) + e.Omitted
	var b strings.Builder
	fmt.Fprintf(&b, "%d events not delivered", n)
	for i, f := range e.Failures {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", n-i)
			break
		}
		fmt.Fprintf(&b, "; %s %q: %v", f.MessageID, f.Event, f.Err)
	}
	return b.String()
}

// MessageIDs returns the messageIds of the listed failures.
func (e *DeliveryError) MessageIDs() []string {
	ids := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		ids[i] = f.MessageID
	}
	return ids
}

// maxFailures bounds the failures kept for the next Flush/Close; beyond it they are counted.
const maxFailures = 100000

// Stats are counters since New.
type Stats struct {
	Enqueued, Sent, Failed, Retries, Requests uint64
	Queued                                    int // events held now (waiting or being sent)
}

// Client queues events and sends them in batches. Its methods are safe for concurrent use.
type Client struct {
	cfg   config
	url   string
	auth  string
	abort context.CancelFunc
	ctx   context.Context // cancelled when Close gives up

	mu       sync.Mutex
	queue    []item // waiting, oldest first
	inflight []item // the batch being sent
	held     int    // events waiting or in flight
	heldB    int    // their bytes
	seq      uint64 // last assigned sequence number
	doneSeq  uint64 // every event with seq ≤ doneSeq is delivered or failed
	flushTo  uint64 // the sender sends at once while doneSeq < flushTo
	closing  bool
	failures []Failure
	omitted  int
	stats    Stats
	progress chan struct{} // closed and replaced whenever events are resolved
	wake     chan struct{}
	stopped  chan struct{}
}

// New returns a Client sending to endpoint (the collector's base URL, e.g.
// "http://127.0.0.1:8080") with writeKey, and starts its sender. Close it when done.
func New(endpoint, writeKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) base URL like http://127.0.0.1:8080", endpoint)
	}
	if writeKey == "" {
		return nil, errors.New("write key is empty")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("bespoke client option: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:      cfg,
		url:      strings.TrimRight(endpoint, "/") + "/v1/batch",
		auth:     "Basic " + base64.StdEncoding.EncodeToString([]byte(writeKey+":")),
		ctx:      ctx,
		abort:    cancel,
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	go c.run()
	return c, nil
}

// Enqueue validates e, gives it a messageId and timestamp when it has none, and queues it.
// It returns the messageId. A full queue gives an error wrapping ErrQueueFull, or with
// WithBlockWhenFull waits for room until ctx is done.
func (c *Client) Enqueue(ctx context.Context, e Event) (string, error) {
	it, err := encodeEvent(e, time.Now().UTC())
	if err != nil {
		return "", err
	}
	return it.id, c.push(ctx, it)
}

// EnqueueJSON queues one event given as JSON (a line of events.jsonl), keeping all its fields.
func (c *Client) EnqueueJSON(ctx context.Context, raw []byte) (string, error) {
	it, err := decodeEvent(raw, time.Now().UTC())
	if err != nil {
		return "", err
	}
	return it.id, c.push(ctx, it)
}

// Track queues a track event for userID.
func (c *Client) Track(ctx context.Context, userID, event string, properties map[string]any) (string, error) {
	return c.Enqueue(ctx, Event{Type: "track", Event: event, UserID: userID, Properties: properties})
}

// Identify queues an identify event for userID.
func (c *Client) Identify(ctx context.Context, userID string, traits map[string]any) (string, error) {
	return c.Enqueue(ctx, Event{Type: "identify", UserID: userID, Traits: traits})
}

// Page queues a page event for userID; name, when set, goes to properties.name.
func (c *Client) Page(ctx context.Context, userID, name string, properties map[string]any) (string, error) {
	if name != "" {
		p := make(map[string]any, len(properties)+1)
		for k, v := range properties {
			p[k] = v
		}
		p["name"] = name
		properties = p
	}
	return c.Enqueue(ctx, Event{Type: "page", UserID: userID, Properties: properties})
}

func (c *Client) push(ctx context.Context, it item) error {
	c.mu.Lock()
	for {
		if c.closing {
			c.mu.Unlock()
			return fmt.Errorf("cannot queue %q (messageId %s): %w", it.name, it.id, ErrClosed)
		}
		if c.held < c.cfg.queueSize && c.heldB+len(it.raw) <= c.cfg.queueBytes {
			break
		}
		if !c.cfg.block {
			c.mu.Unlock()
			return fmt.Errorf("cannot queue %q (messageId %s): %w (%d events, %d bytes held)", it.name, it.id, ErrQueueFull, c.held, c.heldB)
		}
		p := c.progress
		c.mu.Unlock()
		select {
		case <-p:
		case <-ctx.Done():
			return fmt.Errorf("cannot queue %q (messageId %s): %w, gave up waiting: %w", it.name, it.id, ErrQueueFull, ctx.Err())
		}
		c.mu.Lock()
	}
	c.seq++
	it.seq = c.seq
	c.queue = append(c.queue, it)
	c.held++
	c.heldB += len(it.raw)
	c.stats.Enqueued++
	n := len(c.queue)
	c.mu.Unlock()
	if n == 1 || n == c.cfg.batchSize {
		c.poke()
	}
	return nil
}

func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Flush sends every event queued before the call and waits for the outcome. It returns nil
// when all were delivered; otherwise a *DeliveryError listing every failure not yet returned by
// an earlier Flush or Close, or, when ctx ends first, an error listing the events still held.
func (c *Client) Flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.seq
	if target > c.flushTo {
		c.flushTo = target
	}
	c.mu.Unlock()
	c.poke()
	return c.wait(ctx, target)
}

func (c *Client) wait(ctx context.Context, target uint64) error {
	c.mu.Lock()
	for c.doneSeq < target {
		p := c.progress
		c.mu.Unlock()
		select {
		case <-p:
		case <-ctx.Done():
			c.mu.Lock()
			de := c.takeFailures()
			var queued, sending int
			for _, group := range [][]item{c.inflight, c.queue} {
				for _, it := range group {
					if it.seq <= target {
						de.Failures = append(de.Failures, Failure{MessageID: it.id, Event: it.name, Err: fmt.Errorf("still held: %w", ctx.Err())})
					}
				}
			}
			queued = countQueued(c.queue, target)
			sending = countQueued(c.inflight, target)
			c.mu.Unlock()
			return fmt.Errorf("flush stopped with %d events queued and %d being sent: %w (%w)", queued, sending, ctx.Err(), de)
		}
		c.mu.Lock()
	}
	de := c.takeFailures()
	c.mu.Unlock()
	if len(de.Failures)+de.Omitted > 0 {
		return de
	}
	return nil
}

func countQueued(q []item, target uint64) int {
	n := 0
	for _, it := range q {
		if it.seq <= target {
			n++
		}
	}
	return n
}

// takeFailures must be called with c.mu held.
func (c *Client) takeFailures() *DeliveryError {
	de := &DeliveryError{Failures: c.failures, Omitted: c.omitted}
	c.failures, c.omitted = nil, 0
	return de
}

// Close stops accepting events, sends everything held, and stops the sender. When ctx ends
// first it abandons the rest and lists it in the returned error. Close may be called once.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closing = true
	c.mu.Unlock()
	c.poke()
	select {
	case <-c.stopped:
	case <-ctx.Done():
		c.abort() // the sender fails what it holds and stops
		<-c.stopped
	}
	c.mu.Lock()
	de := c.takeFailures()
	c.mu.Unlock()
	c.abort()
	if len(de.Failures)+de.Omitted > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("close gave up: %w (%w)", ctx.Err(), de)
		}
		return de
	}
	return nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Queued = c.held
	return s
}

// run is the sender: it takes batches off the queue one at a time and resolves each event.
func (c *Client) run() {
	defer close(c.stopped)
	var timer *time.Timer
	for {
		c.mu.Lock()
		for {
			n := len(c.queue)
			if c.ctx.Err() != nil {
				// Close gave up: fail whatever is left.
				rest := c.queue
				c.queue = nil
				c.mu.Unlock()
				if len(rest) > 0 {
					c.fail(rest, 0, fmt.Errorf("not sent: client closed: %w", c.ctx.Err()))
					c.resolve(rest)
				}
				return
			}
			if n == 0 && c.closing {
				c.mu.Unlock()
				return
			}
			if n > 0 && (n >= c.cfg.batchSize || c.doneSeq < c.flushTo || c.closing ||
				!time.Now().Before(c.queue[0].at.Add(c.cfg.flushInterval)) || c.waitingBytes() >= c.cfg.maxBody) {
				break
			}
			var fire <-chan time.Time
			if n > 0 {
				d := time.Until(c.queue[0].at.Add(c.cfg.flushInterval))
				if timer == nil {
					timer = time.NewTimer(d)
				} else {
					timer.Reset(d)
				}
				fire = timer.C
			}
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-fire:
			case <-c.ctx.Done():
			}
			if timer != nil {
				timer.Stop()
			}
			c.mu.Lock()
		}
		batch := c.take()
		c.mu.Unlock()
		c.deliver(batch)
	}
}

// waitingBytes must be called with c.mu held.
func (c *Client) waitingBytes() int {
	n := 0
	for _, it := range c.queue {
		n += len(it.raw) + 1
		if n >= c.cfg.maxBody {
			break
		}
	}
	return n
}

// take removes the next batch from the queue: at most batchSize events and maxBody bytes of
// body. It must be called with c.mu held.
func (c *Client) take() []item {
	size := bodyOverhead
	n := 0
	for n < len(c.queue) && n < c.cfg.batchSize {
		s := len(c.queue[n].raw) + 1
		if n > 0 && size+s > c.cfg.maxBody {
			break
		}
		size += s
		n++
	}
	batch := make([]item, n)
	copy(batch, c.queue[:n])
	c.inflight = batch
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return batch
}

// resolve marks a batch as done (sent or failed) and wakes waiters. It must be called once per
// batch taken, in order.
func (c *Client) resolve(batch []item) {
	c.mu.Lock()
	for _, it := range batch {
		c.held--
		c.heldB -= len(it.raw)
	}
	c.inflight = nil
	if last := batch[len(batch)-1].seq; last > c.doneSeq {
		c.doneSeq = last
	}
	close(c.progress)
	c.progress = make(chan struct{})
	c.mu.Unlock()
}

// fail records events that will not be delivered and reports them.
func (c *Client) fail(items []item, status int, err error) {
	de := &DeliveryError{Failures: make([]Failure, len(items))}
	for i, it := range items {
		de.Failures[i] = Failure{MessageID: it.id, Event: it.name, Status: status, Err: err}
	}
	c.mu.Lock()
	c.stats.Failed += uint64(len(items))
	room := maxFailures - len(c.failures)
	if room >= len(items) {
		c.failures = append(c.failures, de.Failures...)
	} else {
		if room > 0 {
			c.failures = append(c.failures, de.Failures[:room]...)
		} else {
			room = 0
		}
		c.omitted += len(items) - room
	}
	c.mu.Unlock()
	if c.cfg.onError != nil {
		c.cfg.onError(de)
	}
}
