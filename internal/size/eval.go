package size

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// Predictor is what Evaluate measures: the size model and its baselines.
type Predictor interface {
	// Name names the predictor in reports.
	Name() string
	// Scores are, for customerID buying p in size, scores that rank how likely the
	// outcome is too small, fits, too large (probabilities for models; any monotone
	// score for baselines). ok is false when the predictor cannot score.
	Scores(customerID string, p *catalog.Product, size string) (small, fit, large float64, ok bool)
	// RecommendedSize is the size the predictor would recommend ("" if none).
	RecommendedSize(customerID string, p *catalog.Product) string
}

var (
	_ Predictor = (*Model)(nil)
	_ Predictor = (*MostFrequentSize)(nil)
)

// Name is "size_model", or "single_latent" for a model trained with SingleLatent.
func (m *Model) Name() string {
	if m.single {
		return "single_latent"
	}
	return "size_model"
}

// Scores implements Predictor with the model's probabilities.
func (m *Model) Scores(customerID string, p *catalog.Product, size string) (float64, float64, float64, bool) {
	s, f, l, err := m.FitProbs(m.profiles[customerID], p, size)
	return s, f, l, err == nil
}

// RecommendedSize implements Predictor.
func (m *Model) RecommendedSize(customerID string, p *catalog.Product) string {
	var r Recommendation
	m.RecommendProfile(m.profiles[customerID], p, &r)
	return r.RecommendedSize
}

// MostFrequentSize is the baseline "the customer's most frequent kept size" per size
// system; customers with none get the product's most kept size, then the system's.
type MostFrequentSize struct {
	cust map[custSys]map[float64]int
	prod map[string]map[float64]int
	sys  [numSystems]map[float64]int
}

type custSys struct {
	id  string
	sys System
}

// NewMostFrequentSize builds the baseline from training observations.
func NewMostFrequentSize(train []Observation) *MostFrequentSize {
	b := &MostFrequentSize{cust: map[custSys]map[float64]int{}, prod: map[string]map[float64]int{}}
	for s := range b.sys {
		b.sys[s] = map[float64]int{}
	}
	inc := func(m map[float64]int, v float64) { m[v]++ }
	for _, o := range train {
		if o.Outcome != OutcomeKept {
			continue
		}
		sys, err := ParseSystem(o.System)
		if err != nil || sys == SystemNone {
			continue
		}
		v, ok := parseLabel(sys, obsScale(sys, o.Scale, o.Gender), o.Size)
		if !ok {
			continue
		}
		k := custSys{o.CustomerID, sys}
		if b.cust[k] == nil {
			b.cust[k] = map[float64]int{}
		}
		inc(b.cust[k], v.Pos)
		if b.prod[o.ProductID] == nil {
			b.prod[o.ProductID] = map[float64]int{}
		}
		inc(b.prod[o.ProductID], v.Pos)
		inc(b.sys[sys], v.Pos)
	}
	return b
}

func mode(m map[float64]int) (float64, bool) {
	best, n := 0.0, 0
	for v, c := range m {
		if c > n || c == n && v < best {
			best, n = v, c
		}
	}
	return best, n > 0
}

func (b *MostFrequentSize) usual(customerID string, p *catalog.Product, sys System) (float64, bool) {
	if v, ok := mode(b.cust[custSys{customerID, sys}]); ok {
		return v, true
	}
	if v, ok := mode(b.prod[p.ProductID]); ok {
		return v, true
	}
	return mode(b.sys[sys])
}

// Name implements Predictor.
func (b *MostFrequentSize) Name() string { return "most_frequent_size" }

// Scores implements Predictor: the distance from the usual size, signed for too
// small and too large, negated absolute for fits.
func (b *MostFrequentSize) Scores(customerID string, p *catalog.Product, size string) (float64, float64, float64, bool) {
	if p == nil {
		return 0, 0, 0, false
	}
	sys := systemOf(p)
	v, ok := parseLabel(sys, ProductScale(p), size)
	if !ok {
		return 0, 0, 0, false
	}
	u, ok := b.usual(customerID, p, sys)
	if !ok {
		return 0, 0, 0, false
	}
	d := u - v.Pos
	return d, -math.Abs(d), -d, true
}

