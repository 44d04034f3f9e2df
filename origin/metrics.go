package origin

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sony/gobreaker/v2"
)

// metrics are the origin's Prometheus series.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	imported      *prometheus.CounterVec
	clicksStored  prometheus.Counter
	clicksDropped prometheus.Counter
	clickBatches  prometheus.Counter
	syncPending   prometheus.Gauge
	inFlight      prometheus.Gauge
	streamBatches prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebound_origin_http_requests_total", Help: "HTTP requests answered, by method, route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rebound_origin_http_request_duration_seconds", Help: "Time to answer an HTTP request, by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method", "route"}),
		imported: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebound_origin_imported_rows_total", Help: "Rows stored by bulk CSV imports, by kind.",
		}, []string{"kind"}),
		clicksStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_origin_clicks_stored_total", Help: "Clicks newly stored in Postgres.",
		}),
		clicksDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_origin_clicks_dropped_total", Help: "Slow-path clicks lost because Postgres and Redis were both down.",
		}),
		clickBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_origin_click_batches_total", Help: "Click batches read from the Redis stream and stored.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebound_origin_http_requests_in_flight", Help: "HTTP requests being answered now.",
		}),
		streamBatches: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebound_origin_click_stream_batches",
			Help: "Click batches (up to 1,000 clicks each) in the Redis stream not yet stored: the click pipeline's lag.",
		}),
		syncPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebound_origin_cache_sync_pending", Help: "Link codes whose Redis entry awaits a retry after a failed write (this origin's, and those it took from the cache outbox).",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.imported, m.clicksStored, m.clicksDropped, m.clickBatches, m.syncPending, m.inFlight, m.streamBatches,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchBreaker exports the state of the breaker the origin's Redis writes
// go through, read when scraped: an open breaker turns half-open when its
// time is up, whether or not a write has come to see it.
func (m *metrics) watchBreaker(reg *prometheus.Registry, b *gobreaker.CircuitBreaker[struct{}]) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rebound_origin_redis_breaker_state",
		Help: "State of the circuit breaker the origin's Redis writes go through: 0 closed, 1 half-open, 2 open.",
	}, func() float64 { return float64(b.State()) }))
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}
