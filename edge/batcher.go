package edge

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/reboundhq/rebound/cache"
)

// redisBatcher turns concurrent single-code lookups into batches: a worker
// takes the requests waiting at that moment and asks Redis for all of them
// in one round trip. A first batch goes out as soon as one lookup waits; a
// second may go out while it is in flight, but only once secondMin lookups
// (secondBatchMin in the edge) wait for it. Small batches in flight side by
// side cost more system calls than the waiting they save (two workers
// taking whatever waits measured slower than one); a second batch of at
// least that many fills the time the cores sat idle waiting for the first,
// without splitting the load into small round trips. When idle a lookup
// goes out alone at once; under load the worker yields once before taking
// a first batch, so that the lookups of connections already runnable join
// it (twice the keys an MGET under the bench's uniform load, 2026-12-03).
//
// A lookup joins the queue under a mutex and waits on its own channel, with
// no select: a select locks every channel it names, and the ones a select
// here would name besides the lookup's own (the workers' wake-up and stop,
// the request's Done) are shared by every request on both cores.
type redisBatcher struct {
	cache     *cache.Client
	maxBatch  int
	secondMin int // lookups a second batch in flight waits for
	timeout   time.Duration
	pool      sync.Pool

	mu       sync.Mutex
	ready    sync.Cond   // on mu: a worker may take the queue, or close was called
	queue    []*redisReq // lookups waiting for the next batch
	inFlight int         // batches sent and not answered yet: 0, 1 or 2
	stopped  bool        // set by close; the workers answer what is queued, then exit

	workers sync.WaitGroup
}

// secondBatchMin is how many lookups must wait before a second batch goes
// out beside one in flight. Measured with make ab (uniform load, 64
// connections, 2026-12-03, a fast Xeon): 16, 24 and 32 all lifted the edge
// from medians of 0.488x to 0.495x of the bare server to 0.524x to 0.529x,
// faster in every round; a second batch with no minimum was slower than one
// alone. On a slower AMD EPYC the same day, 24 against one batch: 0.611x
// against 0.594x, faster in 4 rounds of 6.
const secondBatchMin = 24

var errBatcherStopped = errors.New("redis batcher stopped")

type redisReq struct {
	code string
	res  cache.Lookup
	err  error
	done chan struct{}
}

// newRedisBatcher starts a batcher of at most maxBatch codes a round trip,
// whose second batch in flight waits for secondMin lookups.
func newRedisBatcher(c *cache.Client, maxBatch, secondMin int, timeout time.Duration) *redisBatcher {
	b := &redisBatcher{cache: c, maxBatch: maxBatch, secondMin: secondMin, timeout: timeout}
	b.ready.L = &b.mu
	b.pool.New = func() any { return &redisReq{done: make(chan struct{}, 1)} }
	b.workers.Add(2)
	for range 2 {
		go b.work()
	}
	return b
}

// get looks one code up, waiting for the batch it joins. The workers answer
// every queued lookup, within their timeout per batch, even when closed; so
// the wait needs no way out. ctx ends the lookup only before it is queued.
func (b *redisBatcher) get(ctx context.Context, code string) (cache.Lookup, error) {
	if err := ctx.Err(); err != nil {
		return cache.Lookup{}, err
	}
	r := b.pool.Get().(*redisReq)
	r.code, r.err = code, nil
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		b.pool.Put(r)
		return cache.Lookup{}, errBatcherStopped
	}
	// Wake a worker only when this lookup lets one go (the first while
	// none is in flight, the secondMin-th beside one batch): a wake-up for
	// a queue a worker may already take would only find it taken. A worker
	// whose batch comes back looks at the queue by itself.
	could := b.mayTake()
	b.queue = append(b.queue, r)
	if !could && b.mayTake() {
		b.ready.Signal()
	}
	b.mu.Unlock()
	<-r.done
	res, err := r.res, r.err
	r.code, r.res = "", cache.Lookup{}
	b.pool.Put(r)
	return res, err
}

// close stops taking lookups and waits for the workers to answer the queued
// ones and exit.
func (b *redisBatcher) close() {
	b.mu.Lock()
	b.stopped = true
	b.ready.Broadcast()
	b.mu.Unlock()
	b.workers.Wait()
}

// mayTake reports whether a worker may send the queue now. Called with mu
// held.
func (b *redisBatcher) mayTake() bool {
	n := len(b.queue)
	switch b.inFlight {
	case 0:
		return n > 0
	case 1:
		return n > 0 && (n >= b.secondMin || b.stopped)
	default:
		return false
	}
}

func (b *redisBatcher) work() {
	defer b.workers.Done()
	var batch []*redisReq
	codes := make([]string, 0, b.maxBatch)
	out := make([]cache.Lookup, b.maxBatch)
	yielded := false
	b.mu.Lock()
	for {
		if !b.mayTake() {
			if b.stopped && len(b.queue) == 0 {
				b.mu.Unlock()
				return
			}
			b.ready.Wait()
			continue
		}
		if b.inFlight == 0 && !yielded && !b.stopped {
			// Let the goroutines already runnable run first. A lookup that
			// wakes this worker puts it next in line on its core, ahead of
			// the connections the network poller has just woken, so the
			// first batch would hold the one lookup that woke it and the
			// others would wait a whole round trip for the next. Yielding
			// once lets them queue theirs: one batch instead of several,
			// and no wait when nothing else is runnable.
			yielded = true
			b.mu.Unlock()
			runtime.Gosched()
			b.mu.Lock()
			continue
		}
		yielded = false
		// Swap the queue for this worker's drained batch slice: the buffers
		// (the queue's and each worker's) take turns, so queueing allocates
		// nothing once they have grown.
		batch, b.queue = b.queue, batch[:0]
		b.inFlight++
		b.mu.Unlock()
		for rest := batch; len(rest) > 0; {
			n := min(len(rest), b.maxBatch)
			b.answer(rest[:n], codes, out)
			rest = rest[n:]
		}
		clear(batch) // hold no answered lookup: each goes back to the pool from its get
		b.mu.Lock()
		b.inFlight--
	}
}

// answer looks a batch up in one round trip and hands each waiting lookup
// its result.
func (b *redisBatcher) answer(batch []*redisReq, codes []string, out []cache.Lookup) {
	codes = codes[:0]
	for _, r := range batch {
		codes = append(codes, r.code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	err := b.cache.GetLinks(ctx, codes, out[:len(batch)])
	cancel()
	for i, r := range batch {
		r.res, r.err = out[i], err
		r.done <- struct{}{}
	}
}
