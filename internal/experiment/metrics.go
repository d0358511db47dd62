package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/lake"
)

// RepeatWindow: a new search by the same customer within this time, with no click in
// between, counts the earlier search as repeated (it did not satisfy them).
const RepeatWindow = 5 * time.Minute

// lookback is how far before a day its computation reads, to carry the state that
// crosses midnight: the repeat window, and clicks that lead to a purchase just after.
const lookback = time.Hour

// Estimate is a metric of one arm with its 95% confidence interval.
type Estimate struct {
	Value float64    `json:"value"`
	CI95  [2]float64 `json:"ci95"`
}

// ArmMetrics are the business metrics of one arm.
type ArmMetrics struct {
	Arm string `json:"arm"`
	// Customers are the subjects the arm's lists were shown to: signed-in customers and,
	// since the split assigns by customer (a device once signed in by its customer) or
	// else by anonymous id, the anonymous devices (also counted in AnonymousDevices; a
	// linked device's anonymous lists count under it, in its customer's arm). Subjects with only orders or returns
	// in the window were not exposed to the arm and are not counted.
	Customers             int      `json:"customers"`
	AnonymousDevices      int      `json:"anonymous_devices"`
	Searches              int      `json:"searches"`
	ClickThrough          Estimate `json:"click_through_rate"`
	MeanClickedPosition   Estimate `json:"mean_position_clicked"`
	MedianClickedPosition Estimate `json:"median_position_clicked"`
	MeanBoughtPosition    Estimate `json:"mean_position_purchased"`
	MedianBoughtPosition  Estimate `json:"median_position_purchased"`
	RepeatedSearch        Estimate `json:"repeated_search_rate"`
	Conversion            Estimate `json:"conversion_rate"`
	// SizeReturnRate is the share of the window's order lines returned for size (too
	// small or too large) by the end of the window: returns of orders bought before it
	// are not its outcome, and returns arrive days after the order, so a short window
	// sees a lower rate than the store's (the same censoring in every arm).
	SizeReturnRate Estimate `json:"size_return_rate"`
}

// Change is the difference personalized − control of a metric, with its 95% CI.
type Change struct {
	Metric   string     `json:"metric"`
	Diff     float64    `json:"diff"`
	Relative float64    `json:"relative"`
	CI95     [2]float64 `json:"ci95"`
}

// Interleaving is the preference of the interleaved arm's customers between the two
// rankers: each interleaved list with clicks is a win for personalized (more clicks on
// the items its ranker placed), a loss, or a tie (Radlinski et al. 2008).
type Interleaving struct {
	Lists      int `json:"lists"`             // interleaved lists shown
	WithClicks int `json:"lists_with_clicks"` // lists that expressed a preference or a tie
	Wins       int `json:"wins"`              // personalized's team got more clicks
	Ties       int `json:"ties"`
	Losses     int `json:"losses"` // control's team got more clicks
	// Preference is (wins − losses) / (wins + ties + losses): +1 if personalized wins
	// every list with clicks, −1 if control does; CI from a bootstrap over customers.
	Preference Estimate `json:"preference"`
	// SignTestP is the two-sided sign test of wins against losses (ties dropped).
	SignTestP float64 `json:"sign_test_p"`
}

// DayMetrics are one UTC day's metrics; the CIs of a day are from the linearization
// (delta method) over customers, which is exact enough at a day's size and fast.
type DayMetrics struct {
	Day          string        `json:"day"` // YYYY-MM-DD
	Arms         []ArmMetrics  `json:"arms"`
	Interleaving *Interleaving `json:"interleaving,omitempty"`
}

// Report holds every arm's metrics and the changes.
type Report struct {
	From         time.Time     `json:"from"`
	To           time.Time     `json:"to"`
	Arms         []ArmMetrics  `json:"arms"`
	Changes      []Change      `json:"changes"`
	Interleaving *Interleaving `json:"interleaving,omitempty"`
	Daily        []DayMetrics  `json:"daily"`
	// DaysComputed and DaysCached say how many of the days were read from the lake for
	// this report and how many came from the per-day cache.
	DaysComputed int `json:"days_computed"`
	DaysCached   int `json:"days_cached"`
}

