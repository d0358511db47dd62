package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/cache"
	"github.com/bespokesearch/bespoke/internal/store/dynamodb"
	"github.com/bespokesearch/bespoke/internal/store/pebble"
	"github.com/bespokesearch/bespoke/internal/store/redis"
)

// openBackend opens the online store that cfg.StoreURL names:
//
//	"" or "pebble"                          Pebble under DataDir/store (embedded default)
//	redis://[user:pass@]host:port[/db][?namespace=bespoke:]
//	dynamodb://table[?endpoint=http://127.0.0.1:8000&region=us-east-1&create=true]
//
// A Redis server that cannot be reached at startup does not stop the server: the store
// returned keeps reconnecting in the background and fails every call until it succeeds,
// so searches are answered non-personalized meanwhile (as for Redis lost mid-run, which
// the Redis client itself recovers from).
func openBackend(ctx context.Context, cfg Config) (store.Store, error) {
	return openBackendNotify(ctx, cfg, nil)
}

// openProfiles opens the online store and the in-process cache (otter) in front of it.
// With Redis, the server's client-side-caching invalidations (another process or node
// wrote a key this one has read) also drop the key from the in-process cache, which
// would otherwise serve the old profile until its TTL; a nil invalidation (connection
// lost, invalidations possibly missed) empties it.
func openProfiles(ctx context.Context, cfg Config) (store.Store, *cache.Cache, error) {
	var target atomic.Pointer[cache.Cache]
	backend, err := openBackendNotify(ctx, cfg, func(key []byte) {
		if c := target.Load(); c != nil { // nil only before anything could be cached
			c.HandleInvalidation(key)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	c, err := cache.New(backend, cache.Options{MaxBytes: cfg.ProfileCache})
	if err != nil {
		_ = backend.Close()
		return nil, nil, err
	}
	target.Store(c)
	return backend, c, nil
}

// openBackendNotify is openBackend with onInvalidate called for each key a Redis backend
// is told another client changed (nil: everything); other backends ignore it.
func openBackendNotify(ctx context.Context, cfg Config, onInvalidate func(key []byte)) (store.Store, error) {
	u := cfg.StoreURL
	switch {
	case u == "" || u == "pebble":
		st, err := pebble.Open(filepath.Join(cfg.DataDir, "store"), pebble.Options{})
		if err != nil {
			return nil, fmt.Errorf("cannot open the online store under %q: %w", cfg.DataDir, err)
		}
		return st, nil
	case strings.HasPrefix(u, "redis://"):
		opts, err := redisOptions(u)
		if err != nil {
			return nil, err
		}
		opts.OnInvalidate = onInvalidate
		st, err := redis.Open(opts)
		if err == nil {
			return st, nil
		}
		if cfg.Logger != nil {
			cfg.Logger.Warn("redis is unreachable at startup; serving non-personalized results and reconnecting in the background",
				"addr", opts.Addr, "err", err)
		}
		return newRetryingStore(func() (store.Store, error) { return redis.Open(opts) }, time.Second), nil
	case strings.HasPrefix(u, "dynamodb://"):
		table, opts, region, err := dynamoOptions(u)
		if err != nil {
			return nil, err
		}
		var lo []func(*awsconfig.LoadOptions) error
		if region != "" {
			lo = append(lo, awsconfig.WithRegion(region))
		}
		acfg, err := awsconfig.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			return nil, fmt.Errorf("cannot load the AWS configuration for dynamodb table %q: %w", table, err)
		}
		if acfg.Region == "" {
			acfg.Region = "us-east-1"
		}
		if opts.Endpoint != "" && acfg.Credentials == nil {
			acfg.Credentials = aws.AnonymousCredentials{}
		}
		st, err := dynamodb.Open(ctx, acfg, opts)
		if err != nil {
			return nil, fmt.Errorf("cannot open the dynamodb online store %q: %w", u, err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown --store %q: use pebble (default), redis://host:port[/db] or dynamodb://table?endpoint=URL", u)
}

// redisOptions parses redis://[user:pass@]host:port[/db][?namespace=N].
func redisOptions(raw string) (redis.Options, error) {
	pu, err := url.Parse(raw)
	if err != nil {
		return redis.Options{}, fmt.Errorf("invalid --store %q: %w", raw, err)
	}
	opts := redis.Options{Addr: pu.Host, Namespace: "bespoke:"}
	if pu.Host == "" {
		opts.Addr = redis.DefaultAddr
	}
	if pu.User != nil {
		opts.Username = pu.User.Username()
		opts.Password, _ = pu.User.Password()
	}
	if db := strings.Trim(pu.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return redis.Options{}, fmt.Errorf("invalid --store %q: the path must be a database number, got %q", raw, db)
		}
		opts.DB = n
	}
	q := pu.Query()
	if q.Has("namespace") {
		opts.Namespace = q.Get("namespace")
	}
	return opts, nil
}

// dynamoOptions parses dynamodb://table[?endpoint=URL&region=R&create=true&consistent=false].
func dynamoOptions(raw string) (string, dynamodb.Options, string, error) {
	pu, err := url.Parse(raw)
	if err != nil {
		return "", dynamodb.Options{}, "", fmt.Errorf("invalid --store %q: %w", raw, err)
	}
	table := pu.Host
	if table == "" {
		return "", dynamodb.Options{}, "", fmt.Errorf("invalid --store %q: name the table, dynamodb://TABLE?endpoint=URL", raw)
	}
	q := pu.Query()
	opts := dynamodb.Options{Table: table, Endpoint: q.Get("endpoint"), CreateTable: q.Get("create") != "false"}
	opts.EventuallyConsistent = q.Get("consistent") == "false"
	return table, opts, q.Get("region"), nil
}

// errBackendDown is returned (wrapped) by a retryingStore that is not connected yet.
var errBackendDown = errors.New("online store not connected yet")

// retryingStore is a store.Store whose backend could not be opened at startup: it keeps
// trying to open it in the background and fails every call until it succeeds.
type retryingStore struct {
	cur    atomic.Pointer[storeBox]
	stop   chan struct{}
	once   sync.Once
	done   chan struct{}
	lastMu sync.Mutex
	last   error
}

type storeBox struct{ st store.Store }

var _ store.Store = (*retryingStore)(nil)

func newRetryingStore(open func() (store.Store, error), every time.Duration) *retryingStore {
	r := &retryingStore{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
			st, err := open()
			if err != nil {
				r.lastMu.Lock()
				r.last = err
				r.lastMu.Unlock()
				continue
			}
			select {
			case <-r.stop:
				_ = st.Close()
			default:
				r.cur.Store(&storeBox{st})
			}
			return
		}
	}()
	return r
}

func (r *retryingStore) get() (store.Store, error) {
	if b := r.cur.Load(); b != nil {
		return b.st, nil
	}
	r.lastMu.Lock()
	defer r.lastMu.Unlock()
	if r.last != nil {
		return nil, fmt.Errorf("%w: %v", errBackendDown, r.last)
	}
	return nil, errBackendDown
}

func (r *retryingStore) Get(ctx context.Context, key []byte) ([]byte, error) {
	st, err := r.get()
	if err != nil {
		return nil, err
	}
	return st.Get(ctx, key)
}

func (r *retryingStore) MultiGet(ctx context.Context, keys [][]byte) ([][]byte, error) {
	st, err := r.get()
	if err != nil {
		return nil, err
	}
	return st.MultiGet(ctx, keys)
}

func (r *retryingStore) Put(ctx context.Context, key, value []byte) error {
	st, err := r.get()
	if err != nil {
		return err
	}
	return st.Put(ctx, key, value)
}

func (r *retryingStore) PutBatch(ctx context.Context, kvs []store.KV) error {
	st, err := r.get()
	if err != nil {
		return err
	}
	return st.PutBatch(ctx, kvs)
}

func (r *retryingStore) Delete(ctx context.Context, key []byte) error {
	st, err := r.get()
	if err != nil {
		return err
	}
	return st.Delete(ctx, key)
}

func (r *retryingStore) DeletePrefix(ctx context.Context, prefix []byte) error {
	st, err := r.get()
	if err != nil {
		return err
	}
	return st.DeletePrefix(ctx, prefix)
}

func (r *retryingStore) Close() error {
	r.once.Do(func() { close(r.stop) })
	<-r.done
	if b := r.cur.Load(); b != nil {
		return b.st.Close()
	}
	return nil
}

// registerDebug adds the Go profiler under /debug/pprof/ to mux. The profiles reveal
// nothing about customers but cost CPU, so they answer only with the admin token.
func (s *Server) registerDebug(mux *http.ServeMux) {
	guard := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !s.requireAdmin(w, r) {
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /debug/pprof/", guard(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/cmdline", guard(pprof.Cmdline))
	mux.HandleFunc("GET /debug/pprof/profile", guard(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/symbol", guard(pprof.Symbol))
	mux.HandleFunc("GET /debug/pprof/trace", guard(pprof.Trace))
}
