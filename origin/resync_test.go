package origin_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestResyncAfterAnImportWritesDeletesFirstInBatches: while Redis is cut,
// an origin imports 2,000 links and deletes one it had written. When Redis
// returns, the re-sync writes the 2,001 codes it owes in a few round trips,
// not one each, and the deletion, which alone leaves Redis serving a stale
// link, in the first of them.
func TestResyncAfterAnImportWritesDeletesFirstInBatches(t *testing.T) {
	const imported = 2000
	db, _ := testenv.NewDB(t)
	proxy, proxied, direct := testenv.ProxiedCache(t, cache.Options{})
	e := serveEnv(t, db, proxied)
	doomed := e.createLink(map[string]any{"original_url": "https://example.com/doomed", "short_code": "doomed"})

	proxy.Cut()
	codes := e.importLinks("imp", imported)
	e.want(e.do("DELETE", "/urls/"+itoa(doomed.num("id")), nil), 204, "")
	writes := &redisPipelines{}
	proxied.Redis().AddHook(writes)
	proxy.Restore()
	e.runBackground()

	testenv.Eventually(t, 20*time.Second, "Redis holds every imported link, and not the deleted one", func() bool {
		// The deletion's tombstone may have expired by then: not found is enough.
		return allCached(direct, codes) && !allCached(direct, []string{"doomed"})
	})
	got := writes.done()
	if len(got) == 0 || len(got) > 10 {
		t.Fatalf("the re-sync wrote %d codes in %d Redis round trips; want a few batches", imported+1, len(got))
	}
	if !strings.Contains(" "+strings.Join(got[0], " ")+" ", " doomed ") {
		t.Fatalf("the first re-sync round trip wrote %d codes, without the deleted one", len(got[0]))
	}
}

// TestRenameWritesBothCodesInOneRoundTrip: a rename writes the link under
// its new code and the old code's absence in one Redis round trip (it took
// two before 2026-12-03), and both land.
func TestRenameWritesBothCodesInOneRoundTrip(t *testing.T) {
	e := newEnv(t)
	l := e.createLink(map[string]any{"original_url": "https://example.com/r", "short_code": "before"})
	writes := &redisPipelines{}
	e.cache.Redis().AddHook(writes)
	e.want(e.do("PATCH", "/urls/"+itoa(l.num("id")), map[string]any{"short_code": "after"}), 200, "")
	got := writes.done()
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("the rename wrote %v to Redis; want both codes in one round trip", got)
	}
	out := make([]cache.Lookup, 2)
	if err := e.cache.GetLinks(context.Background(), []string{"before", "after"}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].State != cache.Absent || out[1].State != cache.Found || out[1].Entry.URL != "https://example.com/r" {
		t.Fatalf("after the rename Redis holds %+v; want before absent, after found", out)
	}
}

// importLinks imports n links through the API, coded prefix0 to
// prefix<n-1>, and returns their codes.
func (e *env) importLinks(prefix string, n int) []string {
	e.t.Helper()
	var csv strings.Builder
	csv.WriteString("original_url,short_code\n")
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("%s%d", prefix, i)
		fmt.Fprintf(&csv, "https://example.com/%d,%s\n", i, codes[i])
	}
	res := e.do("POST", "/urls/bulk", csv.String(), "Content-Type", "text/csv")
	e.want(res, 200, "")
	if res.num("imported") != int64(n) {
		e.t.Fatalf("import of %d links: %s", n, res.body)
	}
	return codes
}

// allCached reports whether Redis, read through c, holds an entry for
// every code.
func allCached(c *cache.Client, codes []string) bool {
	out := make([]cache.Lookup, len(codes))
	if err := c.GetLinks(context.Background(), codes, out); err != nil {
		return false
	}
	for _, l := range out {
		if l.State != cache.Found {
			return false
		}
	}
	return true
}

// redisPipelines records the Redis pipelines the origin sends: how many were
// tried holding each command, and, of those that write link keys and
// succeeded, the codes each wrote, in order.
type redisPipelines struct {
	mu    sync.Mutex
	tried map[string]int // command name → pipelines tried that hold it
	codes [][]string
}

// storeCommand is the command of a link key's write (cache.storeScript).
const storeCommand = "evalsha"

func (h *redisPipelines) triedWith(command string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tried[command]
}

func (h *redisPipelines) done() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.codes
}

func (h *redisPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *redisPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *redisPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		var codes []string
		names := map[string]bool{}
		for _, c := range cmds {
			names[c.Name()] = true
			// EVALSHA sha numkeys key ...; a link key ends in "{code}".
			if args := c.Args(); c.Name() == storeCommand && len(args) > 3 {
				key := fmt.Sprint(args[3])
				codes = append(codes, key[strings.LastIndex(key, "{")+1:len(key)-1])
			}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.tried == nil {
			h.tried = map[string]int{}
		}
		for name := range names {
			h.tried[name]++
		}
		if len(codes) > 0 && err == nil {
			h.codes = append(h.codes, codes)
		}
		return err
	}
}
