package edge_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

func ptr[T any](v T) *T { return &v }

func TestRedirects(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{PermanentMaxAge: time.Hour}})
	h.link(postgres.NewLink{ShortCode: "plain", OriginalURL: "https://example.com/a", IsActive: true})
	h.link(postgres.NewLink{ShortCode: "perm", OriginalURL: "https://example.com/p", IsActive: true, RedirectType: 301})
	h.link(postgres.NewLink{ShortCode: "temp7", OriginalURL: "https://example.com/t", IsActive: true, RedirectType: 307})
	h.link(postgres.NewLink{ShortCode: "perm8", OriginalURL: "https://example.com/8", IsActive: true, RedirectType: 308})
	h.link(postgres.NewLink{ShortCode: "fwd", OriginalURL: "https://example.com/f?x=1#top", IsActive: true, ForwardQuery: true})
	cases := []struct {
		path, location, cacheControl string
		status                       int
	}{
		{"/plain", "https://example.com/a", "private, max-age=90", 302},
		{"/plain?utm=1", "https://example.com/a", "private, max-age=90", 302}, // no forward_query: dropped
		{"/perm", "https://example.com/p", "public, max-age=3600", 301},
		{"/temp7", "https://example.com/t", "private, max-age=90", 307},
		{"/perm8", "https://example.com/8", "public, max-age=3600", 308},
		{"/fwd?utm=a&b=2", "https://example.com/f?x=1&utm=a&b=2#top", "private, max-age=90", 302},
		{"/fwd", "https://example.com/f?x=1#top", "private, max-age=90", 302},
	}
	for round := 0; round < 2; round++ { // first from Postgres, then from the tiers
		for _, c := range cases {
			a := h.get(c.path)
			if a.status != c.status || a.header.Get("Location") != c.location || a.header.Get("Cache-Control") != c.cacheControl {
				t.Fatalf("round %d %s: %d %q %q", round, c.path, a.status, a.header.Get("Location"), a.header.Get("Cache-Control"))
			}
		}
	}
	if a := h.do("HEAD", "/plain"); a.status != 302 || a.header.Get("Location") != "https://example.com/a" || a.body != "" {
		t.Fatalf("HEAD: %d %q %q", a.status, a.header.Get("Location"), a.body)
	}
	if h.lookups("local", "hit") == 0 {
		t.Fatal("the second round never hit the in-process tier")
	}
}

// A max-age of zero for permanent redirects is an operator's choice (the
// browser asks again every time), not a missing setting to default.
func TestPermanentMaxAgeZero(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{PermanentMaxAge: 0}})
	h.link(postgres.NewLink{ShortCode: "perm", OriginalURL: "https://example.com/p", IsActive: true, RedirectType: 301})
	if a := h.get("/perm"); a.status != 301 || a.header.Get("Cache-Control") != "public, max-age=0" {
		t.Fatalf("301 with max-age 0: %d %q", a.status, a.header.Get("Cache-Control"))
	}
}

func TestNotFoundAndGone(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.link(postgres.NewLink{ShortCode: "off", OriginalURL: "https://example.com/off", IsActive: false})
	exp := time.Now().Add(-time.Minute)
	l := h.link(postgres.NewLink{ShortCode: "live", OriginalURL: "https://example.com/l", IsActive: true})
	if _, _, err := h.db.UpdateLink(context.Background(), l.ID, postgres.LinkPatch{ExpiresAt: postgres.Some(&exp)}, nil); err != nil {
		t.Fatal(err)
	}
	wantError(t, h.get("/nosuchcode"), 404, "not_found")
	wantError(t, h.get("/off"), 404, "gone")
	wantError(t, h.get("/live"), 404, "gone") // expired
	// Neither gone link counted a click.
	h.shutdown()
	if n, _ := h.cache.PendingClicks(context.Background()); n != 0 {
		t.Fatalf("%d click batches for gone links", n)
	}
}

