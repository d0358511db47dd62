package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/size"
	"github.com/bespokesearch/bespoke/internal/store"
)

// Size profiles (a customer's latent true sizes, size.Profile) live in the online store
// under su/<customer>, next to the ranking profile pu/<customer>: written for every
// customer of a model when it is published, updated in real time by the profile
// updater from purchases, size returns and fit surveys, read through the cache by
// /v1/size and /v1/search, and deleted with the customer. The size model kept in
// memory has its shared parts only (size.Model.WithoutProfiles), so a restarted server
// serves exactly what the store holds.
func sizeKey(id string) []byte { return []byte("su/" + id) }

var (
	recPool      = sync.Pool{New: func() any { return new(size.Recommendation) }}
	sizeProfPool = sync.Pool{New: func() any { return new(size.Profile) }}
)

// sizePublishBatch is how many size profiles one store write carries at publication.
const sizePublishBatch = 2048

// emptySizeModel is the size model served before any training: it answers from the
// product's sizes and population priors only.
func emptySizeModel(ctx context.Context) (*size.Model, error) {
	return size.NewTrainer(size.Options{}).Fit(ctx)
}

// serveSizeModel puts a size model in service, without its customer profiles (they are
// read from the store).
func (s *Server) serveSizeModel(m *size.Model) {
	s.sizeModel.Store(m.WithoutProfiles())
}

// sizeProfile reads a customer's size profile through the cache into dst. It reports
// whether one was found; when the store fails or is slower than ctx allows, reason
// says why (for the fallback metric) and the caller answers as for an unknown customer.
func (s *Server) sizeProfile(ctx context.Context, customerID string, dst *size.Profile) (found bool, reason string) {
	if customerID == "" || len(customerID) > event.MaxIDBytes {
		return false, ""
	}
	b, err := s.profiles.Get(ctx, sizeKey(customerID))
	if errors.Is(err, store.ErrNotFound) {
		return false, ""
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, "size_profile_deadline"
		}
		return false, "size_profile_unavailable"
	}
	if err := dst.UnmarshalBinary(b); err != nil {
		s.log.Warn("corrupt size profile ignored", "customer", customerID, "err", err)
		return false, "size_profile_corrupt"
	}
	return true, ""
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
	// a device once signed in is its customer's: their size profile, and their arm
	lctx, lcancel := context.WithTimeout(r.Context(), s.cfg.SearchDeadline)
	customer, reason := s.personOf(lctx, q.Get("customer_id"), q.Get("anonymous_id"))
	lcancel()
	if reason != "" {
		s.metrics.fallbacks.WithLabelValues(reason).Inc()
	}
	// the control arm gets the product's and brand's named size, not a personal answer
	// nor advice anchored on the shopper's own size: the store without size advice. A
	// request that names nobody is in no arm: it gets the answer for anyone, advice
	// anchored on the shopper's own size included.
	anon := q.Get("anonymous_id")
	control := false
	if s.armOf(customer, anon) != experiment.Personalized {
		control = customer != "" || anon != ""
		customer = ""
	}
	m := s.sizeModel.Load()
	rec := recPool.Get().(*size.Recommendation)
	defer recPool.Put(rec)
	prof := sizeProfPool.Get().(*size.Profile)
	defer sizeProfPool.Put(prof)
	var known *size.Profile
	if customer != "" {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SearchDeadline)
		found, reason := s.sizeProfile(ctx, customer, prof)
		cancel()
		if reason != "" {
			s.metrics.fallbacks.WithLabelValues(reason).Inc()
		}
		if found {
			known = prof
		}
	}
	if control {
		m.RecommendNamed(p, rec)
	} else {
		m.RecommendProfile(known, p, rec)
	}
	rec.ProductID = p.ProductID
	took := time.Since(start)
	s.metrics.searchLatency.WithLabelValues("size").Observe(took.Seconds())
	s.metrics.searches.WithLabelValues("size", strconv.FormatBool(rec.Basis == size.BasisPurchases || rec.Basis == size.BasisSurvey || rec.Basis == size.BasisBody)).Inc()
	writeJSON(w, http.StatusOK, sizeResponse{rec, float64(took.Microseconds()) / 1000})
}

