// Package loadgen is the open-loop load generator behind `bespoke bench ingest`: it sends
// event batches to a collector at a constant arrival rate and measures each request's
// latency from the moment it was meant to be sent (so a slow server cannot hide its
// queueing delay by slowing the generator down: no coordinated omission).
//
// It must never adapt its sending rate to the server's answers and never count a request
// as acknowledged unless the server answered 200.
package loadgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config of one run.
type Config struct {
	// Target is the server's base URL, e.g. "http://127.0.0.1:8080" (POST {Target}/v1/batch).
	Target string
	// WriteKey is sent with HTTP Basic auth.
	WriteKey string
	// Rate is the number of events per second to send (requests per second = Rate/BatchSize).
	Rate float64
	// Duration of the sending phase; requests still in flight at its end are waited for.
	Duration time.Duration
	// Concurrency caps requests in flight (default 64). When every slot is busy, requests
	// start late and their latency still counts from their intended send time.
	Concurrency int
	// BatchSize is the number of events per request (default 100).
	BatchSize int
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool
	// Events, when given, are the JSON objects sent (round-robin, as they are); otherwise
	// synthetic Product Viewed/Clicked/Searched events with unique messageIds are sent.
	Events [][]byte
	// Timeout of one request (default 10 s).
	Timeout time.Duration
	// Client to send with (default: one tuned for Concurrency keep-alive connections).
	Client *http.Client
}

// Result of a run. Its JSON form is the last line `bespoke bench ingest` prints
// (CONTRACT §1); counts are requests unless named events.
type Result struct {
	Kind        string         `json:"kind"`
	Rate        float64        `json:"rate"` // events/s asked for
	Sent        int            `json:"sent"` // requests sent
	OK          int            `json:"ok"`   // requests answered 200
	Errors      int            `json:"errors"`
	P50         float64        `json:"p50_ms"`
	P90         float64        `json:"p90_ms"`
	P99         float64        `json:"p99_ms"`
	P999        float64        `json:"p999_ms"`
	Max         float64        `json:"max_ms"`
	EventsSent  int            `json:"events_sent"`
	EventsOK    int            `json:"events_ok"`
	EventsPerS  float64        `json:"events_per_s"` // events acknowledged per second of sending
	BatchSize   int            `json:"batch_size"`
	Concurrency int            `json:"concurrency"`
	DurationS   float64        `json:"duration_s"`
	Status      map[string]int `json:"status"` // answers by HTTP status; "error" for transport errors
	FirstError  string         `json:"first_error,omitempty"`
}

// BenchIngest runs the load and returns its result. Latencies are of all requests
// (errors included) from their intended send time to the end of the answer.
func BenchIngest(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 64
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 100
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	switch {
	case cfg.Target == "":
		return Result{}, errors.New("cannot run the ingest benchmark: no target URL")
	case !(cfg.Rate > 0) || math.IsInf(cfg.Rate, 0):
		return Result{}, fmt.Errorf("cannot run the ingest benchmark: rate %v must be a positive number of events per second", cfg.Rate)
	case cfg.Duration <= 0:
		return Result{}, fmt.Errorf("cannot run the ingest benchmark: duration %s must be positive", cfg.Duration)
	case cfg.Concurrency < 0 || cfg.BatchSize < 0 || cfg.BatchSize > 10000:
		return Result{}, errors.New("cannot run the ingest benchmark: concurrency must be positive, batch size 1 to 10000")
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			MaxIdleConns:        cfg.Concurrency,
			MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}}
		defer client.CloseIdleConnections()
	}
	url := strings.TrimRight(cfg.Target, "/") + "/v1/batch"
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.WriteKey+":"))
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	runID := "bench-" + hex.EncodeToString(rnd[:])

	interval := time.Duration(float64(time.Second) * float64(cfg.BatchSize) / cfg.Rate)
	if interval <= 0 {
		interval = 1
	}
	n := int(cfg.Duration / interval)
	if n == 0 {
		n = 1
	}
	type outcome struct {
		lat    time.Duration
		status string
		err    error
	}
	outcomes := make([]outcome, n)
	work := make(chan int, cfg.Concurrency)
	start := time.Now().Add(10 * time.Millisecond)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			g := &bodyGen{cfg: &cfg, runID: runID}
			for i := range work {
				intended := start.Add(time.Duration(i) * interval)
				body := g.body(i)
				status, err := send(ctx, client, url, authz, cfg.Gzip, body, cfg.Timeout)
				outcomes[i] = outcome{lat: time.Since(intended), status: status, err: err}
			}
		})
	}
	sent := 0
