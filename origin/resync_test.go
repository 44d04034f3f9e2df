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
	var csv strings.Builder
	csv.WriteString("original_url,short_code\n")
	codes := make([]string, imported)
	for i := range codes {
		codes[i] = fmt.Sprintf("imp%d", i)
		fmt.Fprintf(&csv, "https://example.com/%d,%s\n", i, codes[i])
	}
	res := e.do("POST", "/urls/bulk", csv.String(), "Content-Type", "text/csv")
	e.want(res, 200, "")
	if res.num("imported") != imported {
		t.Fatalf("import with Redis cut: %s", res.body)
	}
	e.want(e.do("DELETE", "/urls/"+itoa(doomed.num("id")), nil), 204, "")
	writes := &storePipelines{}
	proxied.Redis().AddHook(writes)
	proxy.Restore()
	e.runBackground()

	all := append([]string{"doomed"}, codes...)
	testenv.Eventually(t, 20*time.Second, "Redis holds every imported link, and not the deleted one", func() bool {
		out := make([]cache.Lookup, len(all))
		if err := direct.GetLinks(context.Background(), all, out); err != nil {
			return false
		}
		if out[0].State == cache.Found { // absent, or its tombstone expired
			return false
		}
		for _, l := range out[1:] {
			if l.State != cache.Found {
				return false
			}
		}
		return true
	})
	got := writes.done()
	if len(got) == 0 || len(got) > 10 {
		t.Fatalf("the re-sync wrote %d codes in %d Redis round trips; want a few batches", len(all), len(got))
	}
	if !strings.Contains(" "+strings.Join(got[0], " ")+" ", " doomed ") {
		t.Fatalf("the first re-sync round trip wrote %d codes, without the deleted one", len(got[0]))
	}
}

// storePipelines records the Redis pipelines that succeed in writing link
// keys, each as the codes it wrote, in order.
type storePipelines struct {
	mu    sync.Mutex
	codes [][]string
}

func (h *storePipelines) done() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.codes
}

func (h *storePipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *storePipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *storePipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil {
			return err
		}
		var codes []string
		for _, c := range cmds {
			// EVALSHA sha numkeys key ...; a link key ends in "{code}".
			if args := c.Args(); c.Name() == "evalsha" && len(args) > 3 {
				key := fmt.Sprint(args[3])
				codes = append(codes, key[strings.LastIndex(key, "{")+1:len(key)-1])
			}
		}
		if len(codes) > 0 {
			h.mu.Lock()
			h.codes = append(h.codes, codes)
			h.mu.Unlock()
		}
		return nil
	}
}