// sums are one customer's counts in one arm: the bootstrap resamples customers.
type sums struct {
	lists, clicked, clicks, posClicked float64
	bought, posBought                  float64
	searches, repeated                 float64
	orders                             float64
	lines, sizeReturns                 float64
	wins, ties, losses                 float64
}

func (s *sums) add(o *sums) {
	s.lists += o.lists
	s.clicked += o.clicked
	s.clicks += o.clicks
	s.posClicked += o.posClicked
	s.bought += o.bought
	s.posBought += o.posBought
	s.searches += o.searches
	s.repeated += o.repeated
	s.orders += o.orders
	s.lines += o.lines
	s.sizeReturns += o.sizeReturns
	s.wins += o.wins
	s.ties += o.ties
	s.losses += o.losses
}

// unit is a customer in an arm (a customer moved between arms by a new split is two
// units, each measured where it was).
type unit struct{ subject, arm string }

// dayPart is what one day contributes: per-unit sums and the positions of clicks and
// purchases per arm (for medians). It is what the cache keeps per day.
type dayPart struct {
	day        time.Time
	units      map[unit]*sums
	posClicked map[string]map[int64]int
	posBought  map[string]map[int64]int
	lists      map[string]int // interleaved lists per arm (only Interleaved is filled)
	// observed are the units whose arm was read from an impression; the others have
	// the arm the current split gives their subject, and are moved to the arm the
	// subject was last seen in (see arms) — a return days after a purchase belongs
	// to the arm the customer bought in.
	observed map[unit]bool
	lastArm  map[string]string // subject → arm of its last impression of the day
	// orders are the unit each order of the day (by orderKey) was attributed to (the one whose list
	// the bought items were clicked in), and returns the day's size returns by order:
	// Compute adds a return to its order's unit, on whatever day it was bought, and
	// drops the returns of orders bought before the window (not an outcome of it).
	orders    map[string]unit
	returns   []sizeReturn
	anonymous map[string]bool // subjects seen without a user id
}

type sizeReturn struct {
	orderID string
	n       float64
}

type custState struct {
	arm          string
	observed     bool // arm comes from an impression
	lastSearch   time.Time
	clickedSince bool
	hasSearch    bool
	clickedPos   map[string]int64           // product → position of the last click
	listClicked  map[string]bool            // search_id → clicked
	teams        map[string]map[string]Team // interleaved search_id → product → team
	teamClicks   map[string][]Team          // interleaved search_id → teams of its clicks
	counted      map[string]bool            // interleaved search_ids shown within the day
	clickedArm   map[string]string          // product → arm of the list it was last clicked in
}

var metricEvents = []string{event.ProductsSearched, event.ProductListViewed, event.ProductClicked, event.OrderCompleted, event.ProductReturned}

type impression struct {
	ProductID event.Flex `json:"product_id"`
	Team      string     `json:"team"`
}

// computePart reads [from−lookback, to) and counts the events of [from, to); the
// earlier ones only set up state (the last search, clicked positions, arms). A file
// that compaction replaced between the listing and the read makes it read the day
// again (a few times: compaction of a day is rare and quick).
func computePart(ctx context.Context, st lake.Storage, from, to time.Time, armOf func(string) string) (*dayPart, error) {
	for attempt := 1; ; attempt++ {
		p, err := computePartOnce(ctx, st, from, to, armOf)
		if err == nil || !errors.Is(err, lake.ErrNotExist) || attempt == 5 {
			return p, err
		}
	}
}

