package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/bespokesearch/bespoke/internal/size"
)

// Report files written by WriteReport.
const (
	ReportJSON     = "report.json"
	ReportMarkdown = "report.md"
	ReportPNG      = "report.png"
)

// WriteReport writes the report into dir as report.json (the JSON of CONTRACT §6),
// report.md (tables for people) and report.png (a bar chart of NDCG@10 and MRR per
// ranker with 95% confidence whiskers). Each file appears whole (written to a
// temporary name, then renamed).
func WriteReport(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the report folder: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	chart, err := ChartPNG(rep)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ReportJSON, append(js, '\n')}, {ReportMarkdown, []byte(Markdown(rep))}, {ReportPNG, chart}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("cannot write %s: %w", f.name, err)
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// rankerDescriptions say in a few words what each ranker of the report is.
var rankerDescriptions = map[string]string{
	"logged":                 "the order the logging ranker showed",
	"bm25":                   "text relevance only",
	"popularity":             "position-debiased query–item click-through and item popularity",
	"affinity":               "customer affinities (brand, category, colour, style, gender, price)",
	"covisitation":           "co-visitation neighbours of the customer's recent items",
	"size_fit":               "the customer's predicted size is in stock",
	"default_linear":         "the hand-set linear combination serving uses without a model",
	"ltr_non_personalized":   "LambdaMART without the customer features",
	"personalized_no_debias": "the personalized ensemble trained without position-bias correction",
	"personalized":           "the personalized ensemble (LambdaMART, every feature, IPS-weighted)",
	"oracle":                 "ranks by the ground truth (simulated worlds only)",
}

