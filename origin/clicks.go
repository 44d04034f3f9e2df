package origin

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// clickGroup is the Redis consumer group of the origins that store clicks.
const clickGroup = "rebound-origin"

// consumeClicks moves click batches from the Redis stream to Postgres until
// ctx ends. A batch is acknowledged only after Postgres committed it, and the
// store ignores clicks it already has, so each click is counted exactly once
// even when a batch is delivered twice (a crash between commit and ack).
func (s *Server) consumeClicks(ctx context.Context) {
	host, _ := os.Hostname()
	consumer := host + "-" + strconv.Itoa(os.Getpid()) + "-" + itoa(s.edgeID%100000)
	backoff := func() {
		t := time.NewTimer(500 * time.Millisecond)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	for ctx.Err() == nil {
		if err := s.cache.EnsureClickGroup(ctx, clickGroup); err != nil {
			backoff()
			continue
		}
		for ctx.Err() == nil {
			// The read is not cut short by a stop: batches Redis has handed
			// this consumer would otherwise sit claimed but unread until
			// another consumer takes them over (30 s idle). It blocks 1 s
			// at most, so a stop waits at most that long for it.
			batches, err := s.cache.ReadClicks(context.WithoutCancel(ctx), clickGroup, consumer, 100, time.Second, 30*time.Second)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("read click stream", "err", err)
				}
				backoff()
				continue
			}
			if len(batches) == 0 {
				continue
			}
			// Finish the batches in hand even when asked to stop: they are
			// claimed by this consumer. While Postgres fails, keep retrying
			// them rather than reading more: a batch left pending waits the
			// claim idle time (30 s) before any consumer takes it again.
			for {
				err := s.storeBatches(context.WithoutCancel(ctx), batches)
				if err == nil {
					break
				}
				s.log.Warn("store clicks", "err", err)
				if ctx.Err() != nil {
					break // stopping: the batches stay pending for the next consumer
				}
				backoff()
			}
		}
	}
}

// storeTimeout bounds the storing of one read of the stream (up to 100
// batches of 1,000 clicks): clicks of a million links, each adding its own
// rollup rows, took longer than 10 s on the benchmark machine.
const storeTimeout = 2 * time.Minute

func (s *Server) storeBatches(ctx context.Context, batches []cache.ClickBatch) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	var clicks []rebound.Click
	ids := make([]string, len(batches))
	for i, b := range batches {
		clicks = append(clicks, b.Clicks...)
		ids[i] = b.ID
	}
	n, err := s.store.RecordClicks(ctx, clicks)
	if err != nil {
		return err
	}
	s.metrics.clicksStored.Add(float64(n))
	s.metrics.clickBatches.Add(float64(len(batches)))
	return s.cache.AckClicks(ctx, clickGroup, ids...)
}

// clickLagInterval is how often the click stream's length is sampled.
const clickLagInterval = 5 * time.Second

// watchClickLag keeps the stream-length gauge current until ctx ends.
func (s *Server) watchClickLag(ctx context.Context) {
	t := time.NewTicker(clickLagInterval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		if n, err := s.cache.PendingClicks(cctx); err == nil {
			s.metrics.streamBatches.Set(float64(n))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
