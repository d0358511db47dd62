package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bespokesearch/bespoke/internal/lake"
)

func runLakeStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("lake stats", "--data DIR | --lake URL", stderr)
	data := fs.String("data", envOr("BESPOKE_DATA", ""), "data directory of a server (its lake is DIR/lake)")
	lakeURL := fs.String("lake", envOr("BESPOKE_LAKE", ""), "lake location: a directory or s3://bucket/prefix (S3 settings from AWS_* env)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	url := *lakeURL
	if url == "" {
		if *data == "" {
			fs.Usage()
			return fmt.Errorf("say where the lake is: --data DIR (a server's data directory) or --lake URL")
		}
		url = filepath.Join(*data, "lake")
		if _, err := os.Stat(url); err != nil {
			return fmt.Errorf("no lake at %s: is --data the server's data directory?", url)
		}
	}
	st, err := lake.OpenStorage(ctx, url, lake.S3Options{})
	if err != nil {
		return fmt.Errorf("cannot open the lake %q: %w", url, err)
	}
	res, err := lake.Stats(ctx, st)
	if err != nil {
		return fmt.Errorf("cannot read the lake %q: %w", url, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}
