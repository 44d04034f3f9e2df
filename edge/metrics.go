package edge

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sony/gobreaker/v2"
)

// metrics are the edge's Prometheus series. Every series the redirect path
// touches is resolved once here, so counting allocates nothing.
type metrics struct {
	byStatus    map[int]prometheus.Counter
	otherStatus prometheus.Counter
	duration    prometheus.Histogram
	inFlight    prometheus.Gauge

	localHit, localMiss, staleServed             prometheus.Counter
	localSkipped                                 prometheus.Counter
	redisHit, redisMiss, redisAbsent, redisError prometheus.Counter
	dbFound, dbAbsent, dbError, dbRejected       prometheus.Counter

	rateLimited   prometheus.Counter
	invalidations prometheus.Counter
	subscribed    prometheus.Gauge

	clicksQueued, clicksDropped prometheus.Counter
	clicksShipped               *prometheus.CounterVec
	clickBacklog                prometheus.Gauge

	breakerState       *prometheus.GaugeVec // registered by New, wrapped in a breakerGauge over the breakers
	breakerTransitions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rebound_edge_http_requests_total", Help: "Requests answered by the edge, by status code.",
	}, []string{"code"})
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rebound_edge_cache_lookups_total", Help: "Code lookups by tier and result.",
	}, []string{"tier", "result"})
	m := &metrics{
		byStatus: map[int]prometheus.Counter{},
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rebound_edge_http_request_duration_seconds", Help: "Time to answer a request.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, .5, 1},
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebound_edge_http_requests_in_flight", Help: "Requests being answered now.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_edge_rate_limited_total", Help: "Requests refused by the per-client rate limit.",
		}),
		localSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_edge_local_not_kept_total",
			Help: "Links read from Redis and not kept in the in-process tier: their code was not asked for lately.",
		}),
		invalidations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_edge_invalidations_total", Help: "Invalidation messages applied to the in-process tier.",
		}),
		subscribed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebound_edge_invalidation_subscribed", Help: "1 while the invalidation subscription is live.",
		}),
		clicksQueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_edge_clicks_queued_total", Help: "Clicks accepted into the edge's click queue.",
		}),
		clicksDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebound_edge_clicks_dropped_total", Help: "Clicks lost because the queue or backlog was full.",
		}),
		clicksShipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebound_edge_clicks_shipped_total", Help: "Clicks handed on, by path (redis stream or postgres).",
		}, []string{"via"}),
		clickBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebound_edge_click_backlog", Help: "Clicks waiting to be shipped.",
		}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rebound_edge_breaker_state", Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}, []string{"dependency"}),
		breakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebound_edge_breaker_transitions_total", Help: "Circuit breaker state changes, by new state.",
		}, []string{"dependency", "to"}),
	}
	for _, code := range []int{200, 204, 301, 302, 307, 308, 400, 404, 405, 413, 429, 500, 503} {
		m.byStatus[code] = requests.WithLabelValues(strconv.Itoa(code))
	}
	m.otherStatus = requests.WithLabelValues("other")
	m.localHit, m.localMiss = lookups.WithLabelValues("local", "hit"), lookups.WithLabelValues("local", "miss")
	m.staleServed = lookups.WithLabelValues("local", "stale")
	m.redisHit, m.redisMiss = lookups.WithLabelValues("redis", "hit"), lookups.WithLabelValues("redis", "miss")
	m.redisAbsent, m.redisError = lookups.WithLabelValues("redis", "absent"), lookups.WithLabelValues("redis", "error")
	m.dbFound, m.dbAbsent = lookups.WithLabelValues("postgres", "hit"), lookups.WithLabelValues("postgres", "absent")
	m.dbError, m.dbRejected = lookups.WithLabelValues("postgres", "error"), lookups.WithLabelValues("postgres", "rejected")
	// Every labelled series exists from the start at zero, so rates and
	// alerts see it before its first event.
	for _, dep := range []string{"redis", "postgres"} {
		m.breakerState.WithLabelValues(dep).Set(0)
		for _, to := range []gobreaker.State{gobreaker.StateClosed, gobreaker.StateHalfOpen, gobreaker.StateOpen} {
			m.breakerTransitions.WithLabelValues(dep, to.String())
		}
		m.clicksShipped.WithLabelValues(dep)
	}
	reg.MustRegister(requests, lookups, m.duration, m.inFlight, m.localSkipped, m.rateLimited, m.invalidations, m.subscribed,
		m.clicksQueued, m.clicksDropped, m.clicksShipped, m.clickBacklog, m.breakerTransitions,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) status(code int) {
	if c, ok := m.byStatus[code]; ok {
		c.Inc()
		return
	}
	m.otherStatus.Inc()
}

// breakerGauge collects rebound_edge_breaker_state after asking each breaker
// its state. gobreaker moves an open breaker on to half-open only when asked,
// and an edge whose lookups all stay in process may not ask for minutes:
// read only from transitions, the gauge would say "open" (and the
// ReboundBreakerOpen alert would fire) long after the dependency came back.
type breakerGauge struct {
	vec      *prometheus.GaugeVec
	breakers []interface{ State() gobreaker.State } // asking sets vec through breakerChanged
}

func (g breakerGauge) Describe(ch chan<- *prometheus.Desc) { g.vec.Describe(ch) }

func (g breakerGauge) Collect(ch chan<- prometheus.Metric) {
	for _, b := range g.breakers {
		b.State()
	}
	g.vec.Collect(ch)
}

func (m *metrics) breakerChanged(dep string, to gobreaker.State) {
	m.breakerState.WithLabelValues(dep).Set(float64(to))
	m.breakerTransitions.WithLabelValues(dep, to.String()).Inc()
}
