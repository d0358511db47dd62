package client

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bodyOverhead is the size of a batch body without its events:
// {"batch":[],"sentAt":"2006-01-02T15:04:05.999999999Z"} plus room.
const bodyOverhead = 64

// deliver sends a batch and resolves every event in it, delivered or failed.
func (c *Client) deliver(batch []item) {
	defer c.resolve(batch)
	parts := [][]item{batch}
	for len(parts) > 0 {
		b := parts[0]
		parts = parts[1:]
		status, body, err := c.post(b)
		switch {
		case err != nil:
			c.fail(b, status, err)
		case status >= 200 && status < 300:
			c.mu.Lock()
			c.stats.Sent += uint64(len(b))
			c.mu.Unlock()
		case status == http.StatusRequestEntityTooLarge && len(b) > 1:
			// The collector's limit is lower than ours: halve and go on.
			h := len(b) / 2
			parts = append([][]item{b[:h], b[h:]}, parts...)
		case status == http.StatusBadRequest:
			bad, rest := splitInvalid(b, body)
			reason := fmt.Errorf("collector refused the event with HTTP 400: %s", snippet(body))
			if len(bad) == 0 {
				c.fail(b, status, fmt.Errorf("collector refused the batch with HTTP 400: %s", snippet(body)))
				continue
			}
			c.fail(bad, status, reason)
			if len(rest) > 0 {
				parts = append([][]item{rest}, parts...)
			}
		default:
			c.fail(b, status, fmt.Errorf("collector refused the batch with HTTP %d: %s", status, snippet(body)))
		}
	}
}

// splitInvalid reads a 400 answer's details ({"details":[{"index":i,…}]}) and splits the batch
// into the events it names and the others. It names none when the answer cannot be used: then
// the whole batch failed, and retrying the others could loop.
func splitInvalid(b []item, body []byte) (bad, rest []item) {
	var ans struct {
		Details []struct {
			Index *int `json:"index"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &ans) != nil || len(ans.Details) == 0 {
		return nil, nil
	}
	named := make(map[int]bool, len(ans.Details))
	for _, d := range ans.Details {
		if d.Index == nil || *d.Index < 0 || *d.Index >= len(b) {
			return nil, nil
		}
		named[*d.Index] = true
	}
	for i, it := range b {
		if named[i] {
			bad = append(bad, it)
		} else {
			rest = append(rest, it)
		}
	}
	return bad, rest
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		s = "(empty answer)"
	}
	return s
}

// post sends one batch, retrying network errors, 408, 429 and 5xx with full-jitter backoff
// that honours Retry-After. It returns the final status and answer body, or an error when it
// gave up (retries exhausted or the client was closed).
func (c *Client) post(b []item) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		c.stats.Requests++
		c.mu.Unlock()
		status, hdr, body, err := c.once(b)
		retry := err != nil || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
		if !retry {
			return status, body, nil
		}
		why := err
		if why == nil {
			why = fmt.Errorf("HTTP %d: %s", status, snippet(body))
		}
		if c.ctx.Err() != nil {
			return status, body, fmt.Errorf("not delivered, client closed: %w (last attempt: %v)", c.ctx.Err(), why)
		}
		if attempt >= c.cfg.maxRetries {
			return status, body, fmt.Errorf("gave up after %d retries: %w", attempt, why)
		}
		wait := c.backoff(attempt)
		if ra := retryAfter(hdr, time.Now(), c.cfg.maxRetryAfter); ra > wait {
			wait = ra
		}
		c.mu.Lock()
		c.stats.Retries++
		c.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return status, body, fmt.Errorf("not delivered, client closed while waiting to retry: %w (last attempt: %v)", c.ctx.Err(), why)
		}
	}
}

// backoff is the full-jitter delay before retry number attempt+1.
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.cfg.backoffCap
	if attempt < 40 {
		if d := c.cfg.backoffBase << attempt; d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil + 1)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 when absent or invalid.
func retryAfter(h http.Header, now time.Time, max time.Duration) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > int64(max/time.Second) {
			return max
		}
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, max)
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}

// encodeBatch writes {"batch":[…],"sentAt":…}, gzip-compressed when enabled.
func (c *Client) encodeBatch(b []item, now time.Time) []byte {
	size := bodyOverhead
	for _, it := range b {
		size += len(it.raw) + 1
	}
	raw := make([]byte, 0, size)
	raw = append(raw, `{"batch":[`...)
	for i, it := range b {
		if i > 0 {
			raw = append(raw, ',')
		}
		raw = append(raw, it.raw...)
	}
	raw = append(raw, `],"sentAt":"`...)
	raw = now.UTC().AppendFormat(raw, time.RFC3339Nano)
	raw = append(raw, `"}`...)
	if !c.cfg.gzip {
		return raw
	}
	var buf bytes.Buffer
	buf.Grow(len(raw)/4 + 64)
	w := gzipPool.Get().(*gzip.Writer)
	w.Reset(&buf)
	w.Write(raw) // writes to a bytes.Buffer do not fail
	w.Close()
	gzipPool.Put(w)
	return buf.Bytes()
}

// once makes one attempt.
func (c *Client) once(b []item) (int, http.Header, []byte, error) {
	body := c.encodeBatch(b, time.Now())
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("cannot build request to %s: %w", c.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("User-Agent", c.cfg.userAgent)
	if c.cfg.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.cfg.httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("POST %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil && !errors.Is(err, io.EOF) {
		// The status is known; a broken answer body only loses the error text.
		ans = append(ans, fmt.Sprintf(" (answer cut: %v)", err)...)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	return resp.StatusCode, resp.Header, ans, nil
}
