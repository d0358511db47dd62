package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/stream"
)

const testKey = "wk_test"

// fakeStream records envelopes; it can fail, or block until released.
type fakeStream struct {
	mu      sync.Mutex
	msgs    [][]byte
	ids     []string
	max     int
	fail    atomic.Bool
	gate    atomic.Pointer[chan struct{}] // when set, Publish waits for it to close (or ctx)
	delay   time.Duration
	calls   atomic.Int32
	discard bool // count publishes, keep nothing (fuzzing)
}

var _ stream.Stream = (*fakeStream)(nil)

func newFake() *fakeStream { return &fakeStream{max: 8 << 20} }

func (f *fakeStream) Publish(ctx context.Context, id string, data []byte) error {
	f.calls.Add(1)
	if len(data) > f.max {
		return stream.ErrTooLarge
	}
	if g := f.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.fail.Load() {
		return errors.New("fake stream down")
	}
	if f.discard {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, old := range f.ids {
		if old == id {
			return nil
		}
	}
	f.msgs = append(f.msgs, bytes.Clone(data))
	f.ids = append(f.ids, id)
	return nil
}

func (f *fakeStream) block() chan struct{} {
	g := make(chan struct{})
	f.gate.Store(&g)
	return g
}

func (f *fakeStream) MaxMessageBytes() int { return f.max }
func (f *fakeStream) Consumer(context.Context, string, stream.ConsumerOptions) (stream.Consumer, error) {
	return nil, errors.New("fake stream has no consumers")
}
func (f *fakeStream) Info(context.Context) (stream.Info, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return stream.Info{Messages: uint64(len(f.msgs))}, nil
}
func (f *fakeStream) Close() error { return nil }

// messageIDs decodes every stored envelope and counts each messageId.
func (f *fakeStream) messageIDs(t testing.TB) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return countIDs(t, f.msgs)
}

func countIDs(t testing.TB, msgs [][]byte) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		err := event.DecodeEnvelope(m, func(ev *event.Event, line []byte, err error) error {
			if err != nil {
				return fmt.Errorf("undecodable line %q: %w", line, err)
			}
			if ev.ReceivedAt.IsZero() {
				return fmt.Errorf("event %s has no receivedAt", ev.MessageID)
			}
			out[ev.MessageID]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func newCollector(t testing.TB, s stream.Stream, mod func(*Options)) (*Collector, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := Options{Stream: s, WriteKeys: []string{"other-key", testKey}, Registerer: reg}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c, reg
}

func trackEvent(id string) string {
	return fmt.Sprintf(`{"type":"track","event":"Product Clicked","userId":"u1","messageId":%q,"timestamp":"2026-11-20T10:00:00Z","properties":{"product_id":"p1","position":3}}`, id)
}

func batchBody(ids ...string) string {
	evs := make([]string, len(ids))
	for i, id := range ids {
		evs[i] = trackEvent(id)
	}
	return `{"batch":[` + strings.Join(evs, ",") + `],"sentAt":"2026-11-20T10:00:01Z"}`
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type req struct {
	method, path string
	body         []byte
	headers      map[string]string
}

func basic(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))
}

func do(h http.Handler, r req) *httptest.ResponseRecorder {
	if r.method == "" {
		r.method = http.MethodPost
	}
	hr := httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body))
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w
}

func auth(key string) map[string]string { return map[string]string{"Authorization": basic(key)} }

