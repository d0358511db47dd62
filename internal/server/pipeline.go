package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/collector"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/stream"
	"github.com/bespokesearch/bespoke/internal/stream/jetstream"
)

// pipeline is the ingestion side of the server: collector → stream → lake writer and
// profile updater.
type pipeline struct {
	stream    stream.Stream
	collector *collector.Collector
	lakeStore lake.Storage
	writer    *lake.Writer
	lakeSink  stream.Consumer
	updater   stream.Consumer
	cancel    context.CancelFunc
	done      chan struct{}
}

// startPipeline opens the stream, the lake and the collector, and starts the lake
// sink and the profile updater.
func (s *Server) startPipeline(ctx context.Context) error {
	cfg := s.cfg
	p := &pipeline{done: make(chan struct{})}
	var err error
	jcfg := jetstream.Config{Logger: s.log}
	if cfg.StreamURL == "" || cfg.StreamURL == "embedded" {
		jcfg.Dir = filepath.Join(cfg.DataDir, "stream")
	} else {
		jcfg.URL = cfg.StreamURL
	}
	js, err := jetstream.Open(ctx, jcfg)
	if err != nil {
		return fmt.Errorf("cannot open the event stream: %w", err)
	}
	p.stream = js
	s.closers = append(s.closers, js.Close)

	lakeURL := cfg.LakeURL
	if lakeURL == "" {
		lakeURL = filepath.Join(cfg.DataDir, "lake")
	}
	if p.lakeStore, err = lake.OpenStorage(ctx, lakeURL, lake.S3Options{}); err != nil {
		return fmt.Errorf("cannot open the lake %q: %w", lakeURL, err)
	}
	lm, err := lake.NewMetrics(s.reg)
	if err != nil {
		return err
	}
	if p.writer, err = lake.NewWriter(ctx, p.lakeStore, lake.WriterOptions{
		StateDir: filepath.Join(cfg.DataDir, "lake-state"), MaxFileBytes: cfg.LakeRollBytes, MaxFileAge: cfg.LakeRollAge,
		MaxOpenFiles: cfg.LakeMaxOpenFiles,
		Publishers:   4, // publishing is mostly fsync waits: overlap them
		Metrics:      lm, Logger: s.log,
	}); err != nil {
		return fmt.Errorf("cannot start the lake writer: %w", err)
	}
	s.closers = append(s.closers, func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return p.writer.Close(cctx)
	})
	// Envelopes wait in open lake files for up to the roll age before they can be
	// acknowledged; the sink keeps telling the stream they are in progress, so the ack
	// wait can stay short and a crash gets them redelivered within seconds.
	if p.lakeSink, err = p.stream.Consumer(ctx, "lake", stream.ConsumerOptions{AckWait: lakeAckWait, MaxAckPending: 200000}); err != nil {
		return fmt.Errorf("cannot create the lake consumer: %w", err)
	}
	if p.updater, err = p.stream.Consumer(ctx, "profiles", stream.ConsumerOptions{AckWait: 30 * time.Second}); err != nil {
		return fmt.Errorf("cannot create the profile consumer: %w", err)
	}
	if p.collector, err = collector.New(collector.Options{
		Stream: p.stream, WriteKeys: cfg.WriteKeys, Logger: s.log, Registerer: s.reg,
		AckTimeout: cfg.IngestAckTimeout, AllowedOrigins: cfg.CORSOrigins,
	}); err != nil {
		return fmt.Errorf("cannot start the collector: %w", err)
	}
	p.collector.Register(s.mux)

	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		go (&profileUpdater{s: s, consumer: p.updater}).run(runCtx)
		go p.compactEvery(runCtx, s, cfg.CompactInterval, lm)
		go s.retrainEvery(runCtx, cfg.RetrainInterval, func(ctx context.Context) error {
			_, _, err := s.Train(ctx, false)
			return err
		})
		p.sinkToLake(runCtx, s)
	}()
	// Closers run newest first: stop the collector, then the loops, then the writer and stream.
	s.closers = append(s.closers, func() error {
		cancel()
		<-p.done
		p.updater.Close()
		return p.lakeSink.Close()
	}, func() error {
		cctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		return p.collector.Close(cctx)
	})
	s.pipe = p
	return nil
}

// lakeAckWait is how long the stream waits for the lake sink's acknowledgement before
// redelivering; the sink extends it every lakeAckWait/3 while an envelope is held.
const lakeAckWait = 15 * time.Second

// sinkToLake moves envelopes from the stream into the lake; each is acknowledged only
// once every event in it is in a durable, published lake file.
func (p *pipeline) sinkToLake(ctx context.Context, s *Server) {
	var mu sync.Mutex
	held := map[uint64]stream.Delivery{}
	go func() {
		t := time.NewTicker(lakeAckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			ds := make([]stream.Delivery, 0, len(held))
			for _, d := range held {
				ds = append(ds, d)
			}
			mu.Unlock()
			for _, d := range ds {
				_ = d.InProgress() // best effort: a miss only means a harmless redelivery
			}
		}
	}()
	for ctx.Err() == nil {
		ds, err := p.lakeSink.Fetch(ctx, 256, 200*time.Millisecond)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("lake sink cannot fetch; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		mu.Lock()
		for _, d := range ds {
			held[d.Seq()] = d
		}
		mu.Unlock()
		for _, d := range ds {
			d := d
			p.writer.AddEnvelope(d.Data(), func(err error) {
				mu.Lock()
				delete(held, d.Seq())
				mu.Unlock()
				if err != nil {
					s.log.Warn("lake write failed; the envelope will be redelivered", "seq", d.Seq(), "err", err)
					_ = d.Nak()
					return
				}
				actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := d.Ack(actx); err != nil {
					// Redelivery is harmless: the writer drops events it has stored.
					s.log.Warn("cannot acknowledge a lake envelope", "seq", d.Seq(), "err", err)
				}
			})
		}
	}
}

// compactEvery merges small lake files and applies erasure requests periodically.
func (p *pipeline) compactEvery(ctx context.Context, s *Server, every time.Duration, m *lake.Metrics) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := lake.Compact(ctx, p.lakeStore, lake.CompactOptions{Metrics: m})
		if err != nil {
			s.log.Warn("lake compaction failed; will retry", "err", err)
			continue
		}
		if res.FilesMerged > 0 || res.Erasures > 0 {
			s.log.Info("lake compacted", "merged", res.FilesMerged, "written", res.FilesWritten, "erasures", res.Erasures, "rows_erased", res.RowsErased)
		}
	}
}

// flush returns once every event acknowledged before the call is in lake files.
func (p *pipeline) flush(ctx context.Context) error {
	info, err := p.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("cannot read the stream position: %w", err)
	}
	target := info.LastSeq
	for {
		ci, err := p.lakeSink.Info(ctx)
		if err != nil {
			return fmt.Errorf("cannot read the lake consumer position: %w", err)
		}
		if ci.AckFloor >= target {
			return nil
		}
		if ci.Delivered >= target {
			if err := p.writer.Flush(ctx); err != nil {
				return fmt.Errorf("cannot publish lake files: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lake flush did not finish (acknowledged up to %d of %d): %w", ci.AckFloor, target, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) handleFlush(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := s.pipe.flush(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"flushed": true, "took_ms": time.Since(start).Milliseconds()})
}
