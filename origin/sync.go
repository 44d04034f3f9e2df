package origin

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// cacheSync keeps Redis and the edges coherent with Postgres. Each write is
// pushed synchronously, before the API answers; when Redis refuses it, the
// code is remembered and re-synced from Postgres until Redis takes it, so a
// Redis outage cannot leave a stale entry behind. Every write carries the
// link's version, and Redis keeps the newest it was given (cache.StoreLinks),
// so racing writes, and a re-sync racing a write, end in the last commit.
//
// Updates and deletes, the writes that can leave a stale entry, are also
// queued on the cache outbox in Postgres, in their own transaction, and
// taken off once Redis has them (in one statement a retry tick, off the
// request's path). Whatever an origin still owed when it stopped or died is
// re-synced from there by any origin, so the promise outlives the process
// that made it.
//
// Every Redis write goes through a circuit breaker: once breakerTrip writes
// in a row have failed, writes are owed at once for breakerOpenFor instead
// of each waiting out its deadline. A Redis that stops answering cost every
// 5,000-row import batch about 2 s and every API write 1 s.
type cacheSync struct {
	store interface {
		LinksByKeys(ctx context.Context, codes []string) (map[string]rebound.Link, error)
		CacheWritten(ctx context.Context, written map[string]int64) error
		OwedCacheWrites(ctx context.Context, age time.Duration, limit int) (map[string]int64, error)
	}
	cache   *cache.Client
	breaker *gobreaker.CircuitBreaker[struct{}]
	log     *slog.Logger
	mu      sync.Mutex
	pending map[string]owedWrite // code → the newest write Redis lacks
	written map[string]int64     // code → the newest version Redis took, still on the outbox
	gauge   interface{ Set(float64) }
}

func newCacheSync(store Store, c *cache.Client, log *slog.Logger) *cacheSync {
	return &cacheSync{
		store: store, cache: c, log: log, pending: map[string]owedWrite{}, written: map[string]int64{},
		breaker: gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        "redis",
			MaxRequests: 1,
			Timeout:     breakerOpenFor,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= breakerTrip },
			// A write cut short because its request ended (a client that
			// hung up during an import or a slow-path redirect) says
			// nothing of Redis: five such in a row would open the breaker
			// on a healthy Redis.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
			// Logged when it opens and when it closes, not at each probe
			// in between, once a second while Redis stays down.
			OnStateChange: func(_ string, from, to gobreaker.State) {
				switch {
				case from == gobreaker.StateClosed:
					log.Warn("redis writes keep failing; owing them without trying, probing once a second")
				case to == gobreaker.StateClosed:
					log.Info("redis writes go through again")
				}
			},
		}),
	}
}

// toRedis runs one Redis write through the breaker.
func (c *cacheSync) toRedis(write func() error) error {
	_, err := c.breaker.Execute(func() (struct{}, error) { return struct{}{}, write() })
	return err
}

// owedWrite is a write Redis lacks: the version of the newest change of a
// code, and whether the outbox holds the code too.
type owedWrite struct {
	version int64
	outbox  bool
}

// owe records that Redis lacks the write w of code. Called with mu held.
func (c *cacheSync) owe(code string, w owedWrite) {
	old := c.pending[code]
	c.pending[code] = owedWrite{version: max(old.version, w.version), outbox: old.outbox || w.outbox}
}

const (
	// syncTimeout bounds the synchronous cache update of one API write.
	syncTimeout = time.Second
	// retryInterval is how often failed writes are retried, and written
	// codes taken off the outbox.
	retryInterval = 500 * time.Millisecond
	// orphanAge is how long an outbox entry waits before any origin re-syncs
	// it: longer than its writer's attempt (syncTimeout) and the tick that
	// takes a written entry off, so only entries whose writer failed or died
	// are taken.
	orphanAge = 2 * syncTimeout
	// owedPerFlush bounds the outbox entries one flush takes.
	owedPerFlush = 1000
	// breakerTrip is how many Redis writes in a row fail before the
	// breaker opens; breakerOpenFor, how long it stays open before one
	// write (or re-sync) tries Redis again. As the edge's Redis breaker.
	breakerTrip    = 5
	breakerOpenFor = time.Second
	// resyncBatch bounds the codes one re-sync reads from Postgres in one
	// query and writes to Redis in one round trip.
	resyncBatch = 500
)

