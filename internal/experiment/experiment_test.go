package experiment

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
)

func TestSplitIsDeterministicAndProportional(t *testing.T) {
	s := Split{Treatment: 0.3, Salt: "x"}
	n := 0
	for i := 0; i < 20000; i++ {
		id := fmt.Sprint("C", i)
		a := s.Arm(id)
		if a != s.Arm(id) {
			t.Fatal("assignment is not deterministic")
		}
		if a == Personalized {
			n++
		}
	}
	if share := float64(n) / 20000; math.Abs(share-0.3) > 0.02 {
		t.Fatalf("treatment share %.3f, want 0.3", share)
	}
	if (Split{Treatment: 0.5, Salt: "a"}).Arm("C1") == (Split{Treatment: 0.5, Salt: "b"}).Arm("C1") &&
		(Split{Treatment: 0.5, Salt: "a"}).Arm("C2") == (Split{Treatment: 0.5, Salt: "b"}).Arm("C2") &&
		(Split{Treatment: 0.5, Salt: "a"}).Arm("C3") == (Split{Treatment: 0.5, Salt: "b"}).Arm("C3") &&
		(Split{Treatment: 0.5, Salt: "a"}).Arm("C4") == (Split{Treatment: 0.5, Salt: "b"}).Arm("C4") {
		t.Error("a new salt should re-randomize")
	}
	if (Split{Treatment: 1}).Arm("") != Control {
		t.Error("a request without a subject cannot be personalized")
	}
}

// TestComputeMetrics writes a small lake where the personalized arm clicks higher and
// more often, and checks every metric and the direction of the changes.
func TestComputeMetrics(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := lake.NewFS(filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := lake.NewWriter(ctx, st, lake.WriterOptions{StateDir: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)
	var evs []event.Event
	seq := 0
	add := func(user, name string, at time.Time, props string) {
		seq++
		evs = append(evs, event.Event{Type: event.TypeTrack, Event: name, UserID: user, MessageID: fmt.Sprint("m", seq), Timestamp: at, ReceivedAt: at, Properties: []byte(props)})
	}
	for i := 0; i < 200; i++ {
		arm, user := Control, fmt.Sprint("c", i)
		if i%2 == 1 {
			arm = Personalized
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		sid := fmt.Sprint("s", i)
		add(user, event.ProductsSearched, at, fmt.Sprintf(`{"query":"boots","search_id":%q,"arm":%q}`, sid, arm))
		add(user, event.ProductListViewed, at.Add(time.Second), fmt.Sprintf(`{"search_id":%q,"arm":%q,"products":[{"product_id":"p1","position":1}]}`, sid, arm))
		clicks := arm == Personalized || i%4 == 0 // personalized: every list clicked; control: half of them
		if clicks {
			pos := 5
			if arm == Personalized {
				pos = 2
			}
			add(user, event.ProductClicked, at.Add(2*time.Second), fmt.Sprintf(`{"search_id":%q,"product_id":"p1","position":%d,"arm":%q}`, sid, pos, arm))
			add(user, event.OrderCompleted, at.Add(3*time.Second), `{"order_id":"o","products":[{"product_id":"p1","size":"9"}]}`)
		} else {
			add(user, event.ProductsSearched, at.Add(time.Minute), fmt.Sprintf(`{"query":"boots 2","search_id":"%s-b","arm":%q}`, sid, arm))
		}
		if arm == Control && clicks {
			add(user, event.ProductReturned, at.Add(48*time.Hour), `{"order_id":"o","product_id":"p1","size":"9","reason":"too_small"}`)
		}
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
	rep, err := Compute(ctx, st, t0.Add(-time.Hour), t0.Add(30*24*time.Hour), Split{Treatment: 0.5}.Arm)
	if err != nil {
		t.Fatal(err)
	}
	arm := armsByName(rep)
	c, p := arm[Control], arm[Personalized]
	if c.Customers != 100 || p.Customers != 100 {
		t.Fatalf("customers per arm: %d / %d", c.Customers, p.Customers)
	}
	if p.ClickThrough.Value != 1 || c.ClickThrough.Value != 0.5 {
		t.Errorf("click-through: control %v personalized %v", c.ClickThrough, p.ClickThrough)
	}
	if p.MeanClickedPosition.Value != 2 || c.MeanClickedPosition.Value != 5 {
		t.Errorf("clicked position: control %v personalized %v", c.MeanClickedPosition, p.MeanClickedPosition)
	}
	if c.RepeatedSearch.Value <= 0 || p.RepeatedSearch.Value != 0 {
		t.Errorf("repeated searches: control %v personalized %v", c.RepeatedSearch, p.RepeatedSearch)
	}
	if c.SizeReturnRate.Value != 1 || p.SizeReturnRate.Value != 0 {
		t.Errorf("size returns: control %v personalized %v", c.SizeReturnRate, p.SizeReturnRate)
	}
	// the returns came two days later: that day counts in the totals above, but
	// without searches it has no rates of its own to list
	if len(rep.Daily) != 1 || rep.Daily[0].Day != "2026-10-01" {
		t.Errorf("daily: %+v", rep.Daily)
	}
	for _, ch := range rep.Changes {
		if ch.Metric == "click-through rate" && !(ch.Diff > 0 && ch.CI95[0] > 0) {
			t.Errorf("CTR change %+v should be positive with a CI above zero", ch)
		}
	}
}

// armsByName indexes a report's per-arm metrics by arm.
func armsByName(rep *Report) map[string]ArmMetrics {
	arm := map[string]ArmMetrics{}
	for _, a := range rep.Arms {
		arm[a.Arm] = a
	}
	return arm
}