// RecommendedSize implements Predictor: the product's size nearest the usual size,
// in stock first.
func (b *MostFrequentSize) RecommendedSize(customerID string, p *catalog.Product) string {
	if p == nil {
		return ""
	}
	sys := systemOf(p)
	u, ok := b.usual(customerID, p, sys)
	if !ok {
		return ""
	}
	best, bestIn := "", ""
	bd, bdIn := math.Inf(1), math.Inf(1)
	sc := ProductScale(p)
	for _, z := range p.Sizes {
		v, ok := parseLabel(sys, sc, z.Size)
		if !ok {
			continue
		}
		d := math.Abs(v.Pos - u)
		if d < bd {
			best, bd = z.Size, d
		}
		if z.InStock && d < bdIn {
			bestIn, bdIn = z.Size, d
		}
	}
	if bestIn != "" {
		return bestIn
	}
	return best
}

// FitTruth is a ground truth of fit (a simulated world's): how far label of product p
// is from fitting the wearer who made held-out purchase o, in the truth's own units
// (0: it fits; positive: too large), and false where the truth does not know that
// wearer. It lets Evaluate score a recommendation by whether it fits, where Accuracy
// can only compare it with the size kept — and shoppers keep many sizes a step off.
type FitTruth func(o Observation, p *catalog.Product, label string) (off float64, ok bool)

// takenFrom is the size a shopper who follows advice r on p ends up with, given own,
// the size they would pick themselves (see the Advice constants): advice anchored on
// the usual size is applied to their own, which they know better than the model
// ("usual": own; "half a size up": own moved a step); a size named for them (purchases,
// survey) is taken as named; a generic "take 9" is left to their judgement. (In
// evaluation own is the size bought, which a shopper who knows a brand's sizing has
// already adjusted; the simulator's shoppers apply advice to their unadjusted size.)
func takenFrom(r *Recommendation, p *catalog.Product, own string) string {
	switch {
	case r.Advice == AdviceSizeUp || r.Advice == AdviceSizeDown:
		return stepFrom(p, own, r.SizeSteps)
	case r.Advice == AdviceSize && (r.Basis == BasisPurchases || r.Basis == BasisSurvey):
		return r.RecommendedSize
	}
	return own
}

// stepFrom is the label of p at least steps size steps from label from, the nearest
// such (a 12.5 in a shoe without half sizes above 12 is a 13); past p's last size that
// way, its last size (as the simulator's shoppers do); from itself when from does not
// parse.
func stepFrom(p *catalog.Product, from string, steps int) string {
	sys, sc := systemOf(p), ProductScale(p)
	v, ok := parseLabel(sys, sc, from)
	if !ok || steps == 0 {
		return from
	}
	want := v.Pos + float64(steps)*sys.Step()
	best, bestD := from, math.Inf(1)
	last, lastD := "", 0.0
	for _, z := range p.Sizes {
		w, ok := parseLabel(sys, sc, z.Size)
		if !ok || w.Width != v.Width {
			continue
		}
		d := w.Pos - want // how far past the target, the way of the move
		if steps < 0 {
			d = -d
		}
		if d > -1e-6 && d < bestD {
			best, bestD = z.Size, d
		}
		if d < 0 && (last == "" || d > lastD) {
			last, lastD = z.Size, d // the size furthest that way, so far
		}
	}
	if bestD == math.Inf(1) && last != "" {
		return last
	}
	return best
}

// Metrics are one predictor's results on held-out purchases.
type Metrics struct {
	Name string `json:"name"`
	// Accuracy: of held-out kept purchases, the share whose recommended size is the
	// size kept.
	Accuracy float64 `json:"accuracy"`
	NKept    int     `json:"n_kept"`
	// ReturnsFixed: of held-out size returns, the share where the recommended size
	// differs from the returned one in the right direction (larger for too small).
	ReturnsFixed float64 `json:"returns_fixed"`
	NReturns     int     `json:"n_returns"`
	// One-vs-rest AUC of each class's score (Misra, Wan, McAuley 2018) and their mean.
	AUCSmall float64 `json:"auc_small"`
	AUCFit   float64 `json:"auc_fit"`
	AUCLarge float64 `json:"auc_large"`
	AUCMean  float64 `json:"auc_mean"`
	N        int     `json:"n"`
	Skipped  int     `json:"skipped"` // no product, or a size the product does not understand
	// TrueFit, with a FitTruth: of held-out purchases (kept or returned for size) whose
	// wearer the truth knows (NTrueFit), the share whose recommended size fits that
	// wearer in size (a shoe of the wrong width is scored by its size alone).
	TrueFit  float64 `json:"true_fit,omitempty"`
	NTrueFit int     `json:"n_true_fit,omitempty"`
	// TakenTrueFit (size models, with a FitTruth): of the same purchases, the share
	// where the size a shopper who follows the model's advice ends up with fits
	// (takenFrom; the size bought stands for the shopper's own pick).
	TakenTrueFit float64 `json:"taken_true_fit,omitempty"`
	// BoughtTrueFit: of the same purchases, the share whose size as bought fits
	// (Report.BoughtTrueFit carries the size model's).
	BoughtTrueFit float64 `json:"-"`
}

