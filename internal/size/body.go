package size

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

// numAlpha is the number of alpha sizes (XXS..XXXL).
var numAlpha = len(catalog.AlphaSizes)

const maxAlpha = 8 // fixed array size; equals len(catalog.AlphaSizes)

// BodySample is one survey answer with the alpha size that fits: height in cm, weight
// in kg, age in years (0 = not given), Size the alpha position (0 = XXS … 7 = XXXL).
type BodySample struct {
	HeightCM, WeightKG, Age float64
	Gender                  string
	Size                    float64
}

// BodyModel predicts the alpha size of a customer from a fit survey (height, weight,
// age, gender): a cumulative-logit (ordered logit) model on the measurements, BMI and
// their squares and products, refined by smoothed class counts in fine and coarse cells
// of (weight, height, age), each smoothed toward the level above (empirical Bayes).
// It is immutable once fitted.
type BodyModel struct {
	mean, sd []float64 // feature standardisation
	w        []float64 // ordered-logit weights
	c        []float64 // thresholds between the classes present
	classes  []int     // the alpha positions present in training, ascending
	cells    map[uint64]*[maxAlpha]float32
	alpha    float64 // smoothing pseudo-count
}

const numBodyFeatures = 14

func bodyFeatures(h, w, a float64, g uint8, meanH, meanA float64, dst []float64) []float64 {
	missH, missA := 0.0, 0.0
	if !(h > 0) {
		h, missH = meanH, 1
	}
	if !(a > 0) {
		a, missA = meanA, 1
	}
	if !(w > 0) {
		w = 0
	}
	bmi := w / (h * h / 1e4)
	female, male := 0.0, 0.0
	switch g {
	case genderFemale:
		female = 1
	case genderMale:
		male = 1
	}
	return append(dst[:0], h, w, a, bmi, h*h, w*w, a*a, bmi*bmi, h*w, a*w, a*bmi, missH, missA, female-male)
}

// bodyBins are the cell widths (weight kg, height cm, age years; 0 = not binned) of
// the smoothing levels, finest first.
var bodyBins = [...][3]float64{{2, 2.54, 4}, {4, 5.08, 12}}

// cell keys: level (4 bits) | weight bin | height bin | age bin.
func cellKey(level int, h, w, a float64) uint64 {
	bw := bodyBins[level]
	wb := int64(math.Floor(w / bw[0]))
	hb, ab := int64(-1), int64(-1)
	if h > 0 {
		hb = int64(math.Round(h / bw[1]))
	}
	if a > 0 && bw[2] > 0 {
		ab = int64(math.Floor(a / bw[2]))
	}
	return uint64(level)<<60 | uint64(wb+1)&0xFFFFF<<40 | uint64(hb+1)&0xFFFFF<<20 | uint64(ab+1)&0xFFFFF
}

