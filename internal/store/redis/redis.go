package redis

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/bespokesearch/bespoke/internal/store"
)

// Defaults used for zero Options fields.
const (
	DefaultAddr             = "127.0.0.1:6379"
	DefaultClientCacheTTL   = 30 * time.Second
	DefaultDialTimeout      = 200 * time.Millisecond
	DefaultOpTimeout        = time.Second
	DefaultClientCacheBytes = 64 << 20
	scanCount               = 1000
)

// Options configures Open.
type Options struct {
	// Addr is host:port of the server (DefaultAddr when empty).
	Addr string
	// DB is the database number (SELECT).
	DB int
	// Username and Password authenticate when set.
	Username, Password string
	// Namespace is prepended to every key, e.g. "bespoke:".
	Namespace string
	// ClientCacheTTL is how long a value read is kept in the client-side cache
	// (DefaultClientCacheTTL when zero; negative disables client-side caching).
	ClientCacheTTL time.Duration
	// ClientCacheBytes bounds the client-side cache of each connection
	// (DefaultClientCacheBytes when zero).
	ClientCacheBytes int
	// DialTimeout bounds one connection attempt (DefaultDialTimeout when zero).
	DialTimeout time.Duration
	// OpTimeout bounds a call whose ctx has no deadline (DefaultOpTimeout when zero).
	OpTimeout time.Duration
	// OnInvalidate, when set, is called with each key (namespace removed) that the server
	// invalidated in the client-side cache, and with nil when the whole client-side cache was
	// flushed (lost connection, FLUSHDB). It runs on the connection's reader: keep it fast.
	OnInvalidate func(key []byte)
}

// Store is a store.Store on a Redis server.
type Store struct {
	c         rueidis.Client
	ns        string
	ttl       time.Duration
	opTimeout time.Duration
	addr      string
	closed    atomic.Bool
	hits      atomic.Uint64
	misses    atomic.Uint64
}

var _ store.Store = (*Store)(nil)

// Open connects to Redis. It fails when the server cannot be reached within DialTimeout.
func Open(opts Options) (*Store, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.ClientCacheTTL == 0 {
		opts.ClientCacheTTL = DefaultClientCacheTTL
	}
	if opts.ClientCacheBytes == 0 {
		opts.ClientCacheBytes = DefaultClientCacheBytes
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.OpTimeout == 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	co := rueidis.ClientOption{
		InitAddress:       []string{opts.Addr},
		SelectDB:          opts.DB,
		Username:          opts.Username,
		Password:          opts.Password,
		DisableCache:      opts.ClientCacheTTL < 0,
		CacheSizeEachConn: opts.ClientCacheBytes,
		Dialer:            net.Dialer{Timeout: opts.DialTimeout, KeepAlive: time.Second},
		// Detect a silent server (no RST) within a few seconds rather than the default ~10 s.
		ConnWriteTimeout:  3 * time.Second,
		ForceSingleClient: true,
		PipelineMultiplex: -1,
	}
	if fn := opts.OnInvalidate; fn != nil {
		ns := opts.Namespace
		co.OnInvalidations = func(msgs []rueidis.RedisMessage) {
			if msgs == nil {
				fn(nil)
				return
			}
			for i := range msgs {
				k, err := msgs[i].ToString()
				if err != nil || !strings.HasPrefix(k, ns) {
					continue
				}
				fn([]byte(k[len(ns):]))
			}
		}
	}
	c, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to redis at %s (db %d): %w", opts.Addr, opts.DB, err)
	}
	return &Store{c: c, ns: opts.Namespace, ttl: opts.ClientCacheTTL, opTimeout: opts.OpTimeout, addr: opts.Addr}, nil
}

// Stats counts reads answered by the client-side cache (Hits) and by the server (Misses).
type Stats struct{ Hits, Misses uint64 }

// Stats returns the client-side cache counters since Open.
func (s *Store) Stats() Stats { return Stats{Hits: s.hits.Load(), Misses: s.misses.Load()} }

func (s *Store) key(k []byte) string { return s.ns + string(k) }

