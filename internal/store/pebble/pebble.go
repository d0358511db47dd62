package pebble

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"

	"github.com/bespokesearch/bespoke/internal/store"
)

// DefaultCacheSize is the block cache used when Options.CacheSize is zero. With ~200-byte
// profiles and Snappy-compressed 4 KiB blocks it holds the hot part of a few million profiles.
const DefaultCacheSize = 64 << 20

// Options configures Open. The zero value is usable.
type Options struct {
	// CacheSize is the block cache in bytes (DefaultCacheSize when zero).
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes (Pebble's default, 4 MiB, when zero).
	MemTableSize uint64
	// Sync makes every write fsync the write-ahead log before returning.
	Sync bool
	// Zstd compresses sstable blocks with Zstandard instead of Snappy: smaller on disk and in the
	// page cache, somewhat more CPU per block read.
	Zstd bool
	// Logger receives Pebble's errors; nil logs errors to stderr and drops informational lines.
	Logger pebble.Logger
}

// Store is a store.Store on a Pebble database.
type Store struct {
	// mu guards db against Close: every operation holds it shared, Close holds it exclusively,
	// because Pebble panics on use after Close.
	mu     sync.RWMutex
	db     *pebble.DB
	closed bool
	wo     *pebble.WriteOptions
	dir    string
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the Pebble database in dir.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("cannot open pebble store: empty directory")
	}
	cacheSize := opts.CacheSize
	if cacheSize <= 0 {
		cacheSize = DefaultCacheSize
	}
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	po := &pebble.Options{
		Cache:              cache,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             opts.Logger,
	}
	if po.Logger == nil {
		po.Logger = quietLogger{}
	}
	if opts.Zstd {
		for i := range po.Levels {
			po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.ZstdCompression }
		}
	}
	if opts.MemTableSize > 0 {
		po.MemTableSize = opts.MemTableSize
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("cannot open pebble store in %q: %w", dir, err)
	}
	wo := pebble.NoSync
	if opts.Sync {
		wo = pebble.Sync
	}
	return &Store{db: db, wo: wo, dir: dir}, nil
}

// begin checks the key, ctx and closed state and takes the shared lock; on success the caller
// must call s.mu.RUnlock.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("pebble store %q: %w", s.dir, store.ErrClosed)
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return s.get(key)
}

func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %q from pebble: %w", key, err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("cannot release read of %q from pebble: %w", key, err)
	}
	return out, nil
}

// MultiGet implements store.Store. Each key is a point lookup; the values may come from
// different moments if writes race with the call.
func (s *Store) MultiGet(ctx context.Context, keys [][]byte) ([][]byte, error) {
	for _, k := range keys {
		if err := store.CheckKey(k); err != nil {
			return nil, err
		}
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.get(k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
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
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if err := s.db.Set(key, value, s.wo); err != nil {
		return fmt.Errorf("cannot write %q to pebble: %w", key, err)
	}
	return nil
}

// PutBatch implements store.Store; the batch is applied atomically.
func (s *Store) PutBatch(ctx context.Context, kvs []store.KV) error {
	for _, kv := range kvs {
		if err := store.CheckKey(kv.Key); err != nil {
			return err
		}
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if len(kvs) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	for _, kv := range kvs {
		if err := b.Set(kv.Key, kv.Value, nil); err != nil {
			return fmt.Errorf("cannot add %q to a pebble batch: %w", kv.Key, err)
		}
	}
	if err := b.Commit(s.wo); err != nil {
		return fmt.Errorf("cannot commit a pebble batch of %d pairs: %w", len(kvs), err)
	}
	return nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	if err := s.db.Delete(key, s.wo); err != nil {
		return fmt.Errorf("cannot delete %q from pebble: %w", key, err)
	}
	return nil
}

// DeletePrefix implements store.Store with one range tombstone.
func (s *Store) DeletePrefix(ctx context.Context, prefix []byte) error {
	if err := store.CheckPrefix(prefix); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	end := store.PrefixEnd(prefix)
	if end == nil {
		// prefix is all 0xff: no key bounds the range from above, so delete key by key.
		return s.deleteUnbounded(ctx, prefix)
	}
	if err := s.db.DeleteRange(prefix, end, s.wo); err != nil {
		return fmt.Errorf("cannot delete prefix %q from pebble: %w", prefix, err)
	}
	return nil
}

func (s *Store) deleteUnbounded(ctx context.Context, prefix []byte) error {
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix})
	if err != nil {
		return fmt.Errorf("cannot iterate prefix %q in pebble: %w", prefix, err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := b.Delete(it.Key(), nil); err != nil {
			_ = it.Close()
			return fmt.Errorf("cannot add a delete under prefix %q to a pebble batch: %w", prefix, err)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("cannot iterate prefix %q in pebble: %w", prefix, err)
	}
	if err := b.Commit(s.wo); err != nil {
		return fmt.Errorf("cannot delete prefix %q from pebble: %w", prefix, err)
	}
	return nil
}

// DiskUsage returns the bytes the database occupies on disk (sstables, WAL, manifests).
func (s *Store) DiskUsage() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, fmt.Errorf("pebble store %q: %w", s.dir, store.ErrClosed)
	}
	return s.db.Metrics().DiskSpaceUsage(), nil
}

// Flush writes the memtable to an sstable (used before measuring disk usage).
func (s *Store) Flush() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("pebble store %q: %w", s.dir, store.ErrClosed)
	}
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("cannot flush pebble store %q: %w", s.dir, err)
	}
	return nil
}

// Close implements store.Store. It waits for running operations to finish.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("cannot close pebble store %q: %w", s.dir, err)
	}
	return nil
}

// quietLogger drops Pebble's informational lines and keeps its errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Errorf(format string, args ...interface{}) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	pebble.DefaultLogger.Fatalf(format, args...)
}
