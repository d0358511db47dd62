package train

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/rank"
)

// Graded relevance labels of an impression.
const (
	labelSkipped        = 0
	labelClicked        = 1
	labelAdded          = 2
	labelReturnedSize   = 3 // bought, sent back because of the size: not a signal against the product
	labelKeptPurchase   = 4
	attributionWindow   = 48 * time.Hour
	recentSearchesKept  = 6
	maxImpressionsShown = 100
)

// search is one logged result list and what happened to its items.
type search struct {
	id          string
	subject     string
	customerID  string // userId, "" for anonymous visitors
	at          int64  // unix seconds
	query       string
	newCustomer bool     // the subject had no events before this search
	items       []int32  // catalog index of each impressed item, in retrieval (feature) order; -1 unknown
	hashes      []uint32 // profile.Hash of each product id
	positions   []uint8  // position each item was shown at
	labels      []uint8  // graded outcome
	row         int      // index of the first feature row; -1: features not kept (sampled out)
}

// replay holds everything the single pass over the lake builds.
type replay struct {
	st        *state
	products  []catalog.Product
	byID      map[string]int32
	items     []rank.Item
	text      textFor
	feats     []float32
	searches  []*search
	bySID     map[string]*search
	recent    map[string][]*search   // subject → latest searches
	purchases map[string]purchaseRef // subject\x00product → where the purchase was attributed
	sizes     sizeLog
	events    int
	lastTime  time.Time

	split        int64   // unix seconds of the start of the test window
	keepTrain    float64 // share of training-window lists whose features are kept
	keepTest     float64 // … of test-window lists
	prop         *propensityEstimator
	compacted    int // searches before this index of r.searches are final
	lastCompact  int
	compactEvery int // compact after this many new lists

	// Buffers reused from list to list.
	refs    []productRef
	ids     []string
	list    []impressedItem
	textBuf []float32
	itemBuf []rank.Item
}

type purchaseRef struct {
	s   *search
	idx int
}

func newReplay(products []catalog.Product, text textFor, split time.Time) *replay {
	r := &replay{split: split.Unix(), keepTrain: 1, keepTest: 1, compactEvery: 20000, prop: newPropensityEstimator(3_000_000),
		st: newState(products), products: products, byID: make(map[string]int32, len(products)),
		items: make([]rank.Item, len(products)), text: text,
		bySID: map[string]*search{}, recent: map[string][]*search{}, purchases: map[string]purchaseRef{},
	}
	for i := range products {
		p := &products[i]
		r.byID[p.ProductID] = int32(i)
		sys := catalog.SystemCode(p.SizeSystem)
		var inStock []float32
		for _, z := range p.Sizes {
			if v, ok := catalog.SizeValue(sys, z.Size); ok && z.InStock {
				inStock = append(inStock, v)
			}
		}
		r.items[i] = rank.NewItem(profile.ItemOf(p), inStock)
	}
	r.sizes.init()
	return r
}

func (r *replay) lookup(id string) (profile.Item, bool) {
	i, ok := r.byID[id]
	if !ok {
		return profile.Item{}, false
	}
	return profile.ItemOf(&r.products[i]), true
}

func subjectOf(row *lake.Row) string {
	if row.UserID != "" {
		return "u/" + row.UserID
	}
	return "a/" + row.AnonymousID
}

// add processes one row; rows must come in event-time order.
func (r *replay) add(row *lake.Row) {
	r.events++
	r.lastTime = row.Timestamp
	subject := subjectOf(row)
	switch row.Event {
	case event.ProductListViewed:
		r.impressions(row, subject)
		return
	case event.IdentifyName:
		if row.UserID != "" && row.AnonymousID != "" {
			if anon, ok := r.st.profiles["a/"+row.AnonymousID]; ok {
				r.st.profile("u/" + row.UserID).Merge(anon)
				delete(r.st.profiles, "a/"+row.AnonymousID)
			}
		}
		return
	case event.ProductClicked:
		r.clicked(row, subject)
	case event.ProductAdded:
		r.label(row.SearchID, subject, row.ProductID, labelAdded, row.Timestamp)
	case event.OrderCompleted:
		r.ordered(row, subject)
	case event.ProductReturned:
		r.returned(row, subject)
	case event.FitSurveyCompleted:
		r.sizes.survey(subject, row)
	}
	// Every event the profiles understand shapes them after the features of earlier
	// searches were taken: point in time.
	p := r.st.profile(subject)
	recent := slices.Clone(p.Recent)
	ev := event.Event{Type: row.Type, Event: row.Event, UserID: row.UserID, AnonymousID: row.AnonymousID, Timestamp: row.Timestamp}
	if row.Properties != "" {
		ev.Properties = json.RawMessage(row.Properties)
	}
	if p.ApplyEvent(&ev, r.lookup) {
		switch row.Event {
		case event.ProductClicked, event.ProductAdded:
			r.st.coVisit(recent, profile.Hash(row.ProductID), 1)
		case event.OrderCompleted:
			for _, ref := range r.refs { // parsed by r.ordered
				r.st.coVisit(recent, profile.Hash(ref.ID), 3)
			}
		}
	}
}

