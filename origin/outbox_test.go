package origin_test

import (
	"context"
	"testing"
	"time"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
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
	testenv.Eventually(t, 5*time.Second, "the outbox empties", func() bool {
		owed, err := db.OwedCacheWrites(context.Background(), 0, 10)
		return err == nil && len(owed) == 0
	})
}

// TestWrittenChangesLeaveTheOutbox: an update, a rename and a delete that
// reach Redis take their codes off the outbox before the API answers, so
// no origin writes them a second time.
func TestWrittenChangesLeaveTheOutbox(t *testing.T) {
	e := newEnv(t)
	l := e.createLink(map[string]any{"original_url": "https://example.com/a", "short_code": "written"})
	id := itoa(l.num("id"))
	e.want(e.do("PATCH", "/urls/"+id, map[string]any{"original_url": "https://example.com/b"}), 200, "")
	e.want(e.do("PATCH", "/urls/"+id, map[string]any{"short_code": "written2"}), 200, "")
	e.want(e.do("DELETE", "/urls/"+id, nil), 204, "")
	if owed, err := e.db.OwedCacheWrites(context.Background(), 0, 10); err != nil || len(owed) != 0 {
		t.Fatalf("owed after writes Redis took: %v %v", owed, err)
	}
}