// FitBodyModel fits a BodyModel. Samples with no weight, or a size outside XXS..XXXL,
// are refused; at least 20 samples are needed.
func FitBodyModel(samples []BodySample) (*BodyModel, error) {
	const K = maxAlpha
	if len(samples) < 20 {
		return nil, fmt.Errorf("cannot fit the survey → size model on %d samples; need at least 20", len(samples))
	}
	var meanH, meanA, nH, nA float64
	for i, s := range samples {
		if !(s.WeightKG > 0) || s.WeightKG > 500 || s.HeightCM < 0 || s.HeightCM > 300 || s.Age < 0 || s.Age > 150 {
			return nil, fmt.Errorf("body sample %d: weight %v kg, height %v cm, age %v out of range", i, s.WeightKG, s.HeightCM, s.Age)
		}
		if s.Size < 0 || s.Size > K-1 || s.Size != s.Size {
			return nil, fmt.Errorf("body sample %d: size position %v outside 0..%d", i, s.Size, K-1)
		}
		if s.HeightCM > 0 {
			meanH += s.HeightCM
			nH++
		}
		if s.Age > 0 {
			meanA += s.Age
			nA++
		}
	}
	meanH = meanH / math.Max(nH, 1)
	meanA = meanA / math.Max(nA, 1)
	if nH == 0 {
		meanH = 165
	}
	if nA == 0 {
		meanA = 35
	}
	n := len(samples)
	X := make([]float64, n*numBodyFeatures)
	Y := make([]int, n)
	var buf []float64
	for i, s := range samples {
		buf = bodyFeatures(s.HeightCM, s.WeightKG, s.Age, parseGender(s.Gender), meanH, meanA, buf)
		copy(X[i*numBodyFeatures:], buf)
		Y[i] = int(math.Round(s.Size))
	}
	m := &BodyModel{mean: make([]float64, numBodyFeatures), sd: make([]float64, numBodyFeatures)}
	for j := 0; j < numBodyFeatures; j++ {
		var s, s2 float64
		for i := 0; i < n; i++ {
			v := X[i*numBodyFeatures+j]
			s += v
			s2 += v * v
		}
		mu := s / float64(n)
		sd := math.Sqrt(math.Max(s2/float64(n)-mu*mu, 0))
		if sd < 1e-9 {
			sd = 1
		}
		m.mean[j], m.sd[j] = mu, sd
		for i := 0; i < n; i++ {
			X[i*numBodyFeatures+j] = (X[i*numBodyFeatures+j] - mu) / sd
		}
	}
	m.mean = append(m.mean, meanH, meanA) // imputation values at the end
	// thresholds between the classes present, from the cumulative class frequencies
	var counts [K]float64
	for _, y := range Y {
		counts[y]++
	}
	rank := make([]int, K)
	for k := 0; k < K; k++ {
		rank[k] = len(m.classes)
		if counts[k] > 0 {
			m.classes = append(m.classes, k)
		}
	}
	for i, y := range Y {
		Y[i] = rank[y]
	}
	if len(m.classes) < 2 {
		return nil, fmt.Errorf("cannot fit the survey → size model: every sample has size %s", catalog.AlphaSizes[m.classes[0]])
	}
	m.c = make([]float64, len(m.classes)-1)
	cum := 0.0
	for k := 0; k < len(m.c); k++ {
		cum += counts[m.classes[k]]
		p := clamp(cum/float64(n), 1e-4, 1-1e-4)
		m.c[k] = math.Log(p / (1 - p))
	}
	m.w = make([]float64, numBodyFeatures)
	fitOrderedLogit(X, Y, m.w, m.c, 150)

	// smoothed cell counts
	m.alpha = 30
	m.cells = make(map[uint64]*[maxAlpha]float32)
	for _, s := range samples {
		y := int(math.Round(s.Size))
		for level := range bodyBins {
			k := cellKey(level, s.HeightCM, s.WeightKG, s.Age)
			c := m.cells[k]
			if c == nil {
				c = new([maxAlpha]float32)
				m.cells[k] = c
			}
			c[y]++
		}
	}
	return m, nil
}

// fitOrderedLogit minimises the cumulative-logit negative log-likelihood by full-batch
// Adam with a small L2 penalty.
func fitOrderedLogit(X []float64, Y []int, w, c []float64, iters int) {
	F := len(w)
	K := len(c) + 1
	n := len(Y)
	P := F + len(c)
	grad := make([]float64, P)
	m1 := make([]float64, P)
	m2 := make([]float64, P)
	const lr, b1, b2, l2 = 0.08, 0.9, 0.999, 1e-4
	for it := 1; it <= iters; it++ {
		for j := range grad {
			grad[j] = 0
		}
		for i := 0; i < n; i++ {
			x := X[i*F : (i+1)*F]
			eta := 0.0
			for j, v := range x {
				eta += w[j] * v
			}
			y := Y[i]
			var Fy, fy, Fp, fp float64 = 1, 0, 0, 0
			if y < K-1 {
				Fy = sigmoid(c[y] - eta)
				fy = Fy * (1 - Fy)
			}
			if y > 0 {
				Fp = sigmoid(c[y-1] - eta)
				fp = Fp * (1 - Fp)
			}
			p := math.Max(Fy-Fp, 1e-12)
			ge := (fy - fp) / p
			for j, v := range x {
				grad[j] += ge * v
			}
			if y < K-1 {
				grad[F+y] -= fy / p
			}
			if y > 0 {
				grad[F+y-1] += fp / p
			}
		}
		for j := 0; j < P; j++ {
			g := grad[j] / float64(n)
			if j < F {
				g += l2 * w[j]
			}
			m1[j] = b1*m1[j] + (1-b1)*g
			m2[j] = b2*m2[j] + (1-b2)*g*g
			step := lr * (m1[j] / (1 - math.Pow(b1, float64(it)))) / (math.Sqrt(m2[j]/(1-math.Pow(b2, float64(it)))) + 1e-8)
			if j < F {
				w[j] -= step
			} else {
				c[j-F] -= step
			}
		}
		for k := 1; k < len(c); k++ {
			if c[k] < c[k-1] {
				c[k] = c[k-1]
			}
		}
	}
}

