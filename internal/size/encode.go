package size

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/bespokesearch/bespoke/internal/binenc"
	"math"
	"sort"
)

const (
	profileVersion = 1
	modelMagic     = "BSZM"
	modelVersion   = 3 // 3: the aware share after ChoiceSD; 2: ChoiceSD after BrandSD; 1 and 2 are still read
	maxProfileRows = 16
	noUsual        = math.MinInt16
)

// MarshalBinary encodes a profile compactly (about 10 bytes per size system and
// wearer): version, count, then per entry a flags byte (system, wearer, survey, width,
// gender), the mean in hundredths (int16), the SD in thousandths (uint16), the
// purchase count and the last purchase day (uvarints), the usual label position in
// hundredths (int16, -32768 for none).
func (p *Profile) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(nil)
}

// AppendBinary appends the encoding of MarshalBinary to b.
func (p *Profile) AppendBinary(b []byte) ([]byte, error) {
	if len(p.Sizes) > maxProfileRows {
		return nil, fmt.Errorf("size profile has %d entries; at most %d", len(p.Sizes), maxProfileRows)
	}
	b = append(b, profileVersion)
	b = binary.AppendUvarint(b, uint64(len(p.Sizes)))
	for _, t := range p.Sizes {
		if t.System >= numSystems || t.Wearer > 1 || t.Width < 0 || t.Width > 3 || t.Gender > genderKids {
			return nil, fmt.Errorf("size profile entry %+v is out of range", t)
		}
		// gender 3 (a child's entry) fits the same two bits, but binaries from before it
		// reject such profiles: in a rolling upgrade, update the readers first
		flags := byte(t.System) | t.Wearer<<2 | byte(t.Width)<<4 | t.Gender<<6
		if t.Survey {
			flags |= 1 << 3
		}
		b = append(b, flags)
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(clamp(math.Round(float64(t.Mean)*100), math.MinInt16, math.MaxInt16))))
		b = binary.LittleEndian.AppendUint16(b, uint16(clamp(math.Round(float64(t.SD)*1000), 0, math.MaxUint16)))
		b = binary.AppendUvarint(b, uint64(t.N))
		b = binary.AppendUvarint(b, uint64(t.LastDay))
		u := int16(noUsual)
		if t.HasUsual {
			u = int16(clamp(math.Round(float64(t.Usual)*100), math.MinInt16+1, math.MaxInt16))
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(u))
	}
	return b, nil
}

// UnmarshalBinary decodes MarshalBinary's output; bad input is an error, never a panic.
// It reuses the capacity of p.Sizes (a server decodes into pooled profiles); after an
// error p holds no entries.
func (p *Profile) UnmarshalBinary(b []byte) error {
	p.Sizes = p.Sizes[:0]
	d := decoder{binenc.NewReader(b)}
	if v := d.byte(); d.Err() == nil && v != profileVersion {
		return fmt.Errorf("size profile has encoding version %d; want %d", v, profileVersion)
	}
	n := d.uvarint()
	if d.Err() == nil && n > maxProfileRows {
		return fmt.Errorf("size profile claims %d entries; at most %d", n, maxProfileRows)
	}
	sizes := p.Sizes[:0]
	if uint64(cap(sizes)) < n {
		sizes = make([]TrueSize, 0, n)
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		flags := d.byte()
		mean := int16(d.uint16())
		sd := d.uint16()
		cnt := d.uvarint()
		day := d.uvarint()
		usual := int16(d.uint16())
		if d.Err() != nil {
			break
		}
		t := TrueSize{System: System(flags & 3), Wearer: flags >> 2 & 1, Survey: flags>>3&1 == 1, Width: int8(flags >> 4 & 3),
			Gender: flags >> 6, Mean: float32(mean) / 100, SD: float32(sd) / 1000}
		if t.System == SystemNone || t.Gender > genderKids || cnt > math.MaxUint16 || day > math.MaxUint32 {
			return fmt.Errorf("size profile entry %d is invalid (flags %#x, count %d, day %d)", i, flags, cnt, day)
		}
		t.N, t.LastDay = uint16(cnt), uint32(day)
		if usual != noUsual {
			t.Usual, t.HasUsual = float32(usual)/100, true
		}
		sizes = append(sizes, t)
	}
	if d.Err() != nil {
		return fmt.Errorf("cannot decode size profile: %w", d.Err())
	}
	if d.Len() != 0 {
		return fmt.Errorf("cannot decode size profile: %d trailing bytes", d.Len())
	}
	p.Sizes = sizes
	return nil
}

// decoder reads the model's encoding: binenc's bounded reader, plus the check that
// every number decoded is finite (a NaN offset would poison every recommendation).
type decoder struct{ *binenc.Reader }

var errNonFinite = errors.New("non-finite number")