func TestPathsThatCannotBeCodes(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	before := h.lookups("local", "miss") + h.lookups("local", "hit")
	for _, p := range []string{"/", "/a/b", "/a%2Fb", "/a.b", "/" + strings.Repeat("a", 65), "/%00", "/%ff%fe",
		"/admin", "/api", "/health/x", "/a%20b", "/~x", "/..%2f..%2fetc"} {
		wantError(t, h.get(p), 404, "not_found")
	}
	if after := h.lookups("local", "miss") + h.lookups("local", "hit"); after != before {
		t.Fatalf("impossible paths caused %v lookups", after-before)
	}
}

func TestMethodsAndSpecialPaths(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		a := h.do(m, "/abc")
		wantError(t, a, 405, "method_not_allowed")
		if a.header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("%s: Allow %q", m, a.header.Get("Allow"))
		}
	}
	if a := h.get("/favicon.ico"); a.status != 204 {
		t.Fatalf("favicon: %d", a.status)
	}
	if a := h.get("/robots.txt"); a.status != 200 || !strings.Contains(a.body, "User-agent") {
		t.Fatalf("robots: %d %q", a.status, a.body)
	}
	a := h.get("/health")
	if a.status != 200 || !strings.Contains(a.body, `"status":"ok"`) || !strings.Contains(a.body, `"postgres":"ok"`) ||
		!strings.Contains(a.body, `"redis":"ok"`) || !strings.Contains(a.body, `"breakers"`) {
		t.Fatalf("health: %d %s", a.status, a.body)
	}
	a = h.get("/metrics")
	for _, name := range []string{"rebound_edge_http_requests_total", "rebound_edge_cache_lookups_total",
		"rebound_edge_breaker_state", "rebound_edge_http_request_duration_seconds"} {
		if !strings.Contains(a.body, name) {
			t.Fatalf("metrics lack %s", name)
		}
	}
	if a := h.get("/x", "X-Request-ID", "trace-42"); a.header.Get("X-Request-Id") != "trace-42" || !strings.Contains(a.body, "trace-42") {
		t.Fatalf("request id not echoed: %q %s", a.header.Get("X-Request-Id"), a.body)
	}
}

func TestMaxClicks(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.link(postgres.NewLink{ShortCode: "twice", OriginalURL: "https://example.com/2", IsActive: true, MaxClicks: ptr[int64](2)})
	for i := 0; i < 2; i++ {
		if a := h.get("/twice"); a.status != 302 {
			t.Fatalf("click %d: %d %s", i+1, a.status, a.body)
		}
	}
	wantError(t, h.get("/twice"), 404, "gone")
	wantError(t, h.get("/twice"), 404, "gone")
}

// TestConcurrentMissesQueryPostgresOnce: many requests for one uncached
// code make a single Postgres query (singleflight), and an unknown code is
// remembered as absent.
func TestConcurrentMissesQueryPostgresOnce(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.link(postgres.NewLink{ShortCode: "hot", OriginalURL: "https://example.com/hot", IsActive: true})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := h.get("/hot"); a.status != 302 {
				t.Errorf("status %d", a.status)
			}
		}()
	}
	wg.Wait()
	if q := h.lookups("postgres", "hit"); q != 1 {
		t.Fatalf("%v Postgres queries for one code", q)
	}
	for i := 0; i < 20; i++ {
		wantError(t, h.get("/unknownA"), 404, "not_found")
	}
	if q := h.lookups("postgres", "absent"); q != 1 {
		t.Fatalf("%v Postgres queries for an unknown code", q)
	}
}

