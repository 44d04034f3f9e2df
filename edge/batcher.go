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
type redisBatcher struct {
	cache    *cache.Client
	reqs     chan *redisReq
	maxBatch int
	timeout  time.Duration
	pool     sync.Pool
	stop     chan struct{}
	wg       sync.WaitGroup
}

var errBatcherStopped = errors.New("redis batcher stopped")

type redisReq struct {
	code string
	res  cache.Lookup
	err  error
	done chan struct{}
}

func newRedisBatcher(c *cache.Client, maxBatch int, timeout time.Duration) *redisBatcher {
	b := &redisBatcher{cache: c, reqs: make(chan *redisReq, maxBatch), maxBatch: maxBatch, timeout: timeout,
		stop: make(chan struct{})}
	b.pool.New = func() any { return &redisReq{done: make(chan struct{}, 1)} }
	b.wg.Add(1)
	go b.work()
	return b
}

// get looks one code up, waiting for the batch it joins.
func (b *redisBatcher) get(ctx context.Context, code string) (cache.Lookup, error) {
	r := b.pool.Get().(*redisReq)
	r.code, r.err = code, nil
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		b.pool.Put(r)
		return cache.Lookup{}, ctx.Err()
	case <-b.stop:
		return cache.Lookup{}, errBatcherStopped
	}
	select {
	case <-r.done: // the running worker answers within its timeout
	case <-b.stop:
		// r may still be answered by the worker finishing its batch, so it
		// is not returned to the pool.
		return cache.Lookup{}, errBatcherStopped
	}
	res, err := r.res, r.err
	r.code, r.res = "", cache.Lookup{}
	b.pool.Put(r)
	return res, err
}

// close stops the worker once its current batch is answered.
func (b *redisBatcher) close() {
	close(b.stop)
	b.wg.Wait()
}

func (b *redisBatcher) work() {
	defer b.wg.Done()
	batch := make([]*redisReq, 0, b.maxBatch)
	codes := make([]string, 0, b.maxBatch)
	out := make([]cache.Lookup, b.maxBatch)
	for {
		var first *redisReq
		select {
		case first = <-b.reqs:
		case <-b.stop:
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < b.maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
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
}
