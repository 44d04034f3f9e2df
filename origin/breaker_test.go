package origin_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestImportStopsTryingARedisThatStoppedAnswering: an import whose first
// batch Redis does not answer owes the other batches without trying them
// (each try cost about 2 s), and the retry loop writes them all once Redis
// answers again.
func TestImportStopsTryingARedisThatStoppedAnswering(t *testing.T) {
	const rows = 12000 // three batches of the importer's 5,000
	db, _ := testenv.NewDB(t)
	proxy, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	e := serveEnv(t, db, proxied)
	writes := &redisPipelines{}
	proxied.Redis().AddHook(writes)

	proxy.SetLatency(3 * time.Second)
	codes := e.importLinks("slow", rows)
	if n := writes.triedWith(storeCommand); n != 1 {
		t.Fatalf("the import tried %d Redis writes; want 1, then none once Redis did not answer", n)
	}

	proxy.SetLatency(0)
	e.runBackground()
	testenv.Eventually(t, 20*time.Second, "Redis holds every imported link", func() bool { return allCached(direct, codes) })
}

// TestRedisWritesGoThroughABreaker: with Redis cut, the origin stops trying
// its writes after five failures in a row and owes them at once (each try
// against a Redis that stopped answering waited 1 s); the breaker's state
// shows in /metrics, and once Redis is back a re-sync closes it and writes
// what was owed.
func TestRedisWritesGoThroughABreaker(t *testing.T) {
	db, _ := testenv.NewDB(t)
	proxy, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	e := serveEnv(t, db, proxied)
	writes := &redisPipelines{}
	proxied.Redis().AddHook(writes)

	proxy.Cut()
	const creates = 12
	start := time.Now()
	for i := range creates {
		e.want(e.do("POST", "/urls", map[string]any{"original_url": "https://example.com/b", "short_code": fmt.Sprintf("brk%d", i)}), 201, "")
	}
	// One probe a second of the loop may go through besides the five.
	if n, probes := writes.triedWith(storeCommand), int(time.Since(start)/time.Second); n < 5 || n > 5+probes {
		t.Fatalf("%d creates tried %d Redis writes in %v; want 5, then none while the breaker is open", creates, n, time.Since(start))
	}
	if got := breakerState(t, e); got != "2" {
		t.Fatalf("rebound_origin_redis_breaker_state %s after five failures, want 2 (open)", got)
	}

	proxy.Restore()
	e.runBackground()
	codes := make([]string, creates)
	for i := range codes {
		codes[i] = fmt.Sprintf("brk%d", i)
	}
	testenv.Eventually(t, 10*time.Second, "the owed creates reach Redis and the breaker closes", func() bool {
		return allCached(direct, codes) && breakerState(t, e) == "0"
	})
}

// breakerState reads rebound_origin_redis_breaker_state off /metrics.
func breakerState(t *testing.T, e *env) string {
	t.Helper()
	res, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, "rebound_origin_redis_breaker_state "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no rebound_origin_redis_breaker_state in /metrics")
	return ""
}

// TestSlowPathClickCountGoesThroughTheBreaker: while Redis fails, the slow
// path of a click-limited link answers 503, and once five counts in a row
// have failed it stops asking Redis. Against a Redis that accepts but does
// not answer each try took about 2 s; cut, each fails at once, which keeps
// this test short.
func TestSlowPathClickCountGoesThroughTheBreaker(t *testing.T) {
	db, _ := testenv.NewDB(t)
	proxy, proxied, _ := testenv.ProxiedCache(t, cache.Options{})
	e := serveEnv(t, db, proxied)
	e.createLink(map[string]any{"original_url": "https://example.com/lim", "short_code": "lim", "max_clicks": 100})
	counts := &redisPipelines{}
	proxied.Redis().AddHook(counts)

	proxy.Cut()
	redirect := func() {
		e.want(e.do("GET", "/urls/lim/redirect", nil, "Authorization", ""), 503, "unavailable")
	}
	for range 5 {
		redirect()
	}
	if n := counts.triedWith("incr"); n != 5 {
		t.Fatalf("5 slow-path redirects tried %d click counts, want 5", n)
	}
	start := time.Now()
	for range 20 {
		redirect()
	}
	// One probe a second may go through while the breaker is open.
	if n, probes := counts.triedWith("incr")-5, int(time.Since(start)/time.Second); n > probes {
		t.Fatalf("20 slow-path redirects in %v tried %d click counts after five failures; want none while the breaker is open", time.Since(start), n)
	}
}
