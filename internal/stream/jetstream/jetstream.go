package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bespokesearch/bespoke/internal/stream"
)

// Defaults of Config.
const (
	DefaultStreamName      = "BESPOKE_EVENTS"
	DefaultSubject         = "bespoke.events"
	DefaultMaxAge          = 7 * 24 * time.Hour
	DefaultDuplicates      = 2 * time.Minute
	DefaultMaxMessageBytes = 8 << 20 // embedded; external servers usually allow 1 MiB
	DefaultConnectTimeout  = 5 * time.Second
	headerReserve          = 4 << 10 // room left for headers under the server's max_payload
	defaultAckWait         = 30 * time.Second
	defaultMaxAckPending   = 20000
)

// Config says which JetStream to use and how to shape the stream.
type Config struct {
	// URL of an external NATS server or cluster, e.g. "nats://127.0.0.1:4222" (several
	// separated by commas). Empty runs an embedded server.
	URL string
	// Dir holds the embedded server's JetStream file store (required when URL is empty).
	Dir string
	// ListenAddr makes the embedded server also listen for NATS clients on this address
	// ("127.0.0.1:4222"; port 0 picks one, see ClientURL). Empty: in-process only.
	ListenAddr string
	// StreamName and Subject of the stream (defaults BESPOKE_EVENTS, bespoke.events).
	StreamName string
	Subject    string
	// Replicas of the stream. 0: 1 for a single server, min(3, servers) for a cluster.
	Replicas int
	// MaxAge: messages older than this are removed (default 7 days).
	MaxAge time.Duration
	// MaxBytes caps the stream's size; when it is full, Publish fails (nothing is ever
	// discarded before its age). 0: unlimited.
	MaxBytes int64
	// Duplicates is the dedup window of Nats-Msg-Id (default 2 minutes).
	Duplicates time.Duration
	// MaxMessageBytes is the largest message Publish accepts (default 8 MiB), lowered to
	// fit an external server's max_payload.
	MaxMessageBytes int
	// ConnectTimeout bounds Open (default 5 s).
	ConnectTimeout time.Duration
	// Logger receives connection events and the embedded server's warnings (default: discard).
	Logger *slog.Logger
}

// Stream is a JetStream stream; it implements stream.Stream.
type Stream struct {
	cfg      Config
	log      *slog.Logger
	srv      *server.Server // nil when external
	lock     *os.File       // embedded: held on Dir/LOCK while the server runs
	nc       *nats.Conn
	js       jetstream.JetStream
	maxMsg   int
	replicas int
	closed   atomic.Bool
	close    sync.Once
	closeErr error
}

var _ stream.Stream = (*Stream)(nil)

// Open starts (embedded) or connects to (external) JetStream and creates or updates the
// stream. It returns when the stream accepts publishes.
func Open(ctx context.Context, cfg Config) (*Stream, error) {
	if cfg.StreamName == "" {
		cfg.StreamName = DefaultStreamName
	}
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Duplicates == 0 {
		cfg.Duplicates = DefaultDuplicates
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.MaxMessageBytes < 1024:
		return nil, fmt.Errorf("cannot open stream: MaxMessageBytes %d is below 1024", cfg.MaxMessageBytes)
	case cfg.MaxMessageBytes > 64<<20-headerReserve:
		return nil, fmt.Errorf("cannot open stream: MaxMessageBytes %d is over the NATS limit of 64 MiB", cfg.MaxMessageBytes)
	case cfg.Replicas < 0 || cfg.Replicas > 5:
		return nil, fmt.Errorf("cannot open stream: Replicas %d must be between 0 and 5", cfg.Replicas)
	}
	s := &Stream{cfg: cfg, log: cfg.Logger.With("stream", cfg.StreamName)}
	var err error
	if cfg.URL == "" {
		err = s.startEmbedded()
	} else {
		err = s.connect()
	}
	if err != nil {
		s.shutdown()
		return nil, err
	}
	if err := s.setup(ctx); err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}

