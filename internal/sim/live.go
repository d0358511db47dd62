package sim

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
)

// LiveOptions say how to play a world against a running server.
type LiveOptions struct {
	Target      string // base URL, e.g. http://127.0.0.1:8080
	WriteKey    string // for /v1/batch (HTTP Basic, the key as user name)
	AdminToken  string // for PUT /v1/products
	SkipCatalog bool   // do not load the catalog first (it is already there)
	Concurrency int    // customer partitions played at once, and senders of batches (default 4)
	BatchSize   int    // events per /v1/batch request at most (default 500; bodies stay under 480 KiB)
	Gzip        bool   // gzip request bodies
	MaxRetries  int    // per request on 429/503/network errors (default 10)
	Timeout     time.Duration
	HTTPClient  *http.Client
	// FromDay and ToDay are the window of days to play, [FromDay, ToDay); ToDay 0 means
	// the end of the world. With World.PlayLive, windows must follow each other.
	FromDay, ToDay int
	// Truth, if not nil, gets the truth lines (purchases, searches) of the window.
	Truth io.Writer
	// ReturnsOnly plays the window without shoppers: only what earlier days left due
	// in it is sent — the returns of their orders, and the end of sessions that ran
	// past midnight. A store measures the size returns of a test's orders this way,
	// once their return windows have closed.
	ReturnsOnly bool
}

// Live builds the world of cfg and plays the window of opt against a running server
// (see World.PlayLive). To play history, train, then the rest, keep the World:
//
//	w, _ := sim.NewWorld(cfg)
//	w.PlayLive(ctx, sim.LiveOptions{..., FromDay: 0, ToDay: 20}, os.Stderr)
//	// train
//	w.PlayLive(ctx, sim.LiveOptions{..., FromDay: 20, SkipCatalog: true}, os.Stderr)
func Live(ctx context.Context, cfg Config, opt LiveOptions, progress io.Writer) (Stats, error) {
	w, err := NewWorld(cfg)
	if err != nil {
		return Stats{}, err
	}
	if opt.FromDay > 0 {
		return Stats{}, fmt.Errorf("cannot start a fresh world at day %d: use NewWorld and World.PlayLive for windows after the first", opt.FromDay)
	}
	return w.PlayLive(ctx, opt, progress)
}

