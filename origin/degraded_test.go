package origin_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// TestRedisOutage: health turns degraded with 503, the slow path of a
// click-limited link answers 503, writes still succeed (Postgres is the
// truth), a CSV import among them, and the cache entries they could not
// write are written once Redis is back, so no stale entry survives the
// outage.
func TestRedisOutage(t *testing.T) {
	db, _ := testenv.NewDB(t)
	proxy, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	e := serveEnv(t, db, proxied)
	e.runBackground()

	r := e.createLink(map[string]any{"original_url": "https://example.com/1", "short_code": "outage"})
	doomed := e.createLink(map[string]any{"original_url": "https://example.com/doomed", "short_code": "doomed"})
	e.createLink(map[string]any{"original_url": "https://example.com/limited", "short_code": "limited", "max_clicks": 5})
	proxy.Cut()
	r2 := e.do("GET", "/health", nil)
	e.want(r2, 503, "")
	if r2.str("status") != "degraded" || r2.str("redis") != "down" || r2.str("postgres") != "ok" || r2.header.Get("Retry-After") == "" {
		t.Fatalf("health with redis down: %s", r2.body)
	}
	// The slow path cannot count a limited link's clicks without Redis.
	limited := e.do("GET", "/urls/limited/redirect", nil, "Authorization", "")
	e.want(limited, 503, "unavailable")
	if limited.header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %s", limited.body)
	}
	// A write during the outage succeeds...
	e.want(e.do("PATCH", "/urls/"+itoa(r.num("id")), map[string]any{"original_url": "https://example.com/2"}), 200, "")
	e.want(e.do("POST", "/urls", map[string]any{"original_url": "https://example.com/3", "short_code": "during"}), 201, "")
	e.want(e.do("DELETE", "/urls/"+itoa(doomed.num("id")), nil), 204, "")
	if r := e.upload("/urls/bulk", "original_url,short_code\nhttps://example.com/b1,bulk1\nhttps://example.com/b2,bulk2\n", false); r.status != 200 || r.num("imported") != 2 {
		t.Fatalf("import during the outage: %d %s", r.status, r.body)
	}
	proxy.Restore()
	// ...and reaches Redis once it is back, the delete as a tombstone of
	// its own version, which replaces the entry written before the outage.
	testenv.Eventually(t, 5*time.Second, "cache re-synced", func() bool {
		out := make([]cache.Lookup, 5)
		if err := direct.GetLinks(context.Background(), []string{"outage", "during", "doomed", "bulk1", "bulk2"}, out); err != nil {
			return false
		}
		return out[0].State == cache.Found && out[0].Entry.URL == "https://example.com/2" && out[1].State == cache.Found &&
			out[2].State == cache.Absent && out[3].Entry.URL == "https://example.com/b1" && out[4].Entry.URL == "https://example.com/b2"
	})
	e.want(e.do("GET", "/health", nil), 200, "")
}

// TestPostgresOutageAnswers503: while Postgres is unreachable every API
// call that needs it answers 503 unavailable with Retry-After, in the
// documented error shape and without the driver's message (they answered
// 500 internal until 2026-12-02); once it is back, the same origin serves
// again without a restart.
func TestPostgresOutageAnswers503(t *testing.T) {
	proxy, dsn := testenv.ProxyURL(t, testenv.NewDatabase(t))
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	e := serveEnv(t, db, testenv.NewCache(t))
	id := itoa(e.createLink(map[string]any{"original_url": "https://example.com/pg", "short_code": "pgdown"}).num("id"))

	proxy.Cut()
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/urls", nil},
		{"POST", "/urls", map[string]any{"original_url": "https://example.com/during"}},
		{"GET", "/urls/" + id, nil},
		{"PATCH", "/urls/" + id, map[string]any{"title": "t"}},
		{"DELETE", "/urls/" + id, nil},
		{"GET", "/urls/" + id + "/stats", nil},
		{"POST", "/users", map[string]any{"username": "pgdown", "email": "pgdown@example.com"}},
		{"GET", "/users", nil},
		{"GET", "/events", nil},
		{"GET", "/urls/pgdown/redirect", nil},
	} {
		r := e.do(call.method, call.path, call.body)
		e.want(r, 503, rebound.EUnavailable)
		if r.header.Get("Retry-After") == "" || strings.Contains(string(r.body), "127.0.0.1") {
			t.Fatalf("%s %s with Postgres down: Retry-After %q, body %s", call.method, call.path, r.header.Get("Retry-After"), r.body)
		}
	}

	proxy.Restore()
	testenv.Eventually(t, 10*time.Second, "API serving again", func() bool {
		return e.do("GET", "/urls/"+id, nil).status == 200
	})
	e.want(e.do("PATCH", "/urls/"+id, map[string]any{"title": "after"}), 200, "")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestPostgresOutageKeepsClicksInHand: a batch of clicks the consumer read
// while Postgres was down is stored as soon as Postgres is back. It used to
// be left pending in the stream, where it waited 30 s (the claim idle time)
// before any consumer took it again, while the consumer read new batches
// only to fail on them too.
func TestPostgresOutageKeepsClicksInHand(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	proxy, proxied := testenv.ProxyURL(t, dsn)
	db, err := postgres.Open(context.Background(), proxied, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c := testenv.NewCache(t)
	e := serveEnv(t, db, c)
	e.runBackground()

	id := e.createLink(map[string]any{"original_url": "https://example.com/c", "short_code": "kept"}).num("id")
	clicks := func(from, n int64) []rebound.Click {
		out := make([]rebound.Click, n)
		for i := range out {
			out[i] = rebound.Click{EdgeID: 7, Seq: from + int64(i), LinkID: id, At: time.Now()}
		}
		return out
	}
	stored := func() int64 {
		r := e.do("GET", "/urls/"+itoa(id)+"/stats", nil)
		return r.num("clicks")
	}
	ctx := context.Background()
	if err := c.AddClicks(ctx, clicks(1, 2)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "clicks stored before the outage", func() bool { return stored() == 2 })

	proxy.Cut()
	if err := c.AddClicks(ctx, clicks(3, 5)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the consumer reads the batch and fails to store it, more than once
	proxy.Restore()
	testenv.Eventually(t, 5*time.Second, "clicks read during the outage stored once it is over", func() bool { return stored() == 7 })
}
