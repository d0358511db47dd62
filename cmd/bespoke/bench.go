package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/bespokesearch/bespoke/internal/bench"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "ingest|search|rerank|size|freshness --target URL [--world DIR] [--rate R --duration D --concurrency C]", stderr)
	cfg := bench.Config{Progress: stderr}
	fs.StringVar(&cfg.Target, "target", envOr("BESPOKE_TARGET", "http://127.0.0.1:8080"), "base URL of the running server (env BESPOKE_TARGET)")
	fs.StringVar(&cfg.World, "world", "", "directory written by `bespoke simulate` to draw queries, customers, products and events from; empty: the server's own catalog")
	fs.Float64Var(&cfg.Rate, "rate", 1000, "requests per second (ingest: events per second; freshness: trials per second)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "requests in flight at most (latency still counts from the intended send time)")
	fs.StringVar(&cfg.WriteKey, "write-key", envOr("BESPOKE_WRITE_KEY", "dev-write-key"), "write key of the collector (ingest, freshness) (env BESPOKE_WRITE_KEY)")
	fs.IntVar(&cfg.BatchSize, "batch", 100, "ingest: events per /v1/batch request")
	fs.IntVar(&cfg.Items, "items", 100, "rerank: items per request")
	fs.IntVar(&cfg.Customers, "customers", 0, "draw customer ids c0..c<N-1> (the ids of generated profiles) instead of the world's")
	fs.Float64Var(&cfg.AnonShare, "anon-share", 0.5, "share of search/rerank/size requests sent without a customer id (negative: none), to compare personalized with anonymous latency in one run")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "timeout of one request")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("say what to load: bespoke bench ingest|search|rerank|size|freshness --target URL")
	}
	cfg.Kind = pos[0]
	res, err := bench.Run(ctx, cfg)
	if err != nil && res.Sent == 0 {
		return err
	}
	b, merr := json.Marshal(res)
	if merr != nil {
		return fmt.Errorf("cannot encode the bench result: %w", merr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bespoke bench: %v\n", err)
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return nil
}
