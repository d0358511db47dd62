package train

import (
	"encoding/json"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/size"
)

// sizeLog gathers what the size model learns from during the replay: every purchase in
// a size (kept unless a size return follows) and every fit survey.
type sizeLog struct {
	obs     []size.Observation
	byOrder map[string]int // subject\x00order\x00product → index in obs
	surveys []size.Survey
	skipped int // purchases whose size label does not parse
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
	l.obs = append(l.obs, size.Observation{
		CustomerID: customerOf(subject), ProductID: p.ProductID, Brand: p.Brand, Category: p.Category,
		Gender: p.Gender, System: p.SizeSystem, Size: label, Outcome: size.OutcomeKept, Time: at, Scale: sc,
	})
}

func (l *sizeLog) returned(subject, order, productID, reason string) {
	if i, ok := l.byOrder[subject+"\x00"+order+"\x00"+productID]; ok {
		l.obs[i].Outcome = size.ParseOutcome(reason)
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
