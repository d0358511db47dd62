package size

import (
	"context"
	"testing"
	"time"
)

func TestScratchScale(t *testing.T) {
	wd := newWorld(99, 20000, 0)
	tr := NewTrainer(Options{})
	for _, o := range wd.obs {
		tr.AddObservation(o)
	}
	for _, s := range wd.surveys {
		tr.AddSurvey(s)
	}
	start := time.Now()
	m, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit %d obs, %d customers in %v; %+v", len(wd.obs), len(wd.custs), time.Since(start), m.Stats())
}
