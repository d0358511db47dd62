package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of load.
const (
	KindIngest    = "ingest"
	KindSearch    = "search"
	KindRerank    = "rerank"
	KindSize      = "size"
	KindFreshness = "freshness"
)

// Config of one run.
type Config struct {
	Kind   string // ingest, search, rerank, size or freshness
	Target string // server base URL, e.g. http://127.0.0.1:8080
	// World is a directory written by `bespoke simulate`; empty draws requests from the server's catalog.
	World       string
	Rate        float64       // requests per second (ingest: events per second)
	Duration    time.Duration // sending phase; requests in flight at its end are waited for
	Concurrency int           // requests in flight at most (default 64)
	WriteKey    string        // ingest and freshness
	BatchSize   int           // ingest: events per request (default 100)
	Items       int           // rerank: items per request (default 100)
	// Customers > 0 draws customer ids "c0".."c<Customers-1>" (the ids FillProfiles writes)
	// instead of the world's customers.
	Customers int
	// AnonShare is the share of search/rerank/size requests sent without a customer id, so
	// that personalized and anonymous latency are measured side by side (default 0.5; <0 for none).
	AnonShare float64
	Timeout   time.Duration // of one request (default 5 s)
	Progress  io.Writer     // one line per second while running; nil for none
	Client    *http.Client
}

// Class is the latency summary of one class of requests.
type Class struct {
	N            int     `json:"n"`
	Personalized int     `json:"personalized"`
	P50          float64 `json:"p50_ms"`
	P90          float64 `json:"p90_ms"`
	P99          float64 `json:"p99_ms"`
	P999         float64 `json:"p999_ms"`
	Max          float64 `json:"max_ms"`
	// TookP50/TookP99 are of the took_ms the server reports (its own handling time, without
	// the network, the HTTP stack and the queueing before the handler runs).
	TookP50 float64 `json:"server_took_p50_ms,omitempty"`
	TookP99 float64 `json:"server_took_p99_ms,omitempty"`
}