func (d decoder) byte() byte      { return d.Byte() }
func (d decoder) uint16() uint16  { return d.U16() }
func (d decoder) uint64() uint64  { return d.U64() }
func (d decoder) uvarint() uint64 { return d.Uvarint() }
func (d decoder) count(minBytes int) int {
	return d.Count(minBytes)
}
func (d decoder) string() string { return d.String() }

func (d decoder) float64() float64 {
	v := d.F64()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.Fail(errNonFinite)
	}
	return v
}

func (d decoder) float32() float32 {
	v := d.F32()
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		d.Fail(errNonFinite)
	}
	return v
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendF64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendF32(b []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

func appendItem(b []byte, it *ItemFit) []byte {
	b = append(b, byte(it.System), it.Gender)
	b = appendF32(b, it.Offset)
	b = appendF32(b, it.SD)
	b = binary.AppendUvarint(b, uint64(it.Kept))
	b = binary.AppendUvarint(b, uint64(it.TooSmall))
	b = binary.AppendUvarint(b, uint64(it.TooLarge))
	b = appendString(b, it.Mode)
	b = appendString(b, it.Brand)
	return appendString(b, it.Category)
}

func (d decoder) item() *ItemFit {
	it := &ItemFit{System: System(d.byte()), Gender: d.byte()}
	it.Offset = d.float32()
	it.SD = d.float32()
	k, s, l := d.uvarint(), d.uvarint(), d.uvarint()
	it.Mode = d.string()
	it.Brand = d.string()
	it.Category = d.string()
	if d.Err() == nil && (it.System == SystemNone || it.System >= numSystems || it.Gender > genderKids || k > math.MaxUint32 || s > math.MaxUint32 || l > math.MaxUint32) {
		d.Fail(fmt.Errorf("item fit out of range (system %d, gender %d)", it.System, it.Gender))
	}
	it.Kept, it.TooSmall, it.TooLarge = uint32(k), uint32(s), uint32(l)
	return it
}

// ItemFit encodings (for a product's entry in a key-value store).

// MarshalBinary encodes an item fit.
func (it *ItemFit) MarshalBinary() ([]byte, error) { return appendItem(nil, it), nil }

// UnmarshalBinary decodes MarshalBinary's output.
func (it *ItemFit) UnmarshalBinary(b []byte) error {
	d := decoder{binenc.NewReader(b)}
	v := d.item()
	if d.Err() == nil && d.Len() != 0 {
		d.Fail(fmt.Errorf("%d trailing bytes", d.Len()))
	}
	if d.Err() != nil {
		return fmt.Errorf("cannot decode item fit: %w", d.Err())
	}
	*it = *v
	return nil
}

// MarshalBinary encodes the model's shared parts: link parameters, population priors,
// brand and product offsets and the survey → size model. Customer profiles are not
// included: publish them one by one (Profiles, Profile.MarshalBinary) and serve with
// RecommendProfile. Keys are written in sorted order, so equal models encode equally.
func (m *Model) MarshalBinary() ([]byte, error) {
	b := append([]byte(modelMagic), modelVersion)
	if m.single {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendF64(b, m.brandSD)
	b = appendF64(b, m.choiceSD)
	b = appendF64(b, m.aware)
	for s := System(1); s < numSystems; s++ {
		b = appendF64(b, m.links[s].Kappa)
		b = appendF64(b, m.links[s].Tau)
	}
	pk := make([]popKey, 0, len(m.pop))
	for k := range m.pop {
		pk = append(pk, k)
	}
	sort.Slice(pk, func(i, j int) bool {
		a, c := pk[i], pk[j]
		if a.sys != c.sys {
			return a.sys < c.sys
		}
		if a.gender != c.gender {
			return a.gender < c.gender
		}
		return a.category < c.category
	})
	b = binary.AppendUvarint(b, uint64(len(pk)))
	for _, k := range pk {
		v := m.pop[k]
		b = append(b, byte(k.sys), k.gender)
		b = appendString(b, k.category)
		b = appendF64(b, v.Mean)
		b = appendF64(b, v.Var)
		b = binary.AppendUvarint(b, uint64(v.N))
	}
	for _, items := range []map[string]*ItemFit{m.brands, m.products} {
		keys := make([]string, 0, len(items))
		for k := range items {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			b = appendString(b, k)
			b = appendItem(b, items[k])
		}
	}
	b = m.body.appendBinary(b)
	b = binary.AppendUvarint(b, uint64(m.stats.Observations))
	b = binary.AppendUvarint(b, uint64(m.stats.Customers))
	return b, nil
}

func (bm *BodyModel) appendBinary(b []byte) []byte {
	if bm == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, fs := range [][]float64{bm.mean, bm.sd, bm.w, bm.c} {
		b = binary.AppendUvarint(b, uint64(len(fs)))
		for _, v := range fs {
			b = appendF64(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(bm.classes)))
	for _, c := range bm.classes {
		b = append(b, byte(c))
	}
	b = appendF64(b, bm.alpha)
	keys := make([]uint64, 0, len(bm.cells))
	for k := range bm.cells {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.LittleEndian.AppendUint64(b, k)
		for _, v := range bm.cells[k] {
			b = appendF32(b, v)
		}
	}
	return b
}

func (d decoder) body() *BodyModel {
	if d.byte() == 0 || d.Err() != nil {
		return nil
	}
	bm := &BodyModel{}
	dst := []*[]float64{&bm.mean, &bm.sd, &bm.w, &bm.c}
	for _, p := range dst {
		n := d.count(8)
		*p = make([]float64, n)
		for i := range *p {
			(*p)[i] = d.float64()
		}
	}
	nc := d.count(1)
	for i := 0; i < nc; i++ {
		bm.classes = append(bm.classes, int(d.byte()))
	}
	bm.alpha = d.float64()
	n := d.count(8 + 4*maxAlpha)
	bm.cells = make(map[uint64]*[maxAlpha]float32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.uint64()
		c := new([maxAlpha]float32)
		for j := range c {
			c[j] = d.float32()
		}
		bm.cells[k] = c
	}
	if d.Err() != nil {
		return nil
	}
	// shapes must agree or Predict would index out of range
	ok := len(bm.mean) == numBodyFeatures+2 && len(bm.sd) == numBodyFeatures && len(bm.w) == numBodyFeatures &&
		len(bm.classes) >= 2 && len(bm.c) == len(bm.classes)-1 && bm.alpha >= 0
	for i, c := range bm.classes {
		if c < 0 || c >= maxAlpha || i > 0 && c <= bm.classes[i-1] {
			ok = false
		}
	}
	for _, s := range bm.sd {
		if s == 0 {
			ok = false
		}
	}
	if !ok {
		d.Fail(errors.New("survey → size model has inconsistent shapes"))
		return nil
	}
	return bm
}

// UnmarshalModel decodes Model.MarshalBinary's output. The model has no customer
// profiles: Recommend treats every customer as unknown; use RecommendProfile.
func UnmarshalModel(b []byte) (*Model, error) {
	if len(b) < len(modelMagic)+1 || string(b[:len(modelMagic)]) != modelMagic {
		return nil, errors.New("not a size model: bad magic")
	}
	version := b[len(modelMagic)]
	if version != modelVersion && version != 1 && version != 2 {
		return nil, fmt.Errorf("size model has encoding version %d; want %d", version, modelVersion)
	}
	d := decoder{binenc.NewReader(b[len(modelMagic)+1:])}
	m := &Model{profiles: map[string]*Profile{}, pop: popTable{}}
	m.single = d.byte() == 1
	m.brandSD = d.float64()
	if version >= 2 { // version 1, before ChoiceSD: labels did not pull
		m.choiceSD = d.float64()
		if d.Err() == nil && !(m.choiceSD >= 0 && m.choiceSD < maxChoiceSD) {
			d.Fail(fmt.Errorf("choice SD %v out of range", m.choiceSD))
		}
	}
	if version >= 3 { // before, every pick was read as the buyer's usual label
		m.aware = d.float64()
		if d.Err() == nil && !(m.aware >= 0 && m.aware < 1) {
			d.Fail(fmt.Errorf("aware share %v out of range", m.aware))
		}
		m.stats.AwareShare = m.aware
	}
	for s := System(1); s < numSystems; s++ {
		m.links[s] = link{Kappa: d.float64(), Tau: d.float64()}
		if d.Err() == nil && (m.links[s].Kappa <= 0 || m.links[s].Tau <= 0) {
			d.Fail(fmt.Errorf("link of %s is not positive", s))
		}
	}
	np := d.count(2)
	for i := 0; i < np && d.Err() == nil; i++ {
		k := popKey{sys: System(d.byte()), gender: d.byte()}
		k.category = d.string()
		v := PopPrior{Mean: d.float64(), Var: d.float64(), N: int(min(d.uvarint(), math.MaxInt32))}
		if d.Err() == nil && (k.sys == SystemNone || k.sys >= numSystems || v.Var <= 0) {
			d.Fail(errors.New("population prior out of range"))
		}
		m.pop[k] = v
	}
	for j, dst := range []*map[string]*ItemFit{&m.brands, &m.products} {
		n := d.count(2)
		*dst = make(map[string]*ItemFit, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			k := d.string()
			it := d.item()
			if j == 0 && d.Err() == nil && (len(k) == 0 || System(k[0]-'0') != it.System) {
				d.Fail(fmt.Errorf("brand key %q does not match its system", k))
			}
			(*dst)[k] = it
		}
	}
	m.body = d.body()
	m.stats.Observations = int(min(d.uvarint(), math.MaxInt32))
	m.stats.Customers = int(min(d.uvarint(), math.MaxInt32))
	if d.Err() == nil && d.Len() != 0 {
		d.Fail(fmt.Errorf("%d trailing bytes", d.Len()))
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("cannot decode size model: %w", d.Err())
	}
	m.stats.Brands, m.stats.Products = len(m.brands), len(m.products)
	return m, nil
}
