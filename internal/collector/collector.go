package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/stream"
)

// Defaults of Options.
const (
	DefaultCommitDelay     = time.Millisecond
	DefaultCommitBytes     = 1 << 20
	DefaultMaxPublishing   = 4
	DefaultMaxRequests     = 2048
	DefaultMaxPendingBytes = 64 << 20
	DefaultAckTimeout      = 80 * time.Millisecond
	DefaultPublishTimeout  = time.Second
	DefaultProbeInterval   = 250 * time.Millisecond
	DefaultRetryAfter      = time.Second
	// maxCompressedBytes bounds a gzip body before inflating (incompressible data grows a little).
	maxCompressedBytes = event.MaxRequestBytes + 64<<10
)

// Options configure a Collector. Stream and WriteKeys are required.
type Options struct {
	// Stream receives the envelopes. The Collector does not close it.
	Stream stream.Stream
	// WriteKeys are the accepted write keys (at least one, none empty).
	WriteKeys []string
	// Logger for publish failures and breaker changes (default: discard).
	Logger *slog.Logger
	// Registerer receives the collector's metrics (default: a private registry).
	Registerer prometheus.Registerer
	// CommitDelay is how long the committer gathers requests before publishing an
	// envelope (default 1 ms). It keeps gathering while every publisher is busy.
	CommitDelay time.Duration
	// CommitBytes publishes an envelope as soon as it holds this many bytes (default 1 MiB,
	// at most the stream's message limit).
	CommitBytes int
	// MaxPublishing is how many envelopes may be published at once (default 4).
	MaxPublishing int
	// MaxRequests caps requests being handled at once; more get 429 (default 2048).
	MaxRequests int
	// MaxParsing caps requests being parsed at once (default 2 × GOMAXPROCS). Parsing is
	// CPU work: more at once only makes every request slower. A request that cannot start
	// parsing within ParseWait gets 429, so an overloaded collector keeps acknowledging
	// what it can instead of timing out everything it started.
	MaxParsing int
	// ParseWait is how long a request may wait for a parsing slot (default AckTimeout/4).
	ParseWait time.Duration
	// MaxPendingBytes caps encoded events accepted but not yet durable; more get 429
	// (default 64 MiB).
	MaxPendingBytes int64
	// AckTimeout is the longest a request waits, once its body is read, for its events to
	// be durable before it is answered 503 (default 80 ms, so a stream that hangs gets
	// requests answered within 100 ms).
	AckTimeout time.Duration
	// PublishTimeout bounds one publish attempt (default 1 s; never below AckTimeout). A
	// publish that fails or times out trips the breaker.
	PublishTimeout time.Duration
	// ProbeInterval is how long the breaker stays open before requests are let through
	// again to probe the stream (default 250 ms).
	ProbeInterval time.Duration
	// RetryAfter is sent with 429 and 503, rounded up to whole seconds (default 1 s).
	RetryAfter time.Duration
	// Now stamps receivedAt (default time.Now).
	Now func() time.Time
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed to send events
	// cross-origin (CORS); "*" allows every origin. Default: ["*"], which suits the
	// embedded demo; a store sets its own sites.
	AllowedOrigins []string
}

// Collector is the ingestion HTTP handler. It is safe for concurrent use.
type Collector struct {
	opts         Options
	log          *slog.Logger
	keys         [][32]byte
	maxMsg       int
	idPrefix     string
	envSeq       atomic.Uint64
	retryAfter   string
	mux          *http.ServeMux
	metrics      *metrics
	breaker      *breaker
	requests     chan struct{} // request slots
	parsing      chan struct{} // parsing slots
	pendingBytes atomic.Int64
	queue        chan *pending
	slots        chan struct{} // publisher slots
	publishing   sync.WaitGroup
	quit         chan struct{}
	stopped      chan struct{}
	closing      atomic.Bool
	closeOnce    sync.Once
	cors         *cors
	envPool      sync.Pool // envelope buffers, see newEnvelope
}