func computePartOnce(ctx context.Context, st lake.Storage, from, to time.Time, armOf func(string) string) (*dayPart, error) {
	p := &dayPart{day: from, units: map[unit]*sums{}, posClicked: map[string]map[int64]int{}, posBought: map[string]map[int64]int{}, lists: map[string]int{}, observed: map[unit]bool{}, lastArm: map[string]string{},
		orders: map[string]unit{}, anonymous: map[string]bool{}}
	cs := map[string]*custState{}
	get := func(subject string) *custState {
		c := cs[subject]
		if c == nil {
			c = &custState{arm: armOf(subject), clickedPos: map[string]int64{}, listClicked: map[string]bool{}, clickedArm: map[string]string{}}
			cs[subject] = c
		}
		return c
	}
	sumsOf := func(subject string, c *custState) *sums {
		k := unit{subject, c.arm}
		s := p.units[k]
		if s == nil {
			s = &sums{}
			p.units[k] = s
		}
		if c.observed {
			p.observed[k] = true
		}
		return s
	}
	hist := func(m map[string]map[int64]int, arm string, pos int64) {
		h := m[arm]
		if h == nil {
			h = map[int64]int{}
			m[arm] = h
		}
		h[pos]++
	}
	err := lake.Scan(ctx, st, lake.ScanOptions{Events: metricEvents, From: from.Add(-lookback), To: to, Sorted: true}, func(r *lake.Row) error {
		subject := r.UserID
		if subject == "" {
			subject = r.AnonymousID
		}
		c := get(subject)
		count := !r.Timestamp.Before(from)
		if count && r.UserID == "" {
			p.anonymous[subject] = true
		}
		switch r.Event {
		case event.ProductsSearched:
			if count {
				s := sumsOf(subject, c)
				if c.hasSearch && !c.clickedSince && r.Timestamp.Sub(c.lastSearch) <= RepeatWindow {
					s.repeated++
				}
				s.searches++
			}
			c.hasSearch, c.lastSearch, c.clickedSince = true, r.Timestamp, false
		case event.ProductListViewed:
			if r.Arm != "" {
				c.arm, c.observed = r.Arm, true
				if count {
					p.lastArm[subject] = r.Arm
				}
			}
			if c.arm == Interleaved {
				// The typed products column keeps the CONTRACT's fields only: the team
				// of each impression is read from the raw properties.
				var props struct {
					Products []impression `json:"products"`
				}
				if json.Unmarshal([]byte(r.Properties), &props) == nil {
					imps := props.Products
					if c.teams == nil {
						c.teams, c.teamClicks, c.counted = map[string]map[string]Team{}, map[string][]Team{}, map[string]bool{}
					}
					m := make(map[string]Team, len(imps))
					for _, im := range imps {
						if t := TeamOf(im.Team); t != TeamNone {
							m[string(im.ProductID)] = t
						}
					}
					c.teams[r.SearchID] = m
					if count {
						c.counted[r.SearchID] = true
					}
				}
			}
			if count {
				sumsOf(subject, c).lists++
				if c.arm == Interleaved {
					p.lists[Interleaved]++
				}
			}
		case event.ProductClicked:
			c.clickedSince = true
			c.clickedPos[r.ProductID], c.clickedArm[r.ProductID] = r.Position, c.arm
			if m := c.teams[r.SearchID]; m != nil {
				if t, ok := m[r.ProductID]; ok {
					c.teamClicks[r.SearchID] = append(c.teamClicks[r.SearchID], t)
				}
			}
			if count {
				s := sumsOf(subject, c)
				s.clicks++
				s.posClicked += float64(r.Position)
				hist(p.posClicked, c.arm, r.Position)
				if r.SearchID != "" && !c.listClicked[r.SearchID] {
					s.clicked++
				}
			}
			if r.SearchID != "" {
				c.listClicked[r.SearchID] = true
			}
		case event.OrderCompleted:
			if !count {
				return nil
			}
			var lines []event.ProductRef
			_ = json.Unmarshal([]byte(r.Products), &lines)
			// The order belongs to the unit whose list the items were clicked in: a
			// shopper who searched anonymously and signs in at checkout orders under
			// their user id, with the device's anonymous id beside it.
			src, srcSubject := c, subject
			if dev := cs[r.AnonymousID]; r.UserID != "" && dev != nil && dev != c && !clickedAny(c, lines) && clickedAny(dev, lines) {
				src, srcSubject = dev, r.AnonymousID
			}
			arm := src.arm
			for _, l := range lines {
				if a, ok := src.clickedArm[string(l.ProductID)]; ok {
					arm = a
					break
				}
			}
			su := &custState{arm: arm, observed: src.observed}
			s := sumsOf(srcSubject, su)
			s.orders++
			if r.OrderID != "" {
				p.orders[orderKey(subject, r.OrderID)] = unit{srcSubject, arm}
			}
			for _, l := range lines {
				s.lines++
				if pos, ok := src.clickedPos[string(l.ProductID)]; ok {
					s.bought++
					s.posBought += float64(pos)
					hist(p.posBought, arm, pos)
				}
			}
		case event.ProductReturned:
			if count && (r.Reason == "too_small" || r.Reason == "too_large") {
				p.returns = append(p.returns, sizeReturn{orderID: orderKey(subject, r.OrderID), n: 1})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for subject, c := range cs {
		for sid := range c.counted {
			var s *sums
			switch Credit(c.teamClicks[sid]) {
			case Win:
				s = sumsOf(subject, &custState{arm: Interleaved, observed: true})
				s.wins++
			case Loss:
				s = sumsOf(subject, &custState{arm: Interleaved, observed: true})
				s.losses++
			case Tie:
				s = sumsOf(subject, &custState{arm: Interleaved, observed: true})
				s.ties++
			}
		}
	}
	return p, nil
}

// orderKey identifies an order by who placed it (the subject of its events: returns come
// under the same ids as the order) and its id.
func orderKey(subject, orderID string) string { return subject + "\x00" + orderID }

// clickedAny says whether c clicked any of the order's lines.
func clickedAny(c *custState, lines []event.ProductRef) bool {
	for _, l := range lines {
		if _, ok := c.clickedPos[string(l.ProductID)]; ok {
			return true
		}
	}
	return false
}

// Cache keeps each day's contribution, keyed by the day, the arm assignment and a
// fingerprint of the day's lake files (keys and sizes): a day whose files have not
// changed is not read again, so a report over a long window reads only the days that
// got new events. It is safe for concurrent use; the zero value is ready.
type Cache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	// reports are whole reports by window, arm key and the fingerprint of every file
	// the window reads: the dashboard asks for the same window again and again, and
	// an unchanged lake gives the same report without even the bootstrap.
	reports map[string]*Report
}

const maxCachedReports = 32

type cacheEntry struct {
	fingerprint uint64
	part        *dayPart
	used        time.Time
}

const maxCachedDays = 800

// Compute reads the lake events of [from, to) and computes the metrics per arm. armOf
// gives the arm of a customer for events that do not carry one (orders, returns).
func Compute(ctx context.Context, st lake.Storage, from, to time.Time, armOf func(subject string) string) (*Report, error) {
	return (*Cache)(nil).Compute(ctx, st, from, to, armOf, "")
}

// Compute is Compute through the cache (a nil cache caches nothing). armKey names the
// assignment armOf makes (e.g. the split's shares and salt): entries computed with
// another armKey are not reused. A zero from or to means the lake's first or last day.
func (c *Cache) Compute(ctx context.Context, st lake.Storage, from, to time.Time, armOf func(subject string) string, armKey string) (*Report, error) {
	files, err := listDays(ctx, st)
	if err != nil {
		return nil, err
	}
	if (from.IsZero() || to.IsZero()) && len(files) == 0 {
		return &Report{From: from, To: to}, nil
	}
	if from.IsZero() || to.IsZero() {
		var first, last time.Time
		for h := range files {
			if first.IsZero() || h.Before(first) {
				first = h
			}
			if h.After(last) {
				last = h
			}
		}
		if from.IsZero() {
			from = first
		}
		if to.IsZero() {
			to = last.Add(time.Hour)
		}
	}
	if !to.After(from) {
		return nil, fmt.Errorf("the window [%s, %s) is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	from, to = from.UTC(), to.UTC()
	var reportKey string
	if c != nil {
		reportKey = fmt.Sprintf("%s|%s|%s|%x", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), armKey,
			fingerprint(files, from.Truncate(time.Hour).Add(-lookback), to))
		c.mu.Lock()
		r, ok := c.reports[reportKey]
		c.mu.Unlock()
		if ok {
			out := *r
			out.DaysCached, out.DaysComputed = r.DaysCached+r.DaysComputed, 0
			return &out, nil
		}
	}
	rep := &Report{From: from, To: to}
	var parts []*dayPart
	for start := from; start.Before(to); {
		dayStart := start.Truncate(24 * time.Hour)
		end := dayStart.Add(24 * time.Hour)
		if end.After(to) {
			end = to
		}
		whole := start.Equal(dayStart) && end.Equal(dayStart.Add(24*time.Hour))
		var part *dayPart
		if !hasFiles(files, start, end) {
			start = end // nothing to read: the day is skipped, not listed in Daily
			continue
		}
		if whole && c != nil {
			fp := fingerprint(files, dayStart.Add(-lookback), end)
			key := dayStart.Format("2006-01-02") + "\x00" + armKey
			c.mu.Lock()
			if e, ok := c.entries[key]; ok && e.fingerprint == fp {
				part = e.part
				e.used = time.Now()
				c.entries[key] = e
			}
			c.mu.Unlock()
			if part != nil {
				rep.DaysCached++
			} else {
				if part, err = computePart(ctx, st, start, end, armOf); err != nil {
					return nil, err
				}
				rep.DaysComputed++
				c.put(key, cacheEntry{fingerprint: fp, part: part, used: time.Now()})
			}
		} else {
			if part, err = computePart(ctx, st, start, end, armOf); err != nil {
				return nil, err
			}
			rep.DaysComputed++
		}
		parts = append(parts, part)
		start = end
	}
	total := map[unit]*sums{}
	posC, posB := map[string]map[int64]int{}, map[string]map[int64]int{}
	interLists := 0
	lastArm := map[string]string{}
	orderUnit := map[string]unit{}
	anonymous := map[string]bool{}
	for _, p := range parts {
		units := p.arms(lastArm, orderUnit)
		for subject := range p.anonymous {
			anonymous[subject] = true
		}
		for u, s := range units {
			t := total[u]
			if t == nil {
				t = &sums{}
				total[u] = t
			}
			t.add(s)
		}
		mergeHist(posC, p.posClicked)
		mergeHist(posB, p.posBought)
		interLists += p.lists[Interleaved]
		if !anyActivity(units) {
			continue // only returns of earlier orders: they count in the totals, the day has no rates of its own
		}
		dm := DayMetrics{Day: p.day.Format("2006-01-02")}
		byArm := groupByArm(units)
		exposed := countExposed(units, anonymous)
		for _, arm := range []string{Control, Personalized} {
			am, _ := armMetrics(arm, byArm[arm], p.posClicked[arm], p.posBought[arm], false)
			am.Customers, am.AnonymousDevices = exposed[arm][0], exposed[arm][1]
			dm.Arms = append(dm.Arms, am)
		}
		if p.lists[Interleaved] > 0 {
			dm.Interleaving = interleaving(byArm[Interleaved], p.lists[Interleaved], false)
		}
		rep.Daily = append(rep.Daily, dm)
	}
	byArm := groupByArm(total)
	reps := map[string][][]float64{}
	exposed := countExposed(total, anonymous)
	for _, arm := range []string{Control, Personalized} {
		am, r := armMetrics(arm, byArm[arm], posC[arm], posB[arm], true)
		am.Customers, am.AnonymousDevices = exposed[arm][0], exposed[arm][1]
		rep.Arms = append(rep.Arms, am)
		reps[arm] = r
	}
	if interLists > 0 {
		rep.Interleaving = interleaving(byArm[Interleaved], interLists, true)
	}
	rep.Changes = changes(byArm[Control], byArm[Personalized], reps[Control], reps[Personalized])
	if c != nil {
		c.mu.Lock()
		if c.reports == nil || len(c.reports) >= maxCachedReports {
			c.reports = map[string]*Report{}
		}
		c.reports[reportKey] = rep
		c.mu.Unlock()
	}
	return rep, nil
}

// arms returns the day's units with each unobserved unit moved to the arm its
// subject was last seen in (on an earlier day, else later that day), and updates
// lastArm with the day's impressions. It records the unit of each of the day's orders
// in orderUnit, and adds each size return to the unit of its order (a return of an
// order bought before the window is not counted: it is not an outcome of the window).
func (p *dayPart) arms(lastArm map[string]string, orderUnit map[string]unit) map[unit]*sums {
	out := make(map[unit]*sums, len(p.units))
	move := func(u unit) unit {
		if !p.observed[u] {
			if a, ok := lastArm[u.subject]; ok {
				u.arm = a
			} else if a, ok := p.lastArm[u.subject]; ok {
				u.arm = a
			}
		}
		return u
	}
	at := func(u unit) *sums {
		t := out[u]
		if t == nil {
			t = &sums{}
			out[u] = t
		}
		return t
	}
	for u, s := range p.units {
		at(move(u)).add(s)
	}
	for id, u := range p.orders {
		orderUnit[id] = move(u)
	}
	for _, r := range p.returns {
		if u, ok := orderUnit[r.orderID]; ok {
			at(u).sizeReturns += r.n
		}
	}
	for subject, a := range p.lastArm {
		lastArm[subject] = a
	}
	return out
}

// anyActivity reports whether any unit searched, was shown a list or ordered.
func anyActivity(units map[unit]*sums) bool {
	for _, s := range units {
		if s.searches > 0 || s.lists > 0 || s.orders > 0 {
			return true
		}
	}
	return false
}

// countExposed counts per arm the units that were shown the arm (a search or a list)
// and, of those, the anonymous devices.
func countExposed(units map[unit]*sums, anonymous map[string]bool) map[string][2]int {
	out := map[string][2]int{}
	for u, s := range units {
		if s.searches == 0 && s.lists == 0 {
			continue
		}
		c := out[u.arm]
		c[0]++
		if anonymous[u.subject] {
			c[1]++
		}
		out[u.arm] = c
	}
	return out
}

func (c *Cache) put(key string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cacheEntry{}
	}
	if len(c.entries) >= maxCachedDays {
		var oldest string
		var ot time.Time
		for k, v := range c.entries {
			if oldest == "" || v.used.Before(ot) {
				oldest, ot = k, v.used
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[key] = e
}

// listDays lists the metric events' files by hour partition.
func listDays(ctx context.Context, st lake.Storage) (map[time.Time][]lake.ObjectInfo, error) {
	out := map[time.Time][]lake.ObjectInfo{}
	for _, name := range metricEvents {
		err := st.List(ctx, lake.EventsDir+"/event="+lake.EscapeName(name)+"/", func(oi lake.ObjectInfo) error {
			fk, err := lake.ParseEventKey(oi.Key)
			if err != nil {
				return nil
			}
			out[fk.Partition.Hour] = append(out[fk.Partition.Hour], oi)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// hasFiles says whether any metric event file holds hours of [from, to).
func hasFiles(files map[time.Time][]lake.ObjectInfo, from, to time.Time) bool {
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		if len(files[h]) > 0 {
			return true
		}
	}
	return false
}

// fingerprint hashes the keys and sizes of the files of the hours in [from, to).
func fingerprint(files map[time.Time][]lake.ObjectInfo, from, to time.Time) uint64 {
	var keys []string
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		for _, oi := range files[h] {
			keys = append(keys, fmt.Sprintf("%s\x00%d", oi.Key, oi.Size))
		}
	}
	sort.Strings(keys)
	f := fnv.New64a()
	f.Write([]byte(strings.Join(keys, "\n")))
	return f.Sum64()
}

func mergeHist(dst, src map[string]map[int64]int) {
	for arm, h := range src {
		d := dst[arm]
		if d == nil {
			d = map[int64]int{}
			dst[arm] = d
		}
		for k, v := range h {
			d[k] += v
		}
	}
}

func groupByArm(units map[unit]*sums) map[string][]sums {
	out := map[string][]sums{}
	for u, s := range units {
		out[u.arm] = append(out[u.arm], *s)
	}
	// Map order is random: sort so the bootstrap is reproducible.
	for _, xs := range out {
		slices.SortFunc(xs, func(a, b sums) int {
			for _, d := range [...]float64{a.searches - b.searches, a.lists - b.lists, a.clicks - b.clicks, a.posClicked - b.posClicked, a.orders - b.orders, a.lines - b.lines, a.sizeReturns - b.sizeReturns, a.repeated - b.repeated, a.wins - b.wins, a.losses - b.losses} {
				if d != 0 {
					return int(math.Copysign(1, d))
				}
			}
			return 0
		})
	}
	return out
}

// ratio is a metric as Σnum/Σden over customers.
type ratio struct {
	name string
	num  func(s *sums) float64
	den  func(s *sums) float64
}

var ratioNames = [...]string{"click-through rate", "mean position of clicked item", "mean position of purchased item",
	"repeated-search rate", "conversion rate", "size-related return rate"}

var ratios = []ratio{
	{"click-through rate", func(s *sums) float64 { return s.clicked }, func(s *sums) float64 { return s.lists }},
	{"mean position of clicked item", func(s *sums) float64 { return s.posClicked }, func(s *sums) float64 { return s.clicks }},
	{"mean position of purchased item", func(s *sums) float64 { return s.posBought }, func(s *sums) float64 { return s.bought }},
	{"repeated-search rate", func(s *sums) float64 { return s.repeated }, func(s *sums) float64 { return s.searches }},
	{"conversion rate", func(s *sums) float64 { return s.orders }, func(s *sums) float64 { return s.searches }},
	{"size-related return rate", func(s *sums) float64 { return s.sizeReturns }, func(s *sums) float64 { return s.lines }},
}

const replicates = 1000

// bootstrap returns, per ratio, the replicates of Σnum/Σden over customers resampled
// with replacement (one resample per replicate, shared by all the ratios). Each
// customer's numerators and denominators sit together in one row, so a replicate
// touches one row per draw.
func bootstrap(xs []sums, seed uint64) [][]float64 {
	const k = len(ratioNames)
	out := make([][]float64, k)
	for m := range out {
		out[m] = make([]float64, replicates)
	}
	if len(xs) == 0 {
		return out
	}
	rows := make([][2 * k]float64, len(xs))
	for i := range xs {
		for m, r := range ratios {
			rows[i][2*m], rows[i][2*m+1] = r.num(&xs[i]), r.den(&xs[i])
		}
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	n := uint64(len(xs))
	for rep := 0; rep < replicates; rep++ {
		var acc [2 * k]float64
		for range xs {
			row := &rows[rng.Uint64N(n)]
			for j := range acc {
				acc[j] += row[j]
			}
		}
		for m := 0; m < k; m++ {
			if acc[2*m+1] > 0 {
				out[m][rep] = acc[2*m] / acc[2*m+1]
			} else {
				out[m][rep] = math.NaN()
			}
		}
	}
	return out
}

// linearized is Σnum/Σden with the 95% CI of the delta method over customers:
// Var(R) ≈ Σ(numᵢ − R·denᵢ)² / (Σden)², the cluster-robust ratio variance.
func linearized(xs []sums, r ratio) Estimate {
	var n, d float64
	for i := range xs {
		n, d = n+r.num(&xs[i]), d+r.den(&xs[i])
	}
	if d == 0 {
		return Estimate{}
	}
	v := n / d
	var ss float64
	for i := range xs {
		e := r.num(&xs[i]) - v*r.den(&xs[i])
		ss += e * e
	}
	se := math.Sqrt(ss) / d
	if k := float64(len(xs)); k > 1 {
		se *= math.Sqrt(k / (k - 1))
	}
	return Estimate{round(v), [2]float64{round(v - 1.96*se), round(v + 1.96*se)}}
}

func pointRatio(xs []sums, r ratio) float64 {
	var n, d float64
	for i := range xs {
		n, d = n+r.num(&xs[i]), d+r.den(&xs[i])
	}
	if d == 0 {
		return 0
	}
	return n / d
}

func percentileCI(reps []float64) [2]float64 {
	xs := make([]float64, 0, len(reps))
	for _, x := range reps {
		if !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return [2]float64{}
	}
	sort.Float64s(xs)
	return [2]float64{round(xs[len(xs)*25/1000]), round(xs[min(len(xs)-1, len(xs)*975/1000)])}
}

// armMetrics computes an arm's metrics: CIs by bootstrap over customers when boot,
// else by the delta method.
func armMetrics(arm string, xs []sums, posClicked, posBought map[int64]int, boot bool) (ArmMetrics, [][]float64) {
	am := ArmMetrics{Arm: arm, Customers: len(xs)}
	for i := range xs {
		am.Searches += int(xs[i].searches)
	}
	ests := make([]Estimate, len(ratios))
	var reps [][]float64
	if boot {
		reps = bootstrap(xs, armSeed(arm))
		for m, r := range ratios {
			ests[m] = Estimate{round(pointRatio(xs, r)), percentileCI(reps[m])}
		}
	} else {
		for m, r := range ratios {
			ests[m] = linearized(xs, r)
		}
	}
	am.ClickThrough, am.MeanClickedPosition, am.MeanBoughtPosition = ests[0], ests[1], ests[2]
	am.RepeatedSearch, am.Conversion, am.SizeReturnRate = ests[3], ests[4], ests[5]
	am.MedianClickedPosition = median(posClicked)
	am.MedianBoughtPosition = median(posBought)
	return am, reps
}

func armSeed(arm string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(arm))
	return h.Sum64()
}

// median is the median of a position histogram with the distribution-free 95% CI of
// the order statistics (ranks n/2 ∓ 1.96·√n/2). It treats clicks as independent, so
// for customers who click many times the interval is somewhat too narrow.
func median(h map[int64]int) Estimate {
	n := 0
	keys := make([]int64, 0, len(h))
	for k, v := range h {
		n += v
		keys = append(keys, k)
	}
	if n == 0 {
		return Estimate{}
	}
	slices.Sort(keys)
	at := func(rank int) float64 { // rank is 0-based
		rank = max(0, min(n-1, rank))
		for _, k := range keys {
			if rank < h[k] {
				return float64(k)
			}
			rank -= h[k]
		}
		return float64(keys[len(keys)-1])
	}
	var m float64
	if n%2 == 1 {
		m = at(n / 2)
	} else {
		m = (at(n/2-1) + at(n/2)) / 2
	}
	half := 1.96 * math.Sqrt(float64(n)) / 2
	lo := int(math.Floor(float64(n)/2 - half))
	hi := int(math.Ceil(float64(n)/2 + half))
	return Estimate{m, [2]float64{at(lo), at(hi - 1)}}
}

// changes are personalized − control per ratio metric, with bootstrap CIs over
// customers from each arm's replicates (each arm resampled on its own: the arms are
// independent samples).
func changes(ctl, trt []sums, bc, bt [][]float64) []Change {
	var out []Change
	for m, r := range ratios {
		vc, vt := pointRatio(ctl, r), pointRatio(trt, r)
		diffs := make([]float64, replicates)
		for i := range diffs {
			diffs[i] = bt[m][i] - bc[m][i]
		}
		ch := Change{Metric: r.name, Diff: round(vt - vc)}
		if len(ctl) > 0 && len(trt) > 0 {
			ch.CI95 = percentileCI(diffs)
		}
		if vc != 0 {
			ch.Relative = round((vt - vc) / vc)
		}
		out = append(out, ch)
	}
	return out
}

// interleaving sums the outcomes of the interleaved arm's customers.
func interleaving(xs []sums, lists int, boot bool) *Interleaving {
	in := &Interleaving{Lists: lists}
	for i := range xs {
		in.Wins += int(xs[i].wins)
		in.Ties += int(xs[i].ties)
		in.Losses += int(xs[i].losses)
	}
	in.WithClicks = in.Wins + in.Ties + in.Losses
	in.SignTestP = round(signTestP(in.Wins, in.Losses))
	pref := ratio{"preference", func(s *sums) float64 { return s.wins - s.losses }, func(s *sums) float64 { return s.wins + s.ties + s.losses }}
	if !boot {
		in.Preference = linearized(xs, pref)
		return in
	}
	in.Preference.Value = round(pointRatio(xs, pref))
	if len(xs) == 0 {
		return in
	}
	rng := rand.New(rand.NewPCG(armSeed(Interleaved), 99))
	reps := make([]float64, replicates)
	for r := range reps {
		var n, d float64
		for range xs {
			s := &xs[rng.IntN(len(xs))]
			n, d = n+pref.num(s), d+pref.den(s)
		}
		if d > 0 {
			reps[r] = n / d
		} else {
			reps[r] = math.NaN()
		}
	}
	in.Preference.CI95 = percentileCI(reps)
	return in
}

// signTestP is the two-sided p-value of the sign test: wins against losses under
// H0 of a fair coin (exact binomial up to 2000 trials, normal with continuity
// correction above).
func signTestP(wins, losses int) float64 {
	n := wins + losses
	if n == 0 {
		return 1
	}
	k := min(wins, losses)
	if n > 2000 {
		z := (math.Abs(float64(wins-losses)) - 1) / math.Sqrt(float64(n))
		return math.Min(1, math.Erfc(math.Max(z, 0)/math.Sqrt2))
	}
	// P(X ≤ k) for X ~ Binomial(n, ½), summed in log space.
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	var p float64
	for i := 0; i <= k; i++ {
		p += math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*p)
}

func round(x float64) float64 { return math.Round(x*1e5) / 1e5 }
