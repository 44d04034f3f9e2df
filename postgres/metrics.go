package postgres

import "github.com/prometheus/client_golang/prometheus"

// RegisterMetrics exports the pool's statistics as gauges and counters
// labelled with the service name.
func RegisterMetrics(reg prometheus.Registerer, db *DB, service string) {
	labels := prometheus.Labels{"service": service}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	reg.MustRegister(
		gauge("rebound_postgres_pool_connections", "Connections open in the Postgres pool.",
			func() float64 { return float64(db.pool.Stat().TotalConns()) }),
		gauge("rebound_postgres_pool_acquired_connections", "Pool connections in use.",
			func() float64 { return float64(db.pool.Stat().AcquiredConns()) }),
		gauge("rebound_postgres_pool_max_connections", "Size limit of the Postgres pool.",
			func() float64 { return float64(db.pool.Stat().MaxConns()) }),
		counter("rebound_postgres_pool_acquire_wait_seconds_total", "Time spent waiting for a pool connection.",
			func() float64 { return db.pool.Stat().AcquireDuration().Seconds() }),
		counter("rebound_postgres_pool_empty_acquires_total", "Acquires that had to wait for a connection.",
			func() float64 { return float64(db.pool.Stat().EmptyAcquireCount()) }),
	)
}
