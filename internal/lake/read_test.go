package lake

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
)

// world writes n events spread over 3 days and several names, in shuffled time order,
// in batches of 50; it returns them.
func world(t *testing.T, st Storage, prefix string, n, nnames int, o WriterOptions) []event.Event {
	names := []string{event.ProductClicked, event.ProductListViewed, event.ProductReturned, event.IdentifyName, event.PageName, "Coupon Applied"}[:nnames]
	r := rand.New(rand.NewPCG(7, 7))
	var evs []event.Event
	for i := range n {
		// 4 hours over 3 days, any second within the hour
		ts := t0.Truncate(time.Hour).Add(time.Duration(r.IntN(4))*18*time.Hour + time.Duration(r.IntN(3600))*time.Second)
		evs = append(evs, ev(fmt.Sprint(prefix, i), names[r.IntN(len(names))], ts, fmt.Sprint("u", r.IntN(20))))
	}
	w := newWriter(t, st, t.TempDir(), o)
	defer w.Close(context.Background())
	errs := make(chan error, n)
	batches := 0
	for i := 0; i < n; i += 50 {
		w.Add(evs[i:min(i+50, n)], func(err error) { errs <- err })
		batches++
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range batches {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return evs
}

func TestStatsAndScan(t *testing.T) {
	ctx := context.Background()
	st := newFS(t)
	evs := world(t, st, "w", 240, 6, WriterOptions{})
	wantEvents, wantDays := map[string]int64{}, map[string]int64{}
	for _, e := range evs {
		wantEvents[e.PartitionName()]++
		wantDays[e.Timestamp.Format("2006-01-02")]++
	}
	s, err := Stats(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(s.Events) != fmt.Sprint(wantEvents) || fmt.Sprint(s.Days) != fmt.Sprint(wantDays) || s.Files == 0 || s.Bytes == 0 {
		t.Fatalf("stats %+v\nwant events %v days %v", s, wantEvents, wantDays)
	}

	// sorted scan of two events over a time range
	from, to := t0.Add(17*time.Hour), t0.Add(37*time.Hour)
	want := map[string]bool{}
	for _, e := range evs {
		if (e.PartitionName() == event.ProductClicked || e.PartitionName() == event.PageName) && !e.Timestamp.Before(from) && e.Timestamp.Before(to) {
			want[e.MessageID] = true
		}
	}
	var last time.Time
	got := map[string]bool{}
	err = Scan(ctx, st, ScanOptions{Events: []string{event.ProductClicked, event.PageName}, From: from, To: to, Sorted: true}, func(r *Row) error {
		if r.Timestamp.Before(last) {
			return fmt.Errorf("row %s at %v comes after %v", r.MessageID, r.Timestamp, last)
		}
		last = r.Timestamp
		if got[r.MessageID] {
			return fmt.Errorf("row %s twice", r.MessageID)
		}
		got[r.MessageID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("scan returned %d rows, want %d", len(got), len(want))
	}
	// rows rebuild their events
	byID := map[string]event.Event{}
	for _, e := range evs {
		byID[e.MessageID] = e
	}
	err = Scan(ctx, st, ScanOptions{}, func(r *Row) error {
		e, back := byID[r.MessageID], r.ToEvent()
		if back.PartitionName() != e.PartitionName() || !back.Timestamp.Equal(e.Timestamp) || string(back.Properties) != string(e.Properties) || back.UserID != e.UserID || back.Name != e.Name {
			return fmt.Errorf("row %s rebuilds as %+v, want %+v", r.MessageID, back, e)
		}
		if e.Event == event.ProductReturned && (r.OrderID != "7" || r.Size != "9.5" || r.Reason != "too_small") {
			return fmt.Errorf("typed columns of %s: %+v", r.MessageID, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if err := Scan(ctx, st, ScanOptions{}, func(*Row) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Scan did not return fn's error: %v", err)
	}
}

func TestCompactionAndErasure(t *testing.T) {
	ctx := context.Background()
	st := newFS(t)
	evs := world(t, st, "a", 60, 2, WriterOptions{})
	evs = append(evs, world(t, st, "b", 60, 2, WriterOptions{})...) // a second file per partition
	before, _ := Stats(ctx, st)
	countsBefore := idCounts(t, st)

	// an interrupted compaction: the merged file is published but an input is not deleted
	failing := &failDelete{Storage: st}
	if _, err := Compact(ctx, failing, CompactOptions{MinAge: time.Nanosecond}); err == nil {
		t.Fatal("compaction over a storage that cannot delete reported no error")
	}
	if got := idCounts(t, st); fmt.Sprint(got) != fmt.Sprint(countsBefore) {
		t.Fatal("after an interrupted compaction, Scan sees events twice or loses some")
	}
	if s, _ := Stats(ctx, st); fmt.Sprint(s.Events) != fmt.Sprint(before.Events) {
		t.Fatalf("after an interrupted compaction, Stats counts %v, want %v", s.Events, before.Events)
	}

	res, err := Compact(ctx, st, CompactOptions{MinAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := Stats(ctx, st)
	if fmt.Sprint(after.Events) != fmt.Sprint(before.Events) || after.Files >= before.Files || res.Garbage == 0 {
		t.Fatalf("compaction: %+v; stats before %+v after %+v", res, before, after)
	}
	if got := idCounts(t, st); fmt.Sprint(got) != fmt.Sprint(countsBefore) {
		t.Fatal("compaction changed the set of events")
	}
	// one file per partition now
	perDir := map[string]int{}
	_ = st.List(ctx, EventsDir+"/", func(oi ObjectInfo) error { perDir[dir(oi.Key)]++; return nil })
	for d, n := range perDir {
		if n != 1 {
			t.Errorf("partition %s has %d files after compaction", d, n)
		}
	}

	// erasure of one customer (by user id)
	if err := RequestErasure(ctx, st, "u3", ""); err != nil {
		t.Fatal(err)
	}
	wantErased := 0
	for _, e := range evs {
		if e.UserID == "u3" {
			wantErased++
		}
	}
	res, err = Compact(ctx, st, CompactOptions{MinAge: time.Hour}) // erasure ignores MinAge
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsErased != wantErased || res.Erasures != 1 || wantErased == 0 {
		t.Fatalf("erasure: %+v, want %d rows erased", res, wantErased)
	}
	left := 0
	_ = Scan(ctx, st, ScanOptions{}, func(r *Row) error {
		left++
		if r.UserID == "u3" {
			t.Errorf("row %s of the erased user is still in the lake", r.MessageID)
		}
		return nil
	})
	if left != len(evs)-wantErased {
		t.Fatalf("%d rows left, want %d", left, len(evs)-wantErased)
	}
	var pending int
	_ = st.List(ctx, ErasuresDir+"/", func(ObjectInfo) error { pending++; return nil })
	if pending != 0 {
		t.Fatalf("%d erasure requests left after compaction", pending)
	}
}

type failDelete struct{ Storage }

func (f *failDelete) Delete(ctx context.Context, key string) error {
	return fmt.Errorf("injected failure deleting %q", key)
}

func TestWriterOnS3(t *testing.T) {
	st := startS3rver(t, "writer")
	evs := world(t, st, "s", 60, 3, WriterOptions{})
	s, err := Stats(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range s.Events {
		n += c
	}
	if n != int64(len(evs)) {
		t.Fatalf("S3 lake holds %d rows, want %d: %+v", n, len(evs), s)
	}
	if c := idCounts(t, st); len(c) != len(evs) {
		t.Fatalf("scan of the S3 lake found %d distinct events, want %d", len(c), len(evs))
	}
}

// TestDuckDBReadsTheLake reads the lake with DuckDB (npm @duckdb/node-api, a prebuilt
// binary) as an outside reader would: hive partitioning, typed columns, timestamps.
func TestDuckDBReadsTheLake(t *testing.T) {
	node, err := exec.LookPath("node")
	mod := filepath.Join(testdataDir(), "duckdb", "node_modules", "@duckdb", "node-api")
	_, serr := os.Stat(mod)
	requireTool(t, err == nil && serr == nil, "node and the @duckdb/node-api npm package (cd internal/lake/testdata/duckdb && npm ci)")
	st := newFS(t)
	evs := world(t, st, "d", 100, 6, WriterOptions{})
	var clicks int
	for _, e := range evs {
		if e.Event == event.ProductClicked {
			clicks++
		}
	}
	glob := filepath.Join(st.Root(), "events", "**", "*.parquet")
	sql := fmt.Sprintf(`select count(*)::int as n, count(distinct message_id)::int as ids,
	  sum(case when event = 'Product Clicked' then 1 else 0 end)::int as clicks,
	  sum(case when "position" = 3 and product_id like 'p-%%' then 1 else 0 end)::int as typed,
	  min(typeof("timestamp")) as ts_type, min(typeof(dt)) as dt_type,
	  min(strftime("timestamp", '%%Y-%%m-%%d')) as first_day
	  from read_parquet('%s', hive_partitioning = true)`, glob)
	out, err := exec.Command(node, filepath.Join(testdataDir(), "duckdb", "query.mjs"), sql).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	got := strings.TrimSpace(string(out))
	want := fmt.Sprintf(`[{"n":%d,"ids":%d,"clicks":%d,"typed":%d,"ts_type":"TIMESTAMP WITH TIME ZONE","dt_type":"DATE","first_day":"2026-11-20"}]`, len(evs), len(evs), clicks, clicks)
	if got != want {
		t.Fatalf("duckdb answered\n%s\nwant\n%s", got, want)
	}
}

// A sorted scan, whose hours are decoded ahead by other goroutines, gives every row
// once in (timestamp, message_id) order; an error from fn or a cancelled context
// ends it with that error.
func TestSortedScanOrderAndStop(t *testing.T) {
	ctx := context.Background()
	st := newFS(t)
	// Two writes: several files per hour.
	evs := append(world(t, st, "a", 300, 6, WriterOptions{}), world(t, st, "b", 300, 6, WriterOptions{})...)
	slices.SortFunc(evs, func(a, b event.Event) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return strings.Compare(a.MessageID, b.MessageID)
	})
	var got []string
	if err := Scan(ctx, st, ScanOptions{Sorted: true}, func(r *Row) error { got = append(got, r.MessageID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("%d rows, want %d", len(got), len(evs))
	}
	for i := range evs {
		if got[i] != evs[i].MessageID {
			t.Fatalf("row %d is %s, want %s", i, got[i], evs[i].MessageID)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := Scan(ctx, st, ScanOptions{Sorted: true}, func(*Row) error {
		if n++; n == 100 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 100 {
		t.Fatalf("after fn's error: %v, %d rows", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	n = 0
	err = Scan(cctx, st, ScanOptions{Sorted: true}, func(*Row) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scan: %v after %d rows", err, n)
	}
}
