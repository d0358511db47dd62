package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/size"
)

// Limits of PUT /v1/products (CONTRACT §3).
const (
	maxProductsPerRequest = 10000
	maxProductsBody       = 16 << 20
)

var errTooManyProducts = errors.New("too many products")

func (s *Server) handlePutProducts(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProductsBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		return
	}
	if len(body) > maxProductsBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes: send at most 10,000 products or 16 MiB per request", maxProductsBody))
		return
	}
	var products []catalog.Product
	var details []fieldReason
	err = catalog.Read(bytes.NewReader(body), catalog.ReadOptions{}, func(p catalog.Product) error {
		if len(products) == maxProductsPerRequest {
			return errTooManyProducts
		}
		products = append(products, p)
		return nil
	}, func(le *catalog.LineError) error {
		i := le.Line - 1
		details = append(details, fieldReason{Index: &i, Field: le.Field, Reason: le.Reason})
		if len(details) >= 100 {
			return errTooManyProducts
		}
		return nil
	})
	switch {
	case errors.Is(err, errTooManyProducts) && len(details) < 100:
		writeError(w, http.StatusRequestEntityTooLarge, "more than 10,000 products in one request: split it")
		return
	case err != nil && !errors.Is(err, errTooManyProducts):
		badField(w, "body", err.Error())
		return
	case len(details) > 0:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d products are invalid; nothing was stored", len(details)), details...)
		return
	case len(products) == 0:
		badField(w, "body", "holds no products: send a JSON array or JSON lines of products")
		return
	}
	if err := s.catalog.Upsert(products); err != nil {
		s.log.Error("cannot store products", "err", err)
		writeError(w, http.StatusServiceUnavailable, "cannot store the products now: "+err.Error())
		return
	}
	if err := s.index.Upsert(products); err != nil {
		// The catalog log has them: they will be indexed at the next start.
		s.log.Error("cannot index products", "err", err)
		writeError(w, http.StatusInternalServerError, "products stored but not indexed: "+err.Error())
		return
	}
	s.rebuildItems()
	writeJSON(w, http.StatusOK, map[string]any{"upserted": len(products), "products": s.catalog.Len()})
}

func (s *Server) handleGetProduct(w http.ResponseWriter, r *http.Request) {
	p, ok := s.catalog.Get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no product %q", r.PathValue("id")))
		return
	}
	m := s.sizeModel.Load()
	writeJSON(w, http.StatusOK, struct {
		catalog.Product
		Fit      size.FitFlag `json:"fit"`       // how this product runs, with the evidence
		BrandFit size.FitFlag `json:"brand_fit"` // how its brand runs
	}{p, m.ProductFit(p.ProductID), m.BrandFit(p.Brand)})
}

func (s *Server) handleDeleteProduct(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	id := r.PathValue("id")
	n, err := s.catalog.Delete(id)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot delete the product now: "+err.Error())
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no product %q", id))
		return
	}
	if err := s.index.Delete([]string{id}); err != nil {
		writeError(w, http.StatusInternalServerError, "product deleted but still in the index: "+err.Error())
		return
	}
	s.rebuildItems()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}
