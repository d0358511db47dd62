package server

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	searchLatency  *prometheus.HistogramVec
	searches       *prometheus.CounterVec
	fallbacks      *prometheus.CounterVec
	profileUpdates prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		searchLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bespoke_serve_latency_seconds",
			Help:    "Server-side latency of search, rerank and size requests.",
			Buckets: []float64{.0002, .0005, .001, .002, .003, .005, .01, .02, .05, .1, .5},
		}, []string{"endpoint"}),
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_serve_requests_total",
			Help: "Search, rerank and size requests by endpoint and whether they were personalized.",
		}, []string{"endpoint", "personalized"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_serve_fallbacks_total",
			Help: "Requests answered with the non-personalized ranking because of a failure or the deadline, by reason.",
		}, []string{"reason"}),
		profileUpdates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bespoke_profile_updater_messages_total",
			Help: "Stream messages applied to profiles by the real-time updater.",
		}),
	}
	reg.MustRegister(m.searchLatency, m.searches, m.fallbacks, m.profileUpdates)
	return m
}
