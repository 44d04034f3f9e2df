package edge

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/targeting"
)

// clickRec is a click as the handler queues it: a fixed-size value, so
// queueing copies and never allocates.
//
// It holds what the request said, as cheaply as the handler can take it;
// the collector derives the click's dimensions from it off the hot path.
type clickRec struct {
	linkID int64
	at     int64 // Unix nanoseconds
	bot    bool
	rule   int8  // the redirect rule that chose the target; -1 none (at most 20 rules)
	agent  uint8 // device, OS and browser, packed as botVerdicts packs them
	refLen uint8
	ref    [rebound.MaxReferrerLen]byte
	// country is what a trusted proxy's country header said; else, with a
	// GeoIP database, addr is the client's address for the collector to
	// look up.
	country  [2]byte
	hasAddr  bool
	addr     [16]byte
	queryLen uint8 // the query, when it names utm_ parameters or qr; cut at len(query)
	query    [192]byte
}

// Bounds of the click pipeline inside one edge.
const (
	clickBatchSize  = 1000    // clicks per stream message or insert
	clickMaxBacklog = 500_000 // held while Redis and Postgres are both down
)

// clickShipper moves queued clicks off the hot path, in two goroutines so
// that taking clicks from the handlers never waits for shipping them:
//
//   - the collector, every interval (or when a batch's worth is queued),
//     numbers the handlers' clicks (edge id, sequence) into a bounded backlog;
//   - the sender ships the backlog from its front in batches, to the Redis
//     stream or, while Redis fails, straight to Postgres, and retries what
//     neither takes.
//
// Only the collector appends to the backlog and only the sender removes from
// its front, so the sender ships a prefix without holding the lock.
type clickShipper struct {
	queue    clickBuffer
	cache    *cache.Client
	store    Store
	interval time.Duration
	m        *metrics
	log      *slog.Logger

	// Collector's own.
	edgeID    int64
	seq       int64
	interned  map[string]string // referrer hosts, countries, campaigns: most clicks repeat a few
	countries targeting.Countries

	mu      sync.Mutex
	backlog []rebound.Click
	ready   chan struct{} // the collector added clicks (capacity 1)

	// Sender's own: Redis failed recently; ship to Postgres until then.
	redisDownUntil time.Time

	stop chan context.Context
	done chan struct{}
}

func newClickShipper(edgeID int64, c *cache.Client, store Store, interval time.Duration, queueSize int,
	countries targeting.Countries, m *metrics, log *slog.Logger) *clickShipper {
	s := &clickShipper{
		queue: newClickBuffer(queueSize), edgeID: edgeID, cache: c, store: store, interval: interval,
		m: m, log: log, stop: make(chan context.Context), done: make(chan struct{}),
		interned: map[string]string{}, countries: countries, ready: make(chan struct{}, 1),
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

// run is the collector; it starts the sender and, when asked to stop,
// collects a last time and ships what is left until the stop's context ends.
func (s *clickShipper) run() {
	defer close(s.done)
	stopSender, senderDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(senderDone); s.send(stopSender) }()
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		select {
		case <-s.queue.full:
			s.collect()
		case <-tick.C:
			s.collect()
		case ctx := <-s.stop:
			s.collect()
			close(stopSender)
			<-senderDone
			for !s.ship(ctx) && ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
			}
			if n := s.backlogLen(); n > 0 {
				s.m.clicksDropped.Add(float64(n))
				s.log.Error("clicks lost at shutdown: redis and postgres unavailable", "clicks", n)
			}
			return
		}
	}
}

// collect moves the handlers' clicks into the backlog and wakes the sender.
func (s *clickShipper) collect() {
	recs := s.queue.swap()
	if len(recs) > 0 {
		s.mu.Lock()
		for i := range recs {
			s.take(&recs[i])
		}
		n := len(s.backlog)
		s.mu.Unlock()
		s.m.clickBacklog.Set(float64(n))
		select {
		case s.ready <- struct{}{}:
		default:
		}
	}
	s.queue.release(recs)
}

