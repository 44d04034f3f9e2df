package edge

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// clickRec is a click as the handler queues it: a fixed-size value, so
// queueing copies and never allocates.
type clickRec struct {
	linkID int64
	at     int64 // Unix nanoseconds
	bot    bool
	refLen uint8
	ref    [rebound.MaxReferrerLen]byte
}

// Bounds of the click pipeline inside one edge.
const (
	clickQueueSize  = 1 << 16 // between handlers and the shipper, per buffer
	clickBatchSize  = 1000    // clicks per stream message or insert
	clickMaxBacklog = 500_000 // held while Redis and Postgres are both down
)

// clickShipper moves queued clicks off the hot path: it numbers them
// (edge id, sequence), batches them, and ships each batch to the Redis
// stream, or straight to Postgres when Redis fails. Batches that neither
// takes stay in a bounded backlog and are retried.
type clickShipper struct {
	queue    clickBuffer
	edgeID   int64
	seq      int64
	cache    *cache.Client
	store    Store
	interval time.Duration
	backlog  []rebound.Click
	// redisDownUntil: Redis failed recently; ship to Postgres until then.
	redisDownUntil time.Time
	referrer       map[string]string // interned referrer hosts: most clicks repeat a few
	m              *metrics
	log            *slog.Logger
	stop           chan context.Context
	done           chan struct{}
}

func newClickShipper(edgeID int64, c *cache.Client, store Store, interval time.Duration, m *metrics, log *slog.Logger) *clickShipper {
	s := &clickShipper{
		queue: newClickBuffer(clickQueueSize), edgeID: edgeID, cache: c, store: store, interval: interval,
		m: m, log: log, stop: make(chan context.Context), done: make(chan struct{}),
		referrer: map[string]string{},
	}
	go s.run()
	return s
}

// add queues a click; it never blocks the request.
func (s *clickShipper) add(rec *clickRec) {
	if s.queue.add(rec) {
		s.m.clicksQueued.Inc()
	} else {
		s.m.clicksDropped.Inc()
	}
}

func (s *clickShipper) run() {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-s.queue.full:
			s.drain()
			s.ship(context.Background())
		case <-tick.C:
			s.drain()
			s.ship(context.Background())
		case ctx := <-s.stop:
			s.drain()
			for len(s.backlog) > 0 && ctx.Err() == nil {
				if !s.ship(ctx) {
					time.Sleep(50 * time.Millisecond)
				}
			}
			if n := len(s.backlog); n > 0 {
				s.m.clicksDropped.Add(float64(n))
				s.log.Error("clicks lost at shutdown: redis and postgres unavailable", "clicks", n)
			}
			return
		}
	}
}

// drain moves every queued click into the backlog.
func (s *clickShipper) drain() {
	recs := s.queue.swap()
	for i := range recs {
		s.take(&recs[i])
	}
	s.queue.release(recs)
}

func (s *clickShipper) take(rec *clickRec) {
	if len(s.backlog) >= clickMaxBacklog {
		s.m.clicksDropped.Inc()
		return
	}
	s.seq++
	s.backlog = append(s.backlog, rebound.Click{
		EdgeID: s.edgeID, Seq: s.seq, LinkID: rec.linkID, At: time.Unix(0, rec.at).UTC(),
		Referrer: s.intern(rec.ref[:rec.refLen]), Bot: rec.bot,
	})
	s.m.clickBacklog.Set(float64(len(s.backlog)))
}

// maxInterned bounds the referrer intern table; it starts over when full.
const maxInterned = 10_000

func (s *clickShipper) intern(b []byte) string {
	if v, ok := s.referrer[string(b)]; ok { // the lookup does not copy b
		return v
	}
	if len(s.referrer) >= maxInterned {
		clear(s.referrer)
	}
	v := string(b)
	s.referrer[v] = v
	return v
}

// Direct shipping to Postgres, used while Redis is down.
const (
	directBatchSize = 10_000      // clicks per statement: Postgres takes big batches best
	redisRetryAfter = time.Second // how long Redis is skipped after it failed
)

