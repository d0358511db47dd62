package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

func runCatalogImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("catalog import", "--target URL --admin-token T [--map field=column,…] FILE", stderr)
	target := fs.String("target", envOr("BESPOKE_TARGET", "http://127.0.0.1:8080"), "base URL of the running server (env BESPOKE_TARGET)")
	token := fs.String("admin-token", envOr("BESPOKE_ADMIN_TOKEN", ""), "admin token of the server (env BESPOKE_ADMIN_TOKEN)")
	format := fs.String("format", "", "file format: jsonl, json or csv (default: detected from the first byte)")
	mapping := fs.String("map", "", "take product fields from other columns, e.g. product_id=upc,brand=manufacturer,description=long_description")
	batch := fs.Int("batch", 5000, "products per request (the server takes up to 10,000 or 16 MiB)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("want exactly one catalog FILE, got %d arguments", len(pos))
	}
	if *batch < 1 || *batch > 10000 {
		return fmt.Errorf("--batch must be between 1 and 10000, got %d", *batch)
	}
	cols, err := parseMapping(*mapping)
	if err != nil {
		return err
	}
	f, err := catalog.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()

	up := &productUploader{client: &http.Client{Timeout: 60 * time.Second}, url: strings.TrimRight(*target, "/") + "/v1/products", token: *token, stderr: stderr}
	var body bytes.Buffer
	var n, rejected int
	flush := func() error {
		if n == 0 {
			return nil
		}
		if err := up.put(ctx, body.Bytes(), n); err != nil {
			return err
		}
		body.Reset()
		n = 0
		fmt.Fprintf(stderr, "\rimported %d products", up.accepted)
		return nil
	}
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	err = catalog.Read(f, catalog.ReadOptions{Format: *format, Columns: cols}, func(p catalog.Product) error {
		if err := enc.Encode(&p); err != nil {
			return err
		}
		n++
		if n >= *batch || body.Len() > 12<<20 {
			return flush()
		}
		return nil
	}, func(le *catalog.LineError) error {
		rejected++
		if rejected <= 20 {
			fmt.Fprintf(stderr, "rejected %s\n", le)
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	fmt.Fprintln(stderr)
	fmt.Fprintf(stdout, "{\"accepted\":%d,\"rejected\":%d}\n", up.accepted, rejected)
	if err != nil {
		return err
	}
	if rejected > 0 {
		return fmt.Errorf("%d products were rejected (the first are listed above); fix them and import again", rejected)
	}
	return nil
}

func parseMapping(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		field, col, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || field == "" || col == "" {
			return nil, fmt.Errorf("--map: %q is not field=column", kv)
		}
		m[field] = col
	}
	return m, nil
}

type productUploader struct {
	client   *http.Client
	url      string
	token    string
	stderr   io.Writer
	accepted int
}

// put sends one request, retrying on overload, unavailability and network errors.
func (u *productUploader) put(ctx context.Context, body []byte, n int) error {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		if u.token != "" {
			req.Header.Set("Authorization", "Bearer "+u.token)
		}
		resp, err := u.client.Do(req)
		var status int
		var msg []byte
		if err == nil {
			msg, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			status = resp.StatusCode
			if status/100 == 2 {
				u.accepted += n
				return nil
			}
			if status != http.StatusTooManyRequests && status < 500 {
				return fmt.Errorf("server refused the products (%s): %s", resp.Status, bytes.TrimSpace(msg))
			}
		}
		if attempt == 10 || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("cannot reach %s after %d attempts: %w", u.url, attempt, err)
			}
			return fmt.Errorf("server still answers %d after %d attempts: %s", status, attempt, bytes.TrimSpace(msg))
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}
