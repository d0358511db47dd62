// Command bespoke is the single binary of Bespoke: personalized e-commerce search and
// size recommendation. Each subcommand wires packages under internal/; no logic lives here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: its name (possibly two words), a one-line summary, and its run function.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists only what works; a subcommand is added here when it is real.
var commands = []command{
	{"simulate", "generate a simulated shoe-and-apparel store world, or play it live against a server", runSimulate},
	{"demo", "the whole story on one machine: server, simulated store, training, A/B test and its table", runDemo},
	{"serve", "run the all-in-one server: collector, stream, lake, search, rerank and size APIs", runServe},
	{"lake stats", "count the events in the lake per name and day (read-only; works while the server runs)", runLakeStats},
	{"events import", "send a JSON-lines event file to a running server through /v1/batch, with retries", runEventsImport},
	{"train", "train every model from the lake, evaluate, publish atomically; prints the report as JSON", runTrain},
	{"bench", "open-loop load generator: ingest, search, rerank, size, freshness", runBench},
	{"catalog import", "load products (JSON lines, JSON array or CSV) into a running server", runCatalogImport},
}

// errUsage marks errors already explained by printed usage.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest, ok := lookup(args)
	if !ok {
		fmt.Fprintf(stderr, "bespoke: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, rest, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "bespoke %s: %v\n", cmd.name, err)
		}
		return 1
	}
	return 0
}

func lookup(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "bespoke: personalized e-commerce search and size recommendation")
	fmt.Fprintln(w, "\nUsage: bespoke COMMAND [flags]   (bespoke COMMAND --help for its flags)\n\nCommands:")
	names := make([]string, 0, len(commands))
	byName := map[string]command{}
	for _, c := range commands {
		names = append(names, c.name)
		byName[c.name] = c
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, byName[n].summary)
	}
}

// newFlags returns a flag set whose errors and --help go to stderr and that does not exit.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bespoke "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bespoke %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, accepting flags after positional arguments too.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
