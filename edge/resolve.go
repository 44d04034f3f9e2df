package edge

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// errUnavailable means neither the in-process tier, Redis nor Postgres could
// say what a code is. The handler answers 503 with Retry-After.
var errUnavailable = errors.New("link lookup unavailable")

// Store is the part of the Postgres store the edge uses.
type Store interface {
	// LinkByKey reads a link by its key (rebound.LinkKey).
	LinkByKey(ctx context.Context, key string) (rebound.Link, error)
	Domains(ctx context.Context) ([]rebound.Domain, error)
	RecordClicks(ctx context.Context, clicks []rebound.Click) (int64, error)
	ClickCount(ctx context.Context, id int64) (int64, error)
	Ping(ctx context.Context) error
}

// Timeouts of the lookup tiers: a dead dependency costs a request at most
// these, and once a breaker opens, nothing.
const (
	redisTimeout   = 250 * time.Millisecond
	dbTimeout      = time.Second
	dbQueueTimeout = 100 * time.Millisecond
	// lostFreshness is how long an in-process entry is trusted while the
	// invalidation subscription is down; older ones are re-read, and served
	// stale only when the re-read fails.
	lostFreshness = time.Second
)

// resolver finds the entry of a code through the tiers: in-process, Redis
// (batched), then Postgres through a breaker, a concurrency limit and
// singleflight. It also receives invalidation messages.
type resolver struct {
	local        *localTier
	redis        *redisBatcher
	cache        *cache.Client
	store        Store
	redisBreaker *gobreaker.CircuitBreaker[struct{}]
	dbBreaker    *gobreaker.CircuitBreaker[*entry]
	dbSlots      chan struct{}
	flight       singleflight.Group
	epoch        atomic.Uint64 // bumped by every invalidation
	subscribed   atomic.Bool
	// permanentCacheControl is the Cache-Control of every 301 and 308.
	permanentCacheControl []byte
	// onDomains is called when the domains changed.
	onDomains func()
	m         *metrics
}

func breakerSettings(name string, m *metrics, openFor time.Duration) gobreaker.Settings {
	return gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     openFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			m.breakerChanged(name, to)
		},
	}
}

// resolve returns the entry of code, which may be an absent entry.
func (r *resolver) resolve(ctx context.Context, code []byte, now time.Time) (*entry, error) {
	var stale *entry
	nowNano := now.UnixNano()
	if e, ok := r.local.get(code, nowNano); ok {
		if r.subscribed.Load() || nowNano-e.loadedAt < int64(lostFreshness) {
			r.m.localHit.Inc()
			return e, nil
		}
		stale = e
	}
	r.m.localMiss.Inc()
	e, err := r.fetch(ctx, string(code), now)
	if err != nil && stale != nil {
		r.m.staleServed.Inc()
		return stale, nil
	}
	return e, err
}

// fetch reads a code from Redis, then Postgres, and keeps the answer in the
// in-process tier unless an invalidation arrived meanwhile.
func (r *resolver) fetch(ctx context.Context, code string, now time.Time) (*entry, error) {
	epoch := r.epoch.Load()
	var lk cache.Lookup
	err := r.redisCall(func() (err error) {
		lk, err = r.redis.get(ctx, code)
		return err
	})
	redisFailed := err != nil
	switch {
	case redisFailed:
		r.m.redisError.Inc()
	case lk.State == cache.Found:
		r.m.redisHit.Inc()
		e := newEntry(lk.Entry, r.permanentCacheControl, now)
		r.offer(code, e, epoch)
		return e, nil
	case lk.State == cache.Absent:
		r.m.redisAbsent.Inc()
		e := absentEntry(now)
		r.keep(code, e, epoch)
		return e, nil
	default:
		r.m.redisMiss.Inc()
	}
	v, err, _ := r.flight.Do(code, func() (any, error) { return r.fromDB(code, now, epoch, !redisFailed) })
	if err != nil {
		return nil, err
	}
	return v.(*entry), nil
}

// keep puts e in the in-process tier unless an invalidation arrived since
// epoch.
func (r *resolver) keep(code string, e *entry, epoch uint64) {
	if r.epoch.Load() == epoch {
		r.local.put(code, e)
	}
}

// offer is keep for a link found in Redis, which the tier takes only when
// its code was offered lately already (localTier.offer).
func (r *resolver) offer(code string, e *entry, epoch uint64) {
	if r.epoch.Load() == epoch && !r.local.offer(code, e) {
		r.m.localSkipped.Inc()
	}
}