func (s *Stream) startEmbedded() error {
	if s.cfg.Dir == "" {
		return errors.New("cannot start the embedded stream: no directory given for its file store")
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the stream directory %q: %w", s.cfg.Dir, err)
	}
	lock, err := lockDir(s.cfg.Dir)
	if err != nil {
		return err
	}
	s.lock = lock
	opts := &server.Options{
		ServerName:         "bespoke-embedded",
		JetStream:          true,
		StoreDir:           s.cfg.Dir,
		SyncAlways:         true, // a publish ack means fsynced
		MaxPayload:         int32(s.cfg.MaxMessageBytes + headerReserve),
		NoSigs:             true,
		DontListen:         s.cfg.ListenAddr == "",
		JetStreamMaxMemory: 64 << 20,
	}
	if s.cfg.ListenAddr != "" {
		host, port, err := net.SplitHostPort(s.cfg.ListenAddr)
		if err != nil {
			return fmt.Errorf("cannot start the embedded stream: bad listen address %q: %w", s.cfg.ListenAddr, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("cannot start the embedded stream: bad port in listen address %q", s.cfg.ListenAddr)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("cannot start the embedded stream in %q: %w", s.cfg.Dir, err)
	}
	srv.SetLoggerV2(&serverLog{s.log}, false, false, false)
	s.srv = srv
	srv.Start()
	if !srv.ReadyForConnections(s.cfg.ConnectTimeout) {
		return fmt.Errorf("cannot start the embedded stream in %q: server not ready after %s (is the directory locked by another process?)", s.cfg.Dir, s.cfg.ConnectTimeout)
	}
	if !srv.JetStreamEnabled() {
		return fmt.Errorf("cannot start the embedded stream: JetStream did not start in %q (is another process using this directory? is the disk full?)", s.cfg.Dir)
	}
	nc, err := nats.Connect("", append(s.clientOptions(), nats.InProcessServer(srv))...)
	if err != nil {
		return fmt.Errorf("cannot connect to the embedded stream: %w", err)
	}
	s.nc = nc
	s.maxMsg = s.cfg.MaxMessageBytes
	return nil
}

func (s *Stream) connect() error {
	nc, err := nats.Connect(s.cfg.URL, s.clientOptions()...)
	if err != nil {
		return fmt.Errorf("cannot connect to NATS at %s: %w", redact(s.cfg.URL), err)
	}
	s.nc = nc
	s.maxMsg = s.cfg.MaxMessageBytes
	if limit := int(nc.MaxPayload()) - headerReserve; limit < s.maxMsg {
		if limit < 1024 {
			return fmt.Errorf("NATS at %s allows only %d-byte messages; need at least %d", redact(s.cfg.URL), nc.MaxPayload(), 1024+headerReserve)
		}
		s.maxMsg = limit
	}
	return nil
}

func (s *Stream) clientOptions() []nats.Option {
	log := s.log
	return []nats.Option{
		nats.Name("bespoke"),
		nats.Timeout(s.cfg.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		// No client-side buffering while disconnected: a publish fails at once, so the
		// collector answers 503 instead of holding requests.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("NATS error", "err", err)
		}),
	}
}

func (s *Stream) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	js, err := jetstream.New(s.nc)
	if err != nil {
		return fmt.Errorf("cannot use JetStream: %w", err)
	}
	s.js = js
	s.replicas = s.cfg.Replicas
	if s.replicas == 0 {
		s.replicas = 1
		if s.nc.ConnectedClusterName() != "" {
			s.replicas = min(3, len(uniq(s.nc.Servers())))
		}
	}
	sc := jetstream.StreamConfig{
		Name:        s.cfg.StreamName,
		Description: "Bespoke events: envelopes of accepted events (JSON lines)",
		Subjects:    []string{s.cfg.Subject},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew, // never drop unconsumed events to make room
		MaxAge:      s.cfg.MaxAge,
		MaxBytes:    -1,
		MaxMsgs:     -1,
		MaxMsgSize:  int32(s.maxMsg + headerReserve),
		Storage:     jetstream.FileStorage,
		Replicas:    s.replicas,
		Duplicates:  s.cfg.Duplicates,
	}
	if s.cfg.MaxBytes > 0 {
		sc.MaxBytes = s.cfg.MaxBytes
	}
	for {
		_, err = js.CreateOrUpdateStream(ctx, sc)
		if err == nil {
			return nil
		}
		// Right after an embedded start or a cluster election, JetStream may not answer yet.
		if !errors.Is(err, jetstream.ErrJetStreamNotEnabled) && !errors.Is(err, nats.ErrNoResponders) &&
			!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot create stream %q (%d replicas): %w (last error: %v)", sc.Name, sc.Replicas, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("cannot create stream %q with %d replicas on subject %q: %w", sc.Name, sc.Replicas, sc.Subjects[0], err)
}

// Publish implements stream.Stream.
func (s *Stream) Publish(ctx context.Context, id string, data []byte) error {
	if s.closed.Load() {
		return stream.ErrClosed
	}
	if id == "" {
		return errors.New("cannot publish: empty message id")
	}
	if len(data) > s.maxMsg {
		return fmt.Errorf("cannot publish %d bytes to stream %q (limit %d): %w", len(data), s.cfg.StreamName, s.maxMsg, stream.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot publish to stream %q: %w", s.cfg.StreamName, err)
	}
	msg := &nats.Msg{Subject: s.cfg.Subject, Data: data, Header: nats.Header{}}
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(s.cfg.StreamName))
	if err != nil {
		if s.closed.Load() {
			return stream.ErrClosed
		}
		return fmt.Errorf("cannot publish %d bytes to stream %q: %w", len(data), s.cfg.StreamName, err)
	}
	if ack.Stream != s.cfg.StreamName {
		return fmt.Errorf("cannot publish to stream %q: stored by stream %q instead", s.cfg.StreamName, ack.Stream)
	}
	return nil
}

// MaxMessageBytes implements stream.Stream.
func (s *Stream) MaxMessageBytes() int { return s.maxMsg }

// Replicas is the number of copies kept of each message.
func (s *Stream) Replicas() int { return s.replicas }

// ClientURL is the address NATS clients can use to reach the embedded server when
// Config.ListenAddr was set ("" otherwise). For an external server it is Config.URL.
func (s *Stream) ClientURL() string {
	if s.srv == nil {
		return s.cfg.URL
	}
	if s.cfg.ListenAddr == "" {
		return ""
	}
	return s.srv.ClientURL()
}

// Info implements stream.Stream.
func (s *Stream) Info(ctx context.Context) (stream.Info, error) {
	if s.closed.Load() {
		return stream.Info{}, stream.ErrClosed
	}
	st, err := s.js.Stream(ctx, s.cfg.StreamName)
	if err != nil {
		return stream.Info{}, fmt.Errorf("cannot get stream %q: %w", s.cfg.StreamName, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return stream.Info{}, fmt.Errorf("cannot get info of stream %q: %w", s.cfg.StreamName, err)
	}
	return stream.Info{
		Messages: info.State.Msgs,
		Bytes:    info.State.Bytes,
		FirstSeq: info.State.FirstSeq,
		LastSeq:  info.State.LastSeq,
		Replicas: info.Config.Replicas,
	}, nil
}

// Consumer implements stream.Stream.
func (s *Stream) Consumer(ctx context.Context, name string, opts stream.ConsumerOptions) (stream.Consumer, error) {
	if s.closed.Load() {
		return nil, stream.ErrClosed
	}
	if !validName(name) {
		return nil, fmt.Errorf("cannot open consumer %q: a name is 1 to 64 letters, digits, '-' or '_'", name)
	}
	if opts.AckWait == 0 {
		opts.AckWait = defaultAckWait
	}
	if opts.MaxAckPending == 0 {
		opts.MaxAckPending = defaultMaxAckPending
	}
	if opts.AckWait < 0 || opts.MaxAckPending < 0 {
		return nil, fmt.Errorf("cannot open consumer %q: negative AckWait or MaxAckPending", name)
	}
	c, err := s.js.CreateOrUpdateConsumer(ctx, s.cfg.StreamName, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "bespoke consumer " + name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opts.AckWait,
		MaxAckPending: opts.MaxAckPending,
		MaxDeliver:    -1, // never give up on an event
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open consumer %q of stream %q: %w", name, s.cfg.StreamName, err)
	}
	return &consumer{s: s, name: name, c: c}, nil
}

// Close implements stream.Stream.
func (s *Stream) Close() error {
	s.close.Do(func() {
		s.closed.Store(true)
		s.closeErr = s.shutdown()
	})
	return s.closeErr
}

func (s *Stream) shutdown() error {
	if s.nc != nil {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	if s.lock != nil {
		return s.lock.Close() // releases the flock
	}
	return nil
}

type consumer struct {
	s      *Stream
	name   string
	c      jetstream.Consumer
	closed atomic.Bool
}

var _ stream.Consumer = (*consumer)(nil)

// Fetch implements stream.Consumer: what is available now, else wait for the first
// message and then take what has arrived with it.
func (c *consumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]stream.Delivery, error) {
	if c.closed.Load() || c.s.closed.Load() {
		return nil, stream.ErrClosed
	}
	if max <= 0 {
		return nil, fmt.Errorf("cannot fetch from consumer %q: max %d must be positive", c.name, max)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := c.drain(c.c.FetchNoWait(max))
	if err != nil || len(out) > 0 || wait <= 0 {
		return out, err
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out, err = c.drain(c.c.Fetch(1, jetstream.FetchContext(wctx)))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrInvalidOption) {
			return nil, nil // nothing arrived in time (or too little time left to ask)
		}
		return nil, err
	}
	if len(out) > 0 && max > 1 {
		more, err := c.drain(c.c.FetchNoWait(max - 1))
		out = append(out, more...)
		if err != nil {
			return out, nil // the first message is delivered; the rest comes next time
		}
	}
	return out, nil
}

func (c *consumer) drain(b jetstream.MessageBatch, err error) ([]stream.Delivery, error) {
	if err != nil {
		if c.s.closed.Load() {
			return nil, stream.ErrClosed
		}
		return nil, fmt.Errorf("cannot fetch from consumer %q: %w", c.name, err)
	}
	var out []stream.Delivery
	for m := range b.Messages() {
		md, err := m.Metadata()
		if err != nil {
			// Not a stream message: cannot be acknowledged; it will be redelivered.
			c.s.log.Warn("skipping a message without JetStream metadata", "consumer", c.name, "err", err)
			continue
		}
		out = append(out, &delivery{m: m, seq: md.Sequence.Stream, n: md.NumDelivered})
	}
	if err := b.Error(); err != nil {
		if c.s.closed.Load() {
			return out, stream.ErrClosed
		}
		return out, fmt.Errorf("cannot fetch from consumer %q: %w", c.name, err)
	}
	return out, nil
}

// Info implements stream.Consumer.
func (c *consumer) Info(ctx context.Context) (stream.ConsumerInfo, error) {
	if c.closed.Load() || c.s.closed.Load() {
		return stream.ConsumerInfo{}, stream.ErrClosed
	}
	info, err := c.c.Info(ctx)
	if err != nil {
		return stream.ConsumerInfo{}, fmt.Errorf("cannot get info of consumer %q: %w", c.name, err)
	}
	return stream.ConsumerInfo{
		Pending:    info.NumPending,
		AckPending: uint64(max(info.NumAckPending, 0)),
		AckFloor:   info.AckFloor.Stream,
		Delivered:  info.Delivered.Stream,
	}, nil
}

// Close implements stream.Consumer.
func (c *consumer) Close() error {
	c.closed.Store(true)
	return nil
}

type delivery struct {
	m   jetstream.Msg
	seq uint64
	n   uint64
}

var _ stream.Delivery = (*delivery)(nil)

func (d *delivery) Data() []byte         { return d.m.Data() }
func (d *delivery) ID() string           { return d.m.Headers().Get(jetstream.MsgIDHeader) }
func (d *delivery) Seq() uint64          { return d.seq }
func (d *delivery) NumDelivered() uint64 { return d.n }
func (d *delivery) Nak() error           { return wrapAck("nak", d.seq, d.m.Nak()) }
func (d *delivery) InProgress() error    { return wrapAck("extend", d.seq, d.m.InProgress()) }
func (d *delivery) Ack(ctx context.Context) error {
	return wrapAck("acknowledge", d.seq, d.m.DoubleAck(ctx))
}

func wrapAck(what string, seq uint64, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("cannot %s message %d: %w", what, seq, err)
}

func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// redact hides a password in a URL for error messages.
func redact(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		pu, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			return "the configured URL"
		}
		parts[i] = pu.Redacted()
	}
	return strings.Join(parts, ",")
}

// serverLog sends the embedded server's log to slog: warnings and errors as such,
// its chatty notices at debug level.
type serverLog struct{ l *slog.Logger }

func (l *serverLog) Noticef(format string, v ...any) { l.l.Debug("nats: " + fmt.Sprintf(format, v...)) }
func (l *serverLog) Warnf(format string, v ...any)   { l.l.Warn("nats: " + fmt.Sprintf(format, v...)) }
func (l *serverLog) Fatalf(format string, v ...any)  { l.l.Error("nats: " + fmt.Sprintf(format, v...)) }
func (l *serverLog) Errorf(format string, v ...any)  { l.l.Error("nats: " + fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(format string, v ...any)  { l.l.Debug("nats: " + fmt.Sprintf(format, v...)) }
func (l *serverLog) Tracef(format string, v ...any)  {}
