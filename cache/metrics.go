package cache

import "github.com/prometheus/client_golang/prometheus"

// RegisterMetrics exports the Redis client's connection pool statistics,
// labelled with the service name. They are read at scrape time from the
// client's counters: no Redis call is made.
func RegisterMetrics(reg prometheus.Registerer, c *Client, service string) {
	labels := prometheus.Labels{"service": service}
	stats := c.rdb.PoolStats
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rebound_redis_pool_connections", ConstLabels: labels,
			Help: "Connections open in the Redis pool."}, func() float64 { return float64(stats().TotalConns) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rebound_redis_pool_idle_connections", ConstLabels: labels,
			Help: "Idle connections in the Redis pool."}, func() float64 { return float64(stats().IdleConns) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rebound_redis_pool_timeouts_total", ConstLabels: labels,
			Help: "Times a caller waited for a Redis connection in vain."}, func() float64 { return float64(stats().Timeouts) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "rebound_redis_pool_misses_total", ConstLabels: labels,
			Help: "Times the Redis pool had no free connection and dialled one."}, func() float64 { return float64(stats().Misses) }),
	)
}