// PlayLive plays days [opt.FromDay, opt.ToDay) of the world against a running server:
// customers rank with GET /v1/search, take sizes from GET /v1/size, and their events go
// to POST /v1/batch with their simulated timestamps. The catalog is loaded first with
// PUT /v1/products when playing from day 0, unless opt.SkipCatalog. It returns once
// every event of the window has been acknowledged. Returns decided in one window are
// sent in the window of their day.
func (w *World) PlayLive(ctx context.Context, opt LiveOptions, progress io.Writer) (Stats, error) {
	begin := time.Now()
	if opt.ToDay == 0 {
		opt.ToDay = w.cfg.Days
	}
	u, err := url.Parse(opt.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Stats{}, fmt.Errorf("live target %q is not an http(s) URL such as http://127.0.0.1:8080", opt.Target)
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	if opt.MaxRetries <= 0 {
		opt.MaxRetries = 10
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: opt.Timeout, Transport: &http.Transport{
			MaxIdleConns: 4 * opt.Concurrency, MaxIdleConnsPerHost: 4 * opt.Concurrency, IdleConnTimeout: 90 * time.Second}}
	}
	le := &liveEnv{w: w, opt: opt, base: strings.TrimRight(opt.Target, "/"), sends: make(chan []byte, opt.Concurrency*2)}
	if opt.FromDay == 0 && w.nextDay == 0 && !opt.SkipCatalog {
		if err := le.loadCatalog(ctx); err != nil {
			return Stats{}, err
		}
		progressf(progress, "catalog: %d products loaded into %s\n", len(w.catalog), opt.Target)
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	le.ctx = lctx
	for i := 0; i < opt.Concurrency; i++ {
		le.senders.Add(1)
		go le.sender()
	}
	cfg := w.cfg
	cfg.Workers = opt.Concurrency
	saved := w.cfg
	w.cfg = cfg
	w.closed = opt.ReturnsOnly
	st, err := w.play(lctx, opt.FromDay, opt.ToDay, le, func(wk *worker) {
		b := &batcher{le: le}
		le.batchers = append(le.batchers, b)
		wk.out = b.add
	}, nil, opt.Truth, progress)
	w.cfg, w.closed = saved, false
	close(le.sends)
	le.senders.Wait()
	if err == nil {
		err = le.failure()
	}
	st.Batches = int(le.batches.Load())
	st.Retries = int(le.retries.Load())
	st.Requests = int(le.requests.Load())
	st.Duration = time.Since(begin)
	return st, err
}

type liveEnv struct {
	w        *World
	opt      LiveOptions
	base     string
	ctx      context.Context
	sends    chan []byte
	senders  sync.WaitGroup
	inflight sync.WaitGroup
	batchers []*batcher
	errMu    sync.Mutex
	err      error
	batches  atomic.Int64
	retries  atomic.Int64
	requests atomic.Int64
}

var _ env = (*liveEnv)(nil)

func (le *liveEnv) live() bool { return true }

func (le *liveEnv) fail(err error) {
	le.errMu.Lock()
	if le.err == nil {
		le.err = err
	}
	le.errMu.Unlock()
}

func (le *liveEnv) failure() error {
	le.errMu.Lock()
	defer le.errMu.Unlock()
	return le.err
}

// batcher collects one worker's event lines into /v1/batch bodies.
type batcher struct {
	le  *liveEnv
	buf []byte
	n   int
}

const maxBatchBody = 480 << 10

func (b *batcher) add(line []byte) error {
	if err := b.le.failure(); err != nil {
		return err
	}
	if b.n > 0 && (b.n >= b.le.opt.BatchSize || len(b.buf)+len(line)+64 > maxBatchBody) {
		b.flush()
	}
	if b.n == 0 {
		b.buf = append(b.buf[:0], `{"batch":[`...)
	} else {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, line...)
	b.n++
	return nil
}

func (b *batcher) flush() {
	if b.n == 0 {
		return
	}
	b.buf = append(b.buf, `],"sentAt":"`...)
	b.buf = time.Now().UTC().AppendFormat(b.buf, time.RFC3339Nano)
	b.buf = append(b.buf, `"}`...)
	body := append([]byte(nil), b.buf...)
	b.n = 0
	b.le.inflight.Add(1)
	select {
	case b.le.sends <- body:
	case <-b.le.ctx.Done():
		b.le.inflight.Done()
	}
}

func (le *liveEnv) sender() {
	defer le.senders.Done()
	for body := range le.sends {
		if le.failure() == nil {
			if err := le.postBatch(body); err != nil {
				le.fail(err)
			}
		}
		le.inflight.Done()
	}
}

func (le *liveEnv) postBatch(body []byte) error {
	le.batches.Add(1)
	payload, enc := body, ""
	if le.opt.Gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(body)
		zw.Close()
		payload, enc = zb.Bytes(), "gzip"
	}
	_, err := le.do(le.ctx, http.MethodPost, "/v1/batch", payload, func(r *http.Request) {
		r.SetBasicAuth(le.opt.WriteKey, "")
		r.Header.Set("Content-Type", "application/json")
		if enc != "" {
			r.Header.Set("Content-Encoding", enc)
		}
	})
	if err != nil {
		return fmt.Errorf("cannot send a batch of events: %w", err)
	}
	return nil
}

// startDay sends the events that were waiting for this day (returns), in time order.
func (le *liveEnv) startDay(day int, recs []rec) error {
	slices.SortFunc(recs, recLess)
	b := &batcher{le: le}
	for _, r := range recs {
		if r.truth {
			continue
		}
		if err := b.add(r.line); err != nil {
			return err
		}
	}
	b.flush()
	return le.failure()
}

// endDay flushes every batch of the day and waits until all are acknowledged.
func (le *liveEnv) endDay(ctx context.Context) error {
	for _, b := range le.batchers {
		b.flush()
	}
	le.inflight.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return le.failure()
}

// do sends a request, retrying 429/503 (honouring Retry-After) and network errors.
func (le *liveEnv) do(ctx context.Context, method, path string, body []byte, set func(*http.Request)) ([]byte, error) {
	var last error
	for attempt := 0; attempt <= le.opt.MaxRetries; attempt++ {
		if attempt > 0 {
			le.retries.Add(1)
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, le.base+path, rd)
		if err != nil {
			return nil, fmt.Errorf("cannot build request %s %s: %w", method, path, err)
		}
		if set != nil {
			set(req)
		}
		resp, err := le.opt.HTTPClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = err
			if !sleep(ctx, backoff(attempt)) {
				return nil, ctx.Err()
			}
			continue
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			last = fmt.Errorf("%s %s: %s", method, path, resp.Status)
			if !sleep(ctx, retryAfter(resp.Header.Get("Retry-After"), attempt)) {
				return nil, ctx.Err()
			}
			continue
		case resp.StatusCode >= 300:
			return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data[:min(len(data), 300)])))
		case rerr != nil:
			last = rerr
			continue
		}
		return data, nil
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", le.opt.MaxRetries+1, last)
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 7)
	return min(d, 5*time.Second)
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped at 30 s.
func retryAfter(h string, attempt int) time.Duration {
	if h != "" {
		if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 {
			return min(time.Duration(s*float64(time.Second)), 30*time.Second)
		}
		if t, err := http.ParseTime(h); err == nil {
			return min(max(time.Until(t), 0), 30*time.Second)
		}
	}
	return backoff(attempt)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (le *liveEnv) loadCatalog(ctx context.Context) error {
	const per = 5000
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for start := 0; start < len(le.w.catalog); start += per {
		buf.Reset()
		for i := start; i < min(start+per, len(le.w.catalog)); i++ {
			if err := enc.Encode(&le.w.catalog[i]); err != nil {
				return fmt.Errorf("cannot encode product %s: %w", le.w.catalog[i].ProductID, err)
			}
		}
		if _, err := le.do(ctx, http.MethodPut, "/v1/products", buf.Bytes(), func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+le.opt.AdminToken)
			r.Header.Set("Content-Type", "application/x-ndjson")
		}); err != nil {
			return fmt.Errorf("cannot load the catalog (products %d..%d): %w", start+1, min(start+per, len(le.w.catalog)), err)
		}
	}
	return nil
}

