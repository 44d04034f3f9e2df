package edge

import (
	"context"
	"sync"
	"time"

	"github.com/reboundhq/rebound/cache"
)

// redisBatcher turns concurrent single-code lookups into pipelined batches:
// each worker takes the requests waiting at that moment and asks Redis for
// all of them in one round trip. Under load this cuts round trips by the
// batch size; when idle a lookup goes out alone at once.
type redisBatcher struct {
	cache    *cache.Client
	reqs     chan *redisReq
	maxBatch int
	timeout  time.Duration
	pool     sync.Pool
	wg       sync.WaitGroup
}

type redisReq struct {
	code string
	res  cache.Lookup
	err  error
	done chan struct{}
}

func newRedisBatcher(c *cache.Client, workers, maxBatch int, timeout time.Duration) *redisBatcher {
	b := &redisBatcher{cache: c, reqs: make(chan *redisReq, workers*maxBatch), maxBatch: maxBatch, timeout: timeout}
	b.pool.New = func() any { return &redisReq{done: make(chan struct{}, 1)} }
	b.wg.Add(workers)
	for range workers {
		go b.work()
	}
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
	}
	<-r.done // a worker always answers, within its timeout
	res, err := r.res, r.err
	r.code, r.res = "", cache.Lookup{}
	b.pool.Put(r)
	return res, err
}

func (b *redisBatcher) close() {
	close(b.reqs)
	b.wg.Wait()
}

func (b *redisBatcher) work() {
	defer b.wg.Done()
	batch := make([]*redisReq, 0, b.maxBatch)
	codes := make([]string, 0, b.maxBatch)
	out := make([]cache.Lookup, b.maxBatch)
	for first := range b.reqs {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < b.maxBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break fill
				}
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
