package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bespokesearch/bespoke/internal/sim"
)

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("simulate", "--seed N --out DIR [--products P --customers C --days D] [--target URL --write-key K] [--config FILE]", stderr)
	def := sim.DefaultConfig()
	seed := fs.Int64("seed", def.Seed, "random seed: the same seed and config give the same world byte for byte")
	out := fs.String("out", "", "directory to write catalog.jsonl, events.jsonl and truth.jsonl (offline mode)")
	products := fs.Int("products", def.Products, "number of products")
	customers := fs.Int("customers", def.Customers, "number of customers")
	days := fs.Int("days", def.Days, "number of simulated days")
	configFile := fs.String("config", "", "JSON file overriding any behavioural parameter (see internal/sim/config.go for every key)")
	target := fs.String("target", "", "play the world live against a running server at this URL instead of writing files")
	writeKey := fs.String("write-key", envOr("BESPOKE_WRITE_KEY", "dev-write-key"), "write key of the server's collector (live mode)")
	adminToken := fs.String("admin-token", envOr("BESPOKE_ADMIN_TOKEN", ""), "admin token to load the catalog with PUT /v1/products (live mode)")
	skipCatalog := fs.Bool("skip-catalog", false, "live mode: the server already has this world's catalog")
	fromDay := fs.Int("from-day", 0, "live mode: first simulated day to play")
	toDay := fs.Int("to-day", 0, "live mode: day to stop before (0: the last day)")
	printConfig := fs.Bool("print-config", false, "print the effective configuration as JSON and exit")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := def
	if *configFile != "" {
		f, err := os.Open(*configFile)
		if err != nil {
			return fmt.Errorf("cannot open --config: %w", err)
		}
		cfg, err = sim.LoadConfig(def, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--config %s: %w", *configFile, err)
		}
	}
	// Flags given explicitly win over the config file.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed":
			cfg.Seed = *seed
		case "products":
			cfg.Products = *products
		case "customers":
			cfg.Customers = *customers
		case "days":
			cfg.Days = *days
		}
	})
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *printConfig {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cfg)
	}
	if *target == "" && *out == "" {
		fs.Usage()
		return fmt.Errorf("say where the world goes: --out DIR (files) or --target URL (live against a server)")
	}
	var st sim.Stats
	var err error
	if *target != "" {
		st, err = sim.Live(ctx, cfg, sim.LiveOptions{
			Target: strings.TrimRight(*target, "/"), WriteKey: *writeKey, AdminToken: *adminToken,
			SkipCatalog: *skipCatalog, FromDay: *fromDay, ToDay: *toDay,
		}, stderr)
	} else {
		st, err = sim.Generate(ctx, cfg, *out, stderr)
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}
