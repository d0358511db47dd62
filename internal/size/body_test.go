package size

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"math/rand/v2"
	"os"
	"testing"
)

const bodyTablePath = "../../../shared/data/fit/body_measurements_size_train.csv"

func TestBodyTableRealData(t *testing.T) {
	f, err := os.Open(bodyTablePath)
	if err != nil {
		t.Skipf("real body-measurement table not available (%v); it lives in ../shared/data/fit", err)
	}
	defer f.Close()
	rows, err := ReadBodyTable(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 1000 {
		t.Fatalf("read only %d rows", len(rows))
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	cut := len(rows) * 8 / 10
	train, test := rows[:cut], rows[cut:]
	m, err := FitBodyModel(train)
	if err != nil {
		t.Fatal(err)
	}
	// ranks of the classes present in the data (the table has no XS)
	present := map[float64]bool{}
	for _, s := range rows {
		present[s.Size] = true
	}
	rank := map[float64]int{}
	k := 0
	for i := 0; i < maxAlpha; i++ {
		if present[float64(i)] {
			rank[float64(i)] = k
			k++
		}
	}
	var exact, within, withinRank float64
	for _, s := range test {
		pos, _ := m.PredictSize(s.HeightCM, s.WeightKG, s.Age, s.Gender)
		if pos == s.Size {
			exact++
		}
		if math.Abs(pos-s.Size) <= 1 {
			within++
		}
		if rp, ok := rank[pos]; ok && abs(rp-rank[s.Size]) <= 1 {
			withinRank++
		}
	}
	n := float64(len(test))
	t.Logf("body model alone: train %d, test %d: exact %.4f, within one alpha size %.4f, within one class of the table %.4f", len(train), len(test), exact/n, within/n, withinRank/n)

	// through the public API as a shop would: the public table seeds the survey → size
	// part (Options.BodyTable), a few thousand customers answer the survey and keep a
	// shirt in their size, and new customers answer the survey only.
	tr := NewTrainer(Options{BodyTable: train[2000:]})
	for i, s := range train[:2000] {
		id := "u" + strconv.Itoa(i)
		if err := tr.AddSurvey(Survey{CustomerID: id, HeightCM: s.HeightCM, WeightKG: s.WeightKG, Age: s.Age}); err != nil {
			t.Fatal(err)
		}
		if err := tr.AddObservation(Observation{CustomerID: id, ProductID: "tee", Brand: "Plain", Category: "shirts", System: "alpha",
			Size: catalog.AlphaSizes[int(s.Size)], Outcome: OutcomeKept}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	m2, err := tr.Fit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fitTime := time.Since(start)
	tee := &catalog.Product{ProductID: "tee", Brand: "Plain", SizeSystem: "alpha", Sizes: alphaLabelsAll()}
	exact, within, withinRank = 0, 0, 0
	var rec Recommendation
	for i, s := range test {
		prof, err := m2.ProfileFromSurvey(nil, Survey{CustomerID: "new" + strconv.Itoa(i), HeightCM: s.HeightCM, WeightKG: s.WeightKG, Age: s.Age})
		if err != nil {
			t.Fatal(err)
		}
		m2.RecommendProfile(&prof, tee, &rec)
		if rec.Basis != BasisBody {
			t.Fatalf("survey-only customer with measurements only: basis %q, want %q", rec.Basis, BasisBody)
		}
		v, _ := ParseSize(SystemAlpha, rec.RecommendedSize)
		pos := v.Pos
		if pos == s.Size {
			exact++
		}
		if math.Abs(pos-s.Size) <= 1 {
			within++
		}
		if rp, ok := rank[pos]; ok && abs(rp-rank[s.Size]) <= 1 {
			withinRank++
		}
	}
	t.Logf("survey-only customers through Trainer/ProfileFromSurvey/RecommendProfile (fit %v): exact %.4f, within one alpha size %.4f, within one class of the table %.4f",
		fitTime.Round(time.Millisecond), exact/n, within/n, withinRank/n)
	if exact/n < 0.50 {
		t.Errorf("exact accuracy %.4f; the issue's bar is about 0.51 (a gradient-boosted classifier)", exact/n)
	}
	if withinRank/n < 0.83 {
		t.Errorf("within-one accuracy %.4f; the issue's bar is 0.83", withinRank/n)
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}