// begin checks closed state and ctx and bounds ctx by OpTimeout when it has no deadline.
func (s *Store) begin(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if s.closed.Load() {
		return nil, nil, fmt.Errorf("redis store %s: %w", s.addr, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	return ctx, cancel, nil
}

// wrap turns a rueidis error into one that says what failed; after Close it wraps ErrClosed.
func (s *Store) wrap(op string, key []byte, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("redis %s %q: %w", op, key, store.ErrClosed)
	}
	return fmt.Errorf("redis %s %q at %s: %w", op, key, s.addr, err)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var resp rueidis.RedisResult
	if s.ttl > 0 {
		resp = s.c.DoCache(ctx, s.c.B().Get().Key(s.key(key)).Cache(), s.ttl)
	} else {
		resp = s.c.Do(ctx, s.c.B().Get().Key(s.key(key)).Build())
	}
	v, err := resp.AsBytes()
	if rueidis.IsRedisNil(err) {
		s.count(resp.IsCacheHit())
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.wrap("GET", key, err)
	}
	s.count(resp.IsCacheHit())
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (s *Store) count(hit bool) {
	if hit {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
}

// MultiGet implements store.Store with one pipelined round trip of cached GETs.
func (s *Store) MultiGet(ctx context.Context, keys [][]byte) ([][]byte, error) {
	for _, k := range keys {
		if err := store.CheckKey(k); err != nil {
			return nil, err
		}
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var resps []rueidis.RedisResult
	if s.ttl > 0 {
		cmds := make([]rueidis.CacheableTTL, len(keys))
		for i, k := range keys {
			cmds[i] = rueidis.CT(s.c.B().Get().Key(s.key(k)).Cache(), s.ttl)
		}
		resps = s.c.DoMultiCache(ctx, cmds...)
	} else {
		cmds := make(rueidis.Commands, len(keys))
		for i, k := range keys {
			cmds[i] = s.c.B().Get().Key(s.key(k)).Build()
		}
		resps = s.c.DoMulti(ctx, cmds...)
	}
	for i, resp := range resps {
		v, err := resp.AsBytes()
		if rueidis.IsRedisNil(err) {
			s.count(resp.IsCacheHit())
			continue
		}
		if err != nil {
			return nil, s.wrap("GET (multi)", keys[i], err)
		}
		s.count(resp.IsCacheHit())
		if v == nil {
			v = []byte{}
		}
		out[i] = v
	}
	return out, nil
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	// BinaryString views value without copying; Do has written the command when it returns.
	if err := s.write(ctx, s.c.B().Set().Key(s.key(key)).Value(rueidis.BinaryString(value)).Build()); err != nil {
		return s.wrap("SET", key, err)
	}
	return nil
}

// PutBatch implements store.Store with one MSET, atomic on a single server.
func (s *Store) PutBatch(ctx context.Context, kvs []store.KV) error {
	for _, kv := range kvs {
		if err := store.CheckKey(kv.Key); err != nil {
			return err
		}
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if len(kvs) == 0 {
		return nil
	}
	cmd := s.c.B().Mset().KeyValue()
	for _, kv := range kvs {
		cmd = cmd.KeyValue(s.key(kv.Key), rueidis.BinaryString(kv.Value))
	}
	if err := s.write(ctx, cmd.Build()); err != nil {
		return s.wrap("MSET", kvs[0].Key, fmt.Errorf("batch of %d pairs: %w", len(kvs), err))
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if err := s.write(ctx, s.c.B().Unlink().Key(s.key(key)).Build()); err != nil {
		return s.wrap("UNLINK", key, err)
	}
	return nil
}

// DeletePrefix implements store.Store with SCAN MATCH and UNLINK (see the package documentation
// for its cost). It is bounded by ctx, or by OpTimeout per SCAN round when ctx has no deadline.
func (s *Store) DeletePrefix(ctx context.Context, prefix []byte) error {
	if err := store.CheckPrefix(prefix); err != nil {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("redis store %s: %w", s.addr, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pattern := globEscape(s.ns+string(prefix)) + "*"
	var cursor uint64
	for {
		entry, err := s.scan(ctx, cursor, pattern)
		if err != nil {
			return s.wrap("SCAN", prefix, err)
		}
		if len(entry.Elements) > 0 {
			if err := s.unlink(ctx, entry.Elements); err != nil {
				return s.wrap("UNLINK (prefix)", prefix, err)
			}
		}
		cursor = entry.Cursor
		if cursor == 0 {
			return nil
		}
	}
}

func (s *Store) scan(ctx context.Context, cursor uint64, pattern string) (rueidis.ScanEntry, error) {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return rueidis.ScanEntry{}, err
	}
	defer cancel()
	return s.c.Do(ctx, s.c.B().Scan().Cursor(cursor).Match(pattern).Count(scanCount).Build()).AsScanEntry()
}

func (s *Store) unlink(ctx context.Context, keys []string) error {
	ctx, cancel, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	return s.write(ctx, s.c.B().Unlink().Key(keys...).Build())
}

// write runs a modifying command. With client-side caching it pipelines a PING behind it on the
// same connection: Redis sends a client the invalidations caused by its own command right after
// that command's reply, so when the PING's reply arrives the local cache has dropped the keys,
// and a Get after a Put in this process never reads the old value (read-your-writes).
// Writes by other clients are seen after their invalidation arrives (milliseconds).
func (s *Store) write(ctx context.Context, cmd rueidis.Completed) error {
	if s.ttl <= 0 {
		return s.c.Do(ctx, cmd).Error()
	}
	resps := s.c.DoMulti(ctx, cmd, s.c.B().Ping().Build())
	if err := resps[0].Error(); err != nil {
		return err
	}
	return resps[1].Error()
}

// globEscape escapes the bytes that are special in a Redis glob pattern.
func globEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Close implements store.Store; it is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.c.Close()
	return nil
}
