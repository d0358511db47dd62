package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// freshnessPoll is how often a trial asks whether its customer's results changed.
const freshnessPoll = 2 * time.Millisecond

// runFreshness measures "event acknowledged → reflected in search": each trial takes a
// new customer, reads their (anonymous) results for a query, sends a click and a
// purchase of a product below the top, and polls the same search until the order
// changes. Its latency is from the 200 of /v1/batch to the first changed answer.
// Trials start at cfg.Rate per second for cfg.Duration, cfg.Concurrency at most at once.
func runFreshness(ctx context.Context, cfg Config, client *http.Client) (Result, error) {
	src, err := loadSource(ctx, Config{Kind: KindSearch, Target: cfg.Target, World: cfg.World}, client)
	if err != nil {
		return Result{}, err
	}
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	run := "fresh-" + hex.EncodeToString(rb[:])
	authz := basicAuth(cfg.WriteKey)
	conc := min(cfg.Concurrency, 16)
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	n := max(int(cfg.Duration/interval), 1)
	samples := make([]sample, n)
	var firstErr atomic.Pointer[error]
	var done atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range work {
				lat, err := freshnessTrial(ctx, cfg, client, authz, src, run, i)
				s := sample{lat: lat, status: http.StatusOK, personalized: true}
				if err != nil {
					s.status = 0
					firstErr.CompareAndSwap(nil, &err)
				}
				samples[i] = s
				done.Add(1)
			}
		})
	}
	start := time.Now()
	sent := 0
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	lastProgress := start
dispatch:
	for i := range n {
		select {
		case work <- i:
			sent++
		case <-ctx.Done():
			break dispatch
		}
		if cfg.Progress != nil && time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			fmt.Fprintf(cfg.Progress, "bench freshness: %5.1fs trials done %d/%d\n", time.Since(start).Seconds(), done.Load(), n)
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			break dispatch
		}
	}
	close(work)
	wg.Wait()
	res := summarize(cfg, samples[:sent], time.Since(start))
	res.Anonymous, res.Customer = nil, nil
	res.Concurrency = conc
	if e := firstErr.Load(); e != nil {
		res.FirstError = (*e).Error()
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("freshness bench interrupted after %d trials: %w", sent, ctx.Err())
	}
	return res, nil
}

func freshnessTrial(ctx context.Context, cfg Config, client *http.Client, authz string, src *source, run string, i int) (time.Duration, error) {
	customer := fmt.Sprintf("%s-%d", run, i)
	var base []string
	var query string
	// Find a query with enough results for a change of order to be visible.
	for k := 0; k < 20 && len(base) < 5; k++ {
		query = pick(src.queries, i*31+k, 7)
		var err error
		if base, _, err = searchIDs(ctx, client, cfg.Target, query, customer); err != nil {
			return 0, err
		}
	}
	if len(base) < 5 {
		return 0, fmt.Errorf("no query with 5 results found for trial %d", i)
	}
	target := base[len(base)-1]
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var evs []string
	for k := range 3 {
		evs = append(evs, fmt.Sprintf(`{"type":"track","event":"Product Clicked","userId":%q,"messageId":"%s-c%d","timestamp":%q,"properties":{"product_id":%q,"position":%d,"query":%q}}`,
			customer, customer, k, now, target, len(base), query))
	}
	evs = append(evs, fmt.Sprintf(`{"type":"track","event":"Order Completed","userId":%q,"messageId":"%s-o","timestamp":%q,"properties":{"order_id":"%s-o","products":[{"product_id":%q}]}}`,
		customer, customer, now, customer, target))
	body := []byte(`{"batch":[` + strings.Join(evs, ",") + `]}`)
	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	status, _, _, err := do(rctx, client, http.MethodPost, cfg.Target+"/v1/batch", authz, body)
	cancel()
	if err != nil || status != 200 {
		return 0, fmt.Errorf("cannot send the trial's events: %w", err)
	}
	acked := time.Now()
	for time.Since(acked) < 10*time.Second {
		got, pers, err := searchIDs(ctx, client, cfg.Target, query, customer)
		if err != nil {
			return 0, err
		}
		if pers && !slices.Equal(got, base) {
			return time.Since(acked), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(freshnessPoll):
		}
	}
	return 0, fmt.Errorf("the search of customer %s for %q did not change within 10 s of their events", customer, query)
}

func searchIDs(ctx context.Context, client *http.Client, target, q, customer string) ([]string, bool, error) {
	var resp struct {
		Personalized bool `json:"personalized"`
		Results      []struct {
			ID string `json:"product_id"`
		} `json:"results"`
	}
	u := target + "/v1/search?limit=20&q=" + url.QueryEscape(q) + "&customer_id=" + url.QueryEscape(customer)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := getJSON(ctx, client, u, &resp); err != nil {
		return nil, false, err
	}
	ids := make([]string, len(resp.Results))
	for k, r := range resp.Results {
		ids[k] = r.ID
	}
	return ids, resp.Personalized, nil
}