// textFor gives the text-relevance score of each product of ids for query in out.
type textFor func(query string, ids []string, out []float32)

// impressedItem is one entry of a logged list with its text score.
type impressedItem struct {
	ref  productRef
	text float32
}

func (r *replay) impressions(row *lake.Row, subject string) {
	refs, err := parseProducts(row.Products, r.refs)
	r.refs = refs
	if err != nil || len(refs) == 0 {
		return
	}
	if len(refs) > maxImpressionsShown {
		refs = refs[:maxImpressionsShown]
	}
	query := row.Query
	if query == "" {
		if s := r.bySID[row.SearchID]; s != nil {
			query = s.query
		}
	}
	n := len(refs)
	// The text scores of the impressed items only, and the items in retrieval order
	// (by text score, ties in logged order).
	r.ids = r.ids[:0]
	for _, ref := range refs {
		r.ids = append(r.ids, ref.ID)
	}
	r.textBuf = slices.Grow(r.textBuf[:0], n)[:n]
	r.text(query, r.ids, r.textBuf)
	list := r.list[:0]
	for i, ref := range refs {
		list = append(list, impressedItem{ref, r.textBuf[i]})
	}
	r.list = list
	slices.SortStableFunc(list, func(a, b impressedItem) int { return cmp.Compare(b.text, a.text) })
	p := r.st.profile(subject)
	s := &search{
		id: row.SearchID, subject: subject, customerID: row.UserID, at: row.Timestamp.Unix(), query: query, newCustomer: p.Events == 0,
		items: make([]int32, n), hashes: make([]uint32, n), positions: make([]uint8, n),
		labels: make([]uint8, n), row: -1,
	}
	for i := range list {
		id := list[i].ref.ID
		s.hashes[i] = profile.Hash(id)
		s.positions[i] = uint8(min(max(list[i].ref.Position, 0), 255))
		if ci, ok := r.byID[id]; ok {
			s.items[i] = ci
		} else {
			s.items[i] = -1
		}
	}
	qk := rank.QueryKey(query)
	keep := r.keepTrain
	if s.at >= r.split {
		keep = r.keepTest
	}
	if keep >= 1 || sampled(row.SearchID, subject, s.at, keep) {
		prof := p
		if p.Events == 0 || p.OptedOut {
			prof = nil
		}
		if prof != nil {
			r.st.publishNeighbors(prof.Recent)
		}
		r.st.refreshList(qk, s.hashes)
		items := slices.Grow(r.itemBuf[:0], n)[:n]
		text := slices.Grow(r.textBuf[:0], n)[:n]
		for i := range list {
			text[i] = list[i].text
			if ci := s.items[i]; ci >= 0 {
				items[i] = r.items[ci]
			} else {
				items[i] = rank.Item{ID: s.hashes[i]}
			}
		}
		r.itemBuf, r.textBuf = items, text
		start := len(r.feats)
		s.row = start / rank.NumFeatures
		r.feats = slices.Grow(r.feats, n*rank.NumFeatures)[:start+n*rank.NumFeatures]
		r.st.snap.Extract(qk, prof, items, text, r.feats[start:])
	}
	// Only now does this list count toward the popularity of what it showed.
	for i := range n {
		r.st.impression(qk, s.hashes[i], int(s.positions[i]))
		if s.at < r.split {
			r.prop.impression(rank.PairKey(qk, s.hashes[i]), int(s.positions[i]))
		}
	}
	r.searches = append(r.searches, s)
	if len(r.searches)-r.lastCompact >= r.compactEvery {
		r.compact(s.at)
	}
	if row.SearchID != "" {
		r.bySID[row.SearchID] = s
	}
	rs := append(r.recent[subject], s)
	if len(rs) > recentSearchesKept {
		rs = rs[len(rs)-recentSearchesKept:]
	}
	r.recent[subject] = rs
}