// Result of a run; its JSON form is the last line of `bespoke bench` (CONTRACT §1).
type Result struct {
	Kind   string  `json:"kind"`
	Rate   float64 `json:"rate"`
	Sent   int     `json:"sent"`
	OK     int     `json:"ok"`
	Errors int     `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	P999   float64 `json:"p999_ms"`
	Max    float64 `json:"max_ms"`

	DurationS   float64        `json:"duration_s"`
	Concurrency int            `json:"concurrency"`
	Achieved    float64        `json:"achieved_per_s"` // requests (ingest: events) answered 200 per second
	Status      map[string]int `json:"status"`
	FirstError  string         `json:"first_error,omitempty"`
	TookP50     float64        `json:"server_took_p50_ms,omitempty"`
	TookP99     float64        `json:"server_took_p99_ms,omitempty"`
	// Anonymous and Customer split search/rerank/size latency by whether a customer id was sent.
	Anonymous *Class `json:"anonymous,omitempty"`
	Customer  *Class `json:"customer,omitempty"`
	// EventsOK counts events acknowledged (ingest).
	EventsOK int `json:"events_ok,omitempty"`
	// Server-side cost per request from the target's /metrics (Go runtime counters; they
	// include the server's background work during the run).
	ServerAllocsPerReq float64 `json:"server_allocs_per_req,omitempty"`
	ServerBytesPerReq  float64 `json:"server_bytes_per_req,omitempty"`
	ServerCPUMsPerReq  float64 `json:"server_cpu_ms_per_req,omitempty"`
}

type sample struct {
	lat          time.Duration
	status       int // HTTP status; 0 for a transport error
	class        uint8
	personalized bool
	took         float32 // took_ms the server reported; -1 when absent
}

// request is one request to make, relative to the target.
type request struct {
	method, path, authz string
	body                []byte
}

// workload builds the i-th request and its class (0 anonymous, 1 with a customer id).
type workload interface {
	request(i int) (request, uint8)
}

// Run loads the workload of cfg.Kind and runs it.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		}}
		defer client.CloseIdleConnections()
	}
	if cfg.Kind == KindFreshness {
		return runFreshness(ctx, cfg, client)
	}
	src, err := loadSource(ctx, cfg, client)
	if err != nil {
		return Result{}, err
	}
	var w workload
	rate := cfg.Rate
	switch cfg.Kind {
	case KindIngest:
		iw, err := newIngestWorkload(cfg, src)
		if err != nil {
			return Result{}, err
		}
		w = iw
		rate = cfg.Rate / float64(cfg.BatchSize)
	case KindSearch:
		w = &searchWorkload{cfg: &cfg, src: src}
	case KindRerank:
		w = newRerankWorkload(&cfg, src)
	case KindSize:
		w = &sizeWorkload{cfg: &cfg, src: src}
	}
	wc, err := newWireClient(cfg.Target)
	if err != nil {
		return Result{}, err
	}
	defer wc.Close()
	before, _ := scrapeRuntime(ctx, client, cfg.Target)
	samples, elapsed, first, err := openLoop(ctx, cfg, wc, rate, w)
	after, aerr := scrapeRuntime(ctx, client, cfg.Target)
	res := summarize(cfg, samples, elapsed)
	res.FirstError = first
	if cfg.Kind == KindIngest {
		res.EventsOK = res.OK * cfg.BatchSize
		res.Achieved = math.Round(float64(res.EventsOK) / max(elapsed.Seconds(), 1e-9))
	}
	if before.ok && aerr == nil && after.ok && res.Sent > 0 {
		n := float64(res.Sent)
		res.ServerAllocsPerReq = math.Round((after.mallocs-before.mallocs)/n*10) / 10
		res.ServerBytesPerReq = math.Round((after.bytes - before.bytes) / n)
		res.ServerCPUMsPerReq = math.Round((after.cpu-before.cpu)*1000/n*1000) / 1000
	}
	return res, err
}

func (cfg *Config) check() error {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 64
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 100
	}
	if cfg.Items == 0 {
		cfg.Items = 100
	}
	if cfg.AnonShare == 0 {
		cfg.AnonShare = 0.5
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	cfg.Target = strings.TrimRight(cfg.Target, "/")
	switch {
	case !slices.Contains([]string{KindIngest, KindSearch, KindRerank, KindSize, KindFreshness}, cfg.Kind):
		return fmt.Errorf("unknown bench kind %q: use ingest, search, rerank, size or freshness", cfg.Kind)
	case cfg.Target == "":
		return errors.New("no target: give --target http://host:port of a running server")
	case !(cfg.Rate > 0) || math.IsInf(cfg.Rate, 0):
		return fmt.Errorf("rate %v must be a positive number per second", cfg.Rate)
	case cfg.Duration <= 0:
		return fmt.Errorf("duration %s must be positive", cfg.Duration)
	case cfg.Concurrency < 0 || cfg.Concurrency > 100000:
		return fmt.Errorf("concurrency %d must be 1 to 100000", cfg.Concurrency)
	case cfg.BatchSize < 0 || cfg.BatchSize > 10000:
		return fmt.Errorf("batch size %d must be 1 to 10000", cfg.BatchSize)
	case cfg.Items < 0 || cfg.Items > 1000:
		return fmt.Errorf("items %d must be 1 to 1000", cfg.Items)
	case cfg.Customers < 0:
		return fmt.Errorf("customers %d must not be negative", cfg.Customers)
	}
	if u, err := url.Parse(cfg.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q must be an http(s)://host:port URL", cfg.Target)
	}
	if (cfg.Kind == KindIngest || cfg.Kind == KindFreshness) && cfg.WriteKey == "" {
		return errors.New("ingest and freshness need the server's --write-key")
	}
	return nil
}

// openLoop sends requests at rate per second for cfg.Duration: request i is due at
// start + i/rate whatever happened to the others; its latency counts from then. Each
// request runs on its own goroutine, at most cfg.Concurrency at once; when all are busy
// the next request waits for one to finish, and that wait counts in its latency.
func openLoop(ctx context.Context, cfg Config, client *wireClient, rate float64, w workload) ([]sample, time.Duration, string, error) {
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = 1
	}
	n := max(int(cfg.Duration/interval), 1)
	samples := make([]sample, n)
	slots := make(chan struct{}, cfg.Concurrency)
	start := time.Now().Add(20 * time.Millisecond)
	var done, okN atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	send := func(i int, intended time.Time) {
		defer func() { <-slots }()
		req, class := w.request(i)
		rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		status, pers, took, rerr := doWire(rctx, client, req)
		cancel()
		if rerr != nil {
			msg := rerr.Error()
			firstErr.CompareAndSwap(nil, &msg)
		}
		samples[i] = sample{lat: time.Since(intended), status: status, class: class, personalized: pers, took: took}
		done.Add(1)
		if status == http.StatusOK {
			okN.Add(1)
		}
	}
	stopProgress := make(chan struct{})
	var pwg sync.WaitGroup
	if cfg.Progress != nil {
		pwg.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					d, o := done.Load(), okN.Load()
					fmt.Fprintf(cfg.Progress, "bench %s: %5.1fs done %d/%d ok %d errors %d\n",
						cfg.Kind, time.Since(start).Seconds(), d, n, o, d-o)
				}
			}
		})
	}
	sent := 0
	var err error
dispatch:
	for i := range n {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 2*time.Millisecond { // long waits: a timer that ctx can cut short
			t := time.NewTimer(d - time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				err = ctx.Err()
				break dispatch
			}
		}
		sleepUntil(intended) // the last stretch: precise

		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			err = ctx.Err()
			break dispatch
		}
		sent++
		wg.Go(func() { send(i, intended) })
	}
	wg.Wait()
	close(stopProgress)
	pwg.Wait()
	elapsed := time.Since(start)
	if err != nil {
		err = fmt.Errorf("bench interrupted after %d requests: %w", sent, err)
	}
	first := ""
	if e := firstErr.Load(); e != nil {
		first = *e
	}
	return samples[:sent], elapsed, first, err
}

func summarize(cfg Config, samples []sample, elapsed time.Duration) Result {
	res := Result{Kind: cfg.Kind, Rate: cfg.Rate, Sent: len(samples), DurationS: cfg.Duration.Seconds(),
		Concurrency: cfg.Concurrency, Status: map[string]int{}}
	all := make([]float64, 0, len(samples))
	var byClass, tookBy [2][]float64
	var tookAll []float64
	var pers [2]int
	for _, s := range samples {
		ms := float64(s.lat) / float64(time.Millisecond)
		all = append(all, ms)
		byClass[s.class] = append(byClass[s.class], ms)
		if s.personalized {
			pers[s.class]++
		}
		if s.took >= 0 && s.status == http.StatusOK {
			tookAll = append(tookAll, float64(s.took))
			tookBy[s.class] = append(tookBy[s.class], float64(s.took))
		}
		key := strconv.Itoa(s.status)
		if s.status == 0 {
			key = "error"
		}
		res.Status[key]++
		if s.status == http.StatusOK {
			res.OK++
		}
	}
	res.Errors = res.Sent - res.OK
	res.Achieved = math.Round(float64(res.OK)/max(elapsed.Seconds(), 1e-9)*10) / 10
	c := classOf(all, 0)
	res.P50, res.P90, res.P99, res.P999, res.Max = c.P50, c.P90, c.P99, c.P999, c.Max
	res.TookP50, res.TookP99 = tookPct(tookAll)
	if cfg.Kind != KindIngest {
		if len(byClass[0]) > 0 {
			a := classOf(byClass[0], pers[0])
			a.TookP50, a.TookP99 = tookPct(tookBy[0])
			res.Anonymous = &a
		}
		if len(byClass[1]) > 0 {
			b := classOf(byClass[1], pers[1])
			b.TookP50, b.TookP99 = tookPct(tookBy[1])
			res.Customer = &b
		}
	}
	return res
}

func classOf(ms []float64, personalized int) Class {
	slices.Sort(ms)
	c := Class{N: len(ms), Personalized: personalized,
		P50: pct(ms, 0.50), P90: pct(ms, 0.90), P99: pct(ms, 0.99), P999: pct(ms, 0.999)}
	if len(ms) > 0 {
		c.Max = round3(ms[len(ms)-1])
	}
	return c
}

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return round3(sorted[min(max(i, 0), len(sorted)-1)])
}

func tookPct(ms []float64) (p50, p99 float64) {
	if len(ms) == 0 {
		return 0, 0
	}
	slices.Sort(ms)
	return pct(ms, 0.5), pct(ms, 0.99)
}

func round3(ms float64) float64 { return math.Round(ms*1000) / 1000 }

// do sends one request and reads the whole answer; personalized reports whether a 200
// answer carries "personalized":true.
func do(ctx context.Context, client *http.Client, method, url, authz string, body []byte) (int, bool, float32, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, false, -1, err
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, -1, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false, -1, fmt.Errorf("cannot read the answer of %s %s: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, false, -1, fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return resp.StatusCode, bytes.Contains(b, []byte(`"personalized":true`)), tookOf(b), nil
}

// doWire sends req with the load generator's client; personalized reports whether a
// 200 answer carries "personalized":true.
func doWire(ctx context.Context, client *wireClient, req request) (status int, personalized bool, took float32, err error) {
	took = -1
	err = client.do(ctx, req.method, req.path, req.authz, req.body, func(st int, b []byte) {
		status = st
		if st != http.StatusOK {
			err = fmt.Errorf("%s %s: HTTP %d: %s", req.method, req.path, st, bytes.TrimSpace(b[:min(len(b), 300)]))
			return
		}
		personalized, took = bytes.Contains(b, []byte(`"personalized":true`)), tookOf(b)
	})
	return status, personalized, took, err
}

// tookOf finds the "took_ms" number of an answer without decoding all of it; -1 when absent.
func tookOf(b []byte) float32 {
	const key = `"took_ms":`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return -1
	}
	rest := b[i+len(key):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return -1
	}
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(rest[:j])), 32)
	if err != nil || f < 0 {
		return -1
	}
	return float32(f)
}

func basicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

type runtimeCounters struct {
	ok                  bool
	mallocs, bytes, cpu float64
}

// scrapeRuntime reads the Go runtime counters the server exports at /metrics.
func scrapeRuntime(ctx context.Context, client *http.Client, target string) (runtimeCounters, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/metrics", nil)
	if err != nil {
		return runtimeCounters{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return runtimeCounters{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil || resp.StatusCode != 200 {
		return runtimeCounters{}, fmt.Errorf("cannot read %s/metrics: HTTP %d %v", target, resp.StatusCode, err)
	}
	var rc runtimeCounters
	found := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_mallocs_total":
			rc.mallocs, found = f, found+1
		case "go_memstats_alloc_bytes_total":
			rc.bytes, found = f, found+1
		case "process_cpu_seconds_total":
			rc.cpu, found = f, found+1
		}
	}
	rc.ok = found == 3
	return rc, nil
}
