package train

import (
	"math"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/size"
)

// settle marks purchases without a return whose window is still open with the share of
// size returns still to come: from the store's own return delays when it has enough,
// else a uniform delay within the window; settled purchases and returns stay as they are.
func TestSettleMarksOpenPurchases(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	window := 10 * 24 * time.Hour
	p := &catalog.Product{ProductID: "p", SizeSystem: "us_shoe", Gender: "men"}
	build := func(returns int) *sizeLog {
		var l sizeLog
		l.init()
		// old purchases, each returned too small after 2 days (delays all ≤ 2 days)
		for i := 0; i < returns; i++ {
			at := end.Add(-20 * 24 * time.Hour)
			order := string(rune('a'+i%26)) + string(rune('a'+i/26))
			l.purchase("u:c", order, 0, p, "9", at)
			l.returned("u:c", order, "p", "too_small", at.Add(48*time.Hour))
		}
		l.purchase("u:c", "old", 0, p, "9", end.Add(-15*24*time.Hour))
		l.purchase("u:c", "day1", 0, p, "9", end.Add(-24*time.Hour))
		l.purchase("u:c", "day5", 0, p, "9", end.Add(-5*24*time.Hour))
		l.purchase("u:c", "now", 0, p, "9", end)
		l.purchase("u:c", "ret", 0, p, "9", end.Add(-time.Hour))
		l.returned("u:c", "ret", "p", "too_large", end)
		l.settle(end, window)
		return &l
	}
	get := func(l *sizeLog, order string) size.Observation {
		for i, o := range l.obs {
			if l.byOrder["u:c\x00"+order+"\x00p"] == i {
				return o
			}
		}
		t.Fatalf("no purchase %s", order)
		return size.Observation{}
	}
	// too few returns to trust: uniform within the window
	l := build(5)
	for order, want := range map[string]float64{"old": 0, "day1": 0.9, "day5": 0.5, "now": 1, "ret": 0} {
		if got := get(l, order).Unsettled; math.Abs(got-want) > 1e-9 {
			t.Errorf("few returns: %s unsettled %v, want %v", order, got, want)
		}
	}
	// enough returns, all within two days: a purchase a day old still has all its
	// returns ahead, one five days old none
	l = build(40)
	for order, want := range map[string]float64{"old": 0, "day1": 1, "day5": 0, "now": 1, "ret": 0} {
		if got := get(l, order).Unsettled; math.Abs(got-want) > 1e-9 {
			t.Errorf("store's delays: %s unsettled %v, want %v", order, got, want)
		}
	}
	if o := get(l, "ret"); o.Outcome != size.OutcomeTooLarge {
		t.Errorf("returned purchase has outcome %v", o.Outcome)
	}
}