func (r *replay) clicked(row *lake.Row, subject string) {
	s := r.bySID[row.SearchID]
	query := row.Query
	if s != nil && query == "" {
		query = s.query
	}
	qk, h := rank.QueryKey(query), profile.Hash(row.ProductID)
	r.st.click(qk, h, int(row.Position))
	if row.Timestamp.Unix() < r.split {
		r.prop.click(rank.PairKey(qk, h), int(row.Position))
	}
	r.label(row.SearchID, subject, row.ProductID, labelClicked, row.Timestamp)
}

// label raises the label of a product in the search it came from: the search named by
// searchID, else the subject's latest search that showed the product within the window.
func (r *replay) label(searchID, subject, productID string, grade uint8, at time.Time) (*search, int) {
	h := profile.Hash(productID)
	find := func(s *search) int {
		if s == nil {
			return -1
		}
		return slices.Index(s.hashes, h)
	}
	if s := r.bySID[searchID]; s != nil {
		if i := find(s); i >= 0 {
			s.labels[i] = max(s.labels[i], grade)
			return s, i
		}
	}
	rs := r.recent[subject]
	for j := len(rs) - 1; j >= 0; j-- {
		s := rs[j]
		if at.Unix()-s.at > int64(attributionWindow.Seconds()) {
			break
		}
		if i := find(s); i >= 0 {
			s.labels[i] = max(s.labels[i], grade)
			return s, i
		}
	}
	return nil, -1
}

func (r *replay) ordered(row *lake.Row, subject string) {
	refs, err := parseProducts(row.Products, r.refs)
	r.refs = refs
	if err != nil {
		return
	}
	for _, ref := range refs {
		id := ref.ID
		// A return can only change the label of a list whose features are kept.
		if s, i := r.label(row.SearchID, subject, id, labelKeptPurchase, row.Timestamp); s != nil && s.row >= 0 {
			r.purchases[subject+"\x00"+id] = purchaseRef{s, i}
		}
		if ci, ok := r.byID[id]; ok {
			r.sizes.purchase(subject, row.OrderID, ci, &r.products[ci], ref.Size, row.Timestamp)
		}
	}
}

func (r *replay) returned(row *lake.Row, subject string) {
	sizeReturn := row.Reason == "too_small" || row.Reason == "too_large"
	if ref, ok := r.purchases[subject+"\x00"+row.ProductID]; ok && ref.s.labels[ref.idx] == labelKeptPurchase {
		if sizeReturn {
			ref.s.labels[ref.idx] = labelReturnedSize
		} else {
			ref.s.labels[ref.idx] = labelClicked
		}
	}
	if sizeReturn {
		r.sizes.returned(subject, row.OrderID, row.ProductID, row.Reason, row.Timestamp)
	}
}

// sampled decides, from the search's identity alone, whether a list's features are
// kept when only a share of the lists can be (a deterministic, unbiased sample).
func sampled(searchID, subject string, at int64, share float64) bool {
	h := profile.Hash(searchID + "\x00" + subject + "\x00" + strconv.FormatInt(at, 10))
	return float64(h)/float64(1<<32) < share
}

// compact drops what can no longer become a training example: lists older than the
// attribution window that have no positive outcome or whose features were not kept.
// Their feature rows are removed and later rows moved down, so memory follows the
// number of examples, not the number of impressions. Lists stay reachable for
// returns through r.purchases.
func (r *replay) compact(now int64) {
	r.lastCompact = len(r.searches)
	horizon := now - int64(attributionWindow.Seconds()) - 3600
	dst := 0 // rows of the lists before r.compacted are dense, in order
	if r.compacted > 0 {
		last := r.searches[r.compacted-1]
		dst = (last.row + len(last.labels)) * rank.NumFeatures
	}
	w, final := r.compacted, r.compacted
	for i := r.compacted; i < len(r.searches); i++ {
		s := r.searches[i]
		old := s.at < horizon
		if old {
			delete(r.bySID, s.id) // clicks and adds come within the session
			if s.row < 0 || slices.Max(s.labels) == 0 {
				continue
			}
		}
		if s.row >= 0 {
			n := len(s.labels) * rank.NumFeatures
			copy(r.feats[dst:dst+n], r.feats[s.row*rank.NumFeatures:s.row*rank.NumFeatures+n])
			s.row = dst / rank.NumFeatures
			dst += n
		}
		r.searches[w] = s
		w++
		if old {
			final = w
		}
	}
	clear(r.searches[w:])
	r.searches = r.searches[:w]
	// A subject's latest searches are only looked up within the attribution window:
	// forget those of subjects who have not searched since (most anonymous visitors
	// never come back), so their lists can be collected.
	for subject, rs := range r.recent {
		if rs[len(rs)-1].at < horizon {
			delete(r.recent, subject)
		}
	}
	r.compacted = final
	r.feats = r.feats[:dst]
}
