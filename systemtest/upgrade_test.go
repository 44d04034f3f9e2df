package systemtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// previousRelease is the last commit before domains and link passwords
// (migrations 000007 and 000008): the edge an operator runs while the
// origin of this release migrates.
const previousRelease = "c20067297a42ec6c6527a3e2e3e8fe1095f03df9"

// TestPreviousEdgeServesWhileOriginMigrates builds the edge of the
// previous release from git, has it serve 20,000 links while this
// release's migrations run (domains put every link on the default domain
// and rebuild the code's unique index; passwords add a column), and
// checks that not one redirect failed or changed meanwhile.
func TestPreviousEdgeServesWhileOriginMigrates(t *testing.T) {
	root := testenv.RepoRoot()
	if err := exec.Command("git", "-C", root, "cat-file", "-e", previousRelease+"^{commit}").Run(); err != nil {
		t.Skipf("this checkout lacks the previous release's commit (a shallow clone?): %v", err)
	}
	src := t.TempDir()
	extract := exec.Command("sh", "-c", fmt.Sprintf("git -C %q archive %s | tar -x -C %q", root, previousRelease, src))
	if out, err := extract.CombinedOutput(); err != nil {
		t.Fatalf("extract the previous release: %v\n%s", err, out)
	}
	bin := filepath.Join(src, "rebound-previous")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rebound")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release: %v\n%s", err, out)
	}

	dsn := testenv.NewEmptyDatabase(t)
	prefix := testenv.Name("upg") + ":"
	rdb := testenv.NewCache(t).Redis()
	t.Cleanup(func() { testenv.DeleteKeys(rdb, prefix) })
	port := testenv.FreePort(t)
	env := append(os.Environ(), "DATABASE_URL="+dsn, "REDIS_URL="+testenv.RedisURL(), "REBOUND_REDIS_PREFIX="+prefix,
		fmt.Sprintf("REBOUND_EDGE_ADDR=127.0.0.1:%d", port), "REBOUND_RATE_LIMIT=0", "REBOUND_LOG_LEVEL=warn",
		// Every lookup reaches Postgres: the in-process tier keeps nothing
		// past 1 ms and Redis holds each link 1 ms.
		"REBOUND_LOCAL_CACHE_TTL=1ms", "REBOUND_REDIS_LINK_TTL=1ms")
	migrate := exec.Command(bin, "migrate", "-env", "")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate with the previous release: %v\n%s", err, out)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const links = 20_000
	if _, err := conn.Exec(ctx, `INSERT INTO urls (short_code, original_url)
		SELECT 'u' || i, 'https://example.com/' || i FROM generate_series(1, $1) AS i`, links); err != nil {
		t.Fatal(err)
	}
	edge := exec.Command(bin, "edge", "-env", "")
	edge.Env = env
	edge.Stderr = &testenv.SyncBuffer{}
	if err := edge.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = edge.Process.Kill(); _ = edge.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.Eventually(t, 10*time.Second, "previous edge up", func() bool {
		res, err := http.Get(base + "/health")
		if err == nil {
			res.Body.Close()
		}
		return err == nil && res.StatusCode == 200
	})

	loadCtx, stop := context.WithCancel(ctx)
	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for w := range 4 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for loadCtx.Err() == nil {
				i := rnd.IntN(links) + 1
				res, err := client.Get(fmt.Sprintf("%s/u%d", base, i))
				sent.Add(1)
				want := fmt.Sprintf("https://example.com/%d", i)
				if err != nil || res.StatusCode != 302 || res.Header.Get("Location") != want {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("u%d: %v %v", i, err, res))
				}
				if err == nil {
					res.Body.Close()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	before := sent.Load()
	start := time.Now()
	if err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatalf("this release's migrations: %v", err)
	}
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	t.Logf("migrations took %v; the previous edge answered %d redirects, %d during or after them", took, sent.Load(), sent.Load()-before)
	if failed.Load() > 0 {
		t.Fatalf("%d of %d redirects failed or changed; first: %v", failed.Load(), sent.Load(), firstFailure.Load())
	}
	if sent.Load()-before < 100 {
		t.Fatalf("only %d redirects during the migrations", sent.Load()-before)
	}
	var version int
	if err := conn.QueryRow(ctx, "SELECT version FROM schema_migrations").Scan(&version); err != nil || version < 8 {
		t.Fatalf("schema at %d (%v), want 8 or later", version, err)
	}
}
