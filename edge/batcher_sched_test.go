//go:build !race

// The race detector randomizes which runnable goroutine runs next, the
// order this test is about; make test runs it in its pass without -race.

package edge

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound/internal/testenv"
)

// mgetSizes records the number of keys of every MGET a Redis client sends.
type mgetSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (h *mgetSizes) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *mgetSizes) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *mgetSizes) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "mget" {
			h.mu.Lock()
			h.sizes = append(h.sizes, len(cmd.Args())-1)
			h.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (h *mgetSizes) first() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sizes) == 0 {
		return 0
	}
	return h.sizes[0]
}

// TestBatcherFirstBatchTakesTheRunnableLookups: lookups whose goroutines
// are runnable together, as connections the network poller woke at once
// are, go out in the first batch, not behind a batch of the one lookup that
// woke the worker. On one core the order is the scheduler's: without the
// worker's yield its first batch held one lookup in every trial. With it,
// Go's scheduler may still run the worker early when it looks at its global
// queue (every 61st scheduling), so the test asks for one full first batch
// in ten trials.
func TestBatcherFirstBatchTakesTheRunnableLookups(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := testenv.NewCache(t)
	const lookups = 16
	var firsts []int
	for range 10 {
		hook := &mgetSizes{}
		c.Redis().AddHook(hook) // hooks stack: each trial reads only its own
		b := newRedisBatcher(c, 512, 1000, 5*time.Second)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range lookups {
			wg.Go(func() {
				<-start
				if _, err := b.get(context.Background(), fmt.Sprintf("c%d", i)); err != nil {
					t.Errorf("lookup: %v", err)
				}
			})
		}
		time.Sleep(10 * time.Millisecond) // every lookup's goroutine waits on start
		close(start)
		wg.Wait()
		b.close()
		firsts = append(firsts, hook.first())
		if hook.first() == lookups {
			return
		}
	}
	t.Fatalf("first batch sizes of ten trials: %v; want one of %d", firsts, lookups)
}
