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

// latencies keeps the latest search latencies of each arm for exact percentiles.
type latencies struct {
	mu  sync.Mutex
	arm map[string][]float64 // ring buffers of milliseconds
	pos map[string]int
}

const latencyWindow = 100000

func (l *latencies) add(arm string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.arm == nil {
		l.arm, l.pos = map[string][]float64{}, map[string]int{}
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

// Percentile is the p-th percentile (0..100) of an arm's recent search latencies in ms.
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
// from the lake, and the server's own search latency per arm.
type MetricsReport struct {
	*experiment.Report
	LatencyP99 map[string]float64 `json:"search_latency_p99_ms"`
	LatencyP50 map[string]float64 `json:"search_latency_p50_ms"`
}

// BusinessMetrics computes the per-arm metrics of the events in [from, to).
func (s *Server) BusinessMetrics(r *http.Request, from, to time.Time) (*MetricsReport, error) {
	sp := s.split.Load()
	armKey := fmt.Sprintf("%g/%g/%s", sp.Treatment, sp.Interleave, sp.Salt)
	rep, err := s.metricsCache.Compute(r.Context(), s.pipe.lakeStore, from, to, sp.Arm, armKey)
	if err != nil {
		return nil, err
	}
	out := &MetricsReport{Report: rep, LatencyP99: map[string]float64{}, LatencyP50: map[string]float64{}}
	for _, arm := range []string{experiment.Control, experiment.Personalized, experiment.Interleaved} {
		if _, n := s.lat.Percentile(arm, 50); n == 0 && arm == experiment.Interleaved {
			continue
		}
		out.LatencyP99[arm], _ = s.lat.Percentile(arm, 99)
		out.LatencyP50[arm], _ = s.lat.Percentile(arm, 50)
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
