// Package depwatch checks a service's dependencies (Postgres, Redis) on a
// timer and exports each result as the gauge rebound_dependency_up, so an
// alert can fire on an unreachable dependency without anyone calling /health.
package depwatch

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Check reports whether one dependency answers.
type Check func(ctx context.Context) error

// Watcher runs checks and keeps rebound_dependency_up{dependency} current.
type Watcher struct {
	up      *prometheus.GaugeVec
	checks  map[string]Check
	timeout time.Duration
}

// New registers the gauge on reg for each named check. Until the first run
// a dependency counts as down.
func New(reg prometheus.Registerer, checks map[string]Check) *Watcher {
	w := &Watcher{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rebound_dependency_up", Help: "1 when the dependency answered its last check, else 0.",
		}, []string{"dependency"}),
		checks: checks, timeout: time.Second,
	}
	for name := range checks {
		w.up.WithLabelValues(name).Set(0)
	}
	reg.MustRegister(w.up)
	return w
}

// Run checks every dependency at once and then every interval, until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.CheckAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckAll runs every check once, each bounded by a one-second deadline.
func (w *Watcher) CheckAll(ctx context.Context) {
	for name, check := range w.checks {
		cctx, cancel := context.WithTimeout(ctx, w.timeout)
		err := check(cctx)
		cancel()
		v := 1.0
		if err != nil {
			v = 0
		}
		w.up.WithLabelValues(name).Set(v)
	}
}