// sizeResponse is the answer of /v1/size: the recommendation and, like search, the
// server's own handling time (which `bespoke bench size` reports as server-side).
type sizeResponse struct {
	*size.Recommendation
	TookMS float64 `json:"took_ms"`
}

// searchSizes is what a search needs to put a size on each result: the size model and
// the customer's size profile, fetched once per search.
type searchSizes struct {
	m    *size.Model
	prof *size.Profile // nil: unknown customer (or none personalized)
}

// sizesFor fetches what sizeFor needs for a search of customerID ("" when the search is
// not personalized). The caller returns it with release.
func (s *Server) sizesFor(ctx context.Context, customerID string) searchSizes {
	ss := searchSizes{m: s.sizeModel.Load()}
	if customerID == "" {
		return ss
	}
	prof := sizeProfPool.Get().(*size.Profile)
	found, reason := s.sizeProfile(ctx, customerID, prof)
	if reason != "" {
		s.metrics.fallbacks.WithLabelValues(reason).Inc()
	}
	if !found {
		sizeProfPool.Put(prof)
		return ss
	}
	ss.prof = prof
	return ss
}

func (ss searchSizes) release() {
	if ss.prof != nil {
		sizeProfPool.Put(ss.prof)
	}
}

// sizeFor is the size recommended to the customer for a product in search results,
// and whether it is in stock: from the size model and the customer's stored size
// profile when there is one, else from the ranking profile's real-time estimate.
func (s *Server) sizeFor(ss searchSizes, p *profile.Profile, prod *catalog.Product) (string, bool) {
	if len(prod.Sizes) == 0 || prod.SizeSystem == catalog.SizeNone {
		return "", false
	}
	if ss.m != nil && ss.prof != nil {
		rec := recPool.Get().(*size.Recommendation)
		ss.m.RecommendProfile(ss.prof, prod, rec)
		label := rec.RecommendedSize
		recPool.Put(rec)
		if label != "" {
			return label, prod.InStock(label)
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

// publishSizeProfiles writes the profile of every customer of a freshly trained size
// model to the store, in batches, skipping customers erased since their events reached
// the lake (the lake keeps them until its next compaction). Profiles written by the
// profile updater for customers the model does not know are left as they are.
func (s *Server) publishSizeProfiles(ctx context.Context, m *size.Model) (int, error) {
	batch := make([]store.KV, 0, sizePublishBatch)
	ids := make([]string, 0, sizePublishBatch)
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys := make([][]byte, len(ids))
		for i, id := range ids {
			keys[i] = erasedKey(id)
		}
		erased, err := s.backend.MultiGet(ctx, keys)
		if err != nil {
			return fmt.Errorf("cannot check erased customers: %w", err)
		}
		kept := batch[:0]
		for i, kv := range batch {
			if erased[i] == nil {
				kept = append(kept, kv)
			}
		}
		if err := s.profiles.PutBatch(ctx, kept); err != nil {
			return fmt.Errorf("cannot write size profiles: %w", err)
		}
		n += len(kept)
		batch, ids = batch[:0], ids[:0]
		return nil
	}
	err := m.Profiles(func(id string, p *size.Profile) error {
		if id == "" || len(id) > event.MaxIDBytes {
			return nil
		}
		b, err := p.MarshalBinary()
		if err != nil {
			s.log.Warn("size profile not published", "customer", id, "err", err)
			return nil
		}
		batch = append(batch, store.KV{Key: sizeKey(id), Value: b})
		ids = append(ids, id)
		if len(batch) == sizePublishBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return n, err
}

// observeSizes folds a customer's new purchases, size returns and fit surveys into
// their stored size profile (one read and one write per batch of events), so that
// /v1/size answers from them before the next training run. key is the ranking
// profile's key: only signed-in customers (pu/) have size profiles. Events the size
// model cannot read (a label outside the product's size system, an implausible survey)
// changesSizes reports whether ev is of a kind observeSizes folds into a size profile.
func changesSizes(ev *event.Event) bool {
	if ev.Type != event.TypeTrack {
		return false
	}
	switch ev.Event {
	case event.OrderCompleted, event.ProductReturned, event.FitSurveyCompleted:
		return true
	}
	return false
}

// are skipped, as training skips them.
func (s *Server) observeSizes(ctx context.Context, key []byte, evs []*event.Event) error {
	if len(key) < 4 || string(key[:3]) != "pu/" {
		return nil
	}
	id := string(key[3:])
	m := s.sizeModel.Load()
	var prof *size.Profile
	loaded, changed := false, false
	for _, ev := range evs {
		if !changesSizes(ev) {
			continue
		}
		props, err := ev.Props()
		if err != nil {
			continue
		}
		if !loaded {
			loaded = true
			var p size.Profile
			found, reason := s.sizeProfile(ctx, id, &p)
			switch {
			case reason == "size_profile_corrupt":
			case reason != "":
				return fmt.Errorf("cannot read the size profile of %q (%s)", id, reason)
			case found:
				prof = &p
			}
		}
		fold := func(next size.Profile, err error) {
			if err == nil {
				prof, changed = &next, true
			}
		}
		switch ev.Event {
		case event.OrderCompleted:
			for _, pr := range props.Products {
				if o, ok := s.sizeObservation(id, string(pr.ProductID), string(pr.Size), size.OutcomeKept, ev.Timestamp); ok {
					fold(m.Update(prof, o))
				}
			}
		case event.ProductReturned:
			out := size.ParseOutcome(props.Reason)
			if out != size.OutcomeTooSmall && out != size.OutcomeTooLarge {
				continue
			}
			if o, ok := s.sizeObservation(id, string(props.ProductID), string(props.Size), out, ev.Timestamp); ok {
				// its order came first and was folded in as kept (here, or by the
				// training run whose profiles are stored): the return replaces that
				o.AlreadyKept = true
				fold(m.Update(prof, o))
			}
		case event.FitSurveyCompleted:
			sv := size.Survey{CustomerID: id, HeightCM: props.HeightCM, WeightKG: props.WeightKG, Age: props.Age,
				ShoeSizeUS: props.ShoeSizeUS, ShoeWidth: props.ShoeWidth, FitPreference: props.FitPreference,
				Gender: props.Gender, Time: ev.Timestamp}
			for _, u := range props.UsualSizes {
				sv.UsualSizes = append(sv.UsualSizes, size.UsualSize{Brand: u.Brand, Category: u.Category, Size: string(u.Size)})
			}
			fold(m.ProfileFromSurvey(prof, sv))
		}
	}
	if !changed {
		return nil
	}
	enc, err := prof.MarshalBinary()
	if err != nil {
		s.log.Warn("size profile not updated", "customer", id, "err", err)
		return nil
	}
	return s.profiles.Put(ctx, sizeKey(id), enc)
}

// sizeObservation is a purchase or return of a catalog product in a size, as the size
// model sees it; ok is false when there is nothing to learn (no size, unknown product,
// a product without a size system).
func (s *Server) sizeObservation(customerID, productID, label string, out size.Outcome, at time.Time) (size.Observation, bool) {
	if label == "" || productID == "" {
		return size.Observation{}, false
	}
	p, _, ok := s.index.Lookup(productID)
	if !ok || p.SizeSystem == catalog.SizeNone {
		return size.Observation{}, false
	}
	return size.Observation{CustomerID: customerID, ProductID: p.ProductID, Brand: p.Brand, Category: p.Category,
		Gender: p.Gender, System: p.SizeSystem, Size: label, Outcome: out, Time: at, Scale: size.ProductScale(p)}, true
}
