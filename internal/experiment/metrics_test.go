package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
)

func writeEvents(t *testing.T, st lake.Storage, stateDir string, evs []event.Event) {
	t.Helper()
	ctx := context.Background()
	w, err := lake.NewWriter(ctx, st, lake.WriterOptions{StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	w.Add(evs, func(err error) { done <- err })
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
}

// interleavedLake writes three days of interleaved lists where customers click the
// personalized team's items three times out of four.
func interleavedLake(t *testing.T) (lake.Storage, string, time.Time) {
	dir := t.TempDir()
	st, err := lake.NewFS(filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	seq := 0
	add := func(user, name string, at time.Time, props string) {
		seq++
		evs = append(evs, event.Event{Type: event.TypeTrack, Event: name, UserID: user, MessageID: fmt.Sprint("m", seq), Timestamp: at, ReceivedAt: at, Properties: []byte(props)})
	}
	for day := 0; day < 3; day++ {
		for i := 0; i < 120; i++ {
			user := fmt.Sprint("u", i)
			at := t0.Add(time.Duration(day)*24*time.Hour + 10*time.Hour + time.Duration(i)*time.Minute)
			sid := fmt.Sprint("s", day, "-", i)
			add(user, event.ProductsSearched, at, fmt.Sprintf(`{"query":"boots","search_id":%q,"arm":"interleaved"}`, sid))
			add(user, event.ProductListViewed, at.Add(time.Second), fmt.Sprintf(`{"search_id":%q,"arm":"interleaved","products":[`+
				`{"product_id":"a","position":1,"team":"control"},{"product_id":"b","position":2,"team":"personalized"},`+
				`{"product_id":"c","position":3,"team":"personalized"},{"product_id":"d","position":4,"team":"control"}]}`, sid))
			switch i % 8 {
			case 0, 1, 2, 3, 4: // personalized's item: a win
				add(user, event.ProductClicked, at.Add(2*time.Second), fmt.Sprintf(`{"search_id":%q,"product_id":"b","position":2,"arm":"interleaved"}`, sid))
			case 5: // control's item: a loss
				add(user, event.ProductClicked, at.Add(2*time.Second), fmt.Sprintf(`{"search_id":%q,"product_id":"a","position":1,"arm":"interleaved"}`, sid))
			case 6: // one each: a tie
				add(user, event.ProductClicked, at.Add(2*time.Second), fmt.Sprintf(`{"search_id":%q,"product_id":"a","position":1,"arm":"interleaved"}`, sid))
				add(user, event.ProductClicked, at.Add(3*time.Second), fmt.Sprintf(`{"search_id":%q,"product_id":"c","position":3,"arm":"interleaved"}`, sid))
			}
		}
	}
	writeEvents(t, st, filepath.Join(dir, "state"), evs)
	return st, dir, t0
}

func TestInterleavingPreferenceFromTheLake(t *testing.T) {
	st, _, t0 := interleavedLake(t)
	rep, err := Compute(context.Background(), st, t0, t0.Add(3*24*time.Hour), Split{Interleave: 1}.Arm)
	if err != nil {
		t.Fatal(err)
	}
	in := rep.Interleaving
	if in == nil {
		t.Fatal("no interleaving in the report")
	}
	// Per day: 120 lists, 75 wins (i%8 in 0..4), 15 losses, 15 ties, 15 without clicks.
	if in.Lists != 360 || in.Wins != 225 || in.Losses != 45 || in.Ties != 45 || in.WithClicks != 315 {
		t.Fatalf("interleaving %+v", in)
	}
	if want := (225.0 - 45) / 315; abs(in.Preference.Value-want) > 1e-4 {
		t.Errorf("preference %v, want %v", in.Preference.Value, want)
	}
	if !(in.Preference.CI95[0] > 0 && in.Preference.CI95[0] < in.Preference.Value && in.Preference.CI95[1] > in.Preference.Value) {
		t.Errorf("preference CI %v should bracket %v and exclude zero", in.Preference.CI95, in.Preference.Value)
	}
	if in.SignTestP > 1e-6 {
		t.Errorf("sign test p %v for 225 wins / 45 losses", in.SignTestP)
	}
	if len(rep.Daily) != 3 || rep.Daily[1].Interleaving == nil || rep.Daily[1].Interleaving.Wins != 75 {
		t.Fatalf("daily interleaving: %+v", rep.Daily)
	}
}

func TestCacheReusesUnchangedDays(t *testing.T) {
	st, dir, t0 := interleavedLake(t)
	ctx := context.Background()
	var c Cache
	armOf := Split{Interleave: 1}.Arm
	from, to := t0, t0.Add(3*24*time.Hour)
	first, err := c.Compute(ctx, st, from, to, armOf, "k")
	if err != nil {
		t.Fatal(err)
	}
	if first.DaysComputed != 3 || first.DaysCached != 0 {
		t.Fatalf("first report: computed %d cached %d", first.DaysComputed, first.DaysCached)
	}
	again, err := c.Compute(ctx, st, from, to, armOf, "k")
	if err != nil {
		t.Fatal(err)
	}
	if again.DaysComputed != 0 || again.DaysCached != 3 {
		t.Fatalf("second report: computed %d cached %d", again.DaysComputed, again.DaysCached)
	}
	a, b := *first, *again
	a.DaysComputed, a.DaysCached, b.DaysComputed, b.DaysCached = 0, 0, 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the cached report differs from the computed one")
	}
	// Another assignment is not served from this one's entries.
	if r, _ := c.Compute(ctx, st, from, to, armOf, "other"); r.DaysCached != 0 {
		t.Fatalf("a new arm key reused %d days", r.DaysCached)
	}
	// A late event on day 2 makes that day (only) be read again, and counts.
	at := t0.Add(24*time.Hour + 20*time.Hour)
	writeEvents(t, st, filepath.Join(dir, "state2"), []event.Event{
		{Type: event.TypeTrack, Event: event.ProductListViewed, UserID: "late", MessageID: "late-1", Timestamp: at, ReceivedAt: at,
			Properties: []byte(`{"search_id":"late","arm":"interleaved","products":[{"product_id":"b","position":1,"team":"personalized"}]}`)},
		{Type: event.TypeTrack, Event: event.ProductClicked, UserID: "late", MessageID: "late-2", Timestamp: at.Add(time.Second), ReceivedAt: at,
			Properties: []byte(`{"search_id":"late","product_id":"b","position":1}`)},
	})
	late, err := c.Compute(ctx, st, from, to, armOf, "k")
	if err != nil {
		t.Fatal(err)
	}
	if late.DaysComputed != 1 || late.DaysCached != 2 {
		t.Fatalf("after a late event: computed %d cached %d", late.DaysComputed, late.DaysCached)
	}
	if late.Interleaving.Wins != 226 || late.Interleaving.Lists != 361 {
		t.Fatalf("the late list is not counted: %+v", late.Interleaving)
	}
	// A window that does not start at midnight is computed exactly (not cached).
	part, err := c.Compute(ctx, st, t0.Add(10*time.Hour+30*time.Minute), to, armOf, "k")
	if err != nil {
		t.Fatal(err)
	}
	// Day 1's lists are shown at 10:00 + i minutes: i ≥ 30 are in the window (90),
	// then days 2 (121 with the late one) and 3 (120).
	if part.Interleaving.Lists != 331 || part.DaysComputed != 1 || part.DaysCached != 2 {
		t.Fatalf("partial window: lists %d computed %d cached %d", part.Interleaving.Lists, part.DaysComputed, part.DaysCached)
	}
}

func TestMedianAndSignTest(t *testing.T) {
	m := median(map[int64]int{1: 10, 2: 5, 9: 4})
	if m.Value != 1 {
		t.Errorf("median of 10×1, 5×2, 4×9 = %v, want 1", m.Value)
	}
	m = median(map[int64]int{3: 1, 5: 1})
	if m.Value != 4 {
		t.Errorf("median of 3 and 5 = %v, want 4", m.Value)
	}
	if p := signTestP(10, 10); p != 1 {
		t.Errorf("sign test of a draw: p %v", p)
	}
	// Exact: P(X ≤ 1 | n=10) = 11/1024, two-sided 22/1024.
	if p := signTestP(9, 1); abs(p-22.0/1024) > 1e-9 {
		t.Errorf("sign test 9/1: p %v", p)
	}
	if p := signTestP(5000, 5300); !(p > 0.001 && p < 0.01) {
		t.Errorf("sign test 5000/5300 (z≈2.95): p %v", p)
	}
}

func TestDailyMetricsHaveEveryDay(t *testing.T) {
	st, _, t0 := interleavedLake(t)
	rep, err := Compute(context.Background(), st, time.Time{}, time.Time{}, Split{Interleave: 1}.Arm)
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, d := range rep.Daily {
		days = append(days, d.Day)
	}
	if got := strings.Join(days, ","); got != "2026-10-01,2026-10-02,2026-10-03" || !rep.From.Equal(t0.Add(10*time.Hour)) {
		t.Fatalf("days %s from %v", got, rep.From)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// flakyOpen is a lake whose first Open fails as if compaction had just replaced the file.
// Like every lake.Storage it is safe for concurrent use (the reader opens an hour's files
// in parallel).
type flakyOpen struct {
	lake.Storage
	failed atomic.Bool
}

func (f *flakyOpen) Open(ctx context.Context, key string) (lake.Object, error) {
	if f.failed.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("lake object %q: %w", key, lake.ErrNotExist)
	}
	return f.Storage.Open(ctx, key)
}

func TestComputeRereadsAFileReplacedByCompaction(t *testing.T) {
	st, _, t0 := interleavedLake(t)
	fl := &flakyOpen{Storage: st}
	rep, err := Compute(context.Background(), fl, t0, t0.Add(3*24*time.Hour), Split{Interleave: 1}.Arm)
	if err != nil {
		t.Fatal(err)
	}
	if !fl.failed.Load() || rep.Interleaving == nil || rep.Interleaving.Lists != 360 {
		t.Fatalf("after a vanished file: %+v", rep.Interleaving)
	}
}

// TestOrdersAndReturnsFollowTheList: a shopper who searches anonymously (the split
// assigns the device) and signs in at checkout orders under a user id the split puts in
// another arm. The order, its purchased position and its later size return belong to
// the arm whose list the item was clicked in; a return of an order bought before the
// window is no outcome of it; and only subjects shown an arm count as its customers.
func TestOrdersAndReturnsFollowTheList(t *testing.T) {
	split := Split{Treatment: 0.5, Salt: "s"}
	find := func(prefix, arm string) string {
		for i := 0; ; i++ {
			if id := fmt.Sprint(prefix, i); split.Arm(id) == arm {
				return id
			}
		}
	}
	dev, buyer := find("dev", Control), find("user", Personalized)
	other, late := find("other", Personalized), find("late", Control)
	dir := t.TempDir()
	st, err := lake.NewFS(filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)
	var evs []event.Event
	add := func(user, anon, name string, at time.Time, props string) {
		evs = append(evs, event.Event{Type: event.TypeTrack, Event: name, UserID: user, AnonymousID: anon, MessageID: fmt.Sprint("m", len(evs)), Timestamp: at, ReceivedAt: at, Properties: []byte(props)})
	}
	add("", dev, event.ProductsSearched, t0, `{"query":"boots","search_id":"s1","arm":"control"}`)
	add("", dev, event.ProductListViewed, t0.Add(time.Second), `{"search_id":"s1","arm":"control","products":[{"product_id":"a","position":1},{"product_id":"b","position":2},{"product_id":"p1","position":3}]}`)
	add("", dev, event.ProductClicked, t0.Add(2*time.Second), `{"search_id":"s1","product_id":"p1","position":3,"arm":"control"}`)
	add(buyer, dev, event.OrderCompleted, t0.Add(3*time.Minute), `{"order_id":"o1","products":[{"product_id":"p1","size":"9"}]}`)
	add(buyer, dev, event.ProductReturned, t0.Add(50*time.Hour), `{"order_id":"o1","product_id":"p1","size":"9","reason":"too_small"}`)
	add(other, "", event.ProductsSearched, t0.Add(time.Hour), `{"query":"boots","search_id":"s2","arm":"personalized"}`)
	add(other, "", event.ProductListViewed, t0.Add(time.Hour+time.Second), `{"search_id":"s2","arm":"personalized","products":[{"product_id":"a","position":1}]}`)
	add(late, "", event.ProductReturned, t0.Add(30*time.Hour), `{"order_id":"bought-before","product_id":"a","size":"9","reason":"too_large"}`)
	writeEvents(t, st, filepath.Join(dir, "state"), evs)
	rep, err := Compute(context.Background(), st, t0.Add(-time.Hour), t0.Add(10*24*time.Hour), split.Arm)
	if err != nil {
		t.Fatal(err)
	}
	arm := armsByName(rep)
	c, p := arm[Control], arm[Personalized]
	if c.Customers != 1 || c.AnonymousDevices != 1 || p.Customers != 1 || p.AnonymousDevices != 0 {
		t.Fatalf("customers control %d (anonymous %d), personalized %d (anonymous %d): want 1 (1) and 1 (0)", c.Customers, c.AnonymousDevices, p.Customers, p.AnonymousDevices)
	}
	if c.Conversion.Value != 1 || p.Conversion.Value != 0 {
		t.Errorf("conversion: control %v personalized %v, want the order in control where it was clicked", c.Conversion.Value, p.Conversion.Value)
	}
	if c.MeanBoughtPosition.Value != 3 {
		t.Errorf("purchased position in control %v, want 3", c.MeanBoughtPosition.Value)
	}
	if c.SizeReturnRate.Value != 1 || p.SizeReturnRate.Value != 0 {
		t.Errorf("size returns: control %v personalized %v, want control's order returned and the earlier order's return dropped", c.SizeReturnRate.Value, p.SizeReturnRate.Value)
	}
}
