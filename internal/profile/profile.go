package profile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/bespokesearch/bespoke/internal/binenc"
	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/size"
	"hash/fnv"
	"math"
	"slices"
	"time"
)

// Facets of a product that affinities are kept for.
const (
	Brand = iota
	Category
	Color
	Style
	Gender // men, women, unisex, kids: who the product is cut for
	Width  // a shoe's width (the catalog attribute "width": narrow, medium, wide, …)
	NumFacets
)

// Limits that keep profiles small.
const (
	MaxPerFacet = 6 // strongest values kept per facet
	MaxRecent   = 8 // most recent items kept
	MaxSizes    = 4 // predicted sizes kept (one per size system, plus a second wearer)
	HalfLife    = 30 * 24 * time.Hour
)

// Affinity is the decayed weight of one facet value (by hash).
type Affinity struct {
	Key    uint32
	Weight float32
}

// SizePrediction is a predicted true size in one size system, on that system's
// numeric scale (see package size), with a confidence in 0..1.
type SizePrediction struct {
	System uint8 // 1 us_shoe, 2 alpha, 3 numeric
	Size   float32
	Conf   float32
}

// Profile is what personalization knows about one customer or visitor.
type Profile struct {
	Updated   int64 // unix seconds of the latest event applied (event time)
	Events    uint32
	OptedOut  bool
	Facets    [NumFacets][]Affinity
	Total     float32  // decayed sum of interaction weights, for smoothing
	PriceN    float32  // decayed count of priced interactions
	PriceMean float32  // decayed mean of log(price)
	PriceM2   float32  // decayed sum of squared deviations of log(price)
	Recent    []uint32 // hashes of product ids, most recent first
	Sizes     []SizePrediction
}

// Hash is the 32-bit key used for facet values and product ids (FNV-1a of the lower-case text).
func Hash(s string) uint32 {
	h := fnv.New32a()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h.Write([]byte{c})
	}
	return h.Sum32()
}

// Item is what the profile needs to know of a product an event is about.
type Item struct {
	ID                                           string
	Brand, Category, Color, Style, Gender, Width string
	Price                                        float64
	SizeSystem                                   uint8 // catalog.System… code; 0 when the item has no sizes
}

// ItemOf is the profile's view of a catalog product.
func ItemOf(p *catalog.Product) Item {
	return Item{ID: p.ProductID, Brand: p.Brand, Category: p.Category, Color: p.Color, Style: p.Style, Gender: p.Gender,
		Width: widthOf(p), Price: p.Price, SizeSystem: catalog.SystemCode(p.SizeSystem)}
}

// widthOf is a product's width attribute as one word (size.WidthWord: "wide" for
// "W" or "2E"), "" when it has none the size package reads.
func widthOf(p *catalog.Product) string {
	w, _ := p.Attributes["width"].(string)
	return size.WidthWord(w)
}

// FacetValues are the item's values of the facets, indexed by Brand … Width.
func (it *Item) FacetValues() [NumFacets]string {
	return [NumFacets]string{it.Brand, it.Category, it.Color, it.Style, it.Gender, it.Width}
}

// Interaction kinds and their weights: what the customer did with an item.
type Interaction int

const (
	Viewed Interaction = iota
	Clicked
	AddedToCart
	Purchased
	ReturnedForSize // not a signal against the product: only the size was wrong
	ReturnedOther   // not as pictured, quality…: a signal against it
)

var interactionWeight = [...]float32{Viewed: 0.3, Clicked: 1, AddedToCart: 2, Purchased: 4, ReturnedForSize: 0, ReturnedOther: -3}

// Decay brings the profile's weights forward to time t (unix seconds).
func (p *Profile) Decay(t int64) {
	if p.Updated == 0 || t <= p.Updated {
		if p.Updated == 0 {
			p.Updated = t
		}
		return
	}
	f := float32(math.Exp2(-float64(t-p.Updated) / HalfLife.Seconds()))
	for fi := range p.Facets {
		for i := range p.Facets[fi] {
			p.Facets[fi][i].Weight *= f
		}
	}
	p.Total *= f
	p.PriceN *= f
	p.PriceM2 *= f
	p.Updated = t
}

// Apply records one interaction with an item at time t (unix seconds).
func (p *Profile) Apply(kind Interaction, it Item, t int64) {
	p.Decay(t)
	p.Events++
	w := interactionWeight[kind]
	if w != 0 {
		for fi, v := range it.FacetValues() {
			if v != "" {
				p.addFacet(fi, Hash(v), w)
			}
		}
		if w > 0 {
			p.Total += w
		}
	}
	if it.Price > 0 && w > 0 {
		// Decayed Welford update of the mean and spread of log price.
		x := float32(math.Log(it.Price))
		p.PriceN += w
		d := x - p.PriceMean
		p.PriceMean += d * w / p.PriceN
		p.PriceM2 += w * d * (x - p.PriceMean)
	}
	if kind != ReturnedOther && kind != ReturnedForSize && it.ID != "" {
		p.touch(Hash(it.ID))
	}
}

