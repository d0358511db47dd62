// Package streamtest is the conformance suite every stream.Stream backend must pass
// (embedded JetStream, external JetStream, and any future backend). It is used only by
// tests and must never be imported by production code.
package streamtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/stream"
)

// Backend is one isolated stream under test.
type Backend struct {
	// Open opens the stream. Called again after the previous handle was closed, it must
	// reopen the same stream with the same content (for an embedded server: restart it on
	// the same directory).
	Open func(t *testing.T) stream.Stream
	// Break makes the open stream s unreachable for good (stop the server, cut the network).
	Break func(t *testing.T, s stream.Stream)
}

// Run runs the suite. newBackend is called once per subtest and must return a fresh,
// empty stream that nothing else uses.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"PublishConsumeAck", testPublishConsumeAck},
		{"Dedup", testDedup},
		{"RedeliveryAfterConsumerRestart", testRedelivery},
		{"NakRedeliversAtOnce", testNak},
		{"DurableAcrossReopen", testReopen},
		{"ConcurrentPublish", testConcurrentPublish},
		{"TooLarge", testTooLarge},
		{"UnavailableFailsPromptly", testUnavailable},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBackend(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func publishN(t *testing.T, s stream.Stream, prefix string, n int) {
	t.Helper()
	ctx := ctxT(t)
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := s.Publish(ctx, id, []byte("data of "+id)); err != nil {
			t.Fatalf("Publish(%s): %v", id, err)
		}
	}
}

// fetchAll fetches until want messages arrived or wait elapsed with nothing new.
func fetchAll(t *testing.T, c stream.Consumer, want int, wait time.Duration) []stream.Delivery {
	t.Helper()
	ctx := ctxT(t)
	var out []stream.Delivery
	for len(out) < want {
		ds, err := c.Fetch(ctx, want-len(out), wait)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		if len(ds) == 0 {
			break
		}
		out = append(out, ds...)
	}
	return out
}

func ack(t *testing.T, ds ...stream.Delivery) {
	t.Helper()
	ctx := ctxT(t)
	for _, d := range ds {
		if err := d.Ack(ctx); err != nil {
			t.Fatalf("Ack(seq %d): %v", d.Seq(), err)
		}
	}
}

func ids(ds []stream.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID()
	}
	return out
}

