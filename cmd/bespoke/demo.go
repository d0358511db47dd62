package main

import (
	"context"
	"io"

	"github.com/bespokesearch/bespoke/internal/demo"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "[--quick] [--addr 127.0.0.1:8080] [--data DIR] [--interleave 0.2]", stderr)
	quick := fs.Bool("quick", false, "a smaller world that finishes within minutes; exit after the table")
	addr := fs.String("addr", envOr("BESPOKE_ADDR", "127.0.0.1:8080"), "listen address of the embedded server")
	data := fs.String("data", "", "data directory (default: a new temporary directory)")
	seed := fs.Int64("seed", 0, "seed of the simulated world (0: the default)")
	interleave := fs.Float64("interleave", 0.2, "share of the A/B period's customers who see both rankings interleaved (team draft), in [0, 1)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := demo.Run(ctx, demo.Options{Quick: *quick, Addr: *addr, DataDir: *data, Seed: *seed, Interleave: *interleave, Progress: stderr, Out: stdout, Serve: !*quick})
	return err
}
