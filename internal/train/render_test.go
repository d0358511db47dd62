package train

import (
	"bytes"
	"encoding/json"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/size"
)

func sampleReport() *Report {
	gap := 0.42
	return &Report{
		ModelVersion: "v20261126-040000", TrainedAt: time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC), Events: 1000, Examples: 500,
		Lists: map[string]int{"train": 60, "valid": 10, "test": 30}, SplitAt: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		Rankers: []RankerScore{
			{Name: "bm25", NDCG10: 0.2, NDCG10CI: 0.02, MRR: 0.25, MRRCI: 0.03, N: 30},
			{Name: "personalized", NDCG10: 0.5, NDCG10CI: 0.04, MRR: 0.55, MRRCI: 0.05, N: 30},
		},
		Truth: []RankerScore{{Name: "personalized", NDCG10: 0.7, NDCG10CI: 0.01, ExpClicks: 1.2, N: 30}},
		Segments: map[string][]RankerScore{
			"new_customers":       {{Name: "personalized", NDCG10: 0.41, MRR: 0.45, N: 10}},
			"returning_customers": {{Name: "personalized", NDCG10: 0.55, MRR: 0.6, N: 20}},
		},
		Comparisons: []Comparison{{Name: "personalized - bm25", Metric: "ndcg@10", Diff: 0.3, CI95: [2]float64{0.25, 0.35}, Rel: 1.5}},
		OracleGap:   &gap, Examination: []float64{1, 0.8, 0.6}, Seconds: map[string]float64{"replay": 1.5},
		Size: &size.Report{Train: size.TrainStats{Observations: 40, BrandSD: 0.54, ProductSD: 0.45}, HeldOut: 9,
			Models:  []size.Metrics{{Name: "size_model", Accuracy: 0.5, NKept: 8}},
			LeftOut: size.LeftOut{Purchases: 3, SurveyShoeSizes: 1}},
	}
}

func TestMarkdownReport(t *testing.T) {
	md := Markdown(sampleReport())
	for _, want := range []string{
		"# Offline evaluation of model v20261126-040000", "| personalized | 0.5000 | 0.0400 | 0.5500 | 0.0500 |",
		"| bm25 | 0.2000 |", "### new_customers", "### returning_customers", "| personalized | 0.4100 |",
		"| personalized - bm25 | ndcg@10 | +0.3000 | [+0.2500, +0.3500] | +150.0% |", "42.0%", "![", "report.png",
		"| personalized | 0.7000 | 0.0100 | 1.2000 | 30 |",
		"| size_model | 0.5000 | 8 |", "brands 0.54, products 0.45 steps", "Left out: 3 purchases (size label not read), 0 surveys, 1 survey shoe sizes",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// The chart's bars are as long as the values they show, on a scale from 0.
func TestChartPNG(t *testing.T) {
	rep := sampleReport()
	b, err := ChartPNG(rep)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	L := chartLayout
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != L.width || h != L.top+2*L.rowH+L.bottom {
		t.Fatalf("size %dx%d", w, h)
	}
	// Measure each bar: the run of its colour along the row through its middle.
	barLen := func(row, k int) int {
		y := L.top + row*L.rowH + (L.rowH-2*L.barH)/2 + k*L.barH + 3
		want := []color.RGBA{chartNDCG, chartMRR}[k]
		n := 0
		for x := L.left; x < L.width; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == want {
				n++
			}
		}
		return n
	}
	// Scale 0..0.6 (largest whisker 0.6, rounded up to a tenth) over the plot width.
	plotW := float64(L.width - L.left - L.right)
	for _, c := range []struct {
		row, k int
		v      float64
	}{{0, 0, 0.2}, {0, 1, 0.25}, {1, 0, 0.5}, {1, 1, 0.55}} {
		want := c.v / 0.6 * plotW
		if got := float64(barLen(c.row, c.k)); got < want-4 || got > want+2 {
			t.Errorf("bar %d/%d is %v px long, want about %v", c.row, c.k, got, want)
		}
	}
}

func TestWriteReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteReport(dir, sampleReport()); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || back.ModelVersion != "v20261126-040000" || len(back.Rankers) != 2 {
		t.Errorf("report.json: %v %+v", err, back)
	}
	if md, err := os.ReadFile(filepath.Join(dir, ReportMarkdown)); err != nil || !strings.HasPrefix(string(md), "# Offline evaluation") {
		t.Errorf("report.md: %v", err)
	}
	if p, err := os.ReadFile(filepath.Join(dir, ReportPNG)); err != nil || !bytes.HasPrefix(p, []byte("\x89PNG")) {
		t.Errorf("report.png: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d files in the report folder, want 3 (no temporary files left)", len(entries))
	}
}
