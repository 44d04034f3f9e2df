package origin_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestRacingWritesLeaveTheLastCommitInRedis: the origin copies a write to
// Redis after its commit, so two writes of one link can reach Redis in the
// other order; with a proxy that delays every chunk to Redis by a random
// time they often do. Whatever the order, Redis must end up with what
// Postgres holds: the last of racing updates, and no entry after a delete
// that raced an update (an entry left there would redirect a deleted link
// for the whole link TTL). Before writes carried versions this failed in
// 6 runs of 6.
func TestRacingWritesLeaveTheLastCommitInRedis(t *testing.T) {
	db, _ := testenv.NewDB(t)
	proxy, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	proxy.SetJitter(4 * time.Millisecond)
	e := serveEnv(t, db, proxied)
	ctx := context.Background()

	inRedis := func(code string) cache.Lookup {
		t.Helper()
		out := make([]cache.Lookup, 1)
		if err := direct.GetLinks(ctx, []string{code}, out); err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	const rounds, writers = 25, 6
	for round := range rounds {
		code := fmt.Sprintf("race%02d", round)
		id := e.createLink(map[string]any{"original_url": "https://example.com/start", "short_code": code}).num("id")
		path := "/urls/" + itoa(id)

		statuses := concurrently(t, e, writers, func(i int) (string, string, any) {
			return "PATCH", path, map[string]any{"original_url": fmt.Sprintf("https://example.com/%d", i)}
		})
		for _, s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("round %d: concurrent PATCH answered %d", round, s)
			}
		}
		l, err := db.LinkByKey(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if got := inRedis(code); got.State != cache.Found || got.Entry.URL != l.OriginalURL {
			t.Fatalf("round %d: after %d racing updates Postgres holds %s, Redis %+v", round, writers, l.OriginalURL, got)
		}

		statuses = concurrently(t, e, 2, func(i int) (string, string, any) {
			if i == 0 {
				return "DELETE", path, nil
			}
			return "PATCH", path, map[string]any{"title": "racing the delete"}
		})
		if statuses[0] != http.StatusNoContent {
			t.Fatalf("round %d: DELETE answered %d", round, statuses[0])
		}
		if _, err := db.LinkByKey(ctx, code); rebound.ErrorCode(err) != rebound.ENotFound {
			t.Fatalf("round %d: link still in Postgres after its delete: %v", round, err)
		}
		if got := inRedis(code); got.State == cache.Found {
			t.Fatalf("round %d: the deleted link is back in Redis (the PATCH racing it answered %d): %+v", round, statuses[1], got)
		}
	}
}

// concurrently sends n requests at once, request(i) giving the i-th one's
// method, path and JSON body, and returns their statuses.
func concurrently(t *testing.T, e *env, n int, request func(i int) (method, path string, body any)) []int {
	t.Helper()
	statuses := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		method, path, body := request(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := e.send(method, path, body)
			statuses[i], errs[i] = r.status, err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return statuses
}