// TestRedisServesWhatOriginWrote: an entry written through to Redis is
// served without Postgres.
func TestRedisServesWhatOriginWrote(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	l := h.link(postgres.NewLink{ShortCode: "viaredis", OriginalURL: "https://example.com/r", IsActive: true})
	if err := h.cache.StoreLinks(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	if a := h.get("/viaredis"); a.status != 302 {
		t.Fatalf("status %d", a.status)
	}
	if h.lookups("redis", "hit") != 1 || h.lookups("postgres", "hit") != 0 {
		t.Fatalf("redis hits %v, postgres %v", h.lookups("redis", "hit"), h.lookups("postgres", "hit"))
	}
}

// TestRedisHitKeptWhenAskedAgain: the first redirect of a link Redis holds
// does not take an in-process entry; the second keeps one, and the third is
// answered from it.
func TestRedisHitKeptWhenAskedAgain(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	l := h.link(postgres.NewLink{ShortCode: "twice", OriginalURL: "https://example.com/2", IsActive: true})
	if err := h.cache.StoreLinks(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ redisHits, notKept, localHits float64 }{{1, 1, 0}, {2, 1, 0}, {2, 1, 1}} {
		if a := h.get("/twice"); a.status != 302 || a.header.Get("Location") != "https://example.com/2" {
			t.Fatalf("request %d: %d %q", i, a.status, a.header.Get("Location"))
		}
		got := struct{ redisHits, notKept, localHits float64 }{h.lookups("redis", "hit"),
			h.metric("rebound_edge_local_not_kept_total"), h.lookups("local", "hit")}
		if got != want {
			t.Fatalf("after request %d: redis hits, not kept, local hits %v, want %v", i+1, got, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{RateLimit: 1, RateBurst: 3,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	for i := 0; i < 3; i++ {
		wantError(t, h.get("/nope", "X-Forwarded-For", "203.0.113.7"), 404, "not_found")
	}
	a := h.get("/nope", "X-Forwarded-For", "203.0.113.7")
	wantError(t, a, 429, "rate_limited")
	if a.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Another client behind the same trusted proxy has its own bucket...
	wantError(t, h.get("/nope", "X-Forwarded-For", "203.0.113.8"), 404, "not_found")
	// ...and a spoofed leftmost entry does not buy a new one.
	wantError(t, h.get("/nope", "X-Forwarded-For", "1.2.3.4, 203.0.113.7"), 429, "rate_limited")
	if h.metric("rebound_edge_rate_limited_total") < 2 {
		t.Fatal("rejections not counted")
	}
}

func TestXForwardedForIgnoredFromUntrustedPeer(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{RateLimit: 1, RateBurst: 2}})
	h.get("/nope", "X-Forwarded-For", "198.51.100.1")
	h.get("/nope", "X-Forwarded-For", "198.51.100.2")
	// Different XFF values from an untrusted peer share the peer's bucket.
	wantError(t, h.get("/nope", "X-Forwarded-For", "198.51.100.3"), 429, "rate_limited")
}

// TestRateLimitWalksTrustedProxyChain: behind two trusted proxies the
// client is the nearest X-Forwarded-For entry that is not a proxy; an entry
// that is not an address ends the walk at the last hop known, so junk
// values cannot mint fresh buckets.
func TestRateLimitWalksTrustedProxyChain(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{RateLimit: 0.01, RateBurst: 1,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}})
	// 203.0.113.7 reached the inner proxy 10.1.2.3, which reached the edge's peer.
	wantError(t, h.get("/nope", "X-Forwarded-For", "203.0.113.7, 10.1.2.3"), 404, "not_found")
	wantError(t, h.get("/nope", "X-Forwarded-For", "203.0.113.7"), 429, "rate_limited")
	wantError(t, h.get("/nope", "X-Forwarded-For", "1.2.3.4, 203.0.113.7, 10.9.9.9"), 429, "rate_limited")
	// Another client through the same inner proxy has a bucket of its own.
	wantError(t, h.get("/nope", "X-Forwarded-For", "198.51.100.1, 10.1.2.3"), 404, "not_found")
	// Junk in the entry the inner proxy wrote for its peer: the client is
	// the inner proxy, one bucket for every junk value.
	wantError(t, h.get("/nope", "X-Forwarded-For", "198.51.100.2, junk-1, 10.1.2.3"), 404, "not_found")
	wantError(t, h.get("/nope", "X-Forwarded-For", "198.51.100.3, junk-2, 10.1.2.3"), 429, "rate_limited")
	wantError(t, h.get("/nope", "X-Forwarded-For", "10.1.2.3"), 429, "rate_limited")
}

// TestRateLimitSharedAcrossConnections: a client's connections share its
// bucket, although each remembers the bucket after its first request.
func TestRateLimitSharedAcrossConnections(t *testing.T) {
	a := newHarness(t, harnessOpts{edge: edge.Options{RateLimit: 1, RateBurst: 3}})
	b := a.onNewConnection()
	wantError(t, a.get("/nope"), 404, "not_found")
	wantError(t, a.get("/nope"), 404, "not_found")
	wantError(t, b.get("/nope"), 404, "not_found")
	wantError(t, b.get("/nope"), 429, "rate_limited")
	wantError(t, a.get("/nope"), 429, "rate_limited")
}

// TestRateLimitBucketOutlivesTheTable: a connection keeps its peer's bucket
// when the bounded table of clients forgets the peer, so a client cannot
// refill its bucket on an open connection by making the table forget it; a
// new connection of a forgotten client starts a fresh bucket.
func TestRateLimitBucketOutlivesTheTable(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{RateLimit: 1, RateBurst: 2, RateLimitClients: 1,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	wantError(t, h.get("/nope"), 404, "not_found")
	wantError(t, h.get("/nope"), 404, "not_found")
	wantError(t, h.get("/nope"), 429, "rate_limited")
	// A forwarded client takes the table's one place.
	wantError(t, h.get("/nope", "X-Forwarded-For", "203.0.113.9"), 404, "not_found")
	wantError(t, h.get("/nope"), 429, "rate_limited")
	wantError(t, h.onNewConnection().get("/nope"), 404, "not_found")
}

// TestClicksReachTheStream: each redirect queues one click with its
// referrer host and bot flag, and shutdown flushes them to the stream.
func TestClicksReachTheStream(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{ClickFlushInterval: time.Hour}}) // only shutdown flushes
	l := h.link(postgres.NewLink{ShortCode: "clicky", OriginalURL: "https://example.com/c", IsActive: true})
	h.get("/clicky", "Referer", "https://News.Example.org/item?id=1", "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
	h.get("/clicky", "User-Agent", "Googlebot/2.1")
	h.get("/clicky", "User-Agent", "Mozilla/5.0 Safari/605")
	h.shutdown()
	var got []string
	for _, c := range h.streamedClicks() {
		if c.LinkID != l.ID || c.EdgeID == 0 {
			t.Fatalf("click %+v", c)
		}
		got = append(got, fmt.Sprintf("%s/%v", c.Referrer, c.Bot))
	}
	if strings.Join(got, " ") != "news.example.org/false /true /false" {
		t.Fatalf("clicks %v", got)
	}
}

// TestClicksGoToPostgresWhenRedisIsDown: with Redis cut, the edge stores
// click batches in Postgres itself.
func TestClicksGoToPostgresWhenRedisIsDown(t *testing.T) {
	h := newHarness(t, harnessOpts{proxied: true})
	l := h.link(postgres.NewLink{ShortCode: "dbclick", OriginalURL: "https://example.com/d", IsActive: true})
	h.redisProxy.Cut()
	for i := 0; i < 3; i++ {
		if a := h.get("/dbclick"); a.status != 302 {
			t.Fatalf("status %d %s", a.status, a.body)
		}
	}
	testenv.Eventually(t, 5*time.Second, "clicks stored in postgres", func() bool {
		s, err := h.db.LinkStats(context.Background(), l.ID)
		return err == nil && s.Clicks == 3
	})
}

func TestInvalidationDropsLocalCopy(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{Subscribe: true}})
	l := h.link(postgres.NewLink{ShortCode: "moving", OriginalURL: "https://example.com/old", IsActive: true})
	testenv.Eventually(t, 5*time.Second, "subscription live", func() bool {
		return h.metric("rebound_edge_invalidation_subscribed") == 1
	})
	if a := h.get("/moving"); a.header.Get("Location") != "https://example.com/old" {
		t.Fatalf("first: %q", a.header.Get("Location"))
	}
	_, l2, err := h.db.UpdateLink(context.Background(), l.ID, postgres.LinkPatch{OriginalURL: postgres.Some("https://example.com/new")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cache.StoreLinks(context.Background(), l2); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 100*time.Millisecond, "new target served", func() bool {
		return h.get("/moving").header.Get("Location") == "https://example.com/new"
	})
}
