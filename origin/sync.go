package origin

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// cacheSync keeps Redis and the edges coherent with Postgres. Each write is
// pushed synchronously, before the API answers; when Redis refuses it, the
// code is remembered and re-synced from Postgres until Redis takes it, so a
// Redis outage cannot leave a stale entry behind. Every write carries the
// link's version, and Redis keeps the newest it was given (cache.StoreLinks),
// so racing writes, and a re-sync racing a write, end in the last commit.
type cacheSync struct {
	store interface {
		LinkByCode(ctx context.Context, code string) (rebound.Link, error)
	}
	cache   *cache.Client
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]int64 // code → the highest version whose write failed
	gauge   interface{ Set(float64) }
}

func newCacheSync(store Store, c *cache.Client, log *slog.Logger) *cacheSync {
	return &cacheSync{store: store, cache: c, log: log, pending: map[string]int64{}}
}

// syncTimeout bounds the synchronous cache update of one API write.
const syncTimeout = time.Second

// stored writes a created or changed link through and invalidates it on every edge.
func (c *cacheSync) stored(ctx context.Context, l rebound.Link) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if err := c.cache.StoreLinks(ctx, l); err != nil {
		c.retry(l.ShortCode, l.Version, err)
	}
}

// storedMany writes imported links through and invalidates them.
func (c *cacheSync) storedMany(ctx context.Context, links []rebound.Link) error {
	if err := c.cache.StoreLinks(ctx, links...); err != nil {
		for _, l := range links {
			c.retry(l.ShortCode, l.Version, err)
		}
	}
	return nil // the rows are in Postgres; the retry loop owns the cache now
}

// removed marks a code absent and invalidates it, after the write of the
// given version deleted its link or renamed it away.
func (c *cacheSync) removed(ctx context.Context, code string, version int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if err := c.cache.StoreAbsent(ctx, code, version); err != nil {
		c.retry(code, version, err)
	}
}

func (c *cacheSync) retry(code string, version int64, err error) {
	c.mu.Lock()
	c.pending[code] = max(c.pending[code], version)
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
	pending := maps.Clone(c.pending)
	c.mu.Unlock()
	for code, version := range pending {
		if err := c.resync(ctx, code, version); err != nil {
			return // Redis or Postgres still down: try again next tick
		}
		c.mu.Lock()
		// A write that failed meanwhile raised the version: it stays
		// pending, since this re-sync may have read Postgres before it.
		if c.pending[code] == version {
			delete(c.pending, code)
		}
		n := len(c.pending)
		c.mu.Unlock()
		if c.gauge != nil {
			c.gauge.Set(float64(n))
		}
	}
}

// resync writes what Postgres holds for code now. When it holds no link,
// the code is marked absent as of version, the failed write's: the deletion
// or rename that took the code away, or a later one.
func (c *cacheSync) resync(ctx context.Context, code string, version int64) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	l, err := c.store.LinkByCode(ctx, code)
	switch {
	case rebound.ErrorCode(err) == rebound.ENotFound:
		return c.cache.StoreAbsent(ctx, code, version)
	case err != nil:
		return err
	}
	return c.cache.StoreLinks(ctx, l)
}