// New validates the options, registers the metrics and starts the committer.
func New(opts Options) (*Collector, error) {
	if opts.Stream == nil {
		return nil, errors.New("cannot start the collector: no stream")
	}
	if len(opts.WriteKeys) == 0 {
		return nil, errors.New("cannot start the collector: no write key configured (set --write-key)")
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{
		{&opts.CommitDelay, DefaultCommitDelay}, {&opts.AckTimeout, DefaultAckTimeout},
		{&opts.PublishTimeout, DefaultPublishTimeout}, {&opts.ProbeInterval, DefaultProbeInterval},
		{&opts.RetryAfter, DefaultRetryAfter},
	}
	for _, d := range defaults {
		if *d.d == 0 {
			*d.d = d.def
		}
		if *d.d < 0 {
			return nil, fmt.Errorf("cannot start the collector: negative duration %s", *d.d)
		}
	}
	opts.PublishTimeout = max(opts.PublishTimeout, opts.AckTimeout)
	if opts.CommitBytes == 0 {
		opts.CommitBytes = DefaultCommitBytes
	}
	if opts.MaxPublishing == 0 {
		opts.MaxPublishing = DefaultMaxPublishing
	}
	if opts.MaxRequests == 0 {
		opts.MaxRequests = DefaultMaxRequests
	}
	if opts.MaxParsing == 0 {
		opts.MaxParsing = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.ParseWait == 0 {
		opts.ParseWait = opts.AckTimeout / 4
	}
	if opts.MaxPendingBytes == 0 {
		opts.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	maxMsg := opts.Stream.MaxMessageBytes()
	switch {
	case maxMsg < 64<<10:
		return nil, fmt.Errorf("cannot start the collector: the stream takes messages of %d bytes, need at least 64 KiB", maxMsg)
	case opts.CommitBytes < 0 || opts.MaxPublishing < 0 || opts.MaxRequests < 0 || opts.MaxPendingBytes < 0 || opts.MaxParsing < 0 || opts.ParseWait < 0:
		return nil, errors.New("cannot start the collector: negative CommitBytes, MaxPublishing, MaxRequests, MaxParsing, ParseWait or MaxPendingBytes")
	case opts.MaxPendingBytes < 4*event.MaxRequestBytes:
		return nil, fmt.Errorf("cannot start the collector: MaxPendingBytes %d is below 2 MiB", opts.MaxPendingBytes)
	}
	opts.CommitBytes = min(opts.CommitBytes, maxMsg)
	cors, err := newCORS(opts.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("cannot start the collector: %w", err)
	}
	c := &Collector{
		opts:       opts,
		log:        opts.Logger.With("component", "collector"),
		maxMsg:     maxMsg,
		retryAfter: strconv.Itoa(int(math.Ceil(opts.RetryAfter.Seconds()))),
		requests:   make(chan struct{}, opts.MaxRequests),
		parsing:    make(chan struct{}, opts.MaxParsing),
		queue:      make(chan *pending, opts.MaxRequests),
		slots:      make(chan struct{}, opts.MaxPublishing),
		quit:       make(chan struct{}),
		stopped:    make(chan struct{}),
		cors:       cors,
	}
	for _, k := range opts.WriteKeys {
		if k == "" {
			return nil, errors.New("cannot start the collector: empty write key")
		}
		c.keys = append(c.keys, sha256.Sum256([]byte(k)))
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	c.idPrefix = "env-" + hex.EncodeToString(rnd[:]) + "-"
	c.breaker = &breaker{interval: opts.ProbeInterval, log: c.log}
	m, err := newMetrics(opts.Registerer, c)
	if err != nil {
		return nil, err
	}
	c.metrics = m
	c.mux = http.NewServeMux()
	c.Register(c.mux)
	go c.run()
	return c, nil
}

// Register adds the ingestion routes (POST and CORS preflight OPTIONS of /v1/batch,
// /v1/track, /v1/identify, /v1/page) to mux.
func (c *Collector) Register(mux *http.ServeMux) {
	for _, r := range []struct{ path, typ string }{
		{"/v1/batch", ""}, {"/v1/track", event.TypeTrack}, {"/v1/identify", event.TypeIdentify}, {"/v1/page", event.TypePage},
	} {
		typ := r.typ
		mux.HandleFunc("POST "+r.path, func(w http.ResponseWriter, req *http.Request) { c.handle(w, req, typ) })
		mux.HandleFunc("OPTIONS "+r.path, c.preflight)
	}
}

// ServeHTTP serves the ingestion routes alone (404 elsewhere, 405 for other methods).
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// Available reports whether the stream is taking publishes (the breaker is closed); for /readyz.
func (c *Collector) Available() bool { return c.breaker.available() && !c.closing.Load() }

// Close stops accepting requests (new ones get 503), waits for those being handled to be
// answered and for every envelope being published, then stops the committer. The stream
// stays open. It returns ctx's error if that takes too long.
func (c *Collector) Close(ctx context.Context) error {
	c.closing.Store(true)
	for len(c.requests) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot close the collector: %d requests still in flight: %w", len(c.requests), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	c.closeOnce.Do(func() { close(c.quit) })
	done := make(chan struct{})
	go func() {
		<-c.stopped
		c.publishing.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot close the collector: envelopes still being published: %w", ctx.Err())
	}
}

// Reasons a request is refused, as labelled in metrics.
const (
	reasonInvalid      = "invalid"
	reasonUnauthorized = "unauthorized"
	reasonTooLarge     = "too_large"
	reasonOverloaded   = "overloaded"
	reasonUnavailable  = "unavailable"
	reasonUnsupported  = "unsupported_encoding"
	reasonCanceled     = "canceled"
)

var (
	successBody = []byte(`{"success":true}` + "\n")
	bodyPool    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

func (c *Collector) handle(w http.ResponseWriter, r *http.Request, typ string) {
	receivedAt := c.opts.Now()
	h := w.Header()
	c.cors.allow(h, r)
	h.Set("Content-Type", "application/json")

	key, hasHeaderKey, ok := headerKey(r)
	if hasHeaderKey && (!ok || !c.validKey(key)) {
		c.reject(w, http.StatusUnauthorized, reasonUnauthorized, "missing or wrong write key", nil, 0)
		return
	}
	if c.closing.Load() {
		c.reject(w, http.StatusServiceUnavailable, reasonUnavailable, "the collector is shutting down", nil, 0)
		return
	}
	if !c.breaker.allow(receivedAt) {
		c.reject(w, http.StatusServiceUnavailable, reasonUnavailable, "the event stream is unavailable; retry later", nil, 0)
		return
	}
	select {
	case c.requests <- struct{}{}:
		defer func() { <-c.requests }()
	default:
		c.reject(w, http.StatusTooManyRequests, reasonOverloaded, "too many requests in flight; retry later", nil, 0)
		return
	}

	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 2*maxCompressedBytes {
			bodyPool.Put(buf)
		}
	}()
	if status, msg := readBody(r, buf); status != 0 {
		reason := reasonInvalid
		switch status {
		case http.StatusRequestEntityTooLarge:
			reason = reasonTooLarge
		case http.StatusUnsupportedMediaType:
			reason = reasonUnsupported
		}
		var details event.Errors
		if status == http.StatusBadRequest {
			details = event.Errors{{Index: -1, Field: "body", Reason: msg}}
		}
		c.reject(w, status, reason, msg, details, 0)
		return
	}
	body := buf.Bytes()
	start := time.Now() // the ack clock starts once the body is in: a slow upload is not the stream's fault
	if !c.startParsing() {
		c.reject(w, http.StatusTooManyRequests, reasonOverloaded, "the collector is busy; retry later", nil, 0)
		return
	}
	parsing := true
	doneParsing := func() {
		if parsing {
			parsing = false
			<-c.parsing
		}
	}
	defer doneParsing()

	var batch *event.Batch
	var err error
	if typ == "" {
		batch, err = event.ParseBatch(body, receivedAt)
	} else {
		batch, err = event.ParseSingle(body, typ, receivedAt)
	}
	if !hasHeaderKey {
		bodyKey := ""
		if batch != nil {
			bodyKey = batch.WriteKey
		} else {
			bodyKey = writeKeyOf(body)
		}
		if !c.validKey(bodyKey) {
			c.reject(w, http.StatusUnauthorized, reasonUnauthorized, "missing or wrong write key", nil, 0)
			return
		}
	}
	if err != nil {
		var details event.Errors
		if !errors.As(err, &details) {
			details = event.Errors{{Index: -1, Field: "body", Reason: err.Error()}}
		}
		c.reject(w, http.StatusBadRequest, reasonInvalid, "invalid request: "+details.Error(), details, 0)
		return
	}
	n := len(batch.Events)
	data, err := event.AppendEnvelope(make([]byte, 0, len(body)+n*128), batch.Events)
	if err != nil {
		c.reject(w, http.StatusBadRequest, reasonInvalid, "invalid request: "+err.Error(),
			event.Errors{{Index: -1, Field: "batch", Reason: err.Error()}}, n)
		return
	}
	doneParsing()
	size := int64(len(data))
	if c.pendingBytes.Add(size) > c.opts.MaxPendingBytes {
		c.pendingBytes.Add(-size)
		c.reject(w, http.StatusTooManyRequests, reasonOverloaded, "too many events waiting to be stored; retry later", nil, n)
		return
	}
	p := &pending{chunks: split(data, c.maxMsg), events: n, bytes: size, enqueued: start, done: make(chan struct{})}
	p.remaining.Store(int32(len(p.chunks)))
	select {
	case c.queue <- p:
	default: // cannot happen while the queue is as large as the request slots; never block
		c.pendingBytes.Add(-size)
		c.reject(w, http.StatusTooManyRequests, reasonOverloaded, "too many requests queued; retry later", nil, n)
		return
	}

	wait := time.NewTimer(time.Until(start.Add(c.opts.AckTimeout)))
	defer wait.Stop()
	select {
	case <-p.done:
	case <-wait.C:
		// Slow, not failed: the breaker trips when the publish fails or times out.
		p.abandoned.Store(true)
		c.reject(w, http.StatusServiceUnavailable, reasonUnavailable, "the event stream did not confirm in time; retry later", nil, n)
		return
	case <-r.Context().Done():
		p.abandoned.Store(true)
		c.metrics.rejectedRequests.WithLabelValues(reasonCanceled).Inc()
		c.metrics.rejectedEvents.WithLabelValues(reasonCanceled).Add(float64(n))
		return
	}
	if err := p.outcome(); err != nil {
		c.reject(w, http.StatusServiceUnavailable, reasonUnavailable, "the event stream is unavailable; retry later", nil, n)
		return
	}
	c.metrics.ack.Observe(time.Since(start).Seconds())
	c.metrics.accepted.Add(float64(n))
	c.metrics.acceptedRequests.Inc()
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(successBody)
}

// startParsing takes a parsing slot, waiting at most ParseWait.
func (c *Collector) startParsing() bool {
	select {
	case c.parsing <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(c.opts.ParseWait)
	defer t.Stop()
	select {
	case c.parsing <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

type errorBody struct {
	Error   string       `json:"error"`
	Details event.Errors `json:"details,omitempty"`
}

// invalidBody is the 400 answer: details are always present.
type invalidBody struct {
	Error   string       `json:"error"`
	Details event.Errors `json:"details"`
}

func (c *Collector) reject(w http.ResponseWriter, status int, reason, msg string, details event.Errors, events int) {
	c.metrics.rejectedRequests.WithLabelValues(reason).Inc()
	if events > 0 {
		c.metrics.rejectedEvents.WithLabelValues(reason).Add(float64(events))
	}
	h := w.Header()
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h.Set("Retry-After", c.retryAfter)
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Basic realm="bespoke write key"`)
	}
	var b []byte
	if status == http.StatusBadRequest {
		if details == nil {
			details = event.Errors{}
		}
		b, _ = json.Marshal(invalidBody{Error: msg, Details: details}) // strings and ints: cannot fail
	} else {
		b, _ = json.Marshal(errorBody{Error: msg})
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func (c *Collector) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if !c.cors.allow(h, r) {
		// No Access-Control-Allow-* headers: the browser refuses the cross-origin request.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// headerKey returns the write key of the Authorization header: the user name of HTTP
// Basic (Segment's way) or a Bearer token. present is false without the header; ok is
// false when the header is there but unusable.
func headerKey(r *http.Request) (key string, present, ok bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", false, false
	}
	if user, _, isBasic := r.BasicAuth(); isBasic {
		return user, true, user != ""
	}
	if scheme, token, found := strings.Cut(auth, " "); found && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(token)
		return token, true, token != ""
	}
	return "", true, false
}

func (c *Collector) validKey(key string) bool {
	if key == "" {
		return false
	}
	h := sha256.Sum256([]byte(key))
	found := 0
	for i := range c.keys {
		found |= subtle.ConstantTimeCompare(h[:], c.keys[i][:])
	}
	return found == 1
}

// writeKeyOf finds "writeKey" in a body that did not validate, to decide between 401 and 400.
func writeKeyOf(body []byte) string {
	var w struct {
		WriteKey string `json:"writeKey"`
	}
	if json.Unmarshal(body, &w) != nil {
		return ""
	}
	return w.WriteKey
}

// readBody reads the request body into buf, inflating gzip, and applies the 512 KiB
// limit to the inflated size without inflating further. It returns a status and a
// message when the body is refused.
func readBody(r *http.Request, buf *bytes.Buffer) (int, string) {
	tooLarge := fmt.Sprintf("request body is larger than %d bytes (after decompression)", event.MaxRequestBytes)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		if r.ContentLength > event.MaxRequestBytes {
			return http.StatusRequestEntityTooLarge, tooLarge
		}
		n, err := buf.ReadFrom(io.LimitReader(r.Body, event.MaxRequestBytes+1))
		if n > event.MaxRequestBytes {
			return http.StatusRequestEntityTooLarge, tooLarge
		}
		if err != nil {
			return http.StatusBadRequest, "cannot read the request body: " + err.Error()
		}
		return 0, ""
	case "gzip", "x-gzip":
		if r.ContentLength > maxCompressedBytes {
			return http.StatusRequestEntityTooLarge, tooLarge
		}
		raw := &countingReader{r: io.LimitReader(r.Body, maxCompressedBytes+1)}
		zr, err := gzip.NewReader(raw)
		if err != nil {
			if raw.n > maxCompressedBytes {
				return http.StatusRequestEntityTooLarge, tooLarge
			}
			return http.StatusBadRequest, "the body is not valid gzip: " + err.Error()
		}
		n, err := buf.ReadFrom(io.LimitReader(zr, event.MaxRequestBytes+1))
		if n > event.MaxRequestBytes || raw.n > maxCompressedBytes {
			return http.StatusRequestEntityTooLarge, tooLarge
		}
		if err != nil {
			return http.StatusBadRequest, "the body is not valid gzip: " + err.Error()
		}
		return 0, ""
	}
	return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported; send gzip or no encoding", truncate(enc, 40))
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// split cuts encoded events into chunks of at most max bytes, at line boundaries.
// Every line is shorter than max (events are at most 32 KiB; max is at least 64 KiB).
func split(data []byte, max int) [][]byte {
	if len(data) <= max {
		return [][]byte{data}
	}
	var out [][]byte
	for len(data) > max {
		cut := bytes.LastIndexByte(data[:max], '\n') + 1
		if cut == 0 { // a line longer than max: cannot happen for valid events; keep it whole
			cut = bytes.IndexByte(data, '\n') + 1
			if cut == 0 {
				cut = len(data)
			}
		}
		out = append(out, data[:cut:cut])
		data = data[cut:]
	}
	if len(data) > 0 {
		out = append(out, data)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
