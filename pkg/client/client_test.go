package client

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "wk_go_test"

type answer struct {
	status     int
	retryAfter string
	body       string
	hang       bool // wait for the request's context (the client giving up) before answering
	hijack     bool // close the connection without answering
}

type request struct {
	at      time.Time
	header  http.Header
	raw     []byte // decompressed body
	batch   []map[string]any
	sentAt  string
	answer  int
	gzipped bool
}

// collector is a fake CONTRACT §2 collector: it checks auth, decodes gzip, records every
// request, and answers from plan (then 200). It stores events by messageId, like the real one.
type collector struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	plan   []answer
	reqs   []request
	stored map[string]map[string]any
	order  []string
}

func newCollector(t *testing.T, plan ...answer) *collector {
	c := &collector{t: t, plan: plan, stored: map[string]map[string]any{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/batch" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey+":"))
	if r.Header.Get("Authorization") != want {
		http.Error(w, `{"error":"bad write key"}`, http.StatusUnauthorized)
		return
	}
	var body io.Reader = r.Body
	gz := r.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, `{"error":"bad gzip"}`, http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(io.LimitReader(body, 524289))
	if err != nil {
		http.Error(w, `{"error":"cannot read body"}`, http.StatusBadRequest)
		return
	}
	if len(raw) > 524288 {
		http.Error(w, `{"error":"body above 512 KiB"}`, http.StatusRequestEntityTooLarge)
		return
	}
	var b struct {
		Batch  []map[string]any `json:"batch"`
		SentAt string           `json:"sentAt"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	a := answer{status: 200}
	if len(c.plan) > 0 {
		a = c.plan[0]
		c.plan = c.plan[1:]
	}
	c.reqs = append(c.reqs, request{at: time.Now(), header: r.Header.Clone(), raw: raw, batch: b.Batch, sentAt: b.SentAt, answer: a.status, gzipped: gz})
	if a.status == 200 {
		for _, e := range b.Batch {
			id, _ := e["messageId"].(string)
			if _, dup := c.stored[id]; !dup {
				c.stored[id] = e
				c.order = append(c.order, id)
			}
		}
	}
	c.mu.Unlock()
	if a.hang {
		<-r.Context().Done()
		return
	}
	if a.hijack {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	if a.body != "" {
		io.WriteString(w, a.body)
	} else if a.status == 200 {
		io.WriteString(w, `{"success":true}`)
	} else {
		fmt.Fprintf(w, `{"error":"status %d"}`, a.status)
	}
}

func (c *collector) requests() []request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]request(nil), c.reqs...)
}

func (c *collector) storedIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

func ids(batch []map[string]any) []string {
	out := make([]string, len(batch))
	for i, e := range batch {
		out[i], _ = e["messageId"].(string)
	}
	return out
}

func newClient(t *testing.T, c *collector, opts ...Option) *Client {
	t.Helper()
	cl, err := New(c.srv.URL, testKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cl.Close(ctx)
	})
	return cl
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func track(t *testing.T, cl *Client, n int, props map[string]any) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		id, err := cl.Track(context.Background(), fmt.Sprintf("user-%d", i%7), "Product Viewed", props)
		if err != nil {
			t.Fatalf("Track %d: %v", i, err)
		}
		out[i] = id
	}
	return out
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestBatchesGzipAuthAndWireFormat(t *testing.T) {
	col := newCollector(t)
	cl := newClient(t, col, WithFlushInterval(time.Hour))
	before := time.Now()
	sent := track(t, cl, 250, map[string]any{"product_id": "p1"})
	if err := cl.Flush(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	reqs := col.requests()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.batch))
		if !r.gzipped {
			t.Error("body was not gzip-compressed")
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.sentAt); err != nil {
			t.Errorf("sentAt %q: %v", r.sentAt, err)
		}
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Fatalf("batch sizes %v, want [100 100 50] (default batch size 100)", sizes)
	}
	got := col.storedIDs()
	if strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Fatalf("stored %d events, want the %d sent in order", len(got), len(sent))
	}
	e := reqs[0].batch[0]
	for _, k := range []string{"type", "event", "userId", "messageId", "timestamp", "properties", "context"} {
		if _, ok := e[k]; !ok {
			t.Errorf("event lacks %q: %v", k, e)
		}
	}
	for _, k := range []string{"anonymousId", "traits"} {
		if _, ok := e[k]; ok {
			t.Errorf("empty %q should be omitted: %v", k, e)
		}
	}
	if e["type"] != "track" || e["event"] != "Product Viewed" || e["userId"] != "user-0" {
		t.Errorf("event fields: %v", e)
	}
	if !uuidV4.MatchString(e["messageId"].(string)) {
		t.Errorf("messageId %q is not a UUID v4", e["messageId"])
	}
	ts, err := time.Parse(time.RFC3339Nano, e["timestamp"].(string))
	if err != nil || ts.Before(before.Add(-time.Second)) || ts.After(time.Now()) {
		t.Errorf("timestamp %v (%v) is not the enqueue time", e["timestamp"], err)
	}
	if lib := e["context"].(map[string]any)["library"].(map[string]any); lib["name"] != "bespoke-go" {
		t.Errorf("context.library = %v", lib)
	}
	if st := cl.Stats(); st.Sent != 250 || st.Enqueued != 250 || st.Queued != 0 || st.Failed != 0 || st.Requests != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestIntervalFlush(t *testing.T) {
	col := newCollector(t)
	cl := newClient(t, col, WithFlushInterval(100*time.Millisecond))
	start := time.Now()
	sent := track(t, cl, 3, nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(col.storedIDs()) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the interval flush did not come")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := col.requests()[0]
	if waited := r.at.Sub(start); waited < 90*time.Millisecond {
		t.Errorf("sent after %v, before the 100 ms interval", waited)
	}
	if strings.Join(ids(r.batch), ",") != strings.Join(sent, ",") {
		t.Errorf("batch %v, want %v", ids(r.batch), sent)
	}
}

func TestRetryAfterHonouredAndSameMessageIDs(t *testing.T) {
	col := newCollector(t, answer{status: 429, retryAfter: "1"}, answer{status: 503, retryAfter: "1"})
	// A 1 ms backoff base: a wait near one second can only come from Retry-After.
	cl := newClient(t, col, WithFlushInterval(time.Hour), WithRetries(10, time.Millisecond, time.Millisecond))
	sent := track(t, cl, 20, nil)
	if err := cl.Flush(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	reqs := col.requests()
	if len(reqs) != 3 || reqs[0].answer != 429 || reqs[1].answer != 503 || reqs[2].answer != 200 {
		t.Fatalf("answers %v", reqs)
	}
	for i, r := range reqs {
		if got := strings.Join(ids(r.batch), ","); got != strings.Join(sent, ",") {
			t.Errorf("attempt %d re-sent other messageIds", i+1)
		}
		if i > 0 {
			if gap := r.at.Sub(reqs[i-1].at); gap < 950*time.Millisecond {
				t.Errorf("attempt %d came %v after the previous, Retry-After said 1 s", i+1, gap)
			}
		}
	}
	if got := col.storedIDs(); len(got) != 20 {
		t.Errorf("collector stored %d events, want 20 once each", len(got))
	}
	if st := cl.Stats(); st.Retries != 2 || st.Sent != 20 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetriesNetworkErrorsAnd5xxWithBackoff(t *testing.T) {
	col := newCollector(t, answer{hijack: true}, answer{status: 500}, answer{status: 502}, answer{status: 200}, answer{status: 200})
	cl := newClient(t, col, WithRetries(10, 5*time.Millisecond, 20*time.Millisecond), WithBatchSize(5))
	sent := track(t, cl, 5, nil)
	if err := cl.Flush(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	reqs := col.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (connection closed, 500, 502, 200)", len(reqs))
	}
	if got := col.storedIDs(); strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Errorf("stored %v", got)
	}
}

func TestRetriesExhaustedAreReported(t *testing.T) {
	plan := make([]answer, 20)
	for i := range plan {
		plan[i] = answer{status: 503}
	}
	col := newCollector(t, plan...)
	var reported atomic.Int64
	cl := newClient(t, col, WithRetries(3, time.Millisecond, 5*time.Millisecond),
		WithErrorHandler(func(de *DeliveryError) { reported.Add(int64(len(de.Failures))) }))
	sent := track(t, cl, 4, nil)
	err := cl.Flush(ctxT(t, 10*time.Second))
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("Flush = %v, want a *DeliveryError", err)
	}
	if strings.Join(de.MessageIDs(), ",") != strings.Join(sent, ",") {
		t.Errorf("failures %v, want %v", de.MessageIDs(), sent)
	}
	if de.Failures[0].Status != 503 || !strings.Contains(err.Error(), "gave up after 3 retries") {
		t.Errorf("failure %+v / %v", de.Failures[0], err)
	}
	if n := len(col.requests()); n != 4 {
		t.Errorf("%d attempts, want 1 + 3 retries", n)
	}
	if reported.Load() != 4 {
		t.Errorf("error handler saw %d failures, want 4", reported.Load())
	}
	// Failures are returned once: the next Flush has nothing to report.
	if err := cl.Flush(ctxT(t, time.Second)); err != nil {
		t.Errorf("second Flush: %v", err)
	}
}

func TestNoRetryOn400(t *testing.T) {
	col := newCollector(t, answer{status: 400, body: `{"error":"invalid batch"}`})
	cl := newClient(t, col, WithRetries(10, time.Millisecond, time.Millisecond))
	sent := track(t, cl, 3, nil)
	err := cl.Flush(ctxT(t, 5*time.Second))
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failures) != 3 {
		t.Fatalf("Flush = %v, want 3 failures", err)
	}
	if de.Failures[0].Status != 400 || !strings.Contains(de.Failures[0].Err.Error(), "invalid batch") {
		t.Errorf("failure %+v", de.Failures[0])
	}
	if strings.Join(de.MessageIDs(), ",") != strings.Join(sent, ",") {
		t.Errorf("failed ids %v", de.MessageIDs())
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(col.requests()); n != 1 {
		t.Errorf("%d requests, a 400 must not be retried", n)
	}
	// The client goes on.
	more := track(t, cl, 2, nil)
	if err := cl.Flush(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := col.storedIDs(); strings.Join(got, ",") != strings.Join(more, ",") {
		t.Errorf("stored %v, want %v", got, more)
	}
}

func TestBadWriteKeyIsReported(t *testing.T) {
	col := newCollector(t)
	cl, err := New(col.srv.URL, "wrong", WithRetries(10, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	track(t, cl, 2, nil)
	err = cl.Close(ctxT(t, 5*time.Second))
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failures) != 2 || de.Failures[0].Status != 401 {
		t.Fatalf("Close = %v, want 2 failures with 401", err)
	}
}

func TestInvalidEventsNamedBy400AreDroppedAndTheRestSent(t *testing.T) {
	col := newCollector(t, answer{status: 400, body: `{"error":"invalid events","details":[{"index":1,"field":"properties.position","reason":"not a number"},{"index":3,"field":"event","reason":"x"}]}`})
	cl := newClient(t, col, WithBatchSize(5), WithRetries(10, time.Millisecond, time.Millisecond))
	sent := track(t, cl, 5, nil)
	err := cl.Flush(ctxT(t, 5*time.Second))
	var de *DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("Flush = %v", err)
	}
	if got, want := strings.Join(de.MessageIDs(), ","), sent[1]+","+sent[3]; got != want {
		t.Errorf("failed %v, want events 1 and 3", got)
	}
	if got, want := strings.Join(col.storedIDs(), ","), strings.Join([]string{sent[0], sent[2], sent[4]}, ","); got != want {
		t.Errorf("stored %v, want events 0, 2, 4", got)
	}
}

func TestSplitsOn413(t *testing.T) {
	col := newCollector(t, answer{status: 413}, answer{status: 413})
	cl := newClient(t, col, WithBatchSize(8))
	sent := track(t, cl, 8, nil)
	if err := cl.Flush(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range col.requests() {
		sizes = append(sizes, len(r.batch))
	}
	if fmt.Sprint(sizes) != "[8 4 2 2 4]" {
		t.Errorf("sizes %v, want [8 4 2 2 4]", sizes)
	}
	if strings.Join(col.storedIDs(), ",") != strings.Join(sent, ",") {
		t.Error("not every event stored in order")
	}
}

func TestBodyLimit(t *testing.T) {
	col := newCollector(t)
	cl := newClient(t, col, WithFlushInterval(time.Hour))
	pad := strings.Repeat("x", 20000)
	sent := track(t, cl, 100, map[string]any{"pad": pad})
	if err := cl.Flush(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	reqs := col.requests()
	if len(reqs) < 4 {
		t.Errorf("%d requests for 2 MB of events", len(reqs))
	}
	for _, r := range reqs {
		if len(r.raw) > 500<<10 {
			t.Errorf("a body of %d bytes, above the 500 KiB default", len(r.raw))
		}
	}
	if len(col.storedIDs()) != len(sent) {
		t.Errorf("stored %d of %d", len(col.storedIDs()), len(sent))
	}
}

func TestOversizeAndInvalidEventsRefusedLocally(t *testing.T) {
	col := newCollector(t)
	cl := newClient(t, col)
	ctx := context.Background()
	_, err := cl.Track(ctx, "u1", "Huge", map[string]any{"pad": strings.Repeat("z", 40000)})
	if !errors.Is(err, ErrEventTooLarge) || !strings.Contains(err.Error(), `"Huge"`) {
		t.Errorf("oversize event: %v", err)
	}
	for _, e := range []Event{
		{Type: "track", UserID: "u"},
		{Type: "alias", UserID: "u"},
		{Type: "", UserID: "u"},
		{Type: "identify"},
		{Type: "track", Event: "X", AnonymousID: "a", Properties: map[string]any{"f": func() {}}},
	} {
		if _, err := cl.Enqueue(ctx, e); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Enqueue(%+v) = %v, want ErrInvalidEvent", e, err)
		}
	}
	if st := cl.Stats(); st.Enqueued != 0 {
		t.Errorf("refused events were queued: %+v", st)
	}
}

func TestKeepsGivenMessageIDTimestampAndContext(t *testing.T) {
	col := newCollector(t)
	cl := newClient(t, col)
	ts := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	ctxMap := map[string]any{"ip": "127.0.0.1"}
	id, err := cl.Enqueue(context.Background(), Event{Type: "identify", AnonymousID: "anon-1", MessageID: "m-1", Timestamp: ts,
		Traits: map[string]any{"plan": "gold"}, Context: ctxMap})
	if err != nil || id != "m-1" {
		t.Fatalf("Enqueue = %q, %v", id, err)
	}
	if _, ok := ctxMap["library"]; ok {
		t.Error("Enqueue modified the caller's context map")
	}
	if _, err := cl.Page(context.Background(), "u1", "Home", map[string]any{"path": "/"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Flush(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	b := col.requests()[0].batch
	if b[0]["timestamp"] != "2019-03-04T05:06:07Z" || b[0]["anonymousId"] != "anon-1" || b[0]["type"] != "identify" {
		t.Errorf("identify %v", b[0])
	}
	if b[0]["context"].(map[string]any)["ip"] != "127.0.0.1" || b[0]["traits"].(map[string]any)["plan"] != "gold" {
		t.Errorf("identify %v", b[0])
	}
	if p := b[1]["properties"].(map[string]any); b[1]["type"] != "page" || p["name"] != "Home" || p["path"] != "/" {
		t.Errorf("page %v", b[1])
	}
}

func TestEnqueueJSONKeepsFields(t *testing.T) {
	col := newCollector(t)
	cl := newClient(t, col)
	id, err := cl.EnqueueJSON(context.Background(), []byte(`{"type":"track","event":"Order Completed","userId":"c1","timestamp":"2024-01-02T03:04:05Z","properties":{"order_id":"o1","revenue":12.50},"custom":{"a":1}}`))
	if err != nil || !uuidV4.MatchString(id) {
		t.Fatalf("EnqueueJSON = %q, %v", id, err)
	}
	if _, err := cl.EnqueueJSON(context.Background(), []byte(`{"type":"track","userId":"c1"}`)); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("no event name: %v", err)
	}
	if err := cl.Flush(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	e := col.requests()[0].batch[0]
	if e["messageId"] != id || e["custom"] == nil || e["timestamp"] != "2024-01-02T03:04:05Z" {
		t.Errorf("event %v", e)
	}
	if !strings.Contains(string(col.requests()[0].raw), `"revenue":12.50`) {
		t.Errorf("numbers must pass through as written: %s", col.requests()[0].raw)
	}
}

func TestQueueFullIsAnError(t *testing.T) {
	col := newCollector(t, answer{hang: true})
	cl := newClient(t, col, WithQueueSize(5, 1<<20), WithBatchSize(2), WithRetries(0, time.Millisecond, time.Millisecond))
	ctx := context.Background()
	var err error
	n := 0
	for ; n < 10; n++ {
		if _, err = cl.Track(ctx, "u", "E", nil); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrQueueFull) || n != 5 {
		t.Fatalf("after %d events: %v, want ErrQueueFull after 5", n, err)
	}
	err = cl.Close(ctxT(t, 200*time.Millisecond))
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failures) != 5 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the 5 held events listed", err)
	}
	if _, err := cl.Track(ctx, "u", "E", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Track after Close: %v", err)
	}
}

func TestBlockWhenFullWaitsForRoom(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			<-release
		}
		io.WriteString(w, `{"success":true}`)
	}))
	t.Cleanup(srv.Close)
	cl, err := New(srv.URL, testKey, WithQueueSize(2, 1<<20), WithBatchSize(2), WithBlockWhenFull())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close(context.Background())
	track(t, cl, 2, nil) // taken by the sender, whose request hangs
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cl.Track(short, "u", "E", nil); !errors.Is(err, ErrQueueFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked Track = %v, want ErrQueueFull and DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := cl.Track(context.Background(), "u", "E", nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Track returned %v while the queue was full", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Track did not get room after the batch was delivered")
	}
	if err := cl.Flush(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestFlushTimeoutListsHeldEvents(t *testing.T) {
	col := newCollector(t, answer{hang: true})
	cl := newClient(t, col)
	sent := track(t, cl, 3, nil)
	err := cl.Flush(ctxT(t, 100*time.Millisecond))
	var de *DeliveryError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush = %v", err)
	}
	if strings.Join(de.MessageIDs(), ",") != strings.Join(sent, ",") {
		t.Errorf("listed %v, want %v", de.MessageIDs(), sent)
	}
	if err := cl.Close(ctxT(t, 100*time.Millisecond)); !errors.As(err, &de) || len(de.Failures) != 3 {
		t.Errorf("Close = %v, want the 3 events listed", err)
	}
}

func TestCloseDeliversEverything(t *testing.T) {
	col := newCollector(t)
	cl, err := New(col.srv.URL, testKey, WithFlushInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sent := track(t, cl, 42, nil)
	if err := cl.Close(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(col.storedIDs(), ",") != strings.Join(sent, ",") {
		t.Error("Close did not deliver everything")
	}
	if err := cl.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}

func TestConcurrentSendersDeliverEachEventOnce(t *testing.T) {
	plan := []answer{{status: 503, retryAfter: "0"}, {status: 200}, {status: 500}}
	col := newCollector(t, plan...)
	cl := newClient(t, col, WithBatchSize(50), WithFlushInterval(20*time.Millisecond), WithRetries(10, time.Millisecond, 5*time.Millisecond))
	var wg sync.WaitGroup
	var mu sync.Mutex
	all := map[string]bool{}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				id, err := cl.Track(context.Background(), fmt.Sprintf("g%d", g), "E", map[string]any{"i": i})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := cl.Flush(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	got := col.storedIDs()
	if len(got) != len(all) || len(all) != 2400 {
		t.Fatalf("stored %d, sent %d, want 2400", len(got), len(all))
	}
	for _, id := range got {
		if !all[id] {
			t.Fatalf("stored unknown id %s", id)
		}
	}
}

func TestNewRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		endpoint, key string
		opts          []Option
	}{
		{"", "k", nil},
		{"ftp://x", "k", nil},
		{"http://", "k", nil},
		{"http://127.0.0.1:1", "", nil},
		{"http://127.0.0.1:1", "k", []Option{WithBatchSize(0)}},
		{"http://127.0.0.1:1", "k", []Option{WithFlushInterval(0)}},
		{"http://127.0.0.1:1", "k", []Option{WithMaxBodyBytes(10)}},
		{"http://127.0.0.1:1", "k", []Option{WithRetries(-1, time.Second, time.Second)}},
		{"http://127.0.0.1:1", "k", []Option{WithQueueSize(0, 1<<20)}},
		{"http://127.0.0.1:1", "k", []Option{WithHTTPClient(nil)}},
	} {
		if c, err := New(tc.endpoint, tc.key, tc.opts...); err == nil {
			c.Close(context.Background())
			t.Errorf("New(%q, %q, …) accepted bad arguments", tc.endpoint, tc.key)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"99999999999", 10 * time.Minute},
		{"Thu, 26 Nov 2026 12:00:30 GMT", 30 * time.Second},
		{"Thu, 26 Nov 2026 11:00:00 GMT", 0},
		{"soon", 0},
	} {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		if got := retryAfter(h, now, 10*time.Minute); got != tc.want {
			t.Errorf("Retry-After %q = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestBackoffIsFullJitterWithinCap(t *testing.T) {
	c := &Client{cfg: defaultConfig()}
	c.cfg.backoffBase, c.cfg.backoffCap = 100*time.Millisecond, time.Second
	for attempt := range 70 {
		ceil := min(time.Second, 100*time.Millisecond<<min(attempt, 20))
		var maxSeen time.Duration
		for range 200 {
			d := c.backoff(attempt)
			if d < 0 || d > ceil {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < ceil/2 {
			t.Errorf("attempt %d: largest of 200 backoffs %v, not spread up to %v", attempt, maxSeen, ceil)
		}
	}
}

func BenchmarkEnqueue(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"success":true}`)
	}))
	defer srv.Close()
	cl, err := New(srv.URL, testKey, WithBlockWhenFull())
	if err != nil {
		b.Fatal(err)
	}
	props := map[string]any{"product_id": "p123", "position": 3, "search_id": "s-1"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cl.Track(ctx, "customer-1", "Product Clicked", props); err != nil {
			b.Fatal(err)
		}
	}
	if err := cl.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	c := &Client{cfg: defaultConfig()}
	batch := make([]item, 100)
	for i := range batch {
		it, err := encodeEvent(Event{Type: "track", Event: "Product Clicked", UserID: "c1", Properties: map[string]any{"product_id": i, "position": i}}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		batch[i] = it
	}
	b.ReportAllocs()
	for b.Loop() {
		c.encodeBatch(batch, time.Now())
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"track","event":"Product Clicked","userId":"u","properties":{"product_id":"p","position":1}}`,
		`{"type":"identify","anonymousId":"a","traits":{"x":1},"messageId":"m","timestamp":"2024-01-01T00:00:00Z"}`,
		`{"type":"page","userId":"u","context":[]}`,
		`{"type":"track"}`, `null`, `[]`, `{"type":1}`, `{} {}`, "{\"type\":\"track\",\"event\":\"\xff\",\"userId\":\"u\"}",
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		it, err := decodeEvent(raw, now)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) && !errors.Is(err, ErrEventTooLarge) {
				t.Fatalf("error %v wraps neither ErrInvalidEvent nor ErrEventTooLarge", err)
			}
			return
		}
		if it.id == "" || len(it.raw) > MaxEventBytes {
			t.Fatalf("accepted event without id or too large: %q", it.raw)
		}
		var m map[string]any
		if err := json.Unmarshal(it.raw, &m); err != nil {
			t.Fatalf("accepted event does not re-decode: %v", err)
		}
		if m["messageId"] != it.id || m["timestamp"] == nil {
			t.Fatalf("messageId/timestamp not filled: %s", it.raw)
		}
		if m["userId"] == nil && m["anonymousId"] == nil {
			t.Fatalf("accepted an event without ids: %s", it.raw)
		}
	})
}