// fromDB reads one code from Postgres, keeps the answer in process and,
// when fill is set, fills Redis with it. It runs once per code however many
// requests wait for it. The caller leaves fill unset when its Redis lookup
// just failed: a second call would most likely fail too, and on a Redis
// that stopped answering cost the request a second deadline.
//
// A request whose Redis lookup missed just before another request's query
// filled Redis would start a second flight once the first is over; so the
// flight first reuses an entry loaded after this request began, and keeps
// its own answer in process before it completes.
func (r *resolver) fromDB(code string, now time.Time, epoch uint64, fill bool) (*entry, error) {
	if e, ok := r.local.get([]byte(code), now.UnixNano()); ok && e.loadedAt >= now.UnixNano() {
		return e, nil
	}
	timer := time.NewTimer(dbQueueTimeout)
	select {
	case r.dbSlots <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		r.m.dbRejected.Inc()
		return nil, fmt.Errorf("%w: postgres lookups saturated", errUnavailable)
	}
	defer func() { <-r.dbSlots }()
	e, err := r.dbBreaker.Execute(func() (*entry, error) {
		ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
		defer cancel()
		l, err := r.store.LinkByKey(ctx, code)
		loaded := time.Now() // the state read is at least this fresh
		if rebound.ErrorCode(err) == rebound.ENotFound {
			return absentEntry(loaded), nil
		}
		if err != nil {
			return nil, err
		}
		if l.MaxClicks != nil {
			r.seedClickCount(ctx, l.ID)
		}
		return newEntry(cache.EntryOf(l), r.permanentCacheControl, loaded), nil
	})
	if err != nil {
		r.m.dbError.Inc()
		return nil, fmt.Errorf("%w: %w", errUnavailable, err)
	}
	if e.absent {
		r.m.dbAbsent.Inc()
	} else {
		r.m.dbFound.Inc()
	}
	r.keep(code, e, epoch)
	if fill {
		r.fillRedis(code, e)
	}
	return e, nil
}

// fillRedis stores a Postgres answer in Redis for the other edges, without
// overwriting a newer entry the origin may have written meanwhile.
func (r *resolver) fillRedis(code string, e *entry) {
	if r.redisBreaker.State() == gobreaker.StateOpen {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	if e.absent {
		_ = r.cache.FillAbsent(ctx, code)
		return
	}
	_ = r.cache.FillLink(ctx, code, cache.Entry{
		Version: e.version, ID: e.id, RedirectType: e.status, ForwardQuery: e.forwardQuery, Active: e.active,
		ExpiresAt: e.expiresAt, MaxClicks: e.maxClicks, URL: string(e.location), Rules: e.rulesJSON,
		Password: string(e.password),
	})
}

// seedClickCount starts a limited link's Redis counter from the clicks
// Postgres holds, unless the counter exists; so a Redis that lost its data
// does not hand a used-up link a fresh allowance.
func (r *resolver) seedClickCount(ctx context.Context, id int64) {
	n, err := r.store.ClickCount(ctx, id)
	if err != nil {
		return
	}
	_ = r.redisCall(func() error {
		ctx, cancel := context.WithTimeout(ctx, redisTimeout)
		defer cancel()
		return r.cache.SeedClickCount(ctx, id, n)
	})
}

// countClick counts a click of a link with a click limit in Redis and
// reports whether the click is within the limit.
func (r *resolver) countClick(e *entry) (bool, error) {
	var n int64
	err := r.redisCall(func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
		defer cancel()
		n, err = r.cache.CountClick(ctx, e.id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%w: click limit: %w", errUnavailable, err)
	}
	return n <= e.maxClicks, nil
}

// redisCall runs fn through the Redis breaker: while Redis keeps failing,
// calls fail at once instead of each waiting for a timeout.
func (r *resolver) redisCall(fn func() error) error {
	_, err := r.redisBreaker.Execute(func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// Invalidate drops one key (cache.Invalidator).
func (r *resolver) Invalidate(code string) {
	r.epoch.Add(1)
	r.local.remove(code)
	r.m.invalidations.Inc()
}

// InvalidateAll drops every entry, and has the domains read again
// (cache.Invalidator).
func (r *resolver) InvalidateAll() {
	if r.onDomains != nil {
		r.onDomains()
	}
	r.epoch.Add(1)
	r.local.purge()
	r.m.invalidations.Inc()
}

// DomainsChanged has the domains read again (cache.Invalidator).
func (r *resolver) DomainsChanged() {
	if r.onDomains != nil {
		r.onDomains()
	}
}

// SubscriptionChanged records whether invalidations arrive (cache.Invalidator).
func (r *resolver) SubscriptionChanged(live bool) {
	r.subscribed.Store(live)
	if live {
		r.m.subscribed.Set(1)
	} else {
		r.m.subscribed.Set(0)
	}
}
