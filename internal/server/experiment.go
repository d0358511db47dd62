package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/rank"
)

// latencies keeps the latest search latencies of each arm for exact percentiles, and
// counts each arm's searches and those a profile shaped. They describe the current
// split only: SetSplit starts them again, so the A/B period's figures do not mix in the
// searches answered before it (in the demo, the history period's, all in control).
type latencies struct {
	mu       sync.Mutex
	arm      map[string][]float64 // ring buffers of milliseconds
	pos      map[string]int
	searches map[string]int // searches answered per arm
	personal map[string]int // of which personalized (a profile shaped the order)
}

const latencyWindow = 100000

func (l *latencies) add(arm string, d time.Duration, personalized bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.arm == nil {
		l.arm, l.pos, l.searches, l.personal = map[string][]float64{}, map[string]int{}, map[string]int{}, map[string]int{}
	}
	l.searches[arm]++
	if personalized {
		l.personal[arm]++
	}
	ms := float64(d.Microseconds()) / 1000
	buf := l.arm[arm]
	if len(buf) < latencyWindow {
		l.arm[arm] = append(buf, ms)
		return
	}
	buf[l.pos[arm]] = ms
	l.pos[arm] = (l.pos[arm] + 1) % latencyWindow
}

// reset forgets every latency and count.
func (l *latencies) reset() {
	l.mu.Lock()
	l.arm, l.pos, l.searches, l.personal = nil, nil, nil, nil
	l.mu.Unlock()
}

// counts are an arm's searches since the split was set and how many were personalized.
func (l *latencies) counts(arm string) (searches, personalized int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.searches[arm], l.personal[arm]
}

// Percentile is the p-th percentile (0..100) of an arm's recent search latencies in ms,
// and how many latencies it is computed from.
func (l *latencies) Percentile(arm string, p float64) (float64, int) {
	l.mu.Lock()
	xs := slices.Clone(l.arm[arm])
	l.mu.Unlock()
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	i := int(p / 100 * float64(len(xs)-1))
	return xs[i], len(xs)
}

// SearchLatency is the p-th percentile of an arm's recent server-side search latency.
func (s *Server) SearchLatency(arm string, p float64) (float64, int) { return s.lat.Percentile(arm, p) }

// armOf is the experiment arm of a request's subject.
func (s *Server) armOf(customerID, anonymousID string) string {
	subject := customerID
	if subject == "" {
		subject = anonymousID
	}
	return s.split.Load().Arm(subject)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.requireAdmin(w, r) {
		return
	}
	q := r.URL.Query()
	var from, to time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				badField(w, p.name, "must be an RFC 3339 time such as 2026-11-20T00:00:00Z")
				return
			}
			*p.dst = t
		}
	}
	rep, err := s.BusinessMetrics(r, from, to)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// MetricsReport is the answer of GET /v1/admin/metrics: the business metrics per arm
// from the lake, and the server's own search latency per arm. The latencies and search
// counts are this server process's since the split was last set (they are not in the
// lake): an arm with searches in the lake but no latency here was served by another
// process or under another split.
type MetricsReport struct {
	*experiment.Report
	LatencyP99 map[string]float64 `json:"search_latency_p99_ms"`
	LatencyP50 map[string]float64 `json:"search_latency_p50_ms"`
	// LatencyN is how many searches each arm's percentiles are computed from (the
	// latest 100,000 at most).
	LatencyN map[string]int `json:"search_latency_n"`
	// ServedSearches and PersonalizedSearches count the searches this process answered
	// per arm since the split was set, and those a profile shaped (personalized:true).
	ServedSearches       map[string]int `json:"served_searches"`
	PersonalizedSearches map[string]int `json:"personalized_searches"`
}

