package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/internal/server"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "--data DIR [--addr :8080] [--write-key K] [--admin-token T] [--config FILE]", stderr)
	cfg := server.Config{}
	fs.StringVar(&cfg.DataDir, "data", envOr("BESPOKE_DATA", ""), "directory holding everything the server keeps (env BESPOKE_DATA)")
	fs.StringVar(&cfg.Addr, "addr", envOr("BESPOKE_ADDR", ":8080"), "listen address (env BESPOKE_ADDR)")
	writeKeys := fs.String("write-key", envOr("BESPOKE_WRITE_KEY", "dev-write-key"), "write key(s) accepted by the collector, comma-separated (env BESPOKE_WRITE_KEY)")
	fs.StringVar(&cfg.AdminToken, "admin-token", envOr("BESPOKE_ADMIN_TOKEN", ""), "bearer token for admin endpoints; empty disables them (env BESPOKE_ADMIN_TOKEN)")
	fs.StringVar(&cfg.StoreURL, "store", envOr("BESPOKE_STORE", ""), "online store: pebble (default, under --data), redis://[user:pass@]host:port[/db][?namespace=bespoke:], dynamodb://TABLE?endpoint=URL&region=R (env BESPOKE_STORE)")
	fs.DurationVar(&cfg.SearchDeadline, "search-deadline", envDuration("BESPOKE_SEARCH_DEADLINE", 20*time.Millisecond), "latency budget of a search; past it the non-personalized ranking is served")
	fs.DurationVar(&cfg.IngestAckTimeout, "ingest-ack-timeout", envDuration("BESPOKE_INGEST_ACK_TIMEOUT", 0), "longest an ingestion request waits for its events to be durable before a 503 (default 1s)")
	fs.StringVar(&cfg.StreamURL, "stream", envOr("BESPOKE_STREAM", ""), "event stream: empty for JetStream embedded under --data, or nats://host:port of a NATS JetStream cluster (env BESPOKE_STREAM)")
	fs.StringVar(&cfg.LakeURL, "lake", envOr("BESPOKE_LAKE", ""), "lake: empty for DIR/lake, or s3://bucket/prefix (credentials and endpoint from AWS_* env) (env BESPOKE_LAKE)")
	fs.DurationVar(&cfg.RetrainInterval, "retrain-interval", envDuration("BESPOKE_RETRAIN_INTERVAL", 0), "retrain and publish on this schedule, e.g. 6h (0: only with bespoke train or POST /v1/admin/train)")
	corsOrigins := fs.String("cors-origins", envOr("BESPOKE_CORS_ORIGINS", "*"), "browser origins allowed to send events, comma-separated (e.g. https://shop.example.com), or * for all (env BESPOKE_CORS_ORIGINS)")
	logLevel := fs.String("log-level", envOr("BESPOKE_LOG_LEVEL", "info"), "debug, info, warn or error (env BESPOKE_LOG_LEVEL)")
	fs.Float64Var(&cfg.Split.Treatment, "split-treatment", envFloat("BESPOKE_SPLIT_TREATMENT", 1), "share of customers (by hash) that get personalized results; the rest are the control arm (env BESPOKE_SPLIT_TREATMENT)")
	fs.Float64Var(&cfg.Split.Interleave, "split-interleave", envFloat("BESPOKE_SPLIT_INTERLEAVE", 0), "share of customers taken from control for team-draft interleaving of control and personalized (env BESPOKE_SPLIT_INTERLEAVE)")
	fs.StringVar(&cfg.Split.Salt, "split-salt", envOr("BESPOKE_SPLIT_SALT", "bespoke"), "salt of the arm hash; change it to re-randomize who is in which arm (env BESPOKE_SPLIT_SALT)")
	configFile := fs.String("config", "", "JSON file of flag names to values, e.g. {\"addr\":\":9090\",\"split-treatment\":0.5}; command line and env win over it")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *configFile != "" {
		if err := applyConfigFile(fs, *configFile); err != nil {
			return err
		}
	}
	if err := cfg.Split.Validate(); err != nil {
		return fmt.Errorf("--split-treatment/--split-interleave: %v", err)
	}
	if cfg.Split.Salt == "" {
		return fmt.Errorf("--split-salt must not be empty")
	}
	if cfg.DataDir == "" {
		fs.Usage()
		return fmt.Errorf("--data DIR is required: the directory where the server keeps its stream, lake and stores")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %v", err)
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	for _, k := range strings.Split(*writeKeys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			cfg.WriteKeys = append(cfg.WriteKeys, k)
		}
	}
	for _, o := range strings.Split(*corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.ListenAndServe(ctx, func(addr string) {
		cfg.Logger.Info("bespoke serving", "addr", addr, "data", cfg.DataDir)
	})
}
