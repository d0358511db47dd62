package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/retrieve"
	"github.com/bespokesearch/bespoke/internal/size"
	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/web"
)

// Config is everything `bespoke serve` can be told. Zero values take the defaults.
type Config struct {
	DataDir        string        // everything the server keeps lives here
	Addr           string        // listen address, default :8080
	WriteKeys      []string      // keys accepted by the collector and the opt-out endpoints
	AdminToken     string        // bearer token of admin endpoints; empty disables them
	StreamURL      string        // "" embedded JetStream; nats://host:port for an external cluster
	LakeURL        string        // "" DataDir/lake; s3://bucket/prefix
	StoreURL       string        // "" Pebble under DataDir/store; redis://host:port
	SearchDeadline time.Duration // latency budget of a search; default 20 ms
	ProfileCache   int64         // bytes of the in-process profile cache; default 64 MiB
	// IngestAckTimeout is how long an ingestion request may wait for its events to be
	// durable before it is answered 503 (default 1 s).
	IngestAckTimeout time.Duration
	LakeRollBytes    int64         // roll lake files at this size; default 64 MiB
	LakeRollAge      time.Duration // roll lake files this long after their first event; default 60 s
	// LakeMaxOpenFiles bounds the lake files open at once (default 64); a backfill that
	// spans many hours publishes the least recently used early, as small files.
	LakeMaxOpenFiles int
	// RetrainInterval retrains and publishes on this schedule (0: only when asked).
	RetrainInterval time.Duration
	// TrainTrees caps the trees of the learned ranker (default 100; early stopping may use fewer).
	TrainTrees int
	// CompactInterval is how often small lake files are merged and erasures applied
	// (default 10 min; negative: never).
	CompactInterval time.Duration
	// CORSOrigins are the browser origins allowed to send events cross-origin; "*" (the
	// default when empty) allows all.
	CORSOrigins []string
	// Split decides who gets personalized results (the A/B test); the zero value puts
	// everyone in the personalized arm (Treatment 1). Control gets the anonymous ranking.
	Split  experiment.Split
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		return errors.New("a data directory is required (--data DIR)")
	}
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.SearchDeadline <= 0 {
		c.SearchDeadline = 20 * time.Millisecond
	}
	if c.Split == (experiment.Split{}) {
		c.Split.Treatment = 1
	}
	if err := c.Split.Validate(); err != nil {
		return fmt.Errorf("invalid experiment split: %w", err)
	}
	if c.IngestAckTimeout <= 0 {
		// A durable write that is merely slow (a busy disk, a loaded machine) should not
		// turn into a 503 and a retry storm; a stream that fails still trips the
		// collector's breaker at once.
		c.IngestAckTimeout = time.Second
	}
	if c.CompactInterval == 0 {
		c.CompactInterval = 10 * time.Minute
	}
	if c.LakeRollAge <= 0 {
		c.LakeRollAge = 60 * time.Second
	}
	if c.ProfileCache <= 0 {
		c.ProfileCache = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return nil
}

// Server is the running all-in-one server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	reg       *prometheus.Registry
	mux       *http.ServeMux
	catalog   *catalog.Log
	index     *retrieve.Index
	profiles  store.Store // the cache in front of the online store
	backend   store.Store
	active    rank.Active
	metrics   *metrics
	pipe      *pipeline
	lat       latencies
	split     atomic.Pointer[experiment.Split]
	items     atomic.Pointer[itemTable]
	models    models
	sizeModel atomic.Pointer[size.Model]

	metricsCache experiment.Cache // per-day business metrics (experiment.go)

	closeOnce sync.Once
	closers   []func() error
}

// New opens everything under cfg.DataDir and returns a server ready to serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create data directory %q: %w", cfg.DataDir, err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, reg: prometheus.NewRegistry(), mux: http.NewServeMux()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg)
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	var err error
	if s.catalog, err = catalog.OpenLog(filepath.Join(cfg.DataDir, "catalog", "products.log")); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.catalog.Close)
	if s.index, err = retrieve.New(retrieve.Options{}); err != nil {
		return nil, fmt.Errorf("cannot create the search index: %w", err)
	}
	s.closers = append(s.closers, s.index.Close)
	if all := s.catalog.All(); len(all) > 0 {
		start := time.Now()
		if err := s.index.Upsert(all); err != nil {
			return nil, fmt.Errorf("cannot index the catalog: %w", err)
		}
		s.log.Info("catalog indexed", "products", len(all), "took", time.Since(start).String())
	}
	s.rebuildItems()
	if s.backend, s.profiles, err = openProfiles(ctx, cfg); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.backend.Close)
	s.split.Store(&cfg.Split)
	s.active.Store(rank.NewDefaultSnapshot())
	sm, err := emptySizeModel(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot build the default size model: %w", err)
	}
	s.sizeModel.Store(sm)
	if err := s.loadActive(ctx); err != nil {
		s.log.Error("cannot load the active model; serving the default ranking", "err", err)
	}
	if err := s.startPipeline(ctx); err != nil {
		return nil, err
	}
	s.routes()
	ok = true
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"ok": true}) })
	m.HandleFunc("GET /readyz", s.handleReady)
	m.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	m.HandleFunc("PUT /v1/products", s.handlePutProducts)
	m.HandleFunc("GET /v1/products/{id}", s.handleGetProduct)
	m.HandleFunc("DELETE /v1/products/{id}", s.handleDeleteProduct)
	m.HandleFunc("GET /v1/search", s.handleSearch)
	m.HandleFunc("POST /v1/rerank", s.handleRerank)
	m.HandleFunc("POST /v1/customers/{id}/opt-out", s.handleOptOut(true))
	m.HandleFunc("DELETE /v1/customers/{id}/opt-out", s.handleOptOut(false))
	m.HandleFunc("DELETE /v1/customers/{id}", s.handleErase)
	m.HandleFunc("POST /v1/admin/flush", s.handleFlush)
	m.HandleFunc("POST /v1/admin/train", s.handleTrain)
	m.HandleFunc("GET /v1/admin/models", s.handleModels)
	m.HandleFunc("POST /v1/admin/models/{version}/activate", s.handleActivate)
	m.HandleFunc("GET /v1/size", s.handleSize)
	m.HandleFunc("GET /v1/admin/metrics", s.handleMetrics)
	s.registerDebug(m)
	wk := ""
	if len(s.cfg.WriteKeys) > 0 {
		wk = s.cfg.WriteKeys[0]
	}
	// The storefront and the dashboard (embedded assets; the storefront sends its events
	// through the browser SDK with the first write key).
	m.Handle("GET /", web.Handler(web.Options{WriteKey: wk}))
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"ready": true, "products": s.catalog.Len(), "model_version": s.active.Load().Version})
}

// Handler is the HTTP API of the server.
func (s *Server) Handler() http.Handler { return s.mux }

// Registry is the server's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// ListenAndServe serves on cfg.Addr until ctx is done, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr string)) error {
	hs := &http.Server{Addr: s.cfg.Addr, Handler: s.mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	ln, err := listen(s.cfg.Addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// Close stops background work and closes every store, newest first.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			if err := s.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}
