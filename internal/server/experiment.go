package server

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/bespokesearch/bespoke/internal/experiment"
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
	rep, err := experiment.Compute(r.Context(), s.pipe.lakeStore, from, to, func(subject string) string { return s.split.Load().Arm(subject) })
	if err != nil {
		return nil, err
	}
	out := &MetricsReport{Report: rep, LatencyP99: map[string]float64{}, LatencyP50: map[string]float64{}}
	for _, arm := range []string{experiment.Control, experiment.Personalized} {
		out.LatencyP99[arm], _ = s.lat.Percentile(arm, 99)
		out.LatencyP50[arm], _ = s.lat.Percentile(arm, 50)
	}
	return out, nil
}

// SetSplit changes the A/B split from the next request on (the demo plays history
// with everyone in control, then splits).
func (s *Server) SetSplit(sp experiment.Split) { s.split.Store(&sp) }

// Flush returns once every event acknowledged before the call is in lake files.
func (s *Server) Flush(ctx context.Context) error { return s.pipe.flush(ctx) }