// statedWidthWeight is what a shoe width the customer states in a fit survey weighs in
// the Width facet: two purchases' worth, since they know their feet better than a
// click says.
var statedWidthWeight = 2 * interactionWeight[Purchased]

// StateWidth records the shoe width a customer states (a fit survey's shoe_width:
// narrow, medium, wide, as the catalog's width attribute words it) at time t.
func (p *Profile) StateWidth(width string, t int64) {
	w := size.WidthWord(width) // the catalog's word for it, as widthOf reads products
	if w == "" {
		return
	}
	p.Decay(t)
	p.Events++
	p.addFacet(Width, Hash(w), statedWidthWeight)
}

func (p *Profile) addFacet(fi int, key uint32, w float32) {
	fs := p.Facets[fi]
	for i := range fs {
		if fs[i].Key == key {
			fs[i].Weight += w
			p.sortFacet(fi)
			return
		}
	}
	if w <= 0 {
		return // a negative signal about something never liked is not worth a slot
	}
	if len(fs) < MaxPerFacet {
		p.Facets[fi] = append(fs, Affinity{key, w})
	} else {
		// Space-saving: the new value takes the weakest slot and inherits its weight,
		// so a value the customer keeps coming back to always earns a place (its
		// weight is overestimated by at most the evicted weight, which decays).
		last := &fs[len(fs)-1]
		*last = Affinity{key, last.Weight + w}
	}
	p.sortFacet(fi)
}

func (p *Profile) sortFacet(fi int) {
	slices.SortStableFunc(p.Facets[fi], func(a, b Affinity) int {
		switch {
		case a.Weight > b.Weight:
			return -1
		case a.Weight < b.Weight:
			return 1
		}
		return 0
	})
}

func (p *Profile) touch(h uint32) {
	if i := slices.Index(p.Recent, h); i >= 0 {
		p.Recent = slices.Delete(p.Recent, i, i+1)
	}
	p.Recent = slices.Insert(p.Recent, 0, h)
	if len(p.Recent) > MaxRecent {
		p.Recent = p.Recent[:MaxRecent]
	}
}

// Weight is the decayed affinity to a facet value (0 when unknown).
func (p *Profile) Weight(facet int, key uint32) float32 {
	for _, a := range p.Facets[facet] {
		if a.Key == key {
			return a.Weight
		}
	}
	return 0
}

// Lift is how much more than the population the customer likes a facet value, as a
// log ratio smoothed toward the population: log((w + α·share) / (total + α) / share).
// share is the value's share of all interactions in the population (0 < share ≤ 1),
// α the strength of the prior in interaction units. An empty profile gives 0. The
// Width facet, which only shoes have, is a share of the customer's interactions with
// shoes (the weight of its values), not of all: a customer who mostly buys shirts is
// not averse to every width.
func (p *Profile) Lift(facet int, key uint32, share, alpha float32) float32 {
	if share <= 0 {
		share = 1e-4
	}
	w := p.Weight(facet, key)
	total := p.Total
	if facet == Width {
		total = 0
		for _, a := range p.Facets[facet] {
			total += max(a.Weight, 0) // as Total, which only positive weights add to
		}
	}
	// a value returned more than bought (ReturnedOther weighs -3) is disliked, not a log of a negative
	num := max(w+alpha*share, 0.01*alpha*share)
	return float32(math.Log(float64(num / (total + alpha) / share)))
}

// PriceFit is how typical a price is for the customer: minus the squared z-score of
// log(price) against their decayed price band (0 when nothing is known).
func (p *Profile) PriceFit(price float64) float32 {
	if p.PriceN < 1 || price <= 0 {
		return 0
	}
	variance := p.PriceM2/p.PriceN + 0.05 // a floor: a single price is not a band of zero width
	z := (float32(math.Log(price)) - p.PriceMean)
	return -z * z / variance
}

// Merge adds another profile's evidence (an anonymous session's, on identify).
func (p *Profile) Merge(o *Profile) {
	if o == nil || o.Events == 0 {
		return
	}
	t := max(p.Updated, o.Updated)
	p.Decay(t)
	oc := o.Clone()
	oc.Decay(t)
	for fi := range oc.Facets {
		for _, a := range oc.Facets[fi] {
			p.addFacet(fi, a.Key, a.Weight)
		}
	}
	p.Total += oc.Total
	if oc.PriceN > 0 {
		n := p.PriceN + oc.PriceN
		d := oc.PriceMean - p.PriceMean
		p.PriceM2 += oc.PriceM2 + d*d*p.PriceN*oc.PriceN/n
		p.PriceMean += d * oc.PriceN / n
		p.PriceN = n
	}
	for i := len(oc.Recent) - 1; i >= 0; i-- {
		p.touch(oc.Recent[i])
	}
	p.Events += oc.Events
	if len(p.Sizes) == 0 {
		p.Sizes = oc.Sizes
	}
}

