package depwatch_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/reboundhq/rebound/internal/depwatch"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestUpFollowsARealConnection: the gauge follows a real Postgres reached
// through a proxy that the test cuts and restores.
func TestUpFollowsARealConnection(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	p, proxied := testenv.ProxyURL(t, dsn)
	check := func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, proxied)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.Ping(ctx)
	}
	reg := prometheus.NewRegistry()
	w := depwatch.New(reg, map[string]depwatch.Check{"postgres": check})
	// Read the gauge as a scrape would: from the registry.
	up := func() float64 {
		fams, err := reg.Gather()
		if err != nil || len(fams) != 1 || len(fams[0].GetMetric()) != 1 {
			t.Fatalf("gathered %v: %v", fams, err)
		}
		return fams[0].GetMetric()[0].GetGauge().GetValue()
	}
	if up() != 0 {
		t.Fatal("up before the first check")
	}
	ctx := context.Background()
	w.CheckAll(ctx)
	if up() != 1 {
		t.Fatal("postgres reachable but not up")
	}
	p.Cut()
	w.CheckAll(ctx)
	if up() != 0 {
		t.Fatal("postgres cut but still up")
	}
	p.Restore()
	w.CheckAll(ctx)
	if up() != 1 {
		t.Fatal("postgres back but not up")
	}
	if n, err := testutil.GatherAndCount(reg, "rebound_dependency_up"); err != nil || n != 1 {
		t.Fatalf("gathered %d series: %v", n, err)
	}
}
