package train

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/rank"
)

// syntheticRows is a small stream of searches, impressions and clicks, in time order.
func syntheticRows() ([]catalog.Product, []lake.Row) {
	var ps []catalog.Product
	for i := range 40 {
		ps = append(ps, catalog.Product{ProductID: fmt.Sprintf("P%02d", i), Name: fmt.Sprintf("shoe %d", i),
			Brand: fmt.Sprintf("B%d", i%5), Category: "shoes", Color: fmt.Sprintf("c%d", i%3), Price: float64(20 + i)})
	}
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var rows []lake.Row
	for i := range 400 {
		at := start.Add(time.Duration(i) * 20 * time.Minute)
		sid := fmt.Sprintf("S%d", i)
		user := fmt.Sprintf("C%d", i%9)
		var refs []string
		for k := range 10 {
			refs = append(refs, fmt.Sprintf(`{"product_id":"P%02d","position":%d}`, (i*7+k*3)%40, k+1))
		}
		rows = append(rows, lake.Row{Type: event.TypeTrack, Event: event.ProductListViewed, UserID: user, Timestamp: at,
			SearchID: sid, Query: fmt.Sprintf("shoe %d", i%4), Products: "[" + strings.Join(refs, ",") + "]"})
		if i%3 != 0 {
			pid := fmt.Sprintf("P%02d", (i*7+(i%4)*3)%40)
			rows = append(rows, lake.Row{Type: event.TypeTrack, Event: event.ProductClicked, UserID: user,
				Timestamp: at.Add(time.Minute), SearchID: sid, ProductID: pid, Position: int64(i%4 + 1),
				Properties: fmt.Sprintf(`{"product_id":%q,"position":%d,"search_id":%q}`, pid, i%4+1, sid)})
		}
	}
	return ps, rows
}

// Compacting the examples while replaying keeps exactly the lists with a positive
// outcome, with the same feature rows as without compaction.
func TestCompactKeepsExamples(t *testing.T) {
	ps, rows := syntheticRows()
	split := rows[len(rows)-1].Timestamp.Add(time.Hour)
	replayAll := func(every int) *replay {
		r := newReplay(ps, func(string, []string, []float32) {}, split)
		r.compactEvery = every
		for i := range rows {
			r.add(&rows[i])
		}
		return r
	}
	ref, comp := replayAll(1<<30), replayAll(1)
	comp.compact(1 << 60)
	examples := func(r *replay) map[string][]float32 {
		m := map[string][]float32{}
		for _, s := range r.searches {
			if s.row >= 0 && slices.Max(s.labels) > 0 {
				m[s.id] = r.feats[s.row*rank.NumFeatures : (s.row+len(s.labels))*rank.NumFeatures]
			}
		}
		return m
	}
	a, b := examples(ref), examples(comp)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("examples: %d without compaction, %d with", len(a), len(b))
	}
	for id, fa := range a {
		if !slices.Equal(fa, b[id]) {
			t.Fatalf("list %s: features differ after compaction", id)
		}
	}
	if len(comp.feats) >= len(ref.feats) {
		t.Errorf("compaction kept %d feature values, no fewer than the %d without it", len(comp.feats), len(ref.feats))
	}
}

// Inverse-propensity labels raise the gain of positives in proportion to 1/propensity
// and leave skipped items at 0.
func TestIPSLabel(t *testing.T) {
	for _, c := range []struct {
		grade uint8
		prop  float32
	}{{1, 1}, {1, 0.5}, {4, 0.25}, {4, 0.1}} {
		l := ipsLabel(c.grade, c.prop)
		gain := (math.Exp2(float64(c.grade)) - 1) / float64(c.prop)
		if got := math.Exp2(float64(l)) - 1; got < gain*0.999 || got > gain*1.001 {
			t.Errorf("grade %d at propensity %v: gain %v, want %v", c.grade, c.prop, got, gain)
		}
	}
	s := &search{labels: []uint8{0, 1, 0}, positions: []uint8{1, 2, 3}}
	got := appendLabels(nil, s, func(p int) float32 { return 1 / float32(p) })
	if got[0] != 0 || got[2] != 0 || got[1] != ipsLabel(1, 0.5) {
		t.Errorf("labels %v", got)
	}
}