func TestStatusCodes(t *testing.T) {
	f := newFake()
	c, _ := newCollector(t, f, nil)
	bigEvent := `{"type":"track","event":"x","userId":"u","properties":{"pad":"` + strings.Repeat("a", 33<<10) + `"}}`
	bigBody := `{"batch":[` + strings.Repeat(trackEvent("")+",", 4000) + trackEvent("") + `]}`
	if len(bigBody) <= event.MaxRequestBytes {
		t.Fatalf("test body of %d bytes is not over the limit", len(bigBody))
	}
	tests := []struct {
		name       string
		r          req
		status     int
		errHas     string
		details    []event.FieldError // checked when not nil
		retryAfter bool
	}{
		{name: "basic auth batch", r: req{path: "/v1/batch", body: []byte(batchBody("a1", "a2")), headers: auth(testKey)}, status: 200},
		{name: "second key", r: req{path: "/v1/batch", body: []byte(batchBody("a3")), headers: auth("other-key")}, status: 200},
		{name: "bearer", r: req{path: "/v1/batch", body: []byte(batchBody("b1")), headers: map[string]string{"Authorization": "Bearer " + testKey}}, status: 200},
		{name: "write key in body", r: req{path: "/v1/batch", body: []byte(`{"writeKey":"` + testKey + `","batch":[` + trackEvent("c1") + `]}`)}, status: 200},
		{name: "track", r: req{path: "/v1/track", body: []byte(trackEvent("t1")), headers: auth(testKey)}, status: 200},
		{name: "track with body key", r: req{path: "/v1/track", body: []byte(`{"writeKey":"` + testKey + `","event":"Unknown Thing","anonymousId":"a"}`)}, status: 200},
		{name: "identify", r: req{path: "/v1/identify", body: []byte(`{"userId":"u1","traits":{"email":"x@y"}}`), headers: auth(testKey)}, status: 200},
		{name: "page", r: req{path: "/v1/page", body: []byte(`{"anonymousId":"a1","name":"Home"}`), headers: auth(testKey)}, status: 200},
		{name: "gzip", r: req{path: "/v1/batch", body: gz(t, batchBody("g1")), headers: map[string]string{"Authorization": basic(testKey), "Content-Encoding": "gzip"}}, status: 200},

		{name: "no key", r: req{path: "/v1/batch", body: []byte(batchBody("n1"))}, status: 401, errHas: "write key"},
		{name: "wrong basic key", r: req{path: "/v1/batch", body: []byte(batchBody("n2")), headers: auth("nope")}, status: 401},
		{name: "empty basic user", r: req{path: "/v1/batch", body: []byte(batchBody("n3")), headers: auth("")}, status: 401},
		{name: "wrong bearer", r: req{path: "/v1/batch", body: []byte(batchBody("n4")), headers: map[string]string{"Authorization": "Bearer nope"}}, status: 401},
		{name: "unknown scheme", r: req{path: "/v1/batch", body: []byte(batchBody("n5")), headers: map[string]string{"Authorization": "Digest " + testKey}}, status: 401},
		{name: "wrong body key", r: req{path: "/v1/batch", body: []byte(`{"writeKey":"nope","batch":[` + trackEvent("n6") + `]}`)}, status: 401},
		{name: "wrong header key beats right body key", r: req{path: "/v1/batch", body: []byte(`{"writeKey":"` + testKey + `","batch":[` + trackEvent("n7") + `]}`), headers: auth("nope")}, status: 401},
		{name: "invalid JSON without key", r: req{path: "/v1/batch", body: []byte(`{"batch":[`)}, status: 401},
		{name: "invalid event with body key", r: req{path: "/v1/batch", body: []byte(`{"writeKey":"` + testKey + `","batch":[{"type":"track","userId":"u"}]}`)}, status: 400,
			details: []event.FieldError{{Index: 0, Field: "event", Reason: "is required for track events: the event name"}}},

		{name: "invalid JSON", r: req{path: "/v1/batch", body: []byte(`{"batch":[`), headers: auth(testKey)}, status: 400, errHas: "invalid request"},
		{name: "empty body", r: req{path: "/v1/batch", headers: auth(testKey)}, status: 400,
			details: []event.FieldError{{Index: -1, Field: "body", Reason: "is empty"}}},
		{name: "missing user", r: req{path: "/v1/batch", body: []byte(`{"batch":[` + trackEvent("v0") + `,{"type":"track","event":"Product Viewed","properties":{"product_id":"p"}}]}`), headers: auth(testKey)}, status: 400,
			details: []event.FieldError{{Index: 1, Field: "userId", Reason: "one of userId or anonymousId is required"}}},
		{name: "missing property", r: req{path: "/v1/track", body: []byte(`{"event":"Product Clicked","userId":"u","properties":{"product_id":"p"}}`), headers: auth(testKey)}, status: 400,
			details: []event.FieldError{{Index: 0, Field: "properties.position", Reason: "is required: the 1-based position in the list"}}},
		{name: "type mismatch", r: req{path: "/v1/identify", body: []byte(trackEvent("x")), headers: auth(testKey)}, status: 400, errHas: "identify"},
		{name: "event over 32 KiB", r: req{path: "/v1/batch", body: []byte(`{"batch":[` + trackEvent("ok") + `,` + bigEvent + `]}`), headers: auth(testKey)}, status: 400, errHas: "event 1"},
		{name: "body over 512 KiB", r: req{path: "/v1/batch", body: []byte(bigBody), headers: auth(testKey)}, status: 413, errHas: "524288"},
		{name: "gzip over 512 KiB inflated", r: req{path: "/v1/batch", body: gz(t, bigBody), headers: map[string]string{"Authorization": basic(testKey), "Content-Encoding": "gzip"}}, status: 413},
		{name: "not gzip", r: req{path: "/v1/batch", body: []byte(batchBody("z")), headers: map[string]string{"Authorization": basic(testKey), "Content-Encoding": "gzip"}}, status: 400, errHas: "gzip"},
		{name: "truncated gzip", r: req{path: "/v1/batch", body: gz(t, batchBody("z"))[:30], headers: map[string]string{"Authorization": basic(testKey), "Content-Encoding": "gzip"}}, status: 400, errHas: "gzip"},
		{name: "brotli", r: req{path: "/v1/batch", body: []byte(batchBody("z")), headers: map[string]string{"Authorization": basic(testKey), "Content-Encoding": "br"}}, status: 415, errHas: "br"},
		{name: "GET", r: req{method: "GET", path: "/v1/batch", headers: auth(testKey)}, status: 405},
		{name: "unknown path", r: req{path: "/v1/alias", body: []byte(`{}`), headers: auth(testKey)}, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.messageIDs(t))
			w := do(c, tc.r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			after := len(f.messageIDs(t))
			if tc.status == 200 {
				if strings.TrimSpace(w.Body.String()) != `{"success":true}` {
					t.Fatalf("body %q, want {\"success\":true}", w.Body)
				}
				if after <= before {
					t.Fatal("200 answered but nothing stored")
				}
				return
			}
			if after != before {
				t.Fatalf("status %d but %d events were stored", w.Code, after-before)
			}
			if tc.status == 404 || tc.status == 405 {
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var body struct {
				Error   string              `json:"error"`
				Details *[]event.FieldError `json:"details"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q is not JSON: %v", w.Body, err)
			}
			if body.Error == "" || !strings.Contains(body.Error, tc.errHas) {
				t.Fatalf("error %q does not mention %q", body.Error, tc.errHas)
			}
			if tc.status == 400 {
				if body.Details == nil || len(*body.Details) == 0 {
					t.Fatalf("400 without details: %s", w.Body)
				}
				if tc.details != nil && fmt.Sprint(*body.Details) != fmt.Sprint(tc.details) {
					t.Fatalf("details %+v, want %+v", *body.Details, tc.details)
				}
			}
			if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	c, _ := newCollector(t, newFake(), nil)
	w := do(c, req{method: "OPTIONS", path: "/v1/batch"})
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	w = do(c, req{path: "/v1/batch", body: []byte(batchBody("cors")), headers: auth(testKey)})
	if w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("no CORS header on POST answer")
	}
}

func TestMessageIDAssignedAndReceivedAtStamped(t *testing.T) {
	f := newFake()
	at := time.Date(2026, 11, 26, 1, 2, 3, 0, time.UTC)
	c, _ := newCollector(t, f, func(o *Options) { o.Now = func() time.Time { return at } })
	w := do(c, req{path: "/v1/track", body: []byte(`{"event":"Custom","userId":"u","timestamp":"2019-01-02T03:04:05Z"}`), headers: auth(testKey)})
	if w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	var got []event.Event
	for _, m := range f.msgs {
		_ = event.DecodeEnvelope(m, func(ev *event.Event, _ []byte, err error) error {
			got = append(got, *ev)
			return err
		})
	}
	if len(got) != 1 || got[0].MessageID == "" || !got[0].ReceivedAt.Equal(at) || got[0].Timestamp.Year() != 2019 {
		t.Fatalf("stored %+v; want one event with an assigned messageId, receivedAt %s, timestamp kept", got, at)
	}
}

func TestNoPartialBatch(t *testing.T) {
	f := newFake()
	c, _ := newCollector(t, f, nil)
	body := `{"batch":[` + trackEvent("p1") + `,` + trackEvent("p2") + `,{"type":"track","event":"Product Returned","userId":"u","properties":{"order_id":"o","product_id":"p","size":"9","reason":"meh"}},` + trackEvent("p4") + `]}`
	w := do(c, req{path: "/v1/batch", body: []byte(body), headers: auth(testKey)})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"index":2`) || !strings.Contains(w.Body.String(), "properties.reason") {
		t.Fatalf("got %d %s, want 400 naming event 2's reason", w.Code, w.Body)
	}
	if n := f.calls.Load(); n != 0 {
		t.Fatalf("stream got %d publishes for an invalid batch", n)
	}
}

func TestGzipBombRefusedWithoutInflatingAll(t *testing.T) {
	f := newFake()
	c, _ := newCollector(t, f, nil)
	// 64 MiB of spaces inside a batch, as 66 concatenated gzip members (gzip readers
	// read multi-member streams): ~64 KiB compressed, cheap to build.
	member := func(data []byte) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(data)
		_ = zw.Close()
		return b.Bytes()
	}
	var raw bytes.Buffer
	raw.Write(member([]byte(`{"batch":[`)))
	spaces := member(bytes.Repeat([]byte(" "), 1<<20))
	for range 64 {
		raw.Write(spaces)
	}
	raw.Write(member([]byte(`]}`)))
	if raw.Len() > maxCompressedBytes {
		t.Fatalf("bomb is %d bytes compressed, want it under the compressed limit to test inflation", raw.Len())
	}
	body := &countingBody{r: bytes.NewReader(raw.Bytes())}
	hr := httptest.NewRequest("POST", "/v1/batch", body)
	hr.Header.Set("Authorization", basic(testKey))
	hr.Header.Set("Content-Encoding", "gzip")
	w := httptest.NewRecorder()
	start := time.Now()
	c.ServeHTTP(w, hr)
	if w.Code != 413 {
		t.Fatalf("gzip bomb: status %d %s, want 413", w.Code, w.Body)
	}
	// Inflating 512 KiB of spaces needs ~0.5 KiB of compressed input (ratio ~1000:1);
	// reading much more than a few percent of the bomb would mean it was inflated.
	if read := body.n.Load(); read > int64(raw.Len())/10 {
		t.Fatalf("read %d of %d compressed bytes: the bomb was inflated past the limit", read, raw.Len())
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("refusing the bomb took %s", el)
	}
}

type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestAckOnlyAfterDurablePublish(t *testing.T) {
	f := newFake()
	release := f.block()
	c, _ := newCollector(t, f, func(o *Options) { o.AckTimeout = 5 * time.Second })
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do(c, req{path: "/v1/batch", body: []byte(batchBody("d1")), headers: auth(testKey)}) }()
	select {
	case w := <-done:
		t.Fatalf("answered %d before the publish returned", w.Code)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	select {
	case w := <-done:
		if w.Code != 200 {
			t.Fatalf("status %d after the publish succeeded", w.Code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after the publish returned")
	}
	if f.messageIDs(t)["d1"] != 1 {
		t.Fatal("d1 not stored once")
	}
}

func TestUnavailableAnswers503FastAndRecovers(t *testing.T) {
	for _, mode := range []string{"blocking", "failing"} {
		t.Run(mode, func(t *testing.T) {
			f := newFake()
			c, reg := newCollector(t, f, func(o *Options) {
				o.ProbeInterval = 150 * time.Millisecond
				o.PublishTimeout = 200 * time.Millisecond // a hung publish trips the breaker after this
			})
			if w := do(c, req{path: "/v1/batch", body: []byte(batchBody("ok0")), headers: auth(testKey)}); w.Code != 200 {
				t.Fatalf("healthy stream: %d", w.Code)
			}
			var release chan struct{}
			if mode == "blocking" {
				release = f.block()
			} else {
				f.fail.Store(true)
			}
			var took []time.Duration
			for i := range 5 {
				start := time.Now()
				w := do(c, req{path: "/v1/batch", body: []byte(batchBody(fmt.Sprint("down", i))), headers: auth(testKey)})
				el := time.Since(start)
				if w.Code != 503 || w.Header().Get("Retry-After") != "1" {
					t.Fatalf("request %d while the stream is %s: %d (Retry-After %q), want 503 with Retry-After",
						i, mode, w.Code, w.Header().Get("Retry-After"))
				}
				took = append(took, el)
			}
			// The default AckTimeout (80 ms) bounds the wait; on a machine loaded by -race
			// and parallel packages a timer can fire late, so the median must be within
			// 100 ms and none far beyond.
			slices.Sort(took)
			if took[2] > 100*time.Millisecond || took[4] > 300*time.Millisecond {
				t.Fatalf("503 answers while the stream is %s took %v, want a median ≤ 100 ms", mode, took)
			}
			if c.Available() {
				t.Fatal("Available() = true while the stream is down")
			}
			if got := gauge(t, reg, "bespoke_collector_stream_available"); got != 0 {
				t.Fatalf("stream_available gauge = %v while down", got)
			}
			// The stream comes back: the collector recovers by itself.
			if release != nil {
				f.gate.Store(nil)
				close(release)
			}
			f.fail.Store(false)
			deadline := time.Now().Add(3 * time.Second)
			for i := 0; ; i++ {
				w := do(c, req{path: "/v1/batch", body: []byte(batchBody(fmt.Sprint("back", i))), headers: auth(testKey)})
				if w.Code == 200 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("still %d 3 s after the stream came back", w.Code)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if !c.Available() {
				t.Fatal("Available() = false after recovery")
			}
			ids := f.messageIDs(t)
			for i := range 5 {
				if mode == "failing" && ids[fmt.Sprint("down", i)] != 0 {
					t.Fatalf("down%d stored although the stream was failing", i)
				}
			}
			if counter(t, reg, "bespoke_collector_requests_rejected_total", "unavailable") < 5 {
				t.Fatal("unavailable rejections not counted")
			}
		})
	}
}

func TestOverload429(t *testing.T) {
	f := newFake()
	release := f.block()
	c, reg := newCollector(t, f, func(o *Options) { o.MaxRequests = 2; o.AckTimeout = 5 * time.Second })
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for i := range 2 {
		wg.Go(func() {
			codes <- do(c, req{path: "/v1/batch", body: []byte(batchBody(fmt.Sprint("slot", i))), headers: auth(testKey)}).Code
		})
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(c.requests) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("requests never took their slots")
		}
		time.Sleep(time.Millisecond)
	}
	w := do(c, req{path: "/v1/batch", body: []byte(batchBody("third")), headers: auth(testKey)})
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third request with 2 slots busy: %d %v, want 429 with Retry-After", w.Code, w.Header())
	}
	close(release)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Fatalf("a waiting request got %d", code)
		}
	}
	if counter(t, reg, "bespoke_collector_requests_rejected_total", "overloaded") != 1 {
		t.Fatal("overload not counted")
	}
}

func TestPendingBytesBudget429(t *testing.T) {
	f := newFake()
	release := f.block()
	c, _ := newCollector(t, f, func(o *Options) { o.MaxPendingBytes = 4 * event.MaxRequestBytes; o.AckTimeout = 10 * time.Second })
	pad := strings.Repeat("x", 4000)
	evs := make([]string, 110) // ~450 KB body
	for i := range evs {
		evs[i] = fmt.Sprintf(`{"type":"track","event":"Padded","userId":"u","messageId":"big%d","properties":{"pad":%q}}`, i, pad)
	}
	body := []byte(`{"batch":[` + strings.Join(evs, ",") + `]}`)
	codes := make(chan int, 6)
	for i := range 6 {
		before := c.pendingBytes.Load()
		go func() { codes <- do(c, req{path: "/v1/batch", body: body, headers: auth(testKey)}).Code }()
		// Wait until this request is pending or answered.
		deadline := time.Now().Add(10 * time.Second)
		for c.pendingBytes.Load() == before && len(codes) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("request %d neither pending nor answered", i)
			}
			time.Sleep(time.Millisecond)
		}
		if len(codes) > 0 {
			if code := <-codes; code != 429 {
				t.Fatalf("request %d answered %d before the stream was released", i, code)
			}
			if i < 2 {
				t.Fatalf("request %d refused although the budget holds 2 MiB", i)
			}
			codes <- 429
		}
	}
	close(release)
	n := map[int]int{}
	for range 6 {
		n[<-codes]++
	}
	if n[429] == 0 || n[200] < 2 || n[200]+n[429] != 6 {
		t.Fatalf("6 requests of ~450 KB against a 2 MiB budget: %v, want some 200 and some 429", n)
	}
	if c.pendingBytes.Load() != 0 {
		t.Fatalf("pending bytes %d after every request finished", c.pendingBytes.Load())
	}
}

