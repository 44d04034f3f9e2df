package systemtest

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
)

func TestClickPipeline(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 2, edge.Options{})
	runClicks(t, s)
}

// runClicks: redirects on every edge show in stats within 5 s, with
// referrers and bots, and as click events.
func runClicks(t *testing.T, s *system) {
	st, l := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/c", "short_code": "clicks"})
	if st != 201 {
		t.Fatalf("create: %d", st)
	}
	id := num(l, "id")
	for i, n := range s.edges {
		for j := 0; j < 3; j++ {
			if st, _ := s.hit(n, "clicks", "Referer", "https://ref.example/x", "User-Agent", "Mozilla/5.0 Firefox"); st != 302 {
				t.Fatalf("edge %d: %d", i, st)
			}
		}
		s.hit(n, "clicks", "User-Agent", "curl/8.0")
	}
	want := int64(4 * len(s.edges))
	var stats map[string]any
	testenv.Eventually(t, 5*time.Second, "clicks in stats", func() bool {
		_, stats = s.api("GET", fmt.Sprintf("/urls/%d/stats", id), nil)
		return num(stats, "clicks") == want
	})
	if num(stats, "bots") != int64(len(s.edges)) || stats["last_click_at"] == nil {
		t.Fatalf("stats %v", stats)
	}
	refs, _ := stats["referrers"].([]any)
	if len(refs) != 1 || num(refs[0].(map[string]any), "clicks") != int64(3*len(s.edges)) {
		t.Fatalf("referrers %v", stats["referrers"])
	}
	daily, _ := stats["daily"].([]any)
	if len(daily) != 1 || daily[0].(map[string]any)["date"] != time.Now().UTC().Format("2006-01-02") {
		t.Fatalf("daily %v", stats["daily"])
	}
	_, ev := s.api("GET", fmt.Sprintf("/events?url_id=%d&event_type=click", id), nil)
	if num(ev, "total") != want {
		t.Fatalf("click events: %v", ev["total"])
	}
}

// TestGracefulRestartsLoseNoClick: clicks still queued in an edge are
// flushed when it stops; a stopped and restarted origin consumer picks the
// stream up where it was; a redelivered batch counts once.
func TestGracefulRestartsLoseNoClick(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 1, edge.Options{ClickFlushInterval: time.Hour})
	_, l := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/g", "short_code": "graceful"})
	id := num(l, "id")
	s.stopOriginBackground() // the origin is "down" while the edge takes clicks
	const n = 25
	for i := 0; i < n; i++ {
		if st, _ := s.hit(s.edges[0], "graceful"); st != 302 {
			t.Fatalf("status %d", st)
		}
	}
	s.edges[0].stop() // graceful: the queued clicks go to the stream now
	if pending, _ := s.cache.PendingClicks(context.Background()); pending == 0 {
		t.Fatal("no click batch in the stream after the edge stopped")
	}
	s.startOriginBackground()
	stats := func() int64 {
		_, st := s.api("GET", fmt.Sprintf("/urls/%d/stats", id), nil)
		return num(st, "clicks")
	}
	testenv.Eventually(t, 5*time.Second, "clicks stored after origin restart", func() bool { return stats() == n })

	// The same batch delivered again (a crash between commit and ack) counts once.
	dup := []rebound.Click{{EdgeID: 77, Seq: 1, LinkID: id, At: time.Now()}, {EdgeID: 77, Seq: 2, LinkID: id, At: time.Now()}}
	for range 2 {
		if err := s.cache.AddClicks(context.Background(), dup); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 5*time.Second, "redelivered batch stored", func() bool {
		p, _ := s.cache.PendingClicks(context.Background())
		return p == 0
	})
	if got := stats(); got != n+2 {
		t.Fatalf("clicks %d after a redelivered batch, want %d", got, n+2)
	}
}

func TestLinkLimitsAcrossEdges(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 2, edge.Options{})
	if st, _ := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/l", "short_code": "limited", "max_clicks": 3}); st != 201 {
		t.Fatalf("create: %d", st)
	}
	ok := 0
	for i := 0; i < 6; i++ {
		st, _ := s.hit(s.edges[i%2], "limited")
		switch st {
		case 302:
			ok++
		case http.StatusNotFound:
		default:
			t.Fatalf("status %d", st)
		}
	}
	if ok != 3 {
		t.Fatalf("%d redirects for max_clicks 3 across two edges", ok)
	}
	exp := time.Now().Add(300 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	if st, _ := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/e", "short_code": "expiring", "expires_at": exp}); st != 201 {
		t.Fatalf("create expiring: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "expiring", 302, "")
	time.Sleep(300 * time.Millisecond)
	s.everyEdgeWithin(coherenceWindow, "expiring", 404, "")
}

// TestClickLimitSurvivesRedisLoss: after Redis loses the counter, the edge
// seeds it from the clicks stored in Postgres.
func TestClickLimitSurvivesRedisLoss(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 1, edge.Options{LocalCacheTTL: 50 * time.Millisecond})
	_, l := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/s", "short_code": "seeded", "max_clicks": 2})
	id := num(l, "id")
	for i := 0; i < 2; i++ {
		if st, _ := s.hit(s.edges[0], "seeded"); st != 302 {
			t.Fatalf("click %d: %d", i, st)
		}
	}
	testenv.Eventually(t, 5*time.Second, "clicks stored", func() bool {
		_, st := s.api("GET", fmt.Sprintf("/urls/%d/stats", id), nil)
		return num(st, "clicks") == 2
	})
	testenv.DeleteKeys(s.cache.Redis(), s.prefix) // Redis loses everything
	time.Sleep(100 * time.Millisecond)            // past the in-process TTL
	if st, _ := s.hit(s.edges[0], "seeded"); st != http.StatusNotFound {
		t.Fatalf("used-up link after redis lost its counter: %d", st)
	}
}
