package bench_test

import (
	"context"
	"testing"

	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestSeedCache: every seeded link, across a pipeline boundary, is in Redis
// with the code, id and URL the load generator and the baseline expect, and
// nothing past the count is.
func TestSeedCache(t *testing.T) {
	c := testenv.NewCache(t)
	ctx := context.Background()
	const n = 10_003
	if err := bench.SeedCache(ctx, c, n); err != nil {
		t.Fatal(err)
	}
	codes := []string{bench.Code(0), bench.Code(9_999), bench.Code(10_000), bench.Code(n - 1), bench.Code(n)}
	got := make([]cache.Lookup, len(codes))
	if err := c.GetLinks(ctx, codes, got); err != nil {
		t.Fatal(err)
	}
	for i, idx := range []int{0, 9_999, 10_000, n - 1} {
		e := got[i].Entry
		if got[i].State != cache.Found || e.ID != int64(idx+1) || e.URL != bench.TargetURL(idx) || !e.Active || e.RedirectType != 302 {
			t.Errorf("link %d: %+v", idx, got[i])
		}
	}
	if got[4].State != cache.Miss {
		t.Errorf("link %d past the count: %+v", n, got[4])
	}
}