// Clone returns a deep copy.
func (p *Profile) Clone() *Profile {
	c := *p
	for fi := range p.Facets {
		c.Facets[fi] = slices.Clone(p.Facets[fi])
	}
	c.Recent = slices.Clone(p.Recent)
	c.Sizes = slices.Clone(p.Sizes)
	return &c
}

// sizeStep is one size step on a system's scale (half a US shoe size, one alpha size,
// one waist inch).
func sizeStep(system uint8) float32 {
	if system == 1 {
		return 0.5
	}
	return 1
}

// ObserveSize moves the predicted size of a system toward a size the customer chose
// (bought: target is that size; returned too small / too large: one step above / below).
// It is the real-time estimate; the trained size model replaces it when published.
func (p *Profile) ObserveSize(system uint8, size float32, shift int) {
	if system == 0 {
		return
	}
	target := size + float32(shift)*sizeStep(system)
	for i := range p.Sizes {
		if p.Sizes[i].System == system {
			s := &p.Sizes[i]
			s.Size += (target - s.Size) * 0.4
			s.Conf = min(1, s.Conf+0.15)
			return
		}
	}
	if len(p.Sizes) < MaxSizes {
		p.Sizes = append(p.Sizes, SizePrediction{System: system, Size: target, Conf: 0.3})
	}
}

// SizeFor returns the predicted size in a size system, if any.
func (p *Profile) SizeFor(system uint8) (SizePrediction, bool) {
	for _, s := range p.Sizes {
		if s.System == system {
			return s, true
		}
	}
	return SizePrediction{}, false
}

// encodingVersion 2 added the Gender facet, 3 the Width facet; profiles of versions 1
// (four facets) and 2 (five) still decode.
const encodingVersion = 3

// facetsOfVersion is how many facets a profile of an encoding version holds (0:
// unknown version).
func facetsOfVersion(v byte) int {
	switch v {
	case 1:
		return Gender
	case 2:
		return Width
	case encodingVersion:
		return NumFacets
	}
	return 0
}

// MarshalBinary encodes the profile compactly (little-endian, varint counts).
func (p *Profile) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

// AppendBinary appends the encoding of the profile to b.
func (p *Profile) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, encodingVersion)
	flags := byte(0)
	if p.OptedOut {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, p.Updated)
	b = binary.AppendUvarint(b, uint64(p.Events))
	b = binenc.AppendF32(b, p.Total, p.PriceN, p.PriceMean, p.PriceM2)
	for fi := range p.Facets {
		b = append(b, byte(len(p.Facets[fi])))
		for _, a := range p.Facets[fi] {
			b = binary.LittleEndian.AppendUint32(b, a.Key)
			b = binenc.AppendBF16(b, a.Weight)
		}
	}
	b = append(b, byte(len(p.Recent)))
	for _, h := range p.Recent {
		b = binary.LittleEndian.AppendUint32(b, h)
	}
	b = append(b, byte(len(p.Sizes)))
	for _, s := range p.Sizes {
		b = append(b, s.System)
		b = binenc.AppendBF16(b, s.Size)
		b = append(b, byte(math.Round(float64(min(max(s.Conf, 0), 1))*255)))
	}
	return b, nil
}

// ErrCorrupt is returned for bytes that are not an encoded profile.
var ErrCorrupt = errors.New("profile: corrupt encoding")

// UnmarshalBinary decodes a profile encoded by MarshalBinary.
func (p *Profile) UnmarshalBinary(b []byte) error {
	d := binenc.NewReader(b)
	v := d.Byte()
	facets := facetsOfVersion(v)
	if facets == 0 {
		if d.Err() != nil {
			return ErrCorrupt
		}
		return fmt.Errorf("profile: unknown encoding version %d", v)
	}
	*p = Profile{}
	p.OptedOut = d.Byte()&1 != 0
	p.Updated = d.Varint()
	p.Events = uint32(d.Uvarint())
	p.Total, p.PriceN, p.PriceMean, p.PriceM2 = d.F32(), d.F32(), d.F32(), d.F32()
	for fi := range facets {
		n := int(d.Byte())
		if n > MaxPerFacet {
			return ErrCorrupt
		}
		if n > 0 {
			p.Facets[fi] = make([]Affinity, n)
		}
		for i := 0; i < n; i++ {
			p.Facets[fi][i] = Affinity{d.U32(), d.BF16()}
		}
	}
	n := int(d.Byte())
	if n > MaxRecent {
		return ErrCorrupt
	}
	if n > 0 {
		p.Recent = make([]uint32, n)
	}
	for i := range n {
		p.Recent[i] = d.U32()
	}
	n = int(d.Byte())
	if n > MaxSizes {
		return ErrCorrupt
	}
	if n > 0 {
		p.Sizes = make([]SizePrediction, n)
	}
	for i := range n {
		p.Sizes[i] = SizePrediction{System: d.Byte(), Size: d.BF16()}
		p.Sizes[i].Conf = float32(d.Byte()) / 255
	}
	if d.Err() != nil || d.Len() != 0 {
		return ErrCorrupt
	}
	return nil
}