// take numbers one click into the backlog, unless the backlog is full; the
// caller holds s.mu.
func (s *clickShipper) take(rec *clickRec) {
	if len(s.backlog) >= clickMaxBacklog {
		s.m.clicksDropped.Inc()
		return
	}
	s.seq++
	a := agentOf(uint64(rec.agent) << deviceShift)
	c := rebound.Click{
		EdgeID: s.edgeID, Seq: s.seq, LinkID: rec.linkID, At: time.Unix(0, rec.at).UTC(),
		Referrer: s.intern(rec.ref[:rec.refLen]), Bot: rec.bot, Rule: int(rec.rule),
		Device: a.Device.String(), OS: a.OS.String(), Browser: a.Browser.String(),
	}
	switch {
	case rec.country[0] != 0:
		c.Country = s.intern(rec.country[:])
	case rec.hasAddr && s.countries != nil:
		if cc := s.countries.Country(netip.AddrFrom16(rec.addr).Unmap()); len(cc) == 2 {
			c.Country = s.intern([]byte(strings.ToUpper(cc)))
		}
	}
	if rec.queryLen > 0 {
		src, med, camp, qr := rebound.ParseCampaign(string(rec.query[:rec.queryLen]))
		c.UTMSource, c.UTMMedium, c.UTMCampaign = s.intern([]byte(src)), s.intern([]byte(med)), s.intern([]byte(camp))
		c.QR = qr
	}
	s.backlog = append(s.backlog, c)
}

func (s *clickShipper) backlogLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.backlog)
}

// send ships the backlog whenever the collector adds to it, and retries
// every interval what could not be shipped, until stop is closed.
func (s *clickShipper) send(stop <-chan struct{}) {
	retry := time.NewTicker(s.interval)
	defer retry.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.ready:
		case <-retry.C:
		}
		s.ship(context.Background())
	}
}

// maxInterned bounds the intern table; it starts over when full.
const maxInterned = 10_000

func (s *clickShipper) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if v, ok := s.interned[string(b)]; ok { // the lookup does not copy b
		return v
	}
	if len(s.interned) >= maxInterned {
		clear(s.interned)
	}
	v := string(b)
	s.interned[v] = v
	return v
}

// Direct shipping to Postgres, used while Redis is down.
const (
	directBatchSize = 10_000      // clicks per statement: Postgres takes big batches best
	redisRetryAfter = time.Second // how long Redis is skipped after it failed
	// directTimeout bounds one direct insert: 10,000 clicks of as many
	// links add about fifteen rollup rows each.
	directTimeout = 30 * time.Second
)

// ship sends the backlog in batches until it is empty or a batch fails,
// and reports whether it emptied it. It runs on the sender (or, at
// shutdown, on the collector once the sender has stopped).
func (s *clickShipper) ship(ctx context.Context) bool {
	for {
		s.mu.Lock()
		pending := s.backlog // the collector only appends past this prefix
		s.mu.Unlock()
		if len(pending) == 0 {
			return true
		}
		n, ok := s.shipBatch(ctx, pending)
		if !ok {
			return false
		}
		s.mu.Lock()
		// The first n are the ones shipped, even if append moved them. Once
		// they are at least as many as the rest, the rest moves to the front
		// (amortised O(1) a click), so the array is reused, not reallocated.
		if left := len(s.backlog) - n; n >= left {
			s.backlog = append(s.backlog[:0], s.backlog[n:]...)
		} else {
			s.backlog = s.backlog[n:]
		}
		left := len(s.backlog)
		s.mu.Unlock()
		s.m.clickBacklog.Set(float64(left))
	}
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
	pctx, cancel := context.WithTimeout(ctx, directTimeout)
	_, err := s.store.RecordClicks(pctx, batch)
	cancel()
	if err == nil {
		s.m.clicksShipped.WithLabelValues("postgres").Add(float64(len(batch)))
		return len(batch), true
	}
	s.log.Warn("clicks not shipped yet", "clicks", len(pending), "redis_err", redisErr, "postgres_err", err)
	return 0, false
}

// close collects and ships what is pending, giving up when ctx ends.
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
// a channel would. It signals full once half its room, or a batch's worth,
// is taken, so the collector empties it well before it overflows.
type clickBuffer struct {
	mu     sync.Mutex
	recs   []clickRec // filled by handlers, never grown past its capacity
	spare  []clickRec // empty, handed back by the shipper
	full   chan struct{}
	fullAt int
}

func newClickBuffer(size int) clickBuffer {
	return clickBuffer{recs: make([]clickRec, 0, size), spare: make([]clickRec, 0, size), full: make(chan struct{}, 1),
		fullAt: max(1, min(clickBatchSize, size/2))}
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
	if n+1 == b.fullAt {
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
