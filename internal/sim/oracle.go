package sim

import (
	"fmt"
	"sort"
)

// Utility is the oracle's latent utility of a product for a customer, without a query:
// generic appeal (quality, brand popularity) plus the customer's personal part (brand,
// style, colour, price band) scaled by their personal strength. It is what the
// simulated customer's attraction is built on; evaluation uses it to measure how much
// of the gap between a ranking and the oracle's a model closes.
func (w *World) Utility(customerID, productID string) (float64, error) {
	ci, ok := w.customerIndex(customerID)
	if !ok {
		return 0, fmt.Errorf("unknown customer %q (ids are C000001..C%06d)", customerID, len(w.customers))
	}
	pi, ok := w.productIndex(productID)
	if !ok {
		return 0, fmt.Errorf("unknown product %q (ids are P000001..P%06d)", productID, len(w.products))
	}
	return w.utility(&w.customers[ci], nil, pi), nil
}

// OracleRanking is the oracle's best k products for a customer's query: the products
// matching the query's words (the built-in index, up to Oracle.Candidates by text
// match) ordered by the customer's utility plus text relevance (the same 3 × text
// weight the built-in ranker uses); products for another gender than the account
// holder's come after all others.
func (w *World) OracleRanking(customerID, query string, k int) ([]string, error) {
	ci, ok := w.customerIndex(customerID)
	if !ok {
		return nil, fmt.Errorf("unknown customer %q (ids are C000001..C%06d)", customerID, len(w.customers))
	}
	if k <= 0 {
		return nil, fmt.Errorf("oracle ranking needs k > 0, got %d", k)
	}
	c := &w.customers[ci]
	sc := newScratch(len(w.products))
	var cands []scored
	w.index.match(query, sc, func(p int32, text float32) {
		cands = pushTop(cands, w.cfg.Oracle.Candidates, scored{p, text})
	})
	tw := 3 * w.cfg.Ranker.TextWeight
	g := c.wearers[0].gender
	out := make([]scored, len(cands))
	for i, e := range cands {
		u := w.utility(c, nil, int(e.p)) + tw*float64(e.s)
		if !genderOK(g, w.products[e.p].gender) {
			u -= 100
		}
		out[i] = scored{e.p, float32(u)}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].s != out[j].s {
			return out[i].s > out[j].s
		}
		return out[i].p < out[j].p
	})
	ids := make([]string, 0, min(k, len(out)))
	for _, e := range out[:min(k, len(out))] {
		ids = append(ids, w.catalog[e.p].ProductID)
	}
	return ids, nil
}

// SizeFit is the size oracle: how far label (one of the product's sizes) is from
// fitting wearer (0 the account holder, 1 a second wearer) of a customer, in sizes of
// the product's system rounded to half sizes (positive: too large), and whether a
// shoe's width misses the wearer's foot. It is what decides a simulated size return
// (Returns.SizeProb, Returns.WidthProb); evaluation uses it to score a size
// recommendation against the truth. ok is false for products without sizes.
func (w *World) SizeFit(customerID string, wearer int, productID, label string) (sizeErr float64, widthMismatch, ok bool, err error) {
	_, wr, p, err := w.sizeSubjects(customerID, wearer, productID)
	if err != nil || p.sys < 0 {
		return 0, false, false, err
	}
	pi, _ := w.productIndex(productID)
	for j, s := range w.catalog[pi].Sizes {
		if s.Size == label {
			return w.sizeError(p, j, wr), p.sys == sysShoe && p.width != wr.width, true, nil
		}
	}
	return 0, false, false, fmt.Errorf("product %s has no size %q", productID, label)
}

// ShopperSize is the size the wearer picks in the product without a recommendation
// (their usual size, adjusted for the brand's sizing if they know it; in stock or
// not), and SizeFit's answer for it. ok is false for products without sizes.
func (w *World) ShopperSize(customerID string, wearer int, productID string) (label string, ok bool, err error) {
	c, wr, p, err := w.sizeSubjects(customerID, wearer, productID)
	if err != nil || p.sys < 0 || len(p.sizes) == 0 {
		return "", false, err
	}
	j, _ := w.ownSize(c, wr, p)
	pi, _ := w.productIndex(productID)
	return w.catalog[pi].Sizes[j].Size, true, nil
}

// AdvisedSize is the size the wearer takes in the product when they trust the store's
// advice (a /v1/size answer's recommended_size, advice and size_steps; in stock or
// not). ok is false for products without sizes and advice that names none of them.
func (w *World) AdvisedSize(customerID string, wearer int, productID, recommended, advice string, steps int) (label string, ok bool, err error) {
	c, wr, p, err := w.sizeSubjects(customerID, wearer, productID)
	if err != nil || p.sys < 0 || len(p.sizes) == 0 {
		return "", false, err
	}
	pi, _ := w.productIndex(productID)
	j := w.advisedSize(c, wr, p, pi, sizeAdvice{label: recommended, advice: advice, steps: steps})
	if j < 0 {
		return "", false, nil
	}
	return w.catalog[pi].Sizes[j].Size, true, nil
}

// Wearers is how many people (1 or 2) a customer's account buys for.
func (w *World) Wearers(customerID string) (int, error) {
	ci, ok := w.customerIndex(customerID)
	if !ok {
		return 0, fmt.Errorf("unknown customer %q (ids are C000001..C%06d)", customerID, len(w.customers))
	}
	if w.customers[ci].shared {
		return 2, nil
	}
	return 1, nil
}

func (w *World) sizeSubjects(customerID string, wearer int, productID string) (*customer, *wearer, *product, error) {
	ci, ok := w.customerIndex(customerID)
	if !ok {
		return nil, nil, nil, fmt.Errorf("unknown customer %q (ids are C000001..C%06d)", customerID, len(w.customers))
	}
	pi, ok := w.productIndex(productID)
	if !ok {
		return nil, nil, nil, fmt.Errorf("unknown product %q (ids are P000001..P%06d)", productID, len(w.products))
	}
	c := &w.customers[ci]
	if wearer < 0 || wearer > 1 || (wearer == 1 && !c.shared) {
		return nil, nil, nil, fmt.Errorf("customer %s has no wearer %d", customerID, wearer)
	}
	return c, &c.wearers[wearer], &w.products[pi], nil
}
