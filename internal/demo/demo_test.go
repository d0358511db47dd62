package demo

import (
	"strings"
	"testing"

	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/server"
)

func TestTableFollowsTheContract(t *testing.T) {
	m := &server.MetricsReport{
		Report: &experiment.Report{
			Arms: []experiment.ArmMetrics{
				{Arm: experiment.Control, ClickThrough: experiment.Estimate{Value: 0.5}},
				{Arm: experiment.Personalized, ClickThrough: experiment.Estimate{Value: 0.6}},
			},
			Changes: []experiment.Change{{Metric: "click-through rate", Diff: 0.1, Relative: 0.2, CI95: [2]float64{0.05, 0.15}}},
		},
		LatencyP99: map[string]float64{experiment.Control: 1, experiment.Personalized: 1.2},
	}
	table := Table(m)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if lines[0] != "metric | control | personalized | change | 95% CI" {
		t.Fatalf("header %q", lines[0])
	}
	for _, row := range []string{"click-through rate", "mean position of clicked item", "repeated-search rate", "size-related return rate", "p99 search latency (ms)"} {
		found := false
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, row+" | ") && len(strings.Split(l, " | ")) == 5 {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %q with 5 cells in:\n%s", row, table)
		}
	}
	if !strings.Contains(table, "click-through rate | 50.00% | 60.00% | +10.00 pp (+20.0%) | [+5.00 pp, +15.00 pp]") {
		t.Errorf("click-through row wrong:\n%s", table)
	}
}

// TestLatencyRowWithoutLatency: the p99 row is printed even when the server measured no
// latency for an arm, and says so instead of printing 0 ms.
func TestLatencyRowWithoutLatency(t *testing.T) {
	m := &server.MetricsReport{
		Report: &experiment.Report{Arms: []experiment.ArmMetrics{
			{Arm: experiment.Control, Searches: 4000}, {Arm: experiment.Personalized, Searches: 4100},
		}},
		LatencyP99: map[string]float64{experiment.Personalized: 0.5},
	}
	var row string
	for _, l := range strings.Split(Table(m), "\n") {
		if strings.HasPrefix(l, "p99 search latency (ms) | ") {
			row = l
		}
	}
	cells := strings.Split(row, " | ")
	if len(cells) != 5 || cells[1] != "n/a" || cells[2] != "0.50" || cells[3] != "n/a" ||
		!strings.Contains(cells[4], "no latency measured for control (4000 searches in the lake)") {
		t.Fatalf("latency row %q", row)
	}
	m.LatencyP99 = nil // e.g. the JSON of a server that reports none
	if !strings.Contains(Table(m), "p99 search latency (ms) | n/a | n/a | n/a | (server side: no latency measured for control (4000 searches in the lake) and personalized (4100 searches in the lake)") {
		t.Fatalf("no latencies at all:\n%s", Table(m))
	}
}

func TestImportanceSummary(t *testing.T) {
	got := importanceSummary([]gbdt.Importance{{Feature: rank.FText, Gain: 6}, {Feature: rank.FBrandLift, Gain: 3}, {Feature: rank.FRecent, Gain: 1}})
	if want := "text 60.0%, brand_affinity* 30.0%, recently_touched* 10.0%; personal* features 40.0%"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
