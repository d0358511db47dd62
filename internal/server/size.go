package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/size"
)

var recPool = sync.Pool{New: func() any { return new(size.Recommendation) }}

// emptySizeModel is the size model served before any training: it answers from the
// product's sizes and population priors only.
func emptySizeModel(ctx context.Context) (*size.Model, error) {
	return size.NewTrainer(size.Options{}).Fit(ctx)
}

func (s *Server) handleSize(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	pid := q.Get("product_id")
	if pid == "" {
		badField(w, "product_id", "is required")
		return
	}
	p, _, ok := s.index.Lookup(pid)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no product %q in the catalog", pid))
		return
	}
	customer := q.Get("customer_id")
	if s.armOf(customer, q.Get("anonymous_id")) != experiment.Personalized {
		customer = "" // the control arm gets the product's and brand's answer, not a personal one
	}
	m := s.sizeModel.Load()
	rec := recPool.Get().(*size.Recommendation)
	defer recPool.Put(rec)
	m.RecommendInto(customer, p, rec)
	rec.ProductID = p.ProductID
	s.metrics.searchLatency.WithLabelValues("size").Observe(time.Since(start).Seconds())
	s.metrics.searches.WithLabelValues("size", strconv.FormatBool(rec.Basis == size.BasisPurchases || rec.Basis == size.BasisSurvey)).Inc()
	writeJSON(w, http.StatusOK, rec)
}

// sizeFor is the size recommended to the customer for a product in search results,
// and whether it is in stock: from the trained size model when it knows the customer,
// else from the profile's real-time estimate.
func (s *Server) sizeFor(customerID string, p *profile.Profile, prod *catalog.Product) (string, bool) {
	if len(prod.Sizes) == 0 || prod.SizeSystem == catalog.SizeNone {
		return "", false
	}
	if m := s.sizeModel.Load(); m != nil && customerID != "" {
		if _, known := m.Profile(customerID); known {
			rec := recPool.Get().(*size.Recommendation)
			m.RecommendInto(customerID, prod, rec)
			label := rec.RecommendedSize
			recPool.Put(rec)
			if label != "" {
				return label, prod.InStock(label)
			}
		}
	}
	if p == nil {
		return "", false
	}
	system := catalog.SystemCode(prod.SizeSystem)
	pred, ok := p.SizeFor(system)
	if !ok {
		return "", false
	}
	best, bestD := -1, float32(1e9)
	for i, z := range prod.Sizes {
		if v, ok := catalog.SizeValue(system, z.Size); ok {
			d := v - pred.Size
			if d < 0 {
				d = -d
			}
			if d < bestD {
				best, bestD = i, d
			}
		}
	}
	if best < 0 {
		return "", false
	}
	return prod.Sizes[best].Size, prod.Sizes[best].InStock
}
