package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/pkg/client"
)

func runEventsImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("events import", "--target URL --write-key K FILE", stderr)
	target := fs.String("target", envOr("BESPOKE_TARGET", "http://127.0.0.1:8080"), "base URL of the running server (env BESPOKE_TARGET)")
	writeKey := fs.String("write-key", envOr("BESPOKE_WRITE_KEY", "dev-write-key"), "write key of the collector (env BESPOKE_WRITE_KEY)")
	batch := fs.Int("batch", 500, "events per request (requests are also capped at 512 KiB)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one events FILE (JSON lines, one event per line; - for standard input), got %d arguments", len(pos))
	}
	var in io.Reader = os.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("cannot open events file: %w", err)
		}
		defer f.Close()
		in = f
	}
	c, err := client.New(strings.TrimRight(*target, "/"), *writeKey, client.WithBatchSize(*batch), client.WithBlockWhenFull())
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var lines, local int
	start := time.Now()
	last := start
	for sc.Scan() {
		lines++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if _, err := c.EnqueueJSON(ctx, raw); err != nil {
			if ctx.Err() != nil {
				break
			}
			local++
			if local <= 20 {
				fmt.Fprintf(stderr, "line %d rejected: %v\n", lines, err)
			}
		}
		if time.Since(last) > 2*time.Second {
			last = time.Now()
			st := c.Stats()
			fmt.Fprintf(stderr, "sent %d events (%.0f/s), %d failed\n", st.Sent, float64(st.Sent)/time.Since(start).Seconds(), st.Failed)
		}
	}
	readErr := sc.Err()
	cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	closeErr := c.Close(cctx)
	st := c.Stats()
	rejected := int(st.Failed) + local
	fmt.Fprintf(stdout, "{\"accepted\":%d,\"rejected\":%d,\"seconds\":%.1f}\n", st.Sent, rejected, time.Since(start).Seconds())
	var de *client.DeliveryError
	if errors.As(closeErr, &de) {
		for i, f := range de.Failures {
			if i == 20 {
				break
			}
			fmt.Fprintf(stderr, "not delivered: %s (%s): status %d: %v\n", f.MessageID, f.Event, f.Status, f.Err)
		}
	}
	switch {
	case readErr != nil:
		return fmt.Errorf("cannot read events after line %d: %w", lines, readErr)
	case ctx.Err() != nil:
		return ctx.Err()
	case rejected > 0:
		return fmt.Errorf("%d events were not accepted (the first are listed above)", rejected)
	case closeErr != nil:
		return closeErr
	}
	return nil
}