// Evaluate measures a predictor on held-out purchases. products resolves product ids
// (nil or unknown products skip the observation). Observations with OutcomeIgnored
// are skipped. truth may be nil (no TrueFit).
func Evaluate(pred Predictor, heldOut []Observation, products func(id string) *catalog.Product, truth FitTruth) Metrics {
	r := Metrics{Name: pred.Name()}
	var sc [3][]float64
	var lab [3][]bool
	correct, fixed, fits, takenFits, boughtFits := 0, 0, 0, 0, 0
	model, _ := pred.(*Model)
	var advice Recommendation
	for _, o := range heldOut {
		if o.Outcome == OutcomeIgnored || o.Outcome > OutcomeTooLarge {
			continue
		}
		p := products(o.ProductID)
		if p == nil {
			r.Skipped++
			continue
		}
		s, f, l, ok := pred.Scores(o.CustomerID, p, o.Size)
		if !ok {
			r.Skipped++
			continue
		}
		r.N++
		for c, v := range [3]float64{s, f, l} {
			sc[c] = append(sc[c], v)
		}
		lab[0] = append(lab[0], o.Outcome == OutcomeTooSmall)
		lab[1] = append(lab[1], o.Outcome == OutcomeKept)
		lab[2] = append(lab[2], o.Outcome == OutcomeTooLarge)
		sys, sc := systemOf(p), ProductScale(p)
		bought, _ := parseLabel(sys, sc, o.Size)
		var recLabel string
		if model != nil {
			model.RecommendProfile(model.profiles[o.CustomerID], p, &advice)
			recLabel = advice.RecommendedSize
		} else {
			recLabel = pred.RecommendedSize(o.CustomerID, p)
		}
		rec, recOK := parseLabel(sys, sc, recLabel)
		if truth != nil && recLabel != "" {
			if off, ok := truth(o, p, recLabel); ok {
				r.NTrueFit++
				if off == 0 {
					fits++
				}
				if off, ok := truth(o, p, o.Size); ok && off == 0 {
					boughtFits++
				}
				if model != nil {
					if off, ok := truth(o, p, takenFrom(&advice, p, o.Size)); ok && off == 0 {
						takenFits++
					}
				}
			}
		}
		switch o.Outcome {
		case OutcomeKept:
			r.NKept++
			if recOK && rec.Pos == bought.Pos && (rec.Width == bought.Width || bought.Width == WidthUnknown || rec.Width == WidthUnknown) {
				correct++
			}
		case OutcomeTooSmall:
			r.NReturns++
			if recOK && rec.Pos > bought.Pos {
				fixed++
			}
		case OutcomeTooLarge:
			r.NReturns++
			if recOK && rec.Pos < bought.Pos {
				fixed++
			}
		}
	}
	if r.NKept > 0 {
		r.Accuracy = float64(correct) / float64(r.NKept)
	}
	if r.NReturns > 0 {
		r.ReturnsFixed = float64(fixed) / float64(r.NReturns)
	}
	if r.NTrueFit > 0 {
		r.TrueFit = float64(fits) / float64(r.NTrueFit)
		r.BoughtTrueFit = float64(boughtFits) / float64(r.NTrueFit)
		if model != nil {
			r.TakenTrueFit = float64(takenFits) / float64(r.NTrueFit)
		}
	}
	r.AUCSmall = AUC(sc[0], lab[0])
	r.AUCFit = AUC(sc[1], lab[1])
	r.AUCLarge = AUC(sc[2], lab[2])
	r.AUCMean = (r.AUCSmall + r.AUCFit + r.AUCLarge) / 3
	return r
}

