package origin

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// cacheSync keeps Redis and the edges coherent with Postgres. Each write is
// pushed synchronously, before the API answers; when Redis refuses it, the
// code is remembered and re-synced from Postgres until Redis takes it, so a
// Redis outage cannot leave a stale entry behind.
type cacheSync struct {
	store interface {
		LinkByCode(ctx context.Context, code string) (rebound.Link, error)
	}
	cache   *cache.Client
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]bool
	gauge   interface{ Set(float64) }
}

func newCacheSync(store Store, c *cache.Client, log *slog.Logger) *cacheSync {
	return &cacheSync{store: store, cache: c, log: log, pending: map[string]bool{}}
}

// syncTimeout bounds the synchronous cache update of one API write.
const syncTimeout = time.Second

// stored writes a created or changed link through and invalidates it on every edge.
func (c *cacheSync) stored(ctx context.Context, l rebound.Link) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if err := c.cache.StoreLinks(ctx, l); err != nil {
		c.retry(l.ShortCode, err)
	}
}

// storedMany writes imported links through and invalidates them.
func (c *cacheSync) storedMany(ctx context.Context, links []rebound.Link) error {
	if err := c.cache.StoreLinks(ctx, links...); err != nil {
		for _, l := range links {
			c.retry(l.ShortCode, err)
		}
	}
	return nil // the rows are in Postgres; the retry loop owns the cache now
}

// removed marks a deleted (or renamed) code absent and invalidates it.
func (c *cacheSync) removed(ctx context.Context, code string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if err := c.cache.StoreAbsent(ctx, code); err != nil {
		c.retry(code, err)
	}
}

func (c *cacheSync) retry(code string, err error) {
	c.mu.Lock()
	c.pending[code] = true
	n := len(c.pending)
	c.mu.Unlock()
	if c.gauge != nil {
		c.gauge.Set(float64(n))
	}
	c.log.Warn("cache write failed; will retry", "code", code, "err", err)
}

// run retries pending codes every retryInterval until ctx ends.
func (c *cacheSync) run(ctx context.Context) {
	const retryInterval = 500 * time.Millisecond
	t := time.NewTicker(retryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.flush(ctx)
		}
	}
}

// flush re-syncs every pending code from Postgres, keeping those that fail.
func (c *cacheSync) flush(ctx context.Context) {
	c.mu.Lock()
	codes := make([]string, 0, len(c.pending))
	for code := range c.pending {
		codes = append(codes, code)
	}
	c.mu.Unlock()
	for _, code := range codes {
		if err := c.resync(ctx, code); err != nil {
			return // Redis or Postgres still down: try again next tick
		}
		c.mu.Lock()
		delete(c.pending, code)
		n := len(c.pending)
		c.mu.Unlock()
		if c.gauge != nil {
			c.gauge.Set(float64(n))
		}
	}
}

func (c *cacheSync) resync(ctx context.Context, code string) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	l, err := c.store.LinkByCode(ctx, code)
	switch {
	case rebound.ErrorCode(err) == rebound.ENotFound:
		return c.cache.StoreAbsent(ctx, code)
	case err != nil:
		return err
	}
	return c.cache.StoreLinks(ctx, l)
}