// ship sends the backlog in batches and reports whether it emptied it.
// Between batches it moves newly queued clicks into the backlog, so that a
// slow destination (Postgres while Redis is down) fills the bounded backlog
// rather than overflowing the handlers' buffer.
func (s *clickShipper) ship(ctx context.Context) bool {
	sent := 0
	for sent < len(s.backlog) {
		n, ok := s.shipBatch(ctx, s.backlog[sent:])
		if !ok {
			break
		}
		sent += n
		if sent >= clickBatchSize*16 && sent*2 >= len(s.backlog) {
			s.backlog = append(s.backlog[:0], s.backlog[sent:]...)
			sent = 0
		}
		s.drain()
	}
	// Move what is left to the front, keeping the array for the next clicks.
	s.backlog = append(s.backlog[:0], s.backlog[sent:]...)
	s.m.clickBacklog.Set(float64(len(s.backlog)))
	return len(s.backlog) == 0
}

// shipBatch ships the first clicks of pending, to the Redis stream or, while
// Redis fails, straight to Postgres, and returns how many it shipped.
func (s *clickShipper) shipBatch(ctx context.Context, pending []rebound.Click) (int, bool) {
	var redisErr error
	if time.Now().After(s.redisDownUntil) {
		batch := pending[:min(len(pending), clickBatchSize)]
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		redisErr = s.cache.AddClicks(rctx, batch)
		cancel()
		if redisErr == nil {
			s.m.clicksShipped.WithLabelValues("redis").Add(float64(len(batch)))
			return len(batch), true
		}
		s.redisDownUntil = time.Now().Add(redisRetryAfter)
	}
	// RecordClicks ignores clicks already stored, so a batch that reached
	// the stream although AddClicks failed still counts once.
	batch := pending[:min(len(pending), directBatchSize)]
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err := s.store.RecordClicks(pctx, batch)
	cancel()
	if err == nil {
		s.m.clicksShipped.WithLabelValues("postgres").Add(float64(len(batch)))
		return len(batch), true
	}
	s.log.Warn("clicks not shipped yet", "clicks", len(pending), "redis_err", redisErr, "postgres_err", err)
	return 0, false
}

// close drains the queue and ships what is pending, giving up when ctx ends.
func (s *clickShipper) close(ctx context.Context) {
	select {
	case s.stop <- ctx:
		<-s.done
	case <-s.done:
	}
}

// clickBuffer is the queue between request handlers and the shipper: a
// mutex-guarded slice that the shipper swaps for an empty one. A handler
// pays one uncontended lock and a copy; no goroutine is woken per click, as
// a channel would. It signals full once a batch's worth is waiting.
type clickBuffer struct {
	mu    sync.Mutex
	recs  []clickRec // filled by handlers, never grown past its capacity
	spare []clickRec // empty, handed back by the shipper
	full  chan struct{}
}

func newClickBuffer(size int) clickBuffer {
	return clickBuffer{recs: make([]clickRec, 0, size), spare: make([]clickRec, 0, size), full: make(chan struct{}, 1)}
}

// add appends rec unless the buffer is full, and reports whether it did.
func (b *clickBuffer) add(rec *clickRec) bool {
	b.mu.Lock()
	n := len(b.recs)
	if n == cap(b.recs) {
		b.mu.Unlock()
		return false
	}
	b.recs = append(b.recs, *rec)
	b.mu.Unlock()
	if n+1 == clickBatchSize {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
	return true
}

// swap takes the queued clicks, leaving the spare buffer in their place.
// The caller hands the slice back with release before the next swap.
func (b *clickBuffer) swap() []clickRec {
	b.mu.Lock()
	recs := b.recs
	b.recs, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	return recs
}

func (b *clickBuffer) release(recs []clickRec) {
	b.mu.Lock()
	b.spare = recs[:0]
	b.mu.Unlock()
}