type liveSearch struct {
	SearchID string `json:"search_id"`
	Arm      string `json:"arm"`
	Results  []struct {
		ProductID event.Flex `json:"product_id"`
		Team      string     `json:"team"` // interleaved arm: the ranker that placed it
	} `json:"results"`
}

func (le *liveEnv) search(ctx context.Context, wk *worker, q, userID, anonID string) (searchResult, error) {
	le.requests.Add(1)
	v := url.Values{}
	v.Set("q", q)
	if userID != "" {
		v.Set("customer_id", userID)
	}
	v.Set("anonymous_id", anonID)
	v.Set("limit", strconv.Itoa(le.w.cfg.Query.ListSize))
	data, err := le.do(ctx, http.MethodGet, "/v1/search?"+v.Encode(), nil, nil)
	if err != nil {
		le.fail(err)
		return searchResult{}, fmt.Errorf("cannot search: %w", err)
	}
	var ls liveSearch
	if err := json.Unmarshal(data, &ls); err != nil {
		return searchResult{}, fmt.Errorf("cannot read the answer of /v1/search for %q: %w", q, err)
	}
	res := searchResult{id: ls.SearchID, arm: ls.Arm}
	if res.id == "" {
		h := hash(uint64(le.w.cfg.Seed), domSearch, uint64(wk.cust), uint64(wk.day), uint64(wk.seq))
		res.id = string(appendHex([]byte("S-"), h, 16))
	}
	for _, r := range ls.Results {
		if p, ok := le.w.productIndex(string(r.ProductID)); ok && len(res.items) < le.w.cfg.Query.ListSize {
			res.items = append(res.items, int32(p))
			if r.Team != "" && strings.Trim(r.Team, "abcdefghijklmnopqrstuvwxyz_") == "" {
				res.teams = append(res.teams, r.Team) // a plain word: written into impressions as is
			}
		}
	}
	return res, nil
}

func (le *liveEnv) size(ctx context.Context, userID, anonID string, p int) (sizeAdvice, error) {
	le.requests.Add(1)
	v := url.Values{}
	v.Set("customer_id", userID)
	if userID == "" {
		v.Set("anonymous_id", anonID)
	}
	v.Set("product_id", le.w.catalog[p].ProductID)
	data, err := le.do(ctx, http.MethodGet, "/v1/size?"+v.Encode(), nil, nil)
	if err != nil {
		var se interface{ Timeout() bool }
		if errors.As(err, &se) {
			return sizeAdvice{}, nil // a slow size service: the page shows no recommendation
		}
		le.fail(err)
		return sizeAdvice{}, fmt.Errorf("cannot get a size recommendation: %w", err)
	}
	var ans struct {
		RecommendedSize event.Flex `json:"recommended_size"`
		Basis           string     `json:"basis"`
		Advice          string     `json:"advice"`
		SizeSteps       int        `json:"size_steps"`
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		return sizeAdvice{}, fmt.Errorf("cannot read the answer of /v1/size for %s: %w", le.w.catalog[p].ProductID, err)
	}
	return sizeAdvice{label: string(ans.RecommendedSize), basis: ans.Basis, advice: ans.Advice, steps: ans.SizeSteps}, nil
}

func (le *liveEnv) optOut(ctx context.Context, userID string) error {
	_, err := le.do(ctx, http.MethodPost, "/v1/customers/"+url.PathEscape(userID)+"/opt-out", nil, func(r *http.Request) {
		r.SetBasicAuth(le.opt.WriteKey, "")
	})
	if err != nil && (strings.Contains(err.Error(), " 404 ") || strings.Contains(err.Error(), " 405 ")) {
		return nil // the server has no opt-out endpoint: the event alone tells it
	}
	return err
}
