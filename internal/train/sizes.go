package train

import (
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/size"
)

// sizeLog gathers what the size model learns from during the replay: every purchase in
// a size (kept unless a size return follows) and every fit survey.
type sizeLog struct {
	obs      []size.Observation
	returnAt []time.Time    // per obs: when its size return arrived (zero if none)
	byOrder  map[string]int // subject\x00order\x00product → index in obs
	surveys  []size.Survey
	skipped  int // purchases whose size label does not parse
	// skippedShoeSizes are survey shoe sizes outside every US scale (dropped, the rest kept)
	skippedShoeSizes int
}

func (l *sizeLog) init() { l.byOrder = map[string]int{} }

func customerOf(subject string) string { return subject[2:] }

func (l *sizeLog) purchase(subject, order string, _ int32, p *catalog.Product, label string, at time.Time) {
	if label == "" || p.SizeSystem == "" || p.SizeSystem == catalog.SizeNone {
		return
	}
	// A size the product's system cannot read (a bad event, a changed catalog) is
	// skipped rather than failing the whole training run.
	sys, err := size.ParseSystem(p.SizeSystem)
	if err != nil {
		return
	}
	sc := size.ProductScale(p) // women's shoe sizes, dress sizes
	if _, err := size.ParseSizeIn(sys, sc, label); err != nil {
		l.skipped++
		return
	}
	l.byOrder[subject+"\x00"+order+"\x00"+p.ProductID] = len(l.obs)
	l.returnAt = append(l.returnAt, time.Time{})
	l.obs = append(l.obs, size.Observation{
		CustomerID: customerOf(subject), ProductID: p.ProductID, Brand: p.Brand, Category: p.Category,
		Gender: p.Gender, System: p.SizeSystem, Size: label, Outcome: size.OutcomeKept, Time: at, Scale: sc,
	})
}

func (l *sizeLog) returned(subject, order, productID, reason string, at time.Time) {
	if i, ok := l.byOrder[subject+"\x00"+order+"\x00"+productID]; ok {
		l.obs[i].Outcome = size.ParseOutcome(reason)
		l.returnAt[i] = at
	}
}

// minDelaySamples is how many size returns of settled purchases the empirical return
// delays need before settle trusts them over a uniform delay within the window.
const minDelaySamples = 30

// settle marks the purchases not returned by end whose return window is still open
// (Observation.Unsettled): the share of size returns that arrive later than such a
// purchase's age, from the delays of size returns of purchases old enough for all
// of theirs to be in (a uniform delay within window when there are fewer than
// minDelaySamples). Without it a purchase made days before training counts as kept,
// although most of its size returns are still to come.
func (l *sizeLog) settle(end time.Time, window time.Duration) {
	if window <= 0 {
		return
	}
	var delays []float64 // hours
	for i := range l.obs {
		o := &l.obs[i]
		if !l.returnAt[i].IsZero() && end.Sub(o.Time) >= window {
			delays = append(delays, l.returnAt[i].Sub(o.Time).Hours())
		}
	}
	sort.Float64s(delays)
	w := window.Hours()
	later := func(age float64) float64 {
		if len(delays) < minDelaySamples {
			return math.Max(0, 1-age/w)
		}
		k := sort.Search(len(delays), func(j int) bool { return delays[j] > age })
		return float64(len(delays)-k) / float64(len(delays))
	}
	for i := range l.obs {
		o := &l.obs[i]
		o.Unsettled = 0
		if o.Outcome != size.OutcomeKept {
			continue
		}
		if age := end.Sub(o.Time).Hours(); age < w {
			o.Unsettled = later(math.Max(age, 0))
		}
	}
}

func (l *sizeLog) survey(subject string, row *lake.Row) {
	s := size.Survey{
		CustomerID: customerOf(subject), HeightCM: row.HeightCM, WeightKG: row.WeightKG, Age: row.Age,
		ShoeSizeUS: row.ShoeSizeUS, ShoeWidth: row.ShoeWidth, FitPreference: row.FitPreference, Gender: row.Gender,
		Time: row.Timestamp,
	}
	// A shoe size no scale reads (a typo, a European size) loses that answer, not the
	// survey: its height, weight and usual sizes still inform the model.
	if s.ShoeSizeUS != 0 && !size.ValidShoeSize(s.ShoeSizeUS) {
		s.ShoeSizeUS = 0
		l.skippedShoeSizes++
	}
	if row.UsualSizes != "" {
		var us []struct {
			Brand    string          `json:"brand"`
			Category string          `json:"category"`
			Size     json.RawMessage `json:"size"`
		}
		if json.Unmarshal([]byte(row.UsualSizes), &us) == nil {
			for _, u := range us {
				var label string
				if json.Unmarshal(u.Size, &label) != nil {
					label = string(u.Size)
				}
				s.UsualSizes = append(s.UsualSizes, size.UsualSize{Brand: u.Brand, Category: u.Category, Size: label})
			}
		}
	}
	l.surveys = append(l.surveys, s)
}