// BusinessMetrics computes the per-arm metrics of the events in [from, to).
func (s *Server) BusinessMetrics(r *http.Request, from, to time.Time) (*MetricsReport, error) {
	sp := s.split.Load()
	armKey := fmt.Sprintf("%g/%g/%s", sp.Treatment, sp.Interleave, sp.Salt)
	rep, err := s.metricsCache.Compute(r.Context(), s.pipe.lakeStore, from, to, sp.Arm, armKey)
	if err != nil {
		return nil, err
	}
	out := &MetricsReport{Report: rep, LatencyP99: map[string]float64{}, LatencyP50: map[string]float64{},
		LatencyN: map[string]int{}, ServedSearches: map[string]int{}, PersonalizedSearches: map[string]int{}}
	for _, arm := range []string{experiment.Control, experiment.Personalized, experiment.Interleaved} {
		p50, n := s.lat.Percentile(arm, 50)
		if n == 0 {
			// No latency measured: the arm is left out rather than reported as 0 ms
			// (readers tell "not measured" from "fast" by its absence and LatencyN).
			continue
		}
		out.LatencyP50[arm] = p50
		out.LatencyP99[arm], _ = s.lat.Percentile(arm, 99)
		out.LatencyN[arm] = n
		out.ServedSearches[arm], out.PersonalizedSearches[arm] = s.lat.counts(arm)
	}
	return out, nil
}

// SetSplit changes the A/B split from the next request on (the demo plays history
// with everyone in control, then splits). An invalid split is refused.
func (s *Server) SetSplit(sp experiment.Split) error {
	if err := sp.Validate(); err != nil {
		return err
	}
	s.split.Store(&sp)
	// A new split is a new measurement period: the latencies of the old one would
	// blur the new arms' (they are not in the lake and cannot be windowed later).
	s.lat.reset()
	return nil
}

// interleaveBufs is the per-search scratch of interleaving: the control order (the
// personalized one stays in the rank buffers), the merged order, teams, used marks.
type interleaveBufs struct {
	control, merged []int
	teams           []experiment.Team
	used            []bool
}

var interleavePool = sync.Pool{New: func() any { return new(interleaveBufs) }}

// rankForArm is the search handler's one call into the experiment: it returns the
// order of the candidates for the request's arm, for the interleaved arm the team of
// each slot of that order (nil otherwise), and whether a profile shaped the order (the
// "personalized" of the answer: in the interleaved arm the merged list holds the
// personalized ranking's picks whenever the subject has a profile). Control and personalized rank as before
// (prof is the profile the handler loaded for the personalized arm); interleaved ranks
// twice — without and with the subject's profile — and merges the two by team-draft
// interleaving, seeded by (customer or visitor, query) so a repeated search shows the
// same list. Scores and explanations in b are those of the personalized ranking.
//
// The order lives in b (valid until its next use); teams is the caller's.
func (s *Server) rankForArm(ctx context.Context, snap *rank.Snapshot, arm string, q url.Values, text string, prof *profile.Profile, items []rank.Item, textScores []float32, b *rank.Buffers) ([]int, []experiment.Team, bool) {
	qk := rank.QueryKey(text)
	if arm != experiment.Interleaved {
		return snap.Rank(qk, prof, items, textScores, b), nil, prof != nil
	}
	customer, anon := q.Get("customer_id"), q.Get("anonymous_id")
	p, reason := s.profileFor(ctx, customer, anon)
	if reason != "" {
		s.metrics.fallbacks.WithLabelValues(reason).Inc()
	}
	if p == nil {
		// Nothing to personalize with (no profile, opted out): both rankings would be
		// the same, and crediting teams on it would only add noise.
		return snap.Rank(qk, nil, items, textScores, b), nil, false
	}
	ib := interleavePool.Get().(*interleaveBufs)
	ib.control = append(ib.control[:0], snap.Rank(qk, nil, items, textScores, b)...)
	pers := snap.Rank(qk, p, items, textScores, b)
	subject := customer
	if subject == "" {
		subject = anon
	}
	seed := experiment.InterleaveSeed(s.split.Load().Salt, subject, text)
	ib.merged, ib.teams, ib.used = experiment.TeamDraft(ib.control, pers, seed, 0, ib.merged, ib.teams, ib.used)
	// The merged order is copied into the rank buffers' order (same length: both
	// rankings hold every candidate), so the buffers go back to the pool now.
	order := append(b.Order[:0], ib.merged...)
	teams := slices.Clone(ib.teams)
	interleavePool.Put(ib)
	return order, teams, true
}

// teamAt is the team name of slot k of an interleaved list ("" outside interleaving).
func teamAt(teams []experiment.Team, k int) string {
	if k < len(teams) {
		return teams[k].Name()
	}
	return ""
}

// Flush returns once every event acknowledged before the call is in lake files.
func (s *Server) Flush(ctx context.Context) error { return s.pipe.flush(ctx) }
