package rank

import (
	"math"
	"strings"

	"github.com/bespokesearch/bespoke/internal/profile"
)

// Feature indexes: one per simple model, in the order the learned ranker sees them.
const (
	FText            = iota // retrieval score divided by the best in the list (0..1)
	FRetrievalRank          // log(1 + position in the retrieval order)
	FQueryItemCTR           // log of clicks over position-expected clicks for (query, item)
	FItemPopularity         // log(1 + debiased engagement with the item)
	FBrandLift              // customer's smoothed affinity lift for the item's brand
	FCategoryLift           // … category
	FColorLift              // … colour
	FStyleLift              // … style
	FGenderLift             // … the gender the item is cut for (men's, women's, unisex, children's)
	FWidthLift              // … a shoe's width (narrow, medium, wide)
	FPriceFit               // how typical the price is for the customer (≤ 0)
	FCoVisit                // co-visitation weight between the item and the customer's recent items
	FRecent                 // the customer touched this item recently (0/1)
	FSizeInStock            // in stock in the customer's predicted size: 1, not: 0, unknown: 0.5
	FProfileStrength        // log(1 + events in the profile)
	NumFeatures
)

// The affinity features are the profile's facets in order, FBrandLift+facet (Extract
// fills them so), and FPriceFit follows the last; this fails to compile if they part.
var _ [0]struct{} = [FPriceFit - FBrandLift - profile.NumFacets]struct{}{}

// FeatureNames are the names used in reports and explanations.
var FeatureNames = [NumFeatures]string{
	"text", "retrieval_rank", "query_item_ctr", "item_popularity", "brand_affinity", "category_affinity",
	"color_affinity", "style_affinity", "gender_affinity", "width_affinity", "price_fit", "covisitation", "recently_touched", "size_in_stock",
	"profile_strength",
}

// PersonalFeatures are the features that depend on the customer; the non-personalized
// ranking uses the same model with these set as for an empty profile.
var PersonalFeatures = []int{FBrandLift, FCategoryLift, FColorLift, FStyleLift, FGenderLift, FWidthLift, FPriceFit, FCoVisit, FRecent, FSizeInStock, FProfileStrength}

// Item is what ranking needs of a candidate product, precomputed once per catalog
// update (hashes of its facets, so scoring never touches strings).
type Item struct {
	ID         uint32 // profile.Hash of the product id
	Known      bool   // false for ids the catalog does not have (rerank accepts them)
	Facets     [profile.NumFacets]uint32
	Price      float64
	SizeSystem uint8     // 0 none, 1 us_shoe, 2 alpha, 3 numeric
	InStock    []float32 // sizes in stock, on the size system's numeric scale
}

// NewItem precomputes the ranking view of a product (profile.ItemOf) with the sizes in
// stock.
func NewItem(p profile.Item, inStock []float32) Item {
	it := Item{ID: profile.Hash(p.ID), Known: true, Price: p.Price, SizeSystem: p.SizeSystem, InStock: inStock}
	for fi, v := range p.FacetValues() {
		if v != "" {
			it.Facets[fi] = profile.Hash(v)
		}
	}
	return it
}

// QueryKey is the hash under which query-level statistics are kept: the query in
// lower case with single spaces.
func QueryKey(q string) uint32 {
	return profile.Hash(strings.Join(strings.Fields(strings.ToLower(q)), " "))
}

// Extract fills feats (len(items) rows of NumFeatures, row-major) for one request.
// textScores are the retrieval scores in retrieval order (nil for none); p may be nil
// (anonymous, opted out, or the profile could not be fetched in time).
func (s *Snapshot) Extract(query uint32, p *profile.Profile, items []Item, textScores []float32, feats []float32) {
	var best float32
	for _, t := range textScores {
		best = max(best, t)
	}
	empty := p == nil || p.Events == 0
	for i := range items {
		it := &items[i]
		f := feats[i*NumFeatures : (i+1)*NumFeatures : (i+1)*NumFeatures]
		clear(f)
		if best > 0 && i < len(textScores) {
			f[FText] = textScores[i] / best
		}
		f[FRetrievalRank] = float32(math.Log1p(float64(i)))
		f[FQueryItemCTR] = s.QueryItem[pairKey(query, it.ID)]
		f[FItemPopularity] = s.ItemPopularity[it.ID]
		f[FSizeInStock] = 0.5
		if empty || !it.Known {
			if !it.Known {
				f[FSizeInStock] = 0.5
			}
			continue
		}
		for fi := 0; fi < profile.NumFacets; fi++ {
			if it.Facets[fi] != 0 {
				f[FBrandLift+fi] = p.Lift(fi, it.Facets[fi], s.share(fi, it.Facets[fi]), s.PriorStrength)
			}
		}
		f[FPriceFit] = max(p.PriceFit(it.Price), -10)
		f[FCoVisit] = s.coVisit(it.ID, p.Recent)
		for _, r := range p.Recent {
			if r == it.ID {
				f[FRecent] = 1
				break
			}
		}
		if it.SizeSystem != 0 {
			if pred, ok := p.SizeFor(it.SizeSystem); ok && pred.Conf > 0 {
				f[FSizeInStock] = 0
				for _, z := range it.InStock {
					if math.Abs(float64(z-pred.Size)) < 0.26 {
						f[FSizeInStock] = 1
						break
					}
				}
			}
		}
		f[FProfileStrength] = float32(math.Log1p(float64(p.Events)))
	}
}

func pairKey(q, item uint32) uint64 { return uint64(q)<<32 | uint64(item) }

// PairKey is the key of a (query, item) statistic in Snapshot.QueryItem.
func PairKey(query, item uint32) uint64 { return pairKey(query, item) }

func (s *Snapshot) share(facet int, key uint32) float32 {
	if v, ok := s.Shares[facet][key]; ok {
		return v
	}
	return s.DefaultShare[facet]
}

func (s *Snapshot) coVisit(item uint32, recent []uint32) float32 {
	var sum float32
	for _, r := range recent {
		for _, n := range s.CoVisit[r] {
			if n.Item == item {
				sum += n.Weight
				break
			}
		}
	}
	return sum
}