// Markdown renders the report as markdown tables.
func Markdown(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Offline evaluation of model %s\n\n", rep.ModelVersion)
	fmt.Fprintf(&b, "Trained %s on %d events (%d feature rows). Test window from %s; lists with a click: %d to train, %d to validate, %d to test. The ensemble has %d trees.\n\n",
		rep.TrainedAt.Format(time.RFC3339), rep.Events, rep.Examples, rep.SplitAt.Format(time.RFC3339),
		rep.Lists["train"], rep.Lists["valid"], rep.Lists["test"], rep.Trees)
	fmt.Fprintf(&b, "![NDCG@10 and MRR per ranker, with 95%% confidence intervals](%s)\n\n", ReportPNG)
	b.WriteString("## Rankers on the logged outcomes of the test window\n\n")
	b.WriteString("NDCG@10 and MRR on graded outcomes (kept purchase > size return > add to cart > click); ± is the half-width of the 95% confidence interval. " +
		"IPS columns weight each outcome by 1/P(examined at its logged position), which corrects the advantage the logging ranker has on its own logs.\n\n")
	rankerTable(&b, rep.Rankers, true)
	if len(rep.Truth) > 0 {
		b.WriteString("\n## Rankers against the ground truth\n\n")
		b.WriteString("The simulator's true click probability given each searcher's hidden intent as the gain; expected clicks in the top 10 under the true examination model.\n\n")
		truthTable(&b, rep.Truth)
	}
	if rep.OracleGap != nil {
		fmt.Fprintf(&b, "\nShare of the gap between non-personalized learning to rank and the oracle that the personalized ensemble closes: **%.1f%%**.\n", 100**rep.OracleGap)
	}
	if len(rep.Comparisons) > 0 {
		b.WriteString("\n## Paired comparisons\n\n")
		b.WriteString("Mean difference over the same test lists, with a paired bootstrap 95% interval.\n\n")
		b.WriteString("| comparison | metric | difference | 95% CI | relative |\n|---|---|---:|---|---:|\n")
		for _, c := range rep.Comparisons {
			fmt.Fprintf(&b, "| %s | %s | %+.4f | [%+.4f, %+.4f] | %+.1f%% |\n", c.Name, c.Metric, c.Diff, c.CI95[0], c.CI95[1], 100*c.Rel)
		}
	}
	segs := slices.Sorted(maps.Keys(rep.Segments))
	if len(segs) > 0 {
		b.WriteString("\n## Segments\n\n")
		b.WriteString("New customers: the searcher had no earlier event in the lake; returning: they had.\n")
		for _, seg := range segs {
			rs := rep.Segments[seg]
			if len(rs) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n### %s\n\n", seg)
			if strings.HasPrefix(seg, "truth_") {
				truthTable(&b, rs)
			} else {
				rankerTable(&b, rs, false)
			}
		}
	}
	if len(rep.Examination) > 0 {
		b.WriteString("\n## Estimated examination by position\n\n| position |")
		for i := range rep.Examination {
			fmt.Fprintf(&b, " %d |", i+1)
		}
		b.WriteString("\n|---|" + strings.Repeat("---:|", len(rep.Examination)) + "\n| P(examined) |")
		for _, v := range rep.Examination {
			fmt.Fprintf(&b, " %.3f |", v)
		}
		b.WriteString("\n")
	}
	if len(rep.Importance) > 0 {
		b.WriteString("\n## Feature importance (personalized ensemble)\n\n| feature | gain | splits |\n|---|---:|---:|\n")
		for _, im := range rep.Importance {
			name := im.Name
			if name == "" {
				name = fmt.Sprintf("f%d", im.Feature)
			}
			fmt.Fprintf(&b, "| %s | %.4g | %d |\n", name, im.Gain, im.Splits)
		}
	}
	if rep.Size != nil {
		b.WriteString("\n## Size model\n\n")
		fmt.Fprintf(&b, "%d purchases to learn from, %d held out.\n\n", rep.Size.Train.Observations, rep.Size.HeldOut)
		truth := len(rep.Size.Models) > 0 && rep.Size.Models[0].NTrueFit > 0
		b.WriteString("| model | accuracy | n kept | returns fixed | n returns | AUC (mean) |")
		if truth {
			b.WriteString(" fits (truth) | n |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		} else {
			b.WriteString("\n|---|---:|---:|---:|---:|---:|\n")
		}
		for _, m := range rep.Size.Models {
			fmt.Fprintf(&b, "| %s | %.4f | %d | %.4f | %d | %.4f |", m.Name, m.Accuracy, m.NKept, m.ReturnsFixed, m.NReturns, m.AUCMean)
			if truth {
				fmt.Fprintf(&b, " %.4f | %d |", m.TrueFit, m.NTrueFit)
			}
			b.WriteString("\n")
		}
		if truth {
			m := rep.Size.Models[0]
			fmt.Fprintf(&b, "\nAccuracy compares the recommended size with the size kept, and shoppers keep many sizes a step off. "+
				"By the simulator's truth, of the held-out purchases: the size bought fits in %.1f%%; the size model's recommended size in %.1f%% "+
				"(the better baseline's %.1f%%), and the size a shopper who follows its advice ends up with in %.1f%% "+
				"(advice anchored on the usual size applied to the size bought, sizes named for the customer as named, generic sizes left to the shopper).\n",
				100*rep.Size.BoughtTrueFit, 100*m.TrueFit, 100*(m.TrueFit-rep.Size.TrueFitGain), 100*m.TakenTrueFit)
		}
		st := rep.Size.Train
		fmt.Fprintf(&b, "\nLearned spread of sizing offsets: brands %.2f, products %.2f steps of the size system.\n", st.BrandSD, st.ProductSD)
		if lo := rep.Size.LeftOut; lo != (size.LeftOut{}) {
			fmt.Fprintf(&b, "Left out: %d purchases (size label not read), %d surveys, %d survey shoe sizes outside every US scale.\n",
				lo.Purchases, lo.Surveys, lo.SurveyShoeSizes)
		}
	}
	if len(rep.Seconds) > 0 {
		b.WriteString("\n## Time (seconds)\n\n| phase | seconds |\n|---|---:|\n")
		for _, k := range slices.Sorted(maps.Keys(rep.Seconds)) {
			fmt.Fprintf(&b, "| %s | %.1f |\n", k, rep.Seconds[k])
		}
	}
	return b.String()
}

func rankerTable(b *strings.Builder, rs []RankerScore, describe bool) {
	b.WriteString("| ranker | NDCG@10 | ± | MRR | ± | IPS NDCG@10 | ± | click@5 | IPS click@5 | lists |")
	if describe {
		b.WriteString(" what it is |")
	}
	b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	if describe {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rs {
		fmt.Fprintf(b, "| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %d |", r.Name, r.NDCG10, r.NDCG10CI, r.MRR, r.MRRCI, r.IPSNDCG10, r.IPSNDCGCI, r.Hit5, r.IPSHit5, r.N)
		if describe {
			fmt.Fprintf(b, " %s |", rankerDescriptions[r.Name])
		}
		b.WriteString("\n")
	}
}

func truthTable(b *strings.Builder, rs []RankerScore) {
	b.WriteString("| ranker | true NDCG@10 | ± | expected clicks in top 10 | lists |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Fprintf(b, "| %s | %.4f | %.4f | %.4f | %d |\n", r.Name, r.NDCG10, r.NDCG10CI, r.ExpClicks, r.N)
	}
}

// Chart colours.
var (
	chartBG     = color.RGBA{255, 255, 255, 255}
	chartInk    = color.RGBA{33, 33, 33, 255}
	chartGrid   = color.RGBA{225, 225, 225, 255}
	chartNDCG   = color.RGBA{54, 104, 168, 255}
	chartMRR    = color.RGBA{230, 140, 40, 255}
	chartWhisk  = color.RGBA{0, 0, 0, 255}
	chartMuted  = color.RGBA{110, 110, 110, 255}
	chartLayout = struct{ width, left, right, top, rowH, barH, bottom int }{
		width: 900, left: 190, right: 60, top: 62, rowH: 34, barH: 12, bottom: 46,
	}
)

// ChartPNG draws the rankers' NDCG@10 and MRR on the test window as horizontal bars,
// two per ranker, each with a whisker for its 95% confidence interval.
func ChartPNG(rep *Report) ([]byte, error) {
	L := chartLayout
	rs := rep.Rankers
	height := L.top + max(len(rs), 1)*L.rowH + L.bottom
	img := image.NewRGBA(image.Rect(0, 0, L.width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(chartBG), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	text := func(x, y int, c color.Color, s string) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	textWidth := func(s string) int { return font.MeasureString(face, s).Round() }
	n := 0
	if len(rs) > 0 {
		n = rs[0].N
	}
	text(L.left, 20, chartInk, fmt.Sprintf("Offline evaluation, model %s: %d test lists", rep.ModelVersion, n))
	// Legend.
	lx := L.left
	for _, it := range []struct {
		c     color.RGBA
		label string
	}{{chartNDCG, "NDCG@10"}, {chartMRR, "MRR"}, {chartWhisk, "95% confidence interval"}} {
		if it.c == chartWhisk {
			hline(img, lx, lx+14, 38, it.c)
			vline(img, lx, 34, 42, it.c)
			vline(img, lx+14, 34, 42, it.c)
		} else {
			fillRect(img, lx, 32, lx+14, 44, it.c)
		}
		text(lx+20, 42, chartInk, it.label)
		lx += 20 + textWidth(it.label) + 24
	}
	// The scale: 0 to the largest upper whisker, rounded up to a tenth.
	top := 0.1
	for _, r := range rs {
		top = math.Max(top, math.Max(r.NDCG10+r.NDCG10CI, r.MRR+r.MRRCI))
	}
	top = math.Min(1, math.Ceil(top*10-1e-9)/10)
	plotW := L.width - L.left - L.right
	xOf := func(v float64) int {
		v = math.Max(0, math.Min(v, top))
		return L.left + int(math.Round(v/top*float64(plotW)))
	}
	plotBottom := L.top + len(rs)*L.rowH
	ticks := int(math.Round(top * 10)) // top is a whole number of tenths
	for k := 0; k <= ticks; k++ {
		v := top * float64(k) / float64(ticks)
		x := xOf(v)
		vline(img, x, L.top-4, plotBottom, chartGrid)
		label := fmt.Sprintf("%.1f", v)
		text(x-textWidth(label)/2, plotBottom+16, chartMuted, label)
	}
	vline(img, L.left, L.top-4, plotBottom, chartInk)
	hline(img, L.left, L.left+plotW, plotBottom, chartInk)
	for i, r := range rs {
		y := L.top + i*L.rowH + (L.rowH-2*L.barH)/2
		name := r.Name
		for textWidth(name) > L.left-12 && len(name) > 4 {
			name = name[:len(name)-3] + ".."
		}
		text(L.left-8-textWidth(name), y+L.barH+4, chartInk, name)
		for k, m := range []struct {
			v, ci float64
			c     color.RGBA
		}{{r.NDCG10, r.NDCG10CI, chartNDCG}, {r.MRR, r.MRRCI, chartMRR}} {
			by := y + k*L.barH
			fillRect(img, L.left+1, by+1, max(xOf(m.v), L.left+1), by+L.barH-1, m.c)
			if m.ci > 0 {
				x0, x1 := xOf(m.v-m.ci), xOf(m.v+m.ci)
				mid := by + L.barH/2
				hline(img, x0, x1, mid, chartWhisk)
				vline(img, x0, by+2, by+L.barH-2, chartWhisk)
				vline(img, x1, by+2, by+L.barH-2, chartWhisk)
			}
			label := fmt.Sprintf("%.3f", m.v)
			lx := max(xOf(m.v+m.ci), xOf(m.v)) + 4
			if lx+textWidth(label) > L.width-2 {
				lx = L.width - 2 - textWidth(label)
			}
			text(lx, by+L.barH-2, chartMuted, label)
		}
	}
	text(L.left, height-10, chartMuted, "graded logged outcomes of the test window; bars from 0")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fillRect(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(c), image.Point{}, draw.Src)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := min(x0, x1); x <= max(x0, x1); x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := min(y0, y1); y <= max(y0, y1); y++ {
		img.SetRGBA(x, y, c)
	}
}
