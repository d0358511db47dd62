package collector

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	accepted         prometheus.Counter
	acceptedRequests prometheus.Counter
	rejectedRequests *prometheus.CounterVec
	rejectedEvents   *prometheus.CounterVec
	ack              prometheus.Histogram
	publish          prometheus.Histogram
	envBytes         prometheus.Histogram
	envEvents        prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, c *Collector) (*metrics, error) {
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bespoke_collector_events_accepted_total",
			Help: "Events acknowledged to clients after a durable write.",
		}),
		acceptedRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bespoke_collector_requests_accepted_total",
			Help: "Requests answered 200 after a durable write.",
		}),
		rejectedRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_collector_requests_rejected_total",
			Help: "Requests refused, by reason (invalid, unauthorized, too_large, overloaded, unavailable, unsupported_encoding, canceled).",
		}, []string{"reason"}),
		rejectedEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_collector_events_rejected_total",
			Help: "Valid events of refused requests, by reason (overloaded, unavailable, canceled); invalid requests count in requests_rejected_total.",
		}, []string{"reason"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bespoke_collector_ack_seconds",
			Help:    "Time from a request's body being read to its 200 answer, after its events are durable.",
			Buckets: []float64{.0005, .001, .002, .003, .005, .0075, .01, .015, .02, .03, .05, .08, .1, .25, .5, 1},
		}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bespoke_collector_publish_seconds",
			Help:    "Time of one durable envelope publish to the stream.",
			Buckets: []float64{.0002, .0005, .001, .002, .003, .005, .0075, .01, .02, .05, .1, .25, 1},
		}),
		envBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bespoke_collector_envelope_bytes",
			Help:    "Size of envelopes published (many requests per envelope: group commit).",
			Buckets: prometheus.ExponentialBuckets(1024, 4, 8), // 1 KiB .. 16 MiB
		}),
		envEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bespoke_collector_envelope_events",
			Help:    "Events per envelope published.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}),
	}
	available := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bespoke_collector_stream_available",
		Help: "1 while the event stream takes publishes, 0 while the collector answers 503.",
	}, func() float64 {
		if c.breaker.available() {
			return 1
		}
		return 0
	})
	pendingBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bespoke_collector_pending_bytes",
		Help: "Encoded events accepted and waiting for their durable write.",
	}, func() float64 { return float64(c.pendingBytes.Load()) })
	inflight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bespoke_collector_requests_in_flight",
		Help: "Requests being handled.",
	}, func() float64 { return float64(len(c.requests)) })
	trips := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bespoke_collector_breaker_trips_total",
		Help: "Times the stream was found unavailable (publish failed or slower than the ack timeout).",
	}, func() float64 { return float64(c.breaker.trips.Load()) })
	for _, col := range []prometheus.Collector{m.accepted, m.acceptedRequests, m.rejectedRequests, m.rejectedEvents,
		m.ack, m.publish, m.envBytes, m.envEvents, available, pendingBytes, inflight, trips} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("cannot register collector metrics: %w", err)
		}
	}
	for _, r := range []string{reasonInvalid, reasonUnauthorized, reasonTooLarge, reasonOverloaded, reasonUnavailable, reasonUnsupported, reasonCanceled} {
		m.rejectedRequests.WithLabelValues(r)
	}
	return m, nil
}
