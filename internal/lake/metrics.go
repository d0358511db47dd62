package lake

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the lake's Prometheus metrics. Create them once per registry with
// NewMetrics and pass them to the writer and compactor.
type Metrics struct {
	FilesWritten   *prometheus.CounterVec // kind: events, dead_letters, compacted
	BytesWritten   *prometheus.CounterVec
	RowsWritten    *prometheus.CounterVec
	DeadLetters    *prometheus.CounterVec // reason: decode, convert, caller
	Duplicates     prometheus.Counter
	OpenFiles      prometheus.Gauge
	PublishSeconds prometheus.Histogram
	PublishErrors  prometheus.Counter
	RowsErased     prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg (when reg is not nil).
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	m := &Metrics{
		FilesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_lake_files_written_total", Help: "Parquet files published to the lake, by kind (events, dead_letters, compacted).",
		}, []string{"kind"}),
		BytesWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_lake_bytes_written_total", Help: "Bytes of Parquet files published to the lake, by kind.",
		}, []string{"kind"}),
		RowsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_lake_rows_written_total", Help: "Rows in Parquet files published to the lake, by kind.",
		}, []string{"kind"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bespoke_lake_dead_letters_total", Help: "Events written to dead_letters instead of the lake, by reason (decode, convert, caller).",
		}, []string{"reason"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bespoke_lake_duplicates_dropped_total", Help: "Events not written because their messageId is already in the lake (redelivery or client retry within the dedup window).",
		}),
		OpenFiles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bespoke_lake_open_files", Help: "Lake files (partitions) open for writing.",
		}),
		PublishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bespoke_lake_publish_seconds", Help: "Time to finish, publish and record one lake file.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		PublishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bespoke_lake_publish_errors_total", Help: "Lake files that failed to publish (their batches were failed for redelivery).",
		}),
		RowsErased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bespoke_lake_rows_erased_total", Help: "Rows removed from the lake by erasure requests.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.FilesWritten, m.BytesWritten, m.RowsWritten, m.DeadLetters,
			m.Duplicates, m.OpenFiles, m.PublishSeconds, m.PublishErrors, m.RowsErased} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