dispatch:
	for i := range n {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 100*time.Microsecond {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				break dispatch
			}
		}
		select {
		case work <- i:
			sent++
		case <-ctx.Done():
			break dispatch
		}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{Kind: "ingest", Rate: cfg.Rate, Sent: sent, BatchSize: cfg.BatchSize, Concurrency: cfg.Concurrency,
		DurationS: cfg.Duration.Seconds(), Status: map[string]int{}}
	lats := make([]float64, 0, sent)
	for _, o := range outcomes[:sent] {
		lats = append(lats, float64(o.lat)/float64(time.Millisecond))
		res.Status[o.status]++
		if o.status == "200" {
			res.OK++
		} else if res.FirstError == "" && o.err != nil {
			res.FirstError = o.err.Error()
		}
	}
	res.Errors = sent - res.OK
	res.EventsSent = sent * cfg.BatchSize
	res.EventsOK = res.OK * cfg.BatchSize
	res.EventsPerS = float64(res.EventsOK) / max(cfg.Duration.Seconds(), elapsed.Seconds()-0.01)
	slices.Sort(lats)
	res.P50, res.P90, res.P99, res.P999 = pct(lats, 0.50), pct(lats, 0.90), pct(lats, 0.99), pct(lats, 0.999)
	if len(lats) > 0 {
		res.Max = round(lats[len(lats)-1])
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("ingest benchmark interrupted after %d requests: %w", sent, ctx.Err())
	}
	return res, nil
}

func send(ctx context.Context, client *http.Client, url, authz string, gz bool, body []byte, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "error", err
	}
	req.Header.Set("Authorization", authz)
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		return "error", err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	status := strconv.Itoa(resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		return status, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return status, nil
}

// pct is the nearest-rank percentile of sorted values, in ms rounded to µs.
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return round(sorted[min(max(i, 0), len(sorted)-1)])
}

func round(ms float64) float64 { return math.Round(ms*1000) / 1000 }

// bodyGen builds request bodies; one per worker, reusing its buffers.
type bodyGen struct {
	cfg   *Config
	runID string
	buf   []byte
	zbuf  bytes.Buffer
	zw    *gzip.Writer
}

var eventNames = []string{"Product Viewed", "Product Clicked", "Products Searched", "Product Viewed", "Product List Viewed"}

func (g *bodyGen) body(i int) []byte {
	b := append(g.buf[:0], `{"sentAt":"`...)
	now := time.Now().UTC()
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","batch":[`...)
	bs := g.cfg.BatchSize
	for j := range bs {
		if j > 0 {
			b = append(b, ',')
		}
		if len(g.cfg.Events) > 0 {
			b = append(b, g.cfg.Events[(i*bs+j)%len(g.cfg.Events)]...)
			continue
		}
		k := i*bs + j
		b = AppendSyntheticEvent(b, g.runID, k, now)
	}
	b = append(b, "]}"...)
	g.buf = b
	if !g.cfg.Gzip {
		return b
	}
	g.zbuf.Reset()
	if g.zw == nil {
		g.zw, _ = gzip.NewWriterLevel(&g.zbuf, gzip.BestSpeed)
	} else {
		g.zw.Reset(&g.zbuf)
	}
	_, _ = g.zw.Write(b)
	_ = g.zw.Close()
	return g.zbuf.Bytes()
}

// AppendSyntheticEvent appends one realistic storefront event (~250 bytes) whose
// messageId, runID-k, is unique per run; every load generator of the project uses it.
func AppendSyntheticEvent(b []byte, runID string, k int, now time.Time) []byte {
	name := eventNames[k%len(eventNames)]
	user := strconv.Itoa((k * 7919) % 100000)
	product := strconv.Itoa((k * 104729) % 50000)
	b = append(b, `{"type":"track","event":"`...)
	b = append(b, name...)
	b = append(b, `","userId":"c`...)
	b = append(b, user...)
	b = append(b, `","messageId":"`...)
	b = append(b, runID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, `","timestamp":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","properties":{`...)
	switch name {
	case "Products Searched":
		b = append(b, `"query":"black boots size 9","search_id":"s`...)
		b = strconv.AppendInt(b, int64(k/5), 10)
		b = append(b, '"')
	case "Product List Viewed":
		b = append(b, `"search_id":"s`...)
		b = strconv.AppendInt(b, int64(k/5), 10)
		b = append(b, `","products":[{"product_id":"p`...)
		b = append(b, product...)
		b = append(b, `","position":1},{"product_id":"p17","position":2}]`...)
	default:
		b = append(b, `"product_id":"p`...)
		b = append(b, product...)
		b = append(b, `","position":`...)
		b = strconv.AppendInt(b, int64(k%20+1), 10)
		b = append(b, `,"search_id":"s`...)
		b = strconv.AppendInt(b, int64(k/5), 10)
		b = append(b, '"')
	}
	b = append(b, `},"context":{"page":{"path":"/search"},"userAgent":"bespoke-bench"}}`...)
	return b
}
