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
