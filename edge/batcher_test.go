package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
)

// slowBatcher returns a batcher whose Redis answers through a proxy that
// delays every chunk by latency, and a direct cache client with the same
// prefix for setup. A second batch goes out beside one in flight once
// secondMin lookups wait.
func slowBatcher(t *testing.T, maxBatch, secondMin int, latency time.Duration) (*redisBatcher, *cache.Client) {
	t.Helper()
	p, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	if err := proxied.Redis().Ping(context.Background()).Err(); err != nil { // connect before the delay starts
		t.Fatal(err)
	}
	p.SetLatency(latency)
	return newRedisBatcher(proxied, maxBatch, secondMin, 5*time.Second), direct
}

// inFlight waits until the worker has taken the one lookup queued, whose
// answer comes on done, and checks that the answer has not come yet: the
// proxy holds the batch for twice its latency.
func inFlight(t *testing.T, b *redisBatcher, done <-chan error) {
	t.Helper()
	time.Sleep(50 * time.Millisecond)
	if n := b.queued(); n != 0 {
		t.Fatalf("%d lookups still queued after 50ms; the worker should have taken the first", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the first lookup was answered (err %v) within 50ms through a slow proxy", err)
	default:
	}
}

func (b *redisBatcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// TestBatcherAnswersWaitingLookupsTogether holds one batch in flight on a
// slow Redis and checks that the lookups arriving meanwhile (fewer than a
// second batch needs) wait in one queue, and that each gets its own answer
// when the queue is taken (in chunks of the batch limit).
func TestBatcherAnswersWaitingLookupsTogether(t *testing.T) {
	b, direct := slowBatcher(t, 16, 64, 150*time.Millisecond)
	defer b.close()
	ctx := context.Background()
	var links []rebound.Link
	for i := range 20 { // codes c0..c19 exist, c20..c39 do not
		links = append(links, rebound.Link{ID: int64(i + 1), ShortCode: fmt.Sprintf("c%d", i),
			OriginalURL: fmt.Sprintf("https://example.com/%d", i), RedirectType: 302, IsActive: true})
	}
	if err := direct.PutLinks(ctx, links); err != nil {
		t.Fatal(err)
	}

	first := make(chan error, 1)
	go func() { _, err := b.get(ctx, "c0"); first <- err }()
	inFlight(t, b, first)

	const waiting = 40
	var wg sync.WaitGroup
	got := make([]cache.Lookup, waiting)
	errs := make([]error, waiting)
	for i := range waiting {
		wg.Go(func() { got[i], errs[i] = b.get(ctx, fmt.Sprintf("c%d", i)) })
	}
	testenv.Eventually(t, 5*time.Second, "every lookup queued behind the batch in flight", func() bool { return b.queued() == waiting })
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	for i := range waiting {
		if errs[i] != nil {
			t.Fatalf("lookup of c%d: %v", i, errs[i])
		}
		switch {
		case i < 20 && (got[i].State != cache.Found || got[i].Entry.URL != links[i].OriginalURL):
			t.Errorf("c%d: got %+v, want %s", i, got[i], links[i].OriginalURL)
		case i >= 20 && got[i].State != cache.Miss:
			t.Errorf("c%d: got state %v, want a miss", i, got[i].State)
		}
	}
}

// TestBatcherCloseAnswersQueuedLookups closes the batcher while lookups wait
// behind a batch in flight: each still gets Redis's answer, and lookups
// after close fail at once.
func TestBatcherCloseAnswersQueuedLookups(t *testing.T) {
	b, direct := slowBatcher(t, 512, secondBatchMin, 150*time.Millisecond)
	ctx := context.Background()
	if err := direct.PutLinks(ctx, []rebound.Link{{ID: 1, ShortCode: "kept", OriginalURL: "https://example.com/kept", RedirectType: 302, IsActive: true}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan cache.Lookup, 6)
	firstDone := make(chan error, 1)
	wg.Go(func() {
		l, err := b.get(ctx, "kept")
		firstDone <- err
		results <- l
	})
	inFlight(t, b, firstDone)
	for range 5 {
		wg.Go(func() {
			l, err := b.get(ctx, "kept")
			if err != nil {
				t.Errorf("queued lookup: %v", err)
			}
			results <- l
		})
	}
	testenv.Eventually(t, 5*time.Second, "five lookups queued", func() bool { return b.queued() == 5 })
	b.close()
	wg.Wait()
	close(results)
	n := 0
	for l := range results {
		n++
		if l.State != cache.Found || l.Entry.URL != "https://example.com/kept" {
			t.Errorf("answer after close: %+v", l)
		}
	}
	if n != 6 {
		t.Fatalf("%d of 6 lookups answered", n)
	}
	if err := <-firstDone; err != nil {
		t.Fatalf("lookup in flight: %v", err)
	}
	start := time.Now()
	if _, err := b.get(ctx, "kept"); !errors.Is(err, errBatcherStopped) {
		t.Fatalf("lookup after close: err %v, want errBatcherStopped", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("lookup after close took %v; it must fail without waiting", d)
	}
}

func TestBatcherCancelledLookupIsNotQueued(t *testing.T) {
	b, _ := slowBatcher(t, 512, secondBatchMin, 0)
	defer b.close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.get(ctx, "any"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := b.queued(); n != 0 {
		t.Fatalf("%d lookups queued", n)
	}
}

// TestBatcherSendsASecondBatchForEnoughLookups holds one batch in flight on a
// slow Redis: lookups short of the second batch's minimum wait for it; the
// one that reaches the minimum sends them all at once, beside the first;
// and while two batches are in flight, the next lookups wait for one of
// them to come back, however many they are.
func TestBatcherSendsASecondBatchForEnoughLookups(t *testing.T) {
	const secondMin = 8
	// Each round trip through the proxy takes 400ms, within the client's
	// 500ms read timeout.
	b, direct := slowBatcher(t, 512, secondMin, 200*time.Millisecond)
	first := make(chan error, 1)
	defer b.close()
	ctx := context.Background()
	if err := direct.PutLinks(ctx, []rebound.Link{{ID: 1, ShortCode: "k", OriginalURL: "https://example.com/k", RedirectType: 302, IsActive: true}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var answered atomic.Int32
	lookup := func() {
		wg.Go(func() {
			if l, err := b.get(ctx, "k"); err != nil || l.State != cache.Found {
				t.Errorf("lookup: %+v, %v", l, err)
			}
			answered.Add(1)
		})
	}
	firstOut := func(when string) {
		t.Helper()
		select {
		case err := <-first:
			t.Fatalf("the first batch came back (err %v) %s", err, when)
		default:
		}
	}
	go func() { _, err := b.get(ctx, "k"); first <- err }()
	inFlight(t, b, first)

	for range secondMin - 1 {
		lookup()
	}
	testenv.Eventually(t, 5*time.Second, "the lookups short of a second batch queued", func() bool { return b.queued() == secondMin-1 })
	time.Sleep(50 * time.Millisecond)
	if n := b.queued(); n != secondMin-1 {
		t.Fatalf("%d lookups queued, want %d: a second batch went out short of its minimum", n, secondMin-1)
	}
	lookup()
	testenv.Eventually(t, 100*time.Millisecond, "the second batch sent", func() bool { return b.queued() == 0 })
	firstOut("before the second batch went out: they were not side by side")

	for range 2 * secondMin {
		lookup()
	}
	testenv.Eventually(t, time.Second, "lookups queued behind two batches", func() bool { return b.queued() == 2*secondMin })
	time.Sleep(50 * time.Millisecond)
	firstOut("too early for this test to tell a third batch from a second")
	if n := b.queued(); n != 2*secondMin || answered.Load() != 0 {
		t.Fatalf("%d lookups queued, %d answered, with two batches in flight: want %d queued, none answered",
			n, answered.Load(), 2*secondMin)
	}
	if err := <-first; err != nil {
		t.Fatalf("first lookup: %v", err)
	}
	wg.Wait()
	if n := answered.Load(); n != 3*secondMin {
		t.Fatalf("%d lookups answered, want %d", n, 3*secondMin)
	}
}