func testPublishConsumeAck(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	publishN(t, s, "m", 25)
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 25 || info.LastSeq != 25 || info.FirstSeq != 1 {
		t.Fatalf("Info after 25 publishes = %+v, want 25 messages, seq 1..25", info)
	}
	c, err := s.Consumer(ctx, "reader", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A bounded fetch returns at most max.
	first, err := c.Fetch(ctx, 10, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 10 {
		t.Fatalf("Fetch(10) returned %d messages, want 10", len(first))
	}
	ds := append(first, fetchAll(t, c, 15, time.Second)...)
	if len(ds) != 25 {
		t.Fatalf("fetched %d messages, want 25", len(ds))
	}
	for i, d := range ds {
		wantID := fmt.Sprintf("m-%d", i)
		if d.ID() != wantID || string(d.Data()) != "data of "+wantID || d.Seq() != uint64(i+1) || d.NumDelivered() != 1 {
			t.Fatalf("delivery %d = id %q data %q seq %d n %d; want id %q, seq %d, first delivery",
				i, d.ID(), d.Data(), d.Seq(), d.NumDelivered(), wantID, i+1)
		}
	}
	ci, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.AckPending != 25 || ci.Lag() != 25 || ci.Pending != 0 {
		t.Fatalf("consumer info before acks = %+v, want 25 ack-pending", ci)
	}
	ack(t, ds...)
	ci, err = c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Lag() != 0 || ci.AckFloor != 25 {
		t.Fatalf("consumer info after acks = %+v, want lag 0, ack floor 25", ci)
	}
	start := time.Now()
	more, err := c.Fetch(ctx, 10, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(more) != 0 {
		t.Fatalf("Fetch after acking everything returned %v, want nothing", ids(more))
	}
	if el := time.Since(start); el < 150*time.Millisecond || el > 3*time.Second {
		t.Fatalf("empty Fetch with wait 200ms took %s", el)
	}
	// A message published while a Fetch waits is returned without waiting the full time.
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = s.Publish(context.Background(), "late", []byte("late"))
	}()
	start = time.Now()
	late, err := c.Fetch(ctx, 10, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(late) != 1 || late[0].ID() != "late" {
		t.Fatalf("Fetch while publishing returned %v, want [late]", ids(late))
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Fetch waited %s for a message published after 100ms", el)
	}
	ack(t, late...)
}

func testDedup(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	for i, data := range []string{"first", "retry", "retry again"} {
		if err := s.Publish(ctx, "same-id", []byte(data)); err != nil {
			t.Fatalf("Publish #%d of same id: %v", i, err)
		}
	}
	if err := s.Publish(ctx, "other-id", []byte("other")); err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 2 {
		t.Fatalf("stream holds %d messages after 3 publishes of one id and 1 of another, want 2", info.Messages)
	}
	c, err := s.Consumer(ctx, "dedup", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds := fetchAll(t, c, 3, 300*time.Millisecond)
	if len(ds) != 2 || string(ds[0].Data()) != "first" || ds[1].ID() != "other-id" {
		t.Fatalf("consumed %v, want the first publish of same-id then other-id", ids(ds))
	}
	if err := s.Publish(ctx, "", []byte("x")); err == nil {
		t.Fatal("Publish with an empty id succeeded, want an error")
	}
}

func testRedelivery(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	publishN(t, s, "r", 6)
	opts := stream.ConsumerOptions{AckWait: 700 * time.Millisecond}
	c, err := s.Consumer(ctx, "redeliver", opts)
	if err != nil {
		t.Fatal(err)
	}
	ds := fetchAll(t, c, 6, time.Second)
	if len(ds) != 6 {
		t.Fatalf("fetched %d, want 6", len(ds))
	}
	ack(t, ds[0], ds[2], ds[4])
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(ctx, 1, 0); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("Fetch on a closed consumer: err = %v, want ErrClosed", err)
	}
	c2, err := s.Consumer(ctx, "redeliver", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got := fetchAll(t, c2, 3, 3*time.Second)
	slices.SortFunc(got, func(a, b stream.Delivery) int { return int(a.Seq()) - int(b.Seq()) })
	if want := []string{"r-1", "r-3", "r-5"}; !slices.Equal(ids(got), want) {
		t.Fatalf("redelivered %v, want %v (the unacknowledged ones)", ids(got), want)
	}
	for _, d := range got {
		if d.NumDelivered() < 2 {
			t.Fatalf("redelivered %s has NumDelivered %d, want ≥ 2", d.ID(), d.NumDelivered())
		}
	}
	ack(t, got...)
	if more := fetchAll(t, c2, 1, time.Second); len(more) != 0 {
		t.Fatalf("after acking all, got %v again", ids(more))
	}
}

func testNak(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	publishN(t, s, "n", 2)
	c, err := s.Consumer(ctx, "nak", stream.ConsumerOptions{AckWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds := fetchAll(t, c, 2, time.Second)
	if len(ds) != 2 {
		t.Fatalf("fetched %d, want 2", len(ds))
	}
	ack(t, ds[0])
	if err := ds[1].Nak(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	again := fetchAll(t, c, 1, 5*time.Second)
	if len(again) != 1 || again[0].ID() != "n-1" || again[0].NumDelivered() != 2 {
		t.Fatalf("after Nak got %v, want n-1 redelivered", ids(again))
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("Nak'd message came back after %s, want at once (AckWait is a minute)", el)
	}
	ack(t, again...)
}

func testReopen(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := ctxT(t)
	publishN(t, s, "d", 4)
	opts := stream.ConsumerOptions{AckWait: 700 * time.Millisecond}
	c, err := s.Consumer(ctx, "durable", opts)
	if err != nil {
		t.Fatal(err)
	}
	ds := fetchAll(t, c, 2, time.Second)
	if len(ds) != 2 {
		t.Fatalf("fetched %d, want 2", len(ds))
	}
	ack(t, ds[0]) // d-0 acknowledged; d-1 delivered, not acknowledged; d-2, d-3 never delivered
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s2 := b.Open(t)
	defer s2.Close()
	info, err := s2.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 4 || info.LastSeq != 4 {
		t.Fatalf("after reopening, stream info = %+v, want the 4 messages", info)
	}
	// Dedup survives the restart too (within the window).
	if err := s2.Publish(ctx, "d-3", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if err := s2.Publish(ctx, "d-4", []byte("data of d-4")); err != nil {
		t.Fatal(err)
	}
	c2, err := s2.Consumer(ctx, "durable", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got := fetchAll(t, c2, 4, 3*time.Second)
	slices.SortFunc(got, func(a, b stream.Delivery) int { return int(a.Seq()) - int(b.Seq()) })
	if want := []string{"d-1", "d-2", "d-3", "d-4"}; !slices.Equal(ids(got), want) {
		t.Fatalf("after reopening, consumed %v, want %v (not the acknowledged d-0, d-3 once)", ids(got), want)
	}
	if string(got[2].Data()) != "data of d-3" {
		t.Fatalf("d-3 = %q, want the original data", got[2].Data())
	}
	ack(t, got...)
}

func testConcurrentPublish(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Publish(ctx, id, []byte(id)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c, err := s.Consumer(ctx, "all", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds := fetchAll(t, c, workers*each, time.Second)
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.ID()] || d.ID() != string(d.Data()) {
			t.Fatalf("message %q seen twice or with wrong data %q", d.ID(), d.Data())
		}
		seen[d.ID()] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("consumed %d distinct messages, want %d", len(seen), workers*each)
	}
}

func testTooLarge(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	max := s.MaxMessageBytes()
	if max < 64<<10 {
		t.Fatalf("MaxMessageBytes = %d, want at least 64 KiB", max)
	}
	big := make([]byte, max+1)
	if err := s.Publish(ctx, "big", big); !errors.Is(err, stream.ErrTooLarge) {
		t.Fatalf("Publish of MaxMessageBytes+1: err = %v, want ErrTooLarge", err)
	}
	if err := s.Publish(ctx, "max", big[:max]); err != nil {
		t.Fatalf("Publish of exactly MaxMessageBytes (%d): %v", max, err)
	}
	c, err := s.Consumer(ctx, "big", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ds := fetchAll(t, c, 1, time.Second)
	if len(ds) != 1 || len(ds[0].Data()) != max {
		t.Fatalf("consumed %d messages, want the one of %d bytes", len(ds), max)
	}
}

func testUnavailable(t *testing.T, b Backend) {
	s := b.Open(t)
	defer s.Close()
	ctx := ctxT(t)
	if err := s.Publish(ctx, "before", []byte("x")); err != nil {
		t.Fatal(err)
	}
	b.Break(t, s)
	for i := range 3 {
		pctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := s.Publish(pctx, fmt.Sprintf("during-%d", i), []byte("x"))
		el := time.Since(start)
		cancel()
		if err == nil {
			t.Fatalf("Publish #%d to a broken stream succeeded", i)
		}
		if el > 600*time.Millisecond {
			t.Fatalf("Publish #%d to a broken stream took %s with a 300ms deadline (err %v)", i, el, err)
		}
	}
}

func testClosed(t *testing.T, b Backend) {
	s := b.Open(t)
	ctx := ctxT(t)
	c, err := s.Consumer(ctx, "closing", stream.ConsumerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, "x", []byte("x")); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("Publish after Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.Consumer(ctx, "closing", stream.ConsumerOptions{}); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("Consumer after Close: err = %v, want ErrClosed", err)
	}
	if _, err := c.Fetch(ctx, 1, 0); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("Fetch after stream Close: err = %v, want ErrClosed", err)
	}
	if _, err := s.Info(ctx); !errors.Is(err, stream.ErrClosed) {
		t.Fatalf("Info after Close: err = %v, want ErrClosed", err)
	}
}