func TestLargeRequestSplitAcrossEnvelopes(t *testing.T) {
	f := newFake()
	f.max = 64 << 10
	c, _ := newCollector(t, f, func(o *Options) { o.AckTimeout = 10 * time.Second })
	ids := make([]string, 1200)
	for i := range ids {
		ids[i] = fmt.Sprint("s", i)
	}
	w := do(c, req{path: "/v1/batch", body: []byte(batchBody(ids...)), headers: auth(testKey)})
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	got := f.messageIDs(t)
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("event %s stored %d times", id, got[id])
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	for _, m := range f.msgs {
		total += len(m)
	}
	if len(f.msgs) < 3 || len(f.msgs) < total/f.max {
		t.Fatalf("%d envelopes for %d bytes of events with a %d-byte limit", len(f.msgs), total, f.max)
	}
	for _, m := range f.msgs {
		if len(m) > f.max || m[len(m)-1] != '\n' {
			t.Fatalf("envelope of %d bytes (limit %d) or not ending at a line", len(m), f.max)
		}
	}
}

func TestGroupCommitFake(t *testing.T) {
	f := newFake()
	f.delay = 3 * time.Millisecond // like an fsync
	c, reg := newCollector(t, f, func(o *Options) { o.AckTimeout = 5 * time.Second })
	const clients, perClient, perReq = 40, 10, 5
	var wg sync.WaitGroup
	var bad atomic.Int32
	for cl := range clients {
		wg.Go(func() {
			for r := range perClient {
				ids := make([]string, perReq)
				for e := range ids {
					ids[e] = fmt.Sprintf("c%d-r%d-e%d", cl, r, e)
				}
				if do(c, req{path: "/v1/batch", body: []byte(batchBody(ids...)), headers: auth(testKey)}).Code != 200 {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d requests failed", bad.Load())
	}
	got := f.messageIDs(t)
	if len(got) != clients*perClient*perReq {
		t.Fatalf("%d distinct events stored, want %d", len(got), clients*perClient*perReq)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("%s stored %d times", id, n)
		}
	}
	envelopes := int(f.calls.Load())
	if envelopes >= clients*perClient/2 {
		t.Fatalf("%d envelopes for %d requests: no group commit", envelopes, clients*perClient)
	}
	if got := counter(t, reg, "bespoke_collector_events_accepted_total", ""); got != clients*perClient*perReq {
		t.Fatalf("events_accepted_total = %v", got)
	}
	t.Logf("%d requests in %d envelopes", clients*perClient, envelopes)
}

func TestNewErrors(t *testing.T) {
	small := newFake()
	small.max = 1000
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no stream", Options{WriteKeys: []string{"k"}}, "no stream"},
		{"no key", Options{Stream: newFake()}, "write key"},
		{"empty key", Options{Stream: newFake(), WriteKeys: []string{""}}, "empty write key"},
		{"tiny stream", Options{Stream: small, WriteKeys: []string{"k"}}, "64 KiB"},
		{"negative", Options{Stream: newFake(), WriteKeys: []string{"k"}, AckTimeout: -1}, "negative"},
		{"tiny budget", Options{Stream: newFake(), WriteKeys: []string{"k"}, MaxPendingBytes: 1000}, "MaxPendingBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	reg := prometheus.NewRegistry()
	c, err := New(Options{Stream: newFake(), WriteKeys: []string{"k"}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := New(Options{Stream: newFake(), WriteKeys: []string{"k"}, Registerer: reg}); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("second collector on one registry: %v, want a metrics registration error", err)
	}
}

func TestCloseRefusesNewRequests(t *testing.T) {
	f := newFake()
	c, err := New(Options{Stream: f, WriteKeys: []string{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	if w := do(c, req{path: "/v1/batch", body: []byte(batchBody("x1")), headers: auth(testKey)}); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := do(c, req{path: "/v1/batch", body: []byte(batchBody("x2")), headers: auth(testKey)}); w.Code != 503 {
		t.Fatalf("after Close: %d, want 503", w.Code)
	}
	if c.Available() {
		t.Fatal("Available after Close")
	}
}

func TestSplit(t *testing.T) {
	data := []byte("aaaa\nbbbb\ncc\ndddddd\n")
	for max := 7; max <= len(data)+1; max++ {
		chunks := split(data, max)
		if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
			t.Fatalf("max %d: chunks join to %q", max, got)
		}
		for _, ch := range chunks {
			if len(ch) > max || ch[len(ch)-1] != '\n' {
				t.Fatalf("max %d: bad chunk %q", max, ch)
			}
		}
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name, label string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || (len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label) {
				return m
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return nil
}

func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	return metric(t, reg, name, label).GetCounter().GetValue()
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	return metric(t, reg, name, "").GetGauge().GetValue()
}

func TestMetricsExposed(t *testing.T) {
	f := newFake()
	c, reg := newCollector(t, f, nil)
	do(c, req{path: "/v1/batch", body: []byte(batchBody("m1", "m2", "m3")), headers: auth(testKey)})
	do(c, req{path: "/v1/batch", body: []byte(batchBody("m4"))})
	do(c, req{path: "/v1/batch", body: []byte(`[`), headers: auth(testKey)})
	if got := counter(t, reg, "bespoke_collector_events_accepted_total", ""); got != 3 {
		t.Fatalf("events accepted %v, want 3", got)
	}
	if got := counter(t, reg, "bespoke_collector_requests_rejected_total", "unauthorized"); got != 1 {
		t.Fatalf("unauthorized %v, want 1", got)
	}
	if got := counter(t, reg, "bespoke_collector_requests_rejected_total", "invalid"); got != 1 {
		t.Fatalf("invalid %v, want 1", got)
	}
	if h := metric(t, reg, "bespoke_collector_ack_seconds", "").GetHistogram(); h.GetSampleCount() != 1 {
		t.Fatalf("ack histogram has %d samples, want 1", h.GetSampleCount())
	}
	if h := metric(t, reg, "bespoke_collector_envelope_events", "").GetHistogram(); h.GetSampleSum() != 3 {
		t.Fatalf("envelope events sum %v, want 3", h.GetSampleSum())
	}
	if g := gauge(t, reg, "bespoke_collector_stream_available"); g != 1 {
		t.Fatalf("stream_available = %v", g)
	}
}

// BenchmarkHandlerBatch100 is the collector's CPU cost per request of 100 events
// (parse, validate, encode, group commit), with a stream that stores nothing.
func BenchmarkHandlerBatch100(b *testing.B) {
	f := newFake()
	f.discard = true
	c, _ := newCollector(b, f, func(o *Options) { o.AckTimeout = 10 * time.Second })
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprint("bench-", i)
	}
	body := []byte(batchBody(ids...))
	authz := basic(testKey)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(body))
			r.Header.Set("Authorization", authz)
			w := httptest.NewRecorder()
			c.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}

func TestParsingSlots429(t *testing.T) {
	c, reg := newCollector(t, newFake(), func(o *Options) { o.MaxParsing = 1; o.ParseWait = 20 * time.Millisecond })
	c.parsing <- struct{}{} // the only parsing slot is busy
	start := time.Now()
	w := do(c, req{path: "/v1/batch", body: []byte(batchBody("busy")), headers: auth(testKey)})
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("with no parsing slot: %d %v, want 429 with Retry-After", w.Code, w.Header())
	}
	if el := time.Since(start); el < 15*time.Millisecond || el > 2*time.Second {
		t.Fatalf("429 after %s, want after ParseWait (20ms)", el)
	}
	<-c.parsing
	if w := do(c, req{path: "/v1/batch", body: []byte(batchBody("free")), headers: auth(testKey)}); w.Code != 200 {
		t.Fatalf("with the slot free: %d", w.Code)
	}
	if len(c.parsing) != 0 {
		t.Fatal("parsing slot not released")
	}
	if counter(t, reg, "bespoke_collector_requests_rejected_total", "overloaded") != 1 {
		t.Fatal("overload not counted")
	}
}

func TestAbandonedRequestNotStored(t *testing.T) {
	f := newFake()
	c, _ := newCollector(t, f, func(o *Options) {
		o.AckTimeout = 50 * time.Millisecond
		o.PublishTimeout = 5 * time.Second
		o.MaxPublishing = 1
	})
	release := f.block()
	// The first request's envelope holds the only publisher; the second waits in the
	// committer past its AckTimeout, gets 503, and must then not be stored.
	first := make(chan int)
	go func() {
		first <- do(c, req{path: "/v1/batch", body: []byte(batchBody("held")), headers: auth(testKey)}).Code
	}()
	time.Sleep(20 * time.Millisecond)
	if w := do(c, req{path: "/v1/batch", body: []byte(batchBody("late")), headers: auth(testKey)}); w.Code != 503 {
		t.Fatalf("queued request: %d, want 503", w.Code)
	}
	if code := <-first; code != 503 {
		t.Fatalf("held request: %d, want 503 after AckTimeout", code)
	}
	f.gate.Store(nil)
	close(release)
	deadline := time.Now().Add(2 * time.Second)
	for c.pendingBytes.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("pending bytes never released")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ids := f.messageIDs(t)
	if ids["late"] != 0 {
		t.Fatal("a request answered 503 before its envelope was built was stored anyway")
	}
	if ids["held"] != 1 {
		t.Fatalf("the envelope already being published was stored %d times, want 1 (a 503 may still be stored)", ids["held"])
	}
}

func TestCORSAllowedOrigins(t *testing.T) {
	c, _ := newCollector(t, newFake(), func(o *Options) {
		o.AllowedOrigins = []string{"https://shop.example.com", "http://localhost:3000"}
	})
	for _, tc := range []struct {
		origin, want string
	}{
		{"https://shop.example.com", "https://shop.example.com"},
		{"http://localhost:3000", "http://localhost:3000"},
		{"https://evil.example.com", ""},
		{"", ""},
	} {
		h := map[string]string{}
		if tc.origin != "" {
			h["Origin"] = tc.origin
		}
		w := do(c, req{method: "OPTIONS", path: "/v1/batch", headers: h})
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != tc.want || w.Code != http.StatusNoContent {
			t.Errorf("preflight from %q: %d, allow-origin %q, want %q", tc.origin, w.Code, got, tc.want)
		}
		if allowed := tc.want != ""; allowed != (w.Header().Get("Access-Control-Allow-Methods") != "") {
			t.Errorf("preflight from %q: allow-methods %q", tc.origin, w.Header().Get("Access-Control-Allow-Methods"))
		}
		h["Authorization"] = auth(testKey)["Authorization"]
		w = do(c, req{path: "/v1/batch", body: []byte(batchBody("cors-" + tc.origin)), headers: h})
		if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != tc.want || !strings.Contains(w.Header().Get("Vary"), "Origin") {
			t.Errorf("POST from %q: %d %v", tc.origin, w.Code, w.Header())
		}
	}
	for _, bad := range [][]string{{"shop.example.com"}, {"https://shop.example.com/path"}, {"ftp://x"}} {
		if _, err := New(Options{Stream: newFake(), WriteKeys: []string{"k"}, AllowedOrigins: bad}); err == nil || !strings.Contains(err.Error(), "CORS origin") {
			t.Errorf("origins %v: want a CORS error, got %v", bad, err)
		}
	}
}
