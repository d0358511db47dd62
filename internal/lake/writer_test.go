package lake

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bespokesearch/bespoke/internal/event"
)

func TestDoneOnlyAfterDurablePublication(t *testing.T) {
	st := newFS(t)
	w := newWriter(t, st, t.TempDir(), WriterOptions{MaxFileAge: time.Hour})
	defer w.Close(context.Background())
	var called atomic.Bool
	var doneErr error
	w.Add([]event.Event{ev("1", event.ProductClicked, t0, "u1"), ev("2", event.ProductListViewed, t0.Add(2*time.Hour), "u1")},
		func(err error) { doneErr = err; called.Store(true) })
	time.Sleep(50 * time.Millisecond)
	if called.Load() {
		t.Fatal("done called while the events are only in open files")
	}
	if s, _ := Stats(context.Background(), st); s.Files != 0 {
		t.Fatalf("files visible before publication: %+v", s)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !called.Load() || doneErr != nil {
		t.Fatalf("after Flush: done called=%v err=%v", called.Load(), doneErr)
	}
	s, err := Stats(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 2 || s.Events[event.ProductClicked] != 1 || s.Events[event.ProductListViewed] != 1 || s.Days["2026-11-20"] != 2 {
		t.Fatalf("stats after flush: %+v", s)
	}
}

func TestRollBySizeAndAge(t *testing.T) {
	st := newFS(t)
	w := newWriter(t, st, t.TempDir(), WriterOptions{MaxFileBytes: 20 << 10, MaxFileAge: 200 * time.Millisecond})
	defer w.Close(context.Background())
	var evs []event.Event
	for i := range 3000 {
		evs = append(evs, ev(fmt.Sprint("m", i), event.ProductClicked, t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("u", i)))
	}
	ch := make(chan error, 1)
	start := time.Now()
	w.Add(evs, func(err error) { ch <- err })
	select { // no Flush: the age roll must publish
	case err := <-ch:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("done not called 5 s after a 200 ms roll age")
	}
	t.Logf("acknowledged after %v", time.Since(start))
	s, _ := Stats(context.Background(), st)
	if s.Files < 3 || s.Events[event.ProductClicked] != 3000 {
		t.Fatalf("want ≥ 3 files rolled by size holding 3000 rows, got %+v", s)
	}
	if err := st.List(context.Background(), EventsDir+"/", func(oi ObjectInfo) error {
		if oi.Size > 200<<10 {
			t.Errorf("file %s is %d bytes, far over the 20 KiB roll size", oi.Key, oi.Size)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestOpenFilesCapped(t *testing.T) {
	st := newFS(t)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, st, t.TempDir(), WriterOptions{MaxOpenFiles: 3, MaxFileAge: time.Hour, Metrics: m})
	defer w.Close(context.Background())
	// a backfill over 12 hours, one event per hour per call
	for h := range 12 {
		w.Add([]event.Event{ev(fmt.Sprint("h", h), event.ProductViewed, t0.Add(-time.Duration(h)*time.Hour), "u")}, nil)
		if n := val(m.OpenFiles); n > 3 {
			t.Fatalf("%v files open, cap is 3", n)
		}
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, _ := Stats(context.Background(), st)
	if s.Files != 12 || s.Events[event.ProductViewed] != 12 || len(s.Days) != 2 {
		t.Fatalf("stats: %+v", s)
	}
	if got := val(m.FilesWritten.WithLabelValues("events")); got != 12 {
		t.Fatalf("files_written{events} = %v, want 12", got)
	}
}

func TestDuplicatesDropped(t *testing.T) {
	st := newFS(t)
	state := t.TempDir()
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m, _ := NewMetrics(nil)
	w := newWriter(t, st, state, WriterOptions{Now: clock, Metrics: m, MaxFileAge: time.Hour})
	a := ev("dup-1", event.ProductClicked, t0, "u1")
	a.ReceivedAt = time.Time{} // stamped by the writer's clock
	// twice in one batch, again in an open file, again after publication
	if err := addWait(t, w, []event.Event{a, a, ev("x", event.ProductClicked, t0, "u1")}); err != nil {
		t.Fatal(err)
	}
	if err := addWait(t, w, []event.Event{a}); err != nil {
		t.Fatal(err)
	}
	w.Close(context.Background())
	// after a restart, within the window
	mu.Lock()
	now = t0.Add(6 * 24 * time.Hour)
	mu.Unlock()
	w = newWriter(t, st, state, WriterOptions{Now: clock, Metrics: m})
	if err := addWait(t, w, []event.Event{a}); err != nil {
		t.Fatal(err)
	}
	if c := idCounts(t, st); c["dup-1"] != 1 || c["x"] != 1 {
		t.Fatalf("counts within the window: %v", c)
	}
	if got := val(m.Duplicates); got != 3 {
		t.Fatalf("duplicates metric %v, want 3", got)
	}
	// after the 7-day window the same messageId is a new event
	w.Close(context.Background())
	mu.Lock()
	now = t0.Add(8 * 24 * time.Hour)
	mu.Unlock()
	w = newWriter(t, st, state, WriterOptions{Now: clock, Metrics: m})
	defer w.Close(context.Background())
	if err := addWait(t, w, []event.Event{a}); err != nil {
		t.Fatal(err)
	}
	if c := idCounts(t, st); c["dup-1"] != 2 {
		t.Fatalf("after the window: %v", c)
	}
}

func TestDuplicateWaitsForOpenFile(t *testing.T) {
	st := newFS(t)
	w := newWriter(t, st, t.TempDir(), WriterOptions{MaxFileAge: time.Hour})
	defer w.Close(context.Background())
	a := ev("a", event.ProductClicked, t0, "u1")
	w.Add([]event.Event{a}, nil)
	var called atomic.Bool
	w.Add([]event.Event{a}, func(error) { called.Store(true) })
	time.Sleep(30 * time.Millisecond)
	if called.Load() {
		t.Fatal("a batch whose event is only in an open file was acknowledged")
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !called.Load() {
		t.Fatal("done not called after Flush")
	}
}

// The crash points of doc.go, simulated by putting the seen-set in the state a crash
// would leave and building a new Writer over the same folders, then redelivering.
func TestExactlyOnceAcrossCrashes(t *testing.T) {
	ctx := context.Background()
	batch := []event.Event{
		ev("c1", event.ProductClicked, t0, "u1"), ev("c2", event.ProductClicked, t0, "u2"),
		ev("c3", event.ProductReturned, t0.Add(time.Hour), "u1"),
	}
	published := func(t *testing.T, st Storage) []string {
		var keys []string
		_ = st.List(ctx, EventsDir+"/", func(oi ObjectInfo) error { keys = append(keys, oi.Key); return nil })
		return keys
	}
	idsOf := func(evs []event.Event) []idAt {
		var out []idAt
		for _, e := range evs {
			out = append(out, idAt{e.MessageID, e.ReceivedAt.UnixMicro()})
		}
		return out
	}
	redeliver := func(t *testing.T, st Storage, state string) {
		w := newWriter(t, st, state, WriterOptions{})
		defer w.Close(ctx)
		if err := addWait(t, w, batch); err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			if n := idCounts(t, st)[e.MessageID]; n != 1 {
				t.Fatalf("%s stored %d times after redelivery", e.MessageID, n)
			}
		}
	}

	t.Run("after publish, before the seen-set update", func(t *testing.T) {
		st, state := newFS(t), t.TempDir()
		w := newWriter(t, st, state, WriterOptions{})
		if err := addWait(t, w, batch); err != nil {
			t.Fatal(err)
		}
		w.Close(ctx)
		// undo step 4: the ids are not seen, the markers are back
		s, err := openSeen(state, 7*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			_ = s.db.Delete(seenKey(e.MessageID), pebble.Sync)
		}
		for _, k := range published(t, st) {
			if err := s.prepare(k, idsIn(t, st, k)); err != nil {
				t.Fatal(err)
			}
		}
		s.close()
		redeliver(t, st, state)
	})
	t.Run("after the marker, before publish", func(t *testing.T) {
		st, state := newFS(t), t.TempDir()
		s, err := openSeen(state, 7*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.prepare(PartitionOf(event.ProductClicked, t0).Dir()+"/never.parquet", idsOf(batch[:2])); err != nil {
			t.Fatal(err)
		}
		s.close()
		// a temporary file left behind
		p, _ := st.Create(ctx, PartitionOf(event.ProductClicked, t0).Dir()+"/never.parquet")
		_, _ = p.Write([]byte("PAR1 partial"))
		redeliver(t, st, state)
		if n := len(published(t, st)); n != 2 {
			t.Fatalf("%d files published, want 2", n)
		}
	})
	t.Run("published file merged by compaction before restart", func(t *testing.T) {
		st, state := newFS(t), t.TempDir()
		w := newWriter(t, st, state, WriterOptions{})
		for _, e := range batch {
			if err := addWait(t, w, []event.Event{e}); err != nil {
				t.Fatal(err)
			}
		}
		w.Close(ctx)
		keys := published(t, st)
		s, _ := openSeen(state, 7*24*time.Hour)
		for _, e := range batch {
			_ = s.db.Delete(seenKey(e.MessageID), pebble.Sync)
		}
		if len(keys) != 3 {
			t.Fatalf("%d files, want 3", len(keys))
		}
		for _, k := range keys {
			if err := s.prepare(k, idsIn(t, st, k)); err != nil {
				t.Fatal(err)
			}
		}
		s.close()
		if _, err := Compact(ctx, st, CompactOptions{MinFiles: 2, MinAge: time.Nanosecond}); err != nil {
			t.Fatal(err)
		}
		redeliver(t, st, state)
	})
}

func TestDeadLetters(t *testing.T) {
	st := newFS(t)
	m, _ := NewMetrics(nil)
	w := newWriter(t, st, t.TempDir(), WriterOptions{Metrics: m})
	defer w.Close(context.Background())
	good := ev("g", event.ProductClicked, t0, "u")
	noName := ev("n", "", t0, "u")
	badProps := ev("b", event.ProductClicked, t0, "u")
	badProps.Properties = []byte(`{"position":"first"}`)
	env, err := event.AppendEnvelope(nil, []event.Event{good, noName, badProps})
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, []byte("{not json\n")...)
	ch := make(chan error, 1)
	w.AddEnvelope(env, func(err error) { ch <- err })
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	s, _ := Stats(context.Background(), st)
	if s.Events[event.ProductClicked] != 1 || s.DeadLetters != 3 || s.DeadLetterFiles != 1 {
		t.Fatalf("stats: %+v", s)
	}
	reasons := map[string]bool{}
	if err := ScanDeadLetters(context.Background(), st, func(d *DeadLetter) error {
		reasons[d.Reason[:7]] = true
		if len(d.Raw) == 0 {
			t.Errorf("dead letter without its raw bytes: %+v", d)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reasons["decode:"] || !reasons["convert"] {
		t.Fatalf("reasons: %v", reasons)
	}
	if val(m.DeadLetters.WithLabelValues("decode")) != 1 || val(m.DeadLetters.WithLabelValues("convert")) != 2 {
		t.Fatal("dead-letter metrics do not count 1 decode and 2 convert")
	}
}

func TestAtomicPublicationUnderConcurrentReads(t *testing.T) {
	st := newFS(t)
	w := newWriter(t, st, t.TempDir(), WriterOptions{MaxFileBytes: 8 << 10})
	defer w.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var opened atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_ = st.List(context.Background(), "", func(oi ObjectInfo) error {
				f, o, err := openParquet(context.Background(), st, oi.Key)
				if err != nil {
					t.Errorf("listed object %s is not a complete Parquet file: %v", oi.Key, err)
					return nil
				}
				_ = f
				o.Close()
				opened.Add(1)
				return nil
			})
		}
	}()
	for b := range 6 {
		var evs []event.Event
		for i := range 100 {
			evs = append(evs, ev(fmt.Sprint(b, "-", i), event.ProductClicked, t0, "u"))
		}
		if err := addWait(t, w, evs); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if opened.Load() == 0 {
		t.Fatal("the concurrent reader never saw a file")
	}
}

func TestFileSchemaForOutsideReaders(t *testing.T) {
	st := newFS(t)
	w := newWriter(t, st, t.TempDir(), WriterOptions{})
	if err := addWait(t, w, []event.Event{ev("1", event.ProductClicked, t0, "u")}); err != nil {
		t.Fatal(err)
	}
	w.Close(context.Background())
	var key string
	_ = st.List(context.Background(), EventsDir+"/", func(oi ObjectInfo) error { key = oi.Key; return nil })
	f, err := parquet.OpenFile(mustOpen(t, filepath.Join(st.Root(), key)))
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]parquet.Node{}
	for _, fld := range f.Schema().Fields() {
		cols[fld.Name()] = fld
	}
	for _, c := range []string{"message_id", "type", "event", "user_id", "anonymous_id", "timestamp", "received_at", "properties", "context",
		"query", "search_id", "product_id", "position", "size", "order_id", "reason"} {
		if cols[c] == nil {
			t.Errorf("column %q missing", c)
		}
	}
	for _, c := range []string{"timestamp", "received_at"} {
		lt := cols[c].Type().LogicalType()
		if lt == nil || !strings.Contains(lt.String(), "TIMESTAMP(isAdjustedToUTC=true") || !strings.Contains(lt.String(), "MICROS") {
			t.Errorf("column %s has logical type %v, want TIMESTAMP(MICROS, UTC)", c, lt)
		}
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec.String() != "ZSTD" {
				t.Errorf("column %v compressed with %v, want ZSTD", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}
	// typed columns read back through a generic (schema-less) reader
	rows := make([]parquet.Row, 1)
	r := parquet.NewReader(f)
	if n, _ := r.ReadRows(rows); n != 1 {
		t.Fatal("generic reader read no row")
	}
	got := map[string]string{}
	for _, v := range rows[0] {
		got[f.Schema().Columns()[v.Column()][0]] = v.String()
	}
	if got["product_id"] != "p-1" || got["position"] != "3" || got["query"] != "black boots" || got["event"] != "Product Clicked" {
		t.Fatalf("generic reader row: %v", got)
	}
}

// idsIn reads the messageIds (and receivedAt) of one lake file.
func idsIn(t *testing.T, st Storage, key string) []idAt {
	var out []idAt
	if err := readRows(context.Background(), st, key, func(r *Row) error {
		out = append(out, idAt{r.MessageID, r.ReceivedAt.UnixMicro()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