// Predict is the distribution over the alpha sizes (index 0 = XXS) for a survey
// answer. Zero or negative numbers mean "not given". It is nil-safe: a nil model gives
// a flat distribution.
func (m *BodyModel) Predict(heightCM, weightKG, age float64, gender string) [maxAlpha]float64 {
	var out [maxAlpha]float64
	if m == nil || len(m.w) == 0 || !(weightKG > 0) {
		for k := range out {
			out[k] = 1 / float64(maxAlpha)
		}
		return out
	}
	var fb [numBodyFeatures]float64
	x := bodyFeatures(heightCM, weightKG, age, parseGender(gender), m.mean[numBodyFeatures], m.mean[numBodyFeatures+1], fb[:0])
	eta := 0.0
	for j, v := range x {
		eta += m.w[j] * (v - m.mean[j]) / m.sd[j]
	}
	prev := 0.0
	for k, cls := range m.classes {
		F := 1.0
		if k < len(m.c) {
			F = sigmoid(m.c[k] - eta)
		}
		out[cls] = math.Max(F-prev, 0)
		prev = F
	}
	for level := len(bodyBins) - 1; level >= 0; level-- {
		c := m.cells[cellKey(level, heightCM, weightKG, age)]
		if c == nil {
			continue
		}
		tot := 0.0
		for _, v := range c {
			tot += float64(v)
		}
		for k := range out {
			out[k] = (float64(c[k]) + m.alpha*out[k]) / (tot + m.alpha)
		}
	}
	return out
}

// PredictSize is the most likely alpha position and the variance of the distribution
// around it.
func (m *BodyModel) PredictSize(heightCM, weightKG, age float64, gender string) (pos, variance float64) {
	d := m.Predict(heightCM, weightKG, age, gender)
	best := 0
	for k := range d {
		if d[k] > d[best] {
			best = k
		}
	}
	for k, p := range d {
		variance += p * (float64(k) - float64(best)) * (float64(k) - float64(best))
	}
	return float64(best), variance
}

// ReadBodyTable reads a CSV with a header naming (in any order) weight, height and
// size columns and optionally age and gender: weight in kg, height in cm, age in
// years, size an alpha label. Rows with no weight or size are skipped; a row that
// cannot be read is an error naming its line.
func ReadBodyTable(r io.Reader) ([]BodySample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("cannot read body table header: %w", err)
		}
		return nil, errors.New("body table is empty: want a header with weight, height and size")
	}
	col := map[string]int{}
	for i, h := range strings.Split(strings.TrimPrefix(sc.Text(), "\ufeff"), ",") {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	iw, okW := col["weight"]
	ih, okH := col["height"]
	is, okS := col["size"]
	if !okW || !okH || !okS {
		return nil, fmt.Errorf("body table header %q must name weight, height and size", sc.Text())
	}
	ia, okA := col["age"]
	ig, okG := col["gender"]
	var out []BodySample
	num := func(f []string, i int, line int, name string) (float64, error) {
		if i >= len(f) {
			return 0, fmt.Errorf("body table line %d: no %s column", line, name)
		}
		s := strings.TrimSpace(f[i])
		if s == "" || s == "NA" || s == "nan" {
			return 0, nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1000 || v != v {
			return 0, fmt.Errorf("body table line %d: %s %q is not a number in range", line, name, s)
		}
		return v, nil
	}
	for line := 2; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		f := strings.Split(t, ",")
		w, err := num(f, iw, line, "weight")
		if err != nil {
			return nil, err
		}
		h, err := num(f, ih, line, "height")
		if err != nil {
			return nil, err
		}
		var a float64
		if okA {
			if a, err = num(f, ia, line, "age"); err != nil {
				return nil, err
			}
		}
		if is >= len(f) {
			return nil, fmt.Errorf("body table line %d: no size column", line)
		}
		label := strings.TrimSpace(f[is])
		if w == 0 || label == "" {
			continue
		}
		v, err := ParseSize(SystemAlpha, label)
		if err != nil {
			return nil, fmt.Errorf("body table line %d: %w", line, err)
		}
		s := BodySample{HeightCM: h, WeightKG: w, Age: a, Size: math.Round(v.Pos)}
		if okG && ig < len(f) {
			s.Gender = strings.TrimSpace(f[ig])
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read body table: %w", err)
	}
	return out, nil
}