// AUC is the area under the ROC curve of scores for the positives (Mann–Whitney, ties
// counted half). It is 0.5 when either class is empty.
func AUC(scores []float64, positive []bool) float64 {
	n := len(scores)
	if n != len(positive) || n == 0 {
		return 0.5
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum, nPos float64
	for i := 0; i < n; {
		j := i
		for j < n && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks from 1
		for k := i; k < j; k++ {
			if positive[idx[k]] {
				rankSum += avg
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(n) - nPos
	if nPos == 0 || nNeg == 0 {
		return 0.5
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// Report is the size section of the training report (CONTRACT §6 "size").
type Report struct {
	Train   TrainStats `json:"train"`
	HeldOut int        `json:"held_out"`
	// HeldOutFrom and HeldOutTo bound the purchase times held out (set by the caller that
	// chose them; purchases after HeldOutTo were left out because their returns may not
	// have arrived yet).
	HeldOutFrom time.Time `json:"held_out_from,omitzero"`
	HeldOutTo   time.Time `json:"held_out_to,omitzero"`
	Models      []Metrics `json:"models"` // size_model, single_latent, most_frequent_size
	// Gains of the size model over the better baseline.
	AccuracyGain float64 `json:"accuracy_gain"`
	AUCGain      float64 `json:"auc_gain"`
	// With a FitTruth: the size model's TrueFit over the better baseline's, and the
	// share of the purchases it scored whose size as bought fits (the shoppers' own
	// picks, or whatever advice they had when they bought). Absent when 0: n_true_fit
	// says whether the truth scored anything.
	TrueFitGain   float64 `json:"true_fit_gain,omitempty"`
	BoughtTrueFit float64 `json:"bought_true_fit,omitempty"`
	// Flags counts products by verdict.
	Flags map[string]int `json:"product_flags"`
	// LeftOut counts what the caller could not give the model (set by the caller).
	LeftOut LeftOut `json:"left_out"`
}

// LeftOut counts the events a training run left out of the size model, so that a
// store sees what its data loses: purchases whose label the product's size system does
// not read, purchases and surveys the trainer refused, and survey shoe sizes outside
// every US scale (the rest of those surveys is kept).
type LeftOut struct {
	Purchases       int `json:"purchases"`
	Surveys         int `json:"surveys"`
	SurveyShoeSizes int `json:"survey_shoe_sizes"`
}

// Compare trains the size model and the single-latent-variable baseline on train and
// surveys, builds the most-frequent-size baseline, and evaluates all three on
// heldOut (by truth as well, when it is not nil). It returns the report and the
// trained size model.
func Compare(ctx context.Context, opts Options, train []Observation, surveys []Survey, heldOut []Observation, products func(id string) *catalog.Product, truth FitTruth) (Report, *Model, error) {
	fit := func(o Options) (*Model, error) {
		t := NewTrainer(o)
		for _, ob := range train {
			if err := t.AddObservation(ob); err != nil {
				return nil, err
			}
		}
		for _, s := range surveys {
			if err := t.AddSurvey(s); err != nil {
				return nil, err
			}
		}
		return t.Fit(ctx)
	}
	m, err := fit(opts)
	if err != nil {
		return Report{}, nil, fmt.Errorf("cannot train the size model: %w", err)
	}
	so := opts
	so.SingleLatent = true
	single, err := fit(so)
	if err != nil {
		return Report{}, nil, fmt.Errorf("cannot train the single-latent baseline: %w", err)
	}
	base := NewMostFrequentSize(train)
	rep := Report{Train: m.Stats(), HeldOut: len(heldOut), Flags: map[string]int{}}
	for _, p := range []Predictor{m, single, base} {
		rep.Models = append(rep.Models, Evaluate(p, heldOut, products, truth))
	}
	bestAcc := math.Max(rep.Models[1].Accuracy, rep.Models[2].Accuracy)
	bestAUC := math.Max(rep.Models[1].AUCMean, rep.Models[2].AUCMean)
	rep.AccuracyGain = rep.Models[0].Accuracy - bestAcc
	rep.AUCGain = rep.Models[0].AUCMean - bestAUC
	if truth != nil && rep.Models[0].NTrueFit > 0 {
		rep.TrueFitGain = rep.Models[0].TrueFit - math.Max(rep.Models[1].TrueFit, rep.Models[2].TrueFit)
		rep.BoughtTrueFit = rep.Models[0].BoughtTrueFit
	}
	for id := range m.products {
		rep.Flags[m.ProductFit(id).Fit]++
	}
	return rep, m, nil
}

// SplitHeldOut splits observations per customer by time: the latest frac of each
// customer's observations (at least one when the customer has three or more) are held
// out. Order within each part follows the input.
func SplitHeldOut(obs []Observation, frac float64) (train, heldOut []Observation) {
	by := map[string][]int{}
	for i, o := range obs {
		by[o.CustomerID] = append(by[o.CustomerID], i)
	}
	hold := make([]bool, len(obs))
	for _, idx := range by {
		if len(idx) < 3 {
			continue
		}
		sort.SliceStable(idx, func(a, b int) bool { return obs[idx[a]].Time.Before(obs[idx[b]].Time) })
		k := int(math.Round(frac * float64(len(idx))))
		if k < 1 {
			k = 1
		}
		for _, i := range idx[len(idx)-k:] {
			hold[i] = true
		}
	}
	for i, o := range obs {
		if hold[i] {
			heldOut = append(heldOut, o)
		} else {
			train = append(train, o)
		}
	}
	return train, heldOut
}
