package demo

import (
	"strings"
	"testing"

	"github.com/bespokesearch/bespoke/internal/experiment"
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
