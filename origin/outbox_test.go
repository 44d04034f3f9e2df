package origin_test

import (
	"context"
	"testing"
	"time"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// TestCacheOutboxOutlivesTheOrigin: an origin that cannot reach Redis
// updates, renames and deletes links, then goes away before Redis is back
// (Redis keeps its data, as with its append-only file). The cache entries
// it owed are still stale when Redis returns; another origin on the same
// database writes them from the outbox, so no deleted or old link stays in
// Redis until its TTL.
func TestCacheOutboxOutlivesTheOrigin(t *testing.T) {
	db, _ := testenv.NewDB(t)
	proxy, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	first := serveEnv(t, db, proxied) // its background re-sync never runs: it dies with the outage
	changed := first.createLink(map[string]any{"original_url": "https://example.com/old", "short_code": "changed"})
	deleted := first.createLink(map[string]any{"original_url": "https://example.com/deleted", "short_code": "deleted"})
	renamed := first.createLink(map[string]any{"original_url": "https://example.com/renamed", "short_code": "renamed"})

	proxy.Cut()
	first.want(first.do("PATCH", "/urls/"+itoa(changed.num("id")), map[string]any{"original_url": "https://example.com/new"}), 200, "")
	first.want(first.do("DELETE", "/urls/"+itoa(deleted.num("id")), nil), 204, "")
	first.want(first.do("PATCH", "/urls/"+itoa(renamed.num("id")), map[string]any{"short_code": "renamed2"}), 200, "")
	proxy.Restore()

	codes := []string{"changed", "deleted", "renamed", "renamed2"}
	lookup := func() []cache.Lookup {
		out := make([]cache.Lookup, len(codes))
		if err := direct.GetLinks(context.Background(), codes, out); err != nil {
			t.Fatalf("read redis: %v", err)
		}
		return out
	}
	// The precondition: with the first origin gone, Redis is stale.
	if got := lookup(); got[0].Entry.URL != "https://example.com/old" || got[1].State != cache.Found || got[2].State != cache.Found {
		t.Fatalf("redis before any re-sync: %+v", got)
	}

	second := serveEnv(t, db, direct)
	second.runBackground()
	testenv.Eventually(t, 10*time.Second, "the second origin writes what the first owed", func() bool {
		got := lookup()
		return got[0].State == cache.Found && got[0].Entry.URL == "https://example.com/new" &&
			got[1].State == cache.Absent && got[2].State == cache.Absent &&
			got[3].State == cache.Found && got[3].Entry.URL == "https://example.com/renamed"
	})
	outboxEmpties(t, db, 5*time.Second)
}

// TestWrittenChangesLeaveTheOutbox: the codes of an update, a rename and
// a delete that Redis took stay queued until the origin's next retry tick,
// which takes them off the outbox without writing them to Redis again: the
// entry deleted from Redis behind the origin's back stays deleted.
func TestWrittenChangesLeaveTheOutbox(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	changed := e.createLink(map[string]any{"original_url": "https://example.com/a"})
	code := changed.str("short_code")
	e.want(e.do("PATCH", "/urls/"+itoa(changed.num("id")), map[string]any{"original_url": "https://example.com/b"}), 200, "")
	moved := e.createLink(map[string]any{"original_url": "https://example.com/m", "short_code": "moved"})
	e.want(e.do("PATCH", "/urls/"+itoa(moved.num("id")), map[string]any{"short_code": "moved2"}), 200, "")
	e.want(e.do("DELETE", "/urls/"+itoa(moved.num("id")), nil), 204, "")
	owed, err := e.db.OwedCacheWrites(ctx, 0, 10)
	if err != nil || len(owed) != 3 || owed[code] == 0 || owed["moved"] == 0 || owed["moved2"] == 0 {
		t.Fatalf("queued before the origin's tick: %v %v; want %s, moved and moved2", owed, err, code)
	}
	// A re-sync of the changed link would write its entry back.
	keys, err := e.cache.Redis().Keys(ctx, "*l:{"+code+"}").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("the changed link's key: %v %v", keys, err)
	}
	if err := e.cache.Redis().Del(ctx, keys[0]).Err(); err != nil {
		t.Fatal(err)
	}

	e.runBackground()
	outboxEmpties(t, e.db, 10*time.Second)
	if n, err := e.cache.Redis().Exists(ctx, keys[0]).Result(); err != nil || n != 0 {
		t.Fatalf("the changed link was written to Redis again (%d, %v): taken off by a re-sync, not as written", n, err)
	}
}

// outboxEmpties waits up to d for the cache outbox to hold no entry.
func outboxEmpties(t *testing.T, db *postgres.DB, d time.Duration) {
	t.Helper()
	testenv.Eventually(t, d, "the outbox empties", func() bool {
		owed, err := db.OwedCacheWrites(context.Background(), 0, 10)
		return err == nil && len(owed) == 0
	})
}
