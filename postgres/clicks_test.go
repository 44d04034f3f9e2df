package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// TestConcurrentClickBatchesDoNotDeadlock: several writers (the origins
// draining the stream, an edge writing straight to Postgres while Redis is
// down) record batches that touch the same links and days at once. Every
// batch must be stored at its first attempt and every count must come out
// exact. Before the writes were ordered, this failed on every run with
// "deadlock detected", each victim costing a second of deadlock_timeout.
func TestConcurrentClickBatchesDoNotDeadlock(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	const links, writers, batches, perBatch = 40, 4, 25, 300
	ids := make([]int64, links)
	for i := range ids {
		l, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: fmt.Sprintf("dl%02d", i), OriginalURL: "https://example.com/", IsActive: true, RedirectType: 302})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = l.ID
	}
	day0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	want := make([]int64, links)
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	var mu sync.Mutex
	for w := range writers {
		rnd := rand.New(rand.NewPCG(uint64(w), 7))
		plan := make([][]rebound.Click, batches)
		seq := int64(0)
		for b := range plan {
			for range perBatch {
				i := rnd.IntN(links)
				seq++
				plan[b] = append(plan[b], rebound.Click{EdgeID: int64(w + 1), Seq: seq, LinkID: ids[i],
					At: day0.Add(time.Duration(rnd.IntN(5)) * 24 * time.Hour), Referrer: "example.org"})
				mu.Lock()
				want[i]++
				mu.Unlock()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, batch := range plan {
				if _, err := db.RecordClicks(ctx, batch); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("record clicks: %v", err)
	}
	for i, id := range ids {
		got, err := db.ClickCount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want[i] {
			t.Errorf("link %d: %d clicks counted, %d recorded", id, got, want[i])
		}
	}
}
