package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"

	"github.com/bespokesearch/bespoke/internal/store"
)

// Defaults used for zero Options fields.
const (
	DefaultMaxBytes    = 64 << 20
	DefaultTTL         = time.Minute
	DefaultNegativeTTL = 2 * time.Second
)

// entryOverhead approximates otter's per-entry bookkeeping (node, hash table slot, string header
// and slice header), so that MaxBytes bounds memory rather than payload bytes only.
const entryOverhead = 112

// Options configures New.
type Options struct {
	// MaxBytes bounds the cache by the sum of key, value and per-entry overhead bytes
	// (DefaultMaxBytes when zero).
	MaxBytes int64
	// TTL is how long a found value is kept after it was loaded (DefaultTTL when zero).
	TTL time.Duration
	// NegativeTTL is how long a "not found" answer is kept (DefaultNegativeTTL when zero;
	// a negative value disables negative caching).
	NegativeTTL time.Duration
}

// Cache is a store.Store that caches another store.Store.
type Cache struct {
	backend     store.Store
	c           *otter.Cache[string, []byte]
	counter     *stats.Counter
	negative    bool
	prefixEpoch atomic.Uint64
	closed      atomic.Bool
	loader      otter.Loader[string, []byte]
	bulkLoader  otter.BulkLoader[string, []byte]
}

var _ store.Store = (*Cache)(nil)

// New returns a cache in front of backend. The cache owns backend: Close closes it.
func New(backend store.Store, opts Options) (*Cache, error) {
	if backend == nil {
		return nil, errors.New("cannot create store cache: nil backend")
	}
	if opts.MaxBytes < 0 || opts.TTL < 0 {
		return nil, fmt.Errorf("cannot create store cache: negative MaxBytes (%d) or TTL (%v)", opts.MaxBytes, opts.TTL)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.NegativeTTL == 0 {
		opts.NegativeTTL = DefaultNegativeTTL
	}
	c := &Cache{backend: backend, negative: opts.NegativeTTL > 0, counter: stats.NewCounter()}
	ttl, negTTL := opts.TTL, opts.NegativeTTL
	oc, err := otter.New(&otter.Options[string, []byte]{
		MaximumWeight: uint64(opts.MaxBytes),
		Weigher: func(k string, v []byte) uint32 {
			return uint32(min(len(k)+len(v)+entryOverhead, 1<<31))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, []byte]) time.Duration {
			if e.Value == nil {
				return negTTL
			}
			return ttl
		}),
		StatsRecorder: c.counter,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot create store cache: %w", err)
	}
	c.c = oc
	c.loader = otter.LoaderFunc[string, []byte](c.load)
	c.bulkLoader = otter.BulkLoaderFunc[string, []byte](c.bulkLoad)
	return c, nil
}

// unsafeString views b as a string for a lookup that does not retain the key.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (c *Cache) begin(ctx context.Context) error {
	if c.closed.Load() {
		return fmt.Errorf("store cache: %w", store.ErrClosed)
	}
	return ctx.Err()
}

