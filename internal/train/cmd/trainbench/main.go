// Command trainbench measures training at scale: it generates a simulated world
// (or reuses one generated earlier in the same folder), writes its events into a
// Parquet lake, runs train.Run on it and prints the wall time, the peak RSS
// (VmHWM) and the evaluation report.
//
//	go run ./internal/train/cmd/trainbench -dir /tmp/tb10m -customers 230000 -days 30
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/sim"
	"github.com/bespokesearch/bespoke/internal/train"
	"github.com/bespokesearch/bespoke/internal/train/simworld"
)

func main() {
	dir := flag.String("dir", "", "folder for the world and its lake (reused when generated with the same config)")
	products := flag.Int("products", 20000, "products")
	customers := flag.Int("customers", 230000, "customers")
	days := flag.Int("days", 30, "days")
	seed := flag.Int64("seed", 7, "seed")
	strength := flag.Float64("personal", 0, "if > 0, Beta(a, 1) personal strength a (the default world has Beta(1.2, 1.2))")
	withTruth := flag.Bool("truth", true, "evaluate against the simulator's ground truth too (holds every search's intent in memory: turn off to measure training's own peak RSS)")
	assume := flag.Bool("assume-generated", false, "the world folder holds a complete generation of this config (after an interrupted run)")
	genOnly := flag.Bool("gen-only", false, "generate the world and its lake, do not train")
	trees := flag.Int("trees", 100, "maximum trees")
	report := flag.String("report", "", "write the JSON report here")
	reportDir := flag.String("report-dir", "", "write report.json, report.md and report.png here")
	render := flag.String("render", "", "only render this JSON report into -report-dir (no world, no training)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the training run here")
	maxLists := flag.Int("max-lists", 0, "train.Options.MaxLists (0: its default)")
	textMap := flag.Bool("text-map", false, "score text with Options.Text (everything a query matches, cached) instead of Options.TextFor (the impressed items)")
	flag.Parse()
	if *dir == "" && *render == "" {
		fmt.Fprintln(os.Stderr, "trainbench: -dir is required")
		os.Exit(2)
	}
	if *render != "" {
		var rep train.Report
		js, err := os.ReadFile(*render)
		if err == nil {
			err = json.Unmarshal(js, &rep)
		}
		if err == nil {
			err = train.WriteReport(*reportDir, &rep)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "trainbench:", err)
			os.Exit(1)
		}
		return
	}
	ctx := context.Background()
	logf := func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "%s %s (rss peak %s)\n", time.Now().Format("15:04:05"), fmt.Sprintf(f, a...), vmHWM())
	}
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Products, cfg.Customers, cfg.Days = *seed, *products, *customers, *days
	if *strength > 0 {
		cfg.Customer.PersonalStrengthA, cfg.Customer.PersonalStrengthB = *strength, 1
	}
	if *assume {
		if err := simworld.MarkGenerated(cfg, *dir); err != nil {
			fmt.Fprintln(os.Stderr, "trainbench:", err)
			os.Exit(1)
		}
	}
	t0 := time.Now()
	w, err := simworld.Build(ctx, cfg, *dir, *withTruth && !*genOnly, logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trainbench:", err)
		os.Exit(1)
	}
	logf("world ready: %d events, %d products (%v)", w.Events, len(w.Products), time.Since(t0).Round(time.Second))
	if *genOnly {
		return
	}
	runtime.GC()
	opts := train.Options{}
	if *withTruth {
		opts.Relevance, opts.Examination, opts.SizeTruth = w.Relevance, w.Examination, w.SizeTruth
	}
	p := gbdt.DefaultParams()
	p.NumTrees, p.EarlyStoppingRounds = *trees, 20
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "trainbench:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "trainbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	t1 := time.Now()
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	opts.Lake, opts.Products, opts.TextFor, opts.Params = w.Lake, w.Products, simworld.TextFor(w.Products), p
	opts.Progress, opts.MaxLists = logf, *maxLists
	if *textMap {
		opts.Text, opts.TextFor = simworld.Text(w.Products), nil
	}
	res, err := train.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trainbench:", err)
		os.Exit(1)
	}
	wall := time.Since(t1)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	js, _ := json.MarshalIndent(res.Report, "", "  ")
	if *report != "" {
		_ = os.WriteFile(*report, js, 0o644)
	}
	if *reportDir != "" {
		if err := train.WriteReport(*reportDir, &res.Report); err != nil {
			fmt.Fprintln(os.Stderr, "trainbench:", err)
		}
	}
	fmt.Println(train.Summary(&res.Report))
	fmt.Printf("events %d, examples %d, training wall time %.1f s (cpu %.1f s), peak RSS %s, seconds %v\n", res.Report.Events, res.Report.Examples, wall.Seconds(), cpu.Seconds(), vmHWM(), res.Report.Seconds)
}

func vmHWM() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}