// stored writes a created link through and invalidates it on every edge.
// A create queues nothing on the outbox: Redis can hold nothing stale for a
// new code but its absence, which expires within the negative-cache TTL.
func (c *cacheSync) stored(ctx context.Context, l rebound.Link) {
	c.write(ctx, createdWrites([]rebound.Link{l}), func(ctx context.Context) error { return c.cache.StoreLinks(ctx, l) })
}

// changed writes an updated link through and invalidates it on every edge.
// When the update renamed it, the same round trip marks the old code
// absent as of the update. The next tick takes the codes off the outbox.
func (c *cacheSync) changed(ctx context.Context, before, after rebound.Link) {
	owed := owedWrite{version: after.Version, outbox: true}
	writes := []pendingWrite{{code: after.Key(), owedWrite: owed}}
	var gone map[string]int64
	if before.Key() != after.Key() {
		gone = map[string]int64{before.Key(): after.Version}
		writes = append(writes, pendingWrite{code: before.Key(), owedWrite: owed})
	}
	c.write(ctx, writes, func(ctx context.Context) error { return c.cache.Store(ctx, []rebound.Link{after}, gone) })
}

// importStore returns the callback that writes one import's batches of
// links through and invalidates them. Once Redis refuses a batch, the
// batches after it are owed without trying: each try against a Redis that
// stopped answering cost about 2 s a 5,000-row batch, and once Redis is
// back the retry loop writes owed codes 500 a round trip.
func (c *cacheSync) importStore() func(context.Context, []rebound.Link) error {
	var refused error
	// The rows are in Postgres whatever happens here: the retry loop owns
	// what Redis refused.
	return func(ctx context.Context, links []rebound.Link) error {
		if refused != nil {
			c.oweAll(createdWrites(links))
			return nil
		}
		if refused = c.toRedis(func() error { return c.cache.StoreLinks(ctx, links...) }); refused != nil {
			c.retry(refused, createdWrites(links)...)
		}
		return nil
	}
}

// createdWrites are the writes Redis lacks for created links.
func createdWrites(links []rebound.Link) []pendingWrite {
	writes := make([]pendingWrite, len(links))
	for i, l := range links {
		writes[i] = pendingWrite{code: l.Key(), owedWrite: owedWrite{version: l.Version}}
	}
	return writes
}

// removed marks a deleted link's code absent as of the deletion and
// invalidates it; the next tick takes it off the outbox.
func (c *cacheSync) removed(ctx context.Context, code string, version int64) {
	writes := []pendingWrite{{code: code, owedWrite: owedWrite{version: version, outbox: true}}}
	c.write(ctx, writes, func(ctx context.Context) error { return c.cache.StoreAbsent(ctx, code, version) })
}

// write runs one cache write of writes' codes, remembering them for a
// re-sync when it fails, and, when it succeeds, those on the outbox for
// the next tick to take off. Taking it off here cost each
// update and delete a Postgres round trip and commit of its own: half a
// millisecond on the benchmark machine (see docs/decisions.md).
func (c *cacheSync) write(ctx context.Context, writes []pendingWrite, write func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if err := c.toRedis(func() error { return write(ctx) }); err != nil {
		c.retry(err, writes...)
		return
	}
	c.mu.Lock()
	for _, w := range writes {
		c.wrote(w)
	}
	c.mu.Unlock()
}

// wrote records that Redis took w, so that the next tick takes w's code off
// the outbox when the outbox holds it. Called with mu held.
func (c *cacheSync) wrote(w pendingWrite) {
	if w.outbox {
		c.written[w.code] = max(c.written[w.code], w.version)
	}
}

// retry records writes Redis refused with err, and logs it once: an
// import's batch is thousands of codes.
func (c *cacheSync) retry(err error, writes ...pendingWrite) {
	c.oweAll(writes)
	if len(writes) == 1 {
		c.log.Warn("cache write failed; will retry", "code", writes[0].code, "err", err)
		return
	}
	c.log.Warn("cache write failed; will retry", "codes", len(writes), "err", err)
}

// run retries pending codes every retryInterval until ctx ends, then takes
// what was written off the outbox a last time.
func (c *cacheSync) run(ctx context.Context) {
	t := time.NewTicker(retryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
			c.dequeueWritten(stopCtx)
			cancel()
			return
		case <-t.C:
			c.flush(ctx)
		}
	}
}