// load is the otter loader: nil (the negative entry) for an absent key, non-nil otherwise.
func (c *Cache) load(ctx context.Context, k string) ([]byte, error) {
	v, err := c.backend.Get(ctx, []byte(k))
	if errors.Is(err, store.ErrNotFound) {
		if !c.negative {
			return nil, otter.ErrNotFound
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func (c *Cache) bulkLoad(ctx context.Context, ks []string) (map[string][]byte, error) {
	keys := make([][]byte, len(ks))
	for i, k := range ks {
		keys[i] = []byte(k)
	}
	vs, err := c.backend.MultiGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	if len(vs) != len(ks) {
		return nil, fmt.Errorf("store cache: backend MultiGet returned %d values for %d keys", len(vs), len(ks))
	}
	m := make(map[string][]byte, len(ks))
	for i, k := range ks {
		if vs[i] == nil && !c.negative {
			continue // left out: otter treats it as not found and caches nothing
		}
		m[k] = vs[i]
	}
	return m, nil
}

// Get implements store.Store.
func (c *Cache) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	if v, ok := c.c.GetIfPresent(unsafeString(key)); ok {
		if v == nil {
			return nil, store.ErrNotFound
		}
		return v, nil
	}
	epoch := c.prefixEpoch.Load()
	k := string(key)
	v, err := c.c.Get(ctx, k, c.loader)
	if c.prefixEpoch.Load() != epoch {
		// A DeletePrefix or InvalidatePrefix ran during the load; it may not have seen our entry.
		c.c.Invalidate(k)
	}
	if errors.Is(err, otter.ErrNotFound) || (err == nil && v == nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// MultiGet implements store.Store; cached keys are answered locally and the rest are read from
// the backend in one MultiGet.
func (c *Cache) MultiGet(ctx context.Context, keys [][]byte) ([][]byte, error) {
	for _, k := range keys {
		if err := store.CheckKey(k); err != nil {
			return nil, err
		}
	}
	if err := c.begin(ctx); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	var missing []int
	for i, k := range keys {
		if v, ok := c.c.GetIfPresent(unsafeString(k)); ok {
			out[i] = v // nil for a cached "not found"
			continue
		}
		missing = append(missing, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	ks := make([]string, len(missing))
	for j, i := range missing {
		ks[j] = string(keys[i])
	}
	epoch := c.prefixEpoch.Load()
	m, err := c.c.BulkGet(ctx, ks, c.bulkLoader)
	if c.prefixEpoch.Load() != epoch {
		for _, k := range ks {
			c.c.Invalidate(k)
		}
	}
	if err != nil {
		return nil, err
	}
	for j, i := range missing {
		out[i] = m[ks[j]]
	}
	return out, nil
}

// Put implements store.Store.
func (c *Cache) Put(ctx context.Context, key, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	err := c.backend.Put(ctx, key, value)
	// Invalidate even on error: the write may have reached the backend.
	c.c.Invalidate(unsafeString(key))
	return err
}

// PutBatch implements store.Store with the backend's atomicity.
func (c *Cache) PutBatch(ctx context.Context, kvs []store.KV) error {
	for _, kv := range kvs {
		if err := store.CheckKey(kv.Key); err != nil {
			return err
		}
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	err := c.backend.PutBatch(ctx, kvs)
	for _, kv := range kvs {
		c.c.Invalidate(unsafeString(kv.Key))
	}
	return err
}

// Delete implements store.Store.
func (c *Cache) Delete(ctx context.Context, key []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	err := c.backend.Delete(ctx, key)
	c.c.Invalidate(unsafeString(key))
	return err
}

// DeletePrefix implements store.Store: the backend deletes, then every cached key with the
// prefix is invalidated (a walk over the cache).
func (c *Cache) DeletePrefix(ctx context.Context, prefix []byte) error {
	if err := store.CheckPrefix(prefix); err != nil {
		return err
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	err := c.backend.DeletePrefix(ctx, prefix)
	c.InvalidatePrefix(prefix)
	return err
}

// Invalidate drops key from the cache, for a write made elsewhere (an invalidation message).
func (c *Cache) Invalidate(key []byte) {
	c.c.Invalidate(unsafeString(key))
}

// InvalidatePrefix drops every cached key that starts with prefix, including keys being
// loaded at the moment of the call. It walks the whole cache.
func (c *Cache) InvalidatePrefix(prefix []byte) {
	c.prefixEpoch.Add(1)
	p := unsafeString(prefix)
	for k := range c.c.Keys() {
		if strings.HasPrefix(k, p) {
			c.c.Invalidate(k)
		}
	}
}

// HandleInvalidation is Invalidate for a key and InvalidateAll for nil: the shape of the Redis
// backend's OnInvalidate callback and of invalidation messages that may say "everything".
func (c *Cache) HandleInvalidation(key []byte) {
	if key == nil {
		c.InvalidateAll()
		return
	}
	c.Invalidate(key)
}

// InvalidateAll drops every cached entry (for example when a new snapshot version is swapped in
// and the caller prefers a cold cache to a walk).
func (c *Cache) InvalidateAll() {
	c.prefixEpoch.Add(1)
	c.c.InvalidateAll()
}

// Stats describes the cache since New.
type Stats struct {
	Hits, Misses uint64
	Entries      int
	WeightBytes  uint64
}

// Stats returns hit and miss counts and the current size.
func (c *Cache) Stats() Stats {
	s := c.counter.Snapshot()
	return Stats{Hits: s.Hits, Misses: s.Misses, Entries: c.c.EstimatedSize(), WeightBytes: c.c.WeightedSize()}
}

// Close drops the cache and closes the backend. It is idempotent.
func (c *Cache) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.c.InvalidateAll()
	c.c.StopAllGoroutines()
	if err := c.backend.Close(); err != nil {
		return fmt.Errorf("cannot close the store behind the cache: %w", err)
	}
	return nil
}
