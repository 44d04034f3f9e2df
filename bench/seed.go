package bench

import (
	"context"
	"fmt"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// SeedCache writes benchmark links 0..n-1 (ids 1..n, active, 302) straight
// into Redis through c, 10,000 to a pipeline: an edge then finds every one
// there and never reads Postgres for them.
func SeedCache(ctx context.Context, c *cache.Client, n int) error {
	links := make([]rebound.Link, 0, min(n, 10_000))
	for i := range n {
		links = append(links, rebound.Link{ID: int64(i + 1), ShortCode: Code(i), OriginalURL: TargetURL(i),
			IsActive: true, RedirectType: 302})
		if len(links) == cap(links) || i == n-1 {
			if err := c.PutLinks(ctx, links); err != nil {
				return fmt.Errorf("seed %d benchmark links: %w", n, err)
			}
			links = links[:0]
		}
	}
	return nil
}
