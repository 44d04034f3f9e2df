package edge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/reboundhq/rebound/cache"
)

// redisBatcher turns concurrent single-code lookups into batches: one worker
// takes the requests waiting at that moment and asks Redis for all of them
// in one round trip, so one batch is in flight at a time (measured faster
// than two to eight in flight: more batches cost more syscalls than the
// waiting they save). Under load this cuts round trips by the batch size;
// when idle a lookup goes out alone at once.
//
// A lookup joins the queue under a mutex and waits on its own channel, with
// no select: a select locks every channel it names, and the ones a select
// here would name besides the lookup's own (the worker's queue and stop,
// the request's Done) are shared by every request on both cores.
type redisBatcher struct {
	cache    *cache.Client
	maxBatch int
	timeout  time.Duration
	pool     sync.Pool

	mu      sync.Mutex
	queue   []*redisReq // lookups waiting for the next batch
	stopped bool        // set by close; the worker answers what is queued, then exits

	wake chan struct{} // one token: the queue became non-empty, or close was called
	done chan struct{} // closed when the worker has exited
}

var errBatcherStopped = errors.New("redis batcher stopped")

type redisReq struct {
	code string
	res  cache.Lookup
	err  error
	done chan struct{}
}

func newRedisBatcher(c *cache.Client, maxBatch int, timeout time.Duration) *redisBatcher {
	b := &redisBatcher{cache: c, maxBatch: maxBatch, timeout: timeout,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.pool.New = func() any { return &redisReq{done: make(chan struct{}, 1)} }
	go b.work()
	return b
}

// get looks one code up, waiting for the batch it joins. The worker answers
// every queued lookup, within its timeout per batch, even when closed; so
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
	b.queue = append(b.queue, r)
	first := len(b.queue) == 1
	b.mu.Unlock()
	if first {
		b.signal()
	}
	<-r.done
	res, err := r.res, r.err
	r.code, r.res = "", cache.Lookup{}
	b.pool.Put(r)
	return res, err
}

// signal wakes the worker unless a wake-up is already pending.
func (b *redisBatcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// close stops taking lookups and waits for the worker to answer the queued
// ones and exit.
func (b *redisBatcher) close() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.signal()
	<-b.done
}

func (b *redisBatcher) work() {
	defer close(b.done)
	var batch []*redisReq
	codes := make([]string, 0, b.maxBatch)
	out := make([]cache.Lookup, b.maxBatch)
	for {
		b.mu.Lock()
		// Swap the queue for the drained batch slice: the two buffers take
		// turns, so queueing allocates nothing once they have grown.
		batch, b.queue = b.queue, batch[:0]
		stopped := b.stopped
		b.mu.Unlock()
		if len(batch) == 0 {
			if stopped {
				return
			}
			<-b.wake
			continue
		}
		for rest := batch; len(rest) > 0; {
			n := min(len(rest), b.maxBatch)
			b.answer(rest[:n], codes, out)
			rest = rest[n:]
		}
		clear(batch) // hold no answered lookup: each goes back to the pool from its get
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