// dequeueWritten takes the codes Redis took off the outbox, in one
// statement. When that fails they are kept for the next tick; an entry left
// past orphanAge is only re-synced, writing what Redis already holds.
func (c *cacheSync) dequeueWritten(ctx context.Context) {
	c.mu.Lock()
	written := c.written
	c.written = map[string]int64{}
	c.mu.Unlock()
	if len(written) == 0 {
		return
	}
	if err := c.store.CacheWritten(ctx, written); err != nil {
		// Debug, as the outbox read: only Postgres being down fails it, and
		// that is reported elsewhere, not twice a second here.
		c.log.Debug("taking written codes off the cache outbox failed; will retry", "codes", len(written), "err", err)
		c.mu.Lock()
		for code, version := range written {
			c.written[code] = max(c.written[code], version)
		}
		c.mu.Unlock()
	}
}

// flush re-syncs every pending code from Postgres, with those the outbox
// holds past orphanAge, keeping those that fail.
func (c *cacheSync) flush(ctx context.Context) {
	// Written entries go first, or those older than orphanAge would be
	// re-synced below; the entries re-synced below go at the end.
	c.dequeueWritten(ctx)
	defer c.dequeueWritten(ctx)
	// When Postgres cannot be read, neither can a re-sync: the codes this
	// origin holds are tried all the same, and fail on the first batch.
	owed, err := c.store.OwedCacheWrites(ctx, orphanAge, owedPerFlush)
	if err != nil {
		c.log.Debug("reading the cache outbox failed", "err", err)
	}
	c.mu.Lock()
	for code, version := range owed {
		c.owe(code, owedWrite{version: version, outbox: true})
	}
	c.mu.Unlock()
	c.setGauge()
	if c.breaker.State() == gobreaker.StateOpen {
		return // no Postgres reads for writes the breaker would refuse
	}
	c.mu.Lock()
	batches := resyncBatches(c.pending)
	c.mu.Unlock()
	for _, batch := range batches {
		if err := c.resync(ctx, batch); err != nil {
			return // Redis or Postgres still down: try again next tick
		}
		c.mu.Lock()
		for _, p := range batch {
			// A write that failed meanwhile raised the version: it stays
			// pending, since this re-sync may have read Postgres before it.
			if c.pending[p.code] == p.owedWrite {
				delete(c.pending, p.code)
			}
			c.wrote(p)
		}
		c.mu.Unlock()
		c.setGauge()
	}
}

// pendingWrite is a code and the write Redis lacks for it.
type pendingWrite struct {
	code string
	owedWrite
}

// resyncBatches splits pending into batches of at most resyncBatch codes,
// the outbox's first. Those are updates and deletes, which leave Redis
// serving a stale link until they are written; a create Redis lacks costs
// the edges a read-through of Postgres, or a 404 until a remembered absence
// expires. After a bulk import while Redis was down, a deletion queued
// behind a million created codes would otherwise wait for most of them.
func resyncBatches(pending map[string]owedWrite) [][]pendingWrite {
	all := make([]pendingWrite, 0, len(pending))
	for _, outbox := range []bool{true, false} {
		for code, w := range pending {
			if w.outbox == outbox {
				all = append(all, pendingWrite{code: code, owedWrite: w})
			}
		}
	}
	return slices.Collect(slices.Chunk(all, resyncBatch))
}

// oweAll records that Redis lacks writes, for the retry loop.
func (c *cacheSync) oweAll(writes []pendingWrite) {
	c.mu.Lock()
	for _, w := range writes {
		c.owe(w.code, w.owedWrite)
	}
	c.mu.Unlock()
	c.setGauge()
}

func (c *cacheSync) setGauge() {
	if c.gauge == nil {
		return
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	c.gauge.Set(float64(n))
}

// resync writes what Postgres holds now for a batch of codes, in one query
// and one Redis round trip. A code that names no link is marked absent as
// of its failed write's version: the deletion or rename that took the code
// away, or a later one.
func (c *cacheSync) resync(ctx context.Context, batch []pendingWrite) error {
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	codes := make([]string, len(batch))
	for i, p := range batch {
		codes[i] = p.code
	}
	found, err := c.store.LinksByKeys(ctx, codes)
	if err != nil {
		return err
	}
	gone := map[string]int64{}
	for _, p := range batch {
		if _, ok := found[p.code]; !ok {
			gone[p.code] = p.version
		}
	}
	return c.toRedis(func() error { return c.cache.Store(ctx, slices.Collect(maps.Values(found)), gone) })
}
