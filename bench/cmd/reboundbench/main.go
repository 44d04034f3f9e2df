// Command reboundbench measures Rebound against a bare fasthttp server in
// one run and writes BENCHMARKS.md (SPEC section 7). It needs Postgres and
// Redis (DATABASE_URL, REDIS_URL) and the rebound binary; `make bench` sets
// all three up. It creates its own database and Redis key prefix, starts an
// origin, an edge (behind fault-injecting proxies to Postgres and Redis) and
// the bare server as child processes, and stops them when done.
//
//	reboundbench [-links 1000000] [-duration 8s] [-rounds 5] [-report BENCHMARKS.md]
//	reboundbench -serve-baseline ADDR -links N   (the bare server; used by the above)
//	reboundbench -drills RELIABILITY.md          (the reliability drills: make drills)
//	reboundbench -ab 'a=;b=VAR=value' [-ab-pick hot] [-ab-rate N]  (edge variants side by side; see ab.go)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/internal/faultproxy"
)

// benchPrefix is the Redis key prefix of a make bench run.
const benchPrefix = "rbbench:"

type benchRun struct {
	links    int
	duration time.Duration
	warmup   time.Duration
	conns    int
	rounds   int // how many times each comparison alternates the two servers
	rebound  string
	logDir   string
	token    string
	report   bench.Report

	baseAddr, edgeAddr, originAddr string
	edge, origin, baseline         *proc
	originBin                      []string // how to start the origin again
	originEnv                      []string
	benchDB                        string
	redisURL                       string // set once the run's key prefix is cleared
	pgProxy, redisProxy            *faultproxy.Proxy
	edgeBin                        []string // how to start the edge again
	edgeProxiedEnv                 []string // the edge's environment behind the proxies
	// accepted counts the redirects the edge answered, each a click it
	// accepted and must eventually store.
	accepted int64
}

func main() {
	links := flag.Int("links", 1_000_000, "links seeded (imported through the origin) and served")
	duration := flag.Duration("duration", 8*time.Second, "length of each measured run")
	warmup := flag.Duration("warmup", 2*time.Second, "uncounted run before each measured one")
	conns := flag.Int("conns", 64, "connections of the closed-loop scenarios")
	rounds := flag.Int("rounds", 5, "times each comparison alternates the bare server and the edge")
	rebound := flag.String("rebound", "bin/rebound", "the rebound binary")
	reportPath := flag.String("report", "BENCHMARKS.md", "Markdown report written")
	chartPath := flag.String("chart", "bench/latency.svg", "SVG latency chart written (linked from the report)")
	jsonPath := flag.String("json", "bench/results/latest.json", "raw results written")
	readmePath := flag.String("readme", "README.md", "file whose figures block (between the bench markers) is rewritten; empty for none")
	serveBaseline := flag.String("serve-baseline", "", "serve the bare fasthttp baseline on this address and do nothing else")
	drills := flag.String("drills", "", "run the reliability drills instead, and write this report (RELIABILITY.md)")
	ab := flag.String("ab", "", "compare edge variants instead, round by round, with CPU per request: 'name=VAR=value,...;name2=...'")
	ingest := flag.Int("ingest", 0, "measure instead how fast the origin stores this many queued clicks, and its CPU per click")
	abPick := flag.String("ab-pick", "uniform", "links the -ab load asks for: uniform (all links) or hot (the first 100)")
	abRate := flag.Float64("ab-rate", 0, "requests per second of the -ab load (open loop); 0 for a closed loop")
	flag.Parse()
	if *serveBaseline != "" {
		if err := runBaseline(*serveBaseline, *links); err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(1)
		}
		return
	}
	// A closed terminal or output pipe (SIGHUP, SIGPIPE: `reboundbench | head`)
	// stops the run like Ctrl-C, which stops what it started; by default
	// either would kill the benchmark and leave that running.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	defer stop()
	if err := os.MkdirAll(filepath.Dir(*jsonPath), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "reboundbench:", err)
		os.Exit(1)
	}
	logDir, err := freshProcLogDir(filepath.Dir(*jsonPath))
	if err != nil {
		fmt.Fprintln(os.Stderr, "reboundbench:", err)
		os.Exit(1)
	}
	if *ab != "" {
		if *abPick != "uniform" && *abPick != "hot" {
			fmt.Fprintf(os.Stderr, "reboundbench: -ab-pick %q is neither uniform nor hot\n", *abPick)
			os.Exit(2)
		}
		a := &abRun{rebound: *rebound, logDir: logDir, links: *links, conns: *conns, rounds: *rounds,
			warmup: *warmup, duration: *duration, hot: *abPick == "hot", rate: *abRate,
			prefix: abPrefix, out: os.Stdout}
		if err := a.run(ctx, *ab); err != nil {
			fmt.Fprintln(os.Stderr, "reboundbench ab:", err)
			os.Exit(1)
		}
		return
	}
	if *ingest > 0 {
		if err := runIngest(ctx, logDir, *rebound, *ingest, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "reboundbench ingest:", err)
			os.Exit(1)
		}
		return
	}
	if *drills != "" {
		if err := runDrills(ctx, logDir, *rebound, *drills); err != nil {
			fmt.Fprintln(os.Stderr, "reboundbench drills:", err)
			os.Exit(1)
		}
		return
	}
	b := &benchRun{links: *links, duration: *duration, warmup: *warmup, conns: *conns, rounds: max(1, *rounds), rebound: *rebound,
		logDir: logDir, token: "bench-" + strconv.FormatUint(rand.Uint64(), 36)}
	b.report.Command = "make bench"
	b.report.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	b.report.Machine = machine()
	if err := b.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "reboundbench:", err)
		os.Exit(1)
	}
	if err := b.write(*reportPath, *chartPath, *jsonPath, *readmePath); err != nil {
		fmt.Fprintln(os.Stderr, "reboundbench:", err)
		os.Exit(1)
	}
}

// procLogsDir is the folder, beside the raw results, that holds the logs of
// the processes a run starts. It is the bench's own: freshProcLogDir empties it,
// where emptying the results' folder itself would delete any *.log an
// operator keeps beside a -json path of their choosing (/tmp/x.json).
const procLogsDir = "reboundbench-logs"

// freshProcLogDir returns the process-log folder under resultsDir, created or
// emptied of the logs an earlier run left in it (they are appended to across
// restarts within a run).
func freshProcLogDir(resultsDir string) (string, error) {
	dir := filepath.Join(resultsDir, procLogsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("process-log folder: %w", err)
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		return "", fmt.Errorf("list earlier process logs: %w", err)
	}
	for _, l := range logs {
		if err := os.Remove(l); err != nil {
			return "", fmt.Errorf("remove an earlier process log: %w", err)
		}
	}
	return dir, nil
}

func runBaseline(addr string, links int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := bench.NewBaseline(links)
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		_ = srv.Close()
	}()
	return srv.Serve(ln)
}

func (b *benchRun) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func (b *benchRun) run(ctx context.Context) error {
	if err := os.MkdirAll(b.logDir, 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	defer b.stopAll()
	if err := b.startServices(ctx); err != nil {
		return err
	}
	if err := b.importLinks(ctx); err != nil {
		return err
	}
	b.createLinks(ctx)
	b.adminLists(ctx)
	b.analyticsStats(ctx)
	if err := b.addRules(ctx); err != nil {
		return err
	}
	if err := b.addDomainLinks(ctx); err != nil {
		return err
	}
	if err := b.startEdgeAndBaseline(ctx); err != nil {
		return err
	}
	// The edge alone: the origin, which moves clicks from the Redis stream
	// into Postgres, is stopped, so the edge does not share the machine's two
	// cores with Postgres inserting its clicks. The clicks wait in the stream;
	// the origin stores them once restarted, which is checked.
	b.origin.stop()
	b.edgeAlone(ctx)
	if err := b.restartOrigin(ctx); err != nil {
		return err
	}
	b.checkClicksStored(ctx, "after a graceful origin restart", true)
	b.wholeSystem(ctx)
	if err := b.moveEdgeBehindProxies(ctx); err != nil {
		return err
	}
	b.faultDrills(ctx)
	b.checkClicksStored(ctx, "at the end of the run", false)
	b.handlerAllocs(ctx)
	return ctx.Err()
}

// stopAll stops what the run started and drops its million Redis keys,
// which would otherwise hold the shared Redis's memory for a day (their
// TTL). The database stays until the next run recreates it.
func (b *benchRun) stopAll() {
	for _, p := range []*proc{b.edge, b.origin, b.baseline} {
		if p != nil {
			p.stop()
		}
	}
	if b.redisURL != "" {
		if err := clearPrefix(context.Background(), b.redisURL, benchPrefix); err != nil {
			b.logf("clear the run's Redis keys: %v", err)
		}
	}
	for _, p := range []*faultproxy.Proxy{b.pgProxy, b.redisProxy} {
		if p != nil {
			p.Close()
		}
	}
}

// startServices makes a fresh database and key prefix and the fault
// proxies the edge will sit behind for the drills, and starts the origin
// and the edge.
func (b *benchRun) startServices(ctx context.Context) error {
	dbURL, redisURL := os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL")
	if dbURL == "" || redisURL == "" {
		return fmt.Errorf("DATABASE_URL and REDIS_URL must be set (make bench sets them)")
	}
	benchDB, err := freshDatabase(ctx, dbURL, "rebound_bench")
	if err != nil {
		return err
	}
	if err := clearPrefix(ctx, redisURL, benchPrefix); err != nil {
		return err
	}
	b.redisURL = redisURL
	pgAddr, err := hostPort(benchDB, "5432")
	if err != nil {
		return err
	}
	redisAddr, err := hostPort(redisURL, "6379")
	if err != nil {
		return err
	}
	if b.pgProxy, err = faultproxy.New(pgAddr); err != nil {
		return err
	}
	if b.redisProxy, err = faultproxy.New(redisAddr); err != nil {
		return err
	}
	if b.originAddr, err = freeAddr(); err != nil {
		return err
	}
	if b.edgeAddr, err = freeAddr(); err != nil {
		return err
	}
	common := []string{"REBOUND_REDIS_PREFIX=" + benchPrefix, "REBOUND_LOG_LEVEL=warn", "REBOUND_API_TOKENS=" + b.token,
		"REBOUND_PUBLIC_URL=http://" + b.edgeAddr}
	b.benchDB = benchDB
	b.originBin = []string{"origin", "-env", ""}
	b.originEnv = append(common, "DATABASE_URL="+benchDB, "REDIS_URL="+redisURL, "REBOUND_ORIGIN_ADDR="+b.originAddr)
	if err := b.restartOrigin(ctx); err != nil {
		return err
	}
	// The limiter stays on, so its cost is measured, but never refuses: all
	// the load comes from one address.
	edgeCommon := append(common, "REBOUND_EDGE_ADDR="+b.edgeAddr, "REBOUND_RATE_LIMIT=1000000000", "REBOUND_RATE_BURST=1000000000")
	b.edgeProxiedEnv = append(slices.Clone(edgeCommon),
		"DATABASE_URL="+withHost(benchDB, b.pgProxy.Addr()), "REDIS_URL="+withHost(redisURL, b.redisProxy.Addr()))
	// The measured scenarios run the edge connected straight to Postgres and
	// Redis, as deployed: a proxy in the path would add its own copies and
	// round-trip time to every Redis batch.
	b.edgeBin = []string{"edge", "-env", ""}
	b.edge, err = startProc("edge", b.logDir, b.rebound, b.edgeBin, append(edgeCommon, "DATABASE_URL="+benchDB, "REDIS_URL="+redisURL)...)
	return err
}

// moveEdgeBehindProxies restarts the edge (a graceful stop, which flushes
// its clicks) so that it reaches Postgres and Redis only through the
// proxies, which the drills cut while the origin keeps its own connections.
func (b *benchRun) moveEdgeBehindProxies(ctx context.Context) (err error) {
	b.edge.stop()
	b.edge, err = startHealthy(ctx, "edge", b.logDir, b.rebound, b.edgeBin, b.edgeProxiedEnv, "http://"+b.edgeAddr+"/health")
	return err
}

// restartOrigin starts the origin and waits until it is healthy.
func (b *benchRun) restartOrigin(ctx context.Context) (err error) {
	b.origin, err = startHealthy(ctx, "origin", b.logDir, b.rebound, b.originBin, b.originEnv, "http://"+b.originAddr+"/health")
	return err
}

// checkClicksStored waits for the click backlog while storing progresses
// (clickStall without a click stored ends it) and for clickDrainLimit at
// most: the figure is about durability, and the drain time and rate are
// reported beside it. A fixed 5-minute wait ended with 4 of 20 million
// clicks still in the stream once the edge-alone scenarios grew to seven.
const (
	clickStall      = time.Minute
	clickDrainLimit = 20 * time.Minute
)

// checkClicksStored waits until Postgres holds a click
// for every redirect the edge answered, and records how long that took. A
// backlog still draining when the wait ends is counted again by the next
// check, which covers every click of the run.
func (b *benchRun) checkClicksStored(ctx context.Context, when string, ingest bool) {
	before, err := busyJiffies()
	storedBefore := b.stored(ctx)
	stored, took := waitClicksStored(ctx, b.benchDB, b.accepted, clickStall, clickDrainLimit)
	if after, err2 := busyJiffies(); ingest && err == nil && err2 == nil && storedBefore >= 0 && stored > storedBefore {
		// Nothing but the origin, Postgres and Redis works while the
		// backlog drains: the machine's busy CPU is what storing cost.
		n := stored - storedBefore
		b.info("Click ingest rate, origin and Postgres alone on the 2 cores", fmt.Sprintf("%.0f clicks/s (%d clicks in %.1f s)",
			float64(n)/took.Seconds(), n, took.Seconds()), "none")
		b.info("CPU per stored click (all processes, while the backlog drained)",
			fmt.Sprintf("%.1f µs", float64(after-before)*10_000/float64(n)), "none")
	}
	b.logf("clicks %s: %d accepted, %d stored, in %.1fs", when, b.accepted, stored, took.Seconds())
	measured := fmt.Sprintf("%d of %d accepted (%.1f s to drain the backlog)", stored, b.accepted, took.Seconds())
	if stored < b.accepted {
		measured = fmt.Sprintf("%d of %d accepted when the wait ended after %.1f s", stored, b.accepted, took.Seconds())
	}
	b.figure("Clicks stored "+when, measured, fmt.Sprintf("every accepted click, exactly once (waiting while storing progresses, %v at most)", clickDrainLimit),
		stored == b.accepted)
}

// importLinks seeds the links with one streamed CSV upload to the origin,
// which writes them to Postgres and through to Redis.
func (b *benchRun) importLinks(ctx context.Context) error {
	start := time.Now()
	// Every link carries one of 100 tags, as a campaign label would: each
	// tag names 1% of the links, which the admin-list scenario filters by.
	out, err := uploadLinks(ctx, b.originAddr, b.token, b.links, "short_code,original_url,tags", func(dst []byte, i int) []byte {
		dst = append(bench.AppendCode(dst, i), ',')
		dst = append(append(dst, bench.TargetURL(i)...), ",t"...)
		return append(strconv.AppendInt(dst, int64(i%benchTags), 10), '\n')
	}, nil)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	b.logf("imported %d links in %.1fs (%d skipped)", out.Imported, elapsed.Seconds(), out.Skipped)
	b.report.Singles = append(b.report.Singles, bench.Single{
		Name: "CSV import through the origin", Load: fmt.Sprintf("%d links, one text/csv upload", b.links),
		Result: bench.Result{Requests: 1, Seconds: elapsed.Seconds(), Status: map[int]int64{http.StatusOK: 1}},
		Extra: [][2]string{{"seconds", fmt.Sprintf("%.1f", elapsed.Seconds())},
			{"rows/s", fmt.Sprintf("%.0f", float64(out.Imported)/elapsed.Seconds())},
			{"imported", strconv.FormatInt(out.Imported, 10)}, {"skipped", strconv.FormatInt(out.Skipped, 10)}},
	})
	b.headline("1,000,000 links imported by CSV", fmt.Sprintf("%d in %.1f s", out.Imported, elapsed.Seconds()), "under 60 s",
		out.Imported == int64(b.links) && elapsed < time.Minute && b.links >= 1_000_000)
	return b.settle(ctx)
}

// settle vacuums and analyzes the fresh tables now, so that autovacuum does
// not wake up after the import and take CPU from whichever server is being
// measured at the time; then it has the kernel write back what the import
// left dirty in the page cache. Left to itself the kernel does that about
// 30 s after the writes (vm.dirty_expire_centisecs), which is when the
// create-link figure is measured: 146 MB written back within a second stalled
// every commit's WAL flush behind it (p99 223 and 385 ms in two runs of
// 2026-12-01; 5.32 and 10.72 ms in the two runs after this sync). The figure is the
// origin's steady state; docs/capacity.md says what an import costs the
// writes just after it.
func (b *benchRun) settle(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.benchDB)
	if err != nil {
		return fmt.Errorf("connect to the bench database: %w", err)
	}
	defer conn.Close(ctx)
	// url_search holds a row a link too (its search text, written by the
	// import): left to autovacuum, its vacuum and GIN cleanup ran in the
	// middle of the edge-alone scenarios.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) urls, events, url_search, url_search_pending"); err != nil {
		return fmt.Errorf("vacuum after import: %w", err)
	}
	// The import also leaves Postgres's shared buffers dirty, and the
	// checkpointer spreads their writes over minutes, during the
	// measurement (a likely mechanism: an insert that must evict a dirty
	// buffer writes it inside its commit). Checkpointing now takes that
	// out: the origin on the million-link table measured a create-link p99
	// of 9.0 and 10.0 ms, then 6.2 and 5.6 ms right after a CHECKPOINT
	// (2026-12-01). CHECKPOINT needs pg_checkpoint (granted by
	// scripts/services.sh) or a superuser; without it the figure is measured
	// anyway and the report says so.
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		b.logf("no checkpoint after the import: %v", err)
		b.report.Notes = append(b.report.Notes, fmt.Sprintf("no checkpoint after the import (%v): create-link was measured behind the import's dirty buffers", err))
	}
	syscall.Sync()
	return nil
}

// createLoad is POST /urls with a fresh generated link each time.
func (b *benchRun) createLoad(rate float64, d time.Duration) bench.Load {
	return bench.Load{
		Addr: b.originAddr, Conns: 32, Duration: d, Rate: rate, Method: "POST", Seed: 7,
		Header: map[string]string{"Authorization": "Bearer " + b.token},
		Pick:   func(*rand.Rand, []byte) ([]byte, int) { return []byte("/urls"), 0 },
		Body: func(rnd *rand.Rand, dst []byte) []byte {
			return fmt.Appendf(dst, `{"original_url":"https://example.com/new/%d"}`, rnd.Uint64())
		},
		OK: func(s int) bool { return s == http.StatusCreated },
	}
}

// benchTags is how many tags the seeded links share out.
const benchTags = 100

// adminLists measures the admin API's list, tag and search answers over the
// seeded links (SPEC 8: p99 under 50 ms with 1,000,000 links), each as 4
// connections asking as fast as they are answered, and GET /tags beside.
func (b *benchRun) adminLists(ctx context.Context) {
	auth := map[string]string{"Authorization": "Bearer " + b.token}
	ok := func(s int) bool { return s == http.StatusOK }
	for _, c := range []struct {
		name, load string
		path       func(rnd *rand.Rand) string
		target     bool // SPEC 8 sets the 50 ms target for it
	}{
		{"list, newest first", "GET /urls?page=P (P from 1 to 50)", func(rnd *rand.Rand) string {
			return fmt.Sprintf("/urls?page=%d", rnd.IntN(50)+1)
		}, true},
		{"list by tag", "GET /urls?tag=tN (1% of the links each)", func(rnd *rand.Rand) string {
			return fmt.Sprintf("/urls?tag=t%d", rnd.IntN(benchTags))
		}, true},
		{"search", "GET /urls?q=CODE (a link's code, 5 characters of it)", func(rnd *rand.Rand) string {
			return "/urls?q=" + bench.Code(rnd.IntN(b.links))[2:]
		}, true},
		{"search and tag, by clicks", "GET /urls?q=CODE&tag=tN&sort=-clicks", func(rnd *rand.Rand) string {
			i := rnd.IntN(b.links)
			return fmt.Sprintf("/urls?q=%s&tag=t%d&sort=-clicks", bench.Code(i)[2:], i%benchTags)
		}, true},
		{"search matching every link", "GET /urls?q=bench (in every seeded URL)", func(*rand.Rand) string {
			return "/urls?q=bench"
		}, false},
		{"tags", "GET /tags", func(*rand.Rand) string { return "/tags" }, false},
	} {
		res := bench.Run(ctx, bench.Load{
			Addr: b.originAddr, Conns: 4, Duration: 5 * time.Second, Header: auth, OK: ok, Seed: 11,
			Pick: func(rnd *rand.Rand, dst []byte) ([]byte, int) { return append(dst, c.path(rnd)...), 0 },
		})
		b.logf("admin %s: p99 %.2f ms, %d failed", c.name, res.P99, res.FailedTotal())
		b.report.Singles = append(b.report.Singles, bench.Single{Name: "admin " + c.name, Load: c.load + ", 4 connections, 5 s", Result: res})
		measured := fmt.Sprintf("%.2f ms (%d failed)", res.P99, res.FailedTotal())
		name := fmt.Sprintf("Admin %s over %d links, p99", c.name, b.links)
		if c.target {
			b.figure(name, measured, "under 50 ms", res.P99 < 50 && res.FailedTotal() == 0 && res.Requests > 0)
		} else {
			b.info(name, measured, "none")
		}
	}
}

func (b *benchRun) createLinks(ctx context.Context) {
	// Warmed up like every other scenario; the warm-up's own p99, the first
	// seconds of writes after the import, is reported beside the figure.
	warm := bench.Run(ctx, b.createLoad(500, b.warmup))
	res := bench.Run(ctx, b.createLoad(500, 5*time.Second))
	b.logf("create-link at 500/s: p99 %.2f ms, %d failed (warm-up p99 %.2f ms)", res.P99, res.FailedTotal(), warm.P99)
	b.info("Create-link p99 at 500/s in the warm-up just before", fmt.Sprintf("%.2f ms (%d failed)", warm.P99, warm.FailedTotal()), "none")
	b.report.Singles = append(b.report.Singles, bench.Single{Name: "create link (origin)", Load: "POST /urls, open loop at 500/s, 5 s", Result: res})
	b.headline("Create-link p99 at 500/s", fmt.Sprintf("%.2f ms (%d failed)", res.P99, res.FailedTotal()), "under 20 ms",
		res.P99 < 20 && res.FailedTotal() == 0)
}

func (b *benchRun) startEdgeAndBaseline(ctx context.Context) error {
	if err := waitHealthy(ctx, b.edge, "http://"+b.edgeAddr+"/health"); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	base, err := startProc("baseline", b.logDir, self, []string{"-serve-baseline", addr, "-links", strconv.Itoa(b.links)})
	if err != nil {
		return err
	}
	b.baseline, b.baseAddr = base, addr
	return waitPort(addr, 30*time.Second)
}

// redirectLoad is a closed-loop load of browser-like requests.
func (b *benchRun) redirectLoad(pick bench.Picker) bench.Load {
	return bench.Load{Conns: b.conns, Duration: b.duration, Seed: 1, Pick: pick, Header: browserHeaders}
}

// browserHeaders are sent with every redirect request, to the baseline and
// the edge alike, so the edge's click recording sees what a browser sends.
var browserHeaders = map[string]string{
	"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Referer":    "https://news.example.org/item?id=42",
}

func (b *benchRun) edgeAlone(ctx context.Context) {
	hot := b.compare(ctx, "hot links", fmt.Sprintf("%d links, %d connections, closed loop; click storage deferred", hotLinks, b.conns),
		b.redirectLoad(pickHot))
	b.headline("Hot-link redirects vs bare fasthttp (edge alone, clicks stored after)", fmt.Sprintf("%.2fx", hot.Ratio()), "at least 0.9x", hot.Ratio() >= 0.9)

	b.domainsAndPasswords(ctx, hot)

	ruled := b.redirectLoad(pickRuled)
	ruled.Decorate = decorateVisitor
	rc := b.compare(ctx, "hot links with 3 rules", fmt.Sprintf("%d other links with rules on device, language and query each; 4 browsers, 4 languages, 1 in 4 with the query; %d connections, closed loop", hotLinks, b.conns), ruled)
	b.headline("Hot links with three rules each vs bare fasthttp (edge alone)", fmt.Sprintf("%.2fx", rc.Ratio()), "at least 0.85x", rc.Ratio() >= 0.85)

	// Half the peak, open loop, on fewer connections: 64 sleeping senders on
	// two cores add their own scheduling delay to every figure.
	half := b.redirectLoad(pickHot)
	half.Conns, half.Rate = 16, hot.Edge.RPS/2
	hc := b.compare(ctx, "half of peak rate", fmt.Sprintf("hot links, 16 connections, open loop at %.0f req/s", half.Rate), half)
	// SPEC 7 states this figure against the bare server's p99 in the same
	// run: an absolute figure on two shared cores measures the machine.
	b.headline("p99 at half the peak rate, edge over bare server", fmt.Sprintf("%+.2f ms (edge %.2f ms, bare server %.2f ms; load generator's own pacing delay p99: %.2f ms in the edge's run, %.2f ms in the bare server's)",
		hc.Edge.P99-hc.Base.P99, hc.Edge.P99, hc.Base.P99, hc.Edge.WakeLateP99, hc.Base.WakeLateP99), "at most +0.5 ms", hc.Edge.P99 <= hc.Base.P99+0.5)

	uni := b.compare(ctx, "uniform random", fmt.Sprintf("%d links, %d connections, closed loop; click storage deferred", b.links, b.conns),
		b.redirectLoad(pickUniform(b.links)))
	b.headline("Uniform-random redirects vs bare fasthttp (edge alone, clicks stored after)", fmt.Sprintf("%.2fx", uni.Ratio()), "at least 0.6x", uni.Ratio() >= 0.6)
	if rss, err := b.edge.peakRSS(); err == nil {
		b.headline("Edge memory (peak RSS) serving 1,000,000 links", fmt.Sprintf("%.0f MB", float64(rss)/1e6), "under 300 MB",
			rss < 300e6 && b.links >= 1_000_000)
	}
}

func (b *benchRun) wholeSystem(ctx context.Context) {
	hot := b.compare(ctx, "hot links, clicks stored live", "as hot links, with the origin storing clicks in Postgres on the same 2 cores",
		b.redirectLoad(pickHot))
	b.figure("Hot-link redirects vs bare fasthttp, clicks stored live on the same 2 cores", fmt.Sprintf("%.2fx", hot.Ratio()), "at least 0.8x",
		hot.Ratio() >= 0.8)
	uni := b.compare(ctx, "uniform, clicks stored live", "as uniform random, with the origin storing clicks on the same 2 cores",
		b.redirectLoad(pickUniform(b.links)))
	b.info("Uniform-random redirects vs bare fasthttp, click storage on the same 2 cores", fmt.Sprintf("%.2fx", uni.Ratio()), "none")

	// Mixed: 90% hot links, 10% any link, while the origin creates links.
	writes := make(chan bench.Result, 1)
	mixed := b.redirectLoad(pickMix(b.links))
	c := bench.Comparison{Name: "mixed with admin writes", Load: fmt.Sprintf("90%% hot / 10%% any link, %d connections; edge run also has 100 creates/s at the origin", b.conns)}
	mixed.Addr = b.baseAddr
	c.Base = bench.Run(ctx, mixed)
	mixed.Addr = b.edgeAddr
	go func() { writes <- bench.Run(ctx, b.createLoad(100, b.duration)) }()
	c.Edge = b.runEdge(ctx, mixed)
	w := <-writes
	b.logf("%-30s baseline %8.0f req/s | edge %8.0f req/s | ratio %.2fx | writes p99 %.2f ms", c.Name, c.Base.RPS, c.Edge.RPS, c.Ratio(), w.P99)
	b.report.Comparisons = append(b.report.Comparisons, c)
	b.report.Singles = append(b.report.Singles, bench.Single{Name: "admin writes during mixed load", Load: "POST /urls at 100/s beside the mixed redirects", Result: w})

	// Spike: 16 steady connections, and 240 more through the middle third.
	spike := b.redirectLoad(pickMix(b.links))
	spike.Conns, spike.Duration = 16, 9*time.Second
	sc := bench.Comparison{Name: "spike", Load: "mixed links, 16 connections, +240 for the middle 3 s"}
	sc.Base = b.spike(ctx, b.baseAddr, spike, 240)
	sc.Edge = b.spike(ctx, b.edgeAddr, spike, 240)
	b.count(sc.Edge)
	b.logf("%-30s baseline %8.0f req/s p99 %6.2f ms | edge %8.0f req/s p99 %6.2f ms | edge failed %d", sc.Name,
		sc.Base.RPS, sc.Base.P99, sc.Edge.RPS, sc.Edge.P99, sc.Edge.FailedTotal())
	b.report.Comparisons = append(b.report.Comparisons, sc)
}

// runEdge runs a load against the edge and counts the clicks it accepted.
func (b *benchRun) runEdge(ctx context.Context, l bench.Load) bench.Result {
	l.Addr = b.edgeAddr
	r := bench.Run(ctx, l)
	b.count(r)
	return r
}

func (b *benchRun) count(r bench.Result) { b.accepted += redirects(r) }

// faultDrills runs the hot, uniform and mixed scenarios with the edge's
// Postgres connections cut, then with its Redis connections cut, each for
// 4 s in the middle of a 12 s run. Every link is in Redis; the hot ones are
// also in the edge's process (class 0), the others mostly not (class 1).
func (b *benchRun) faultDrills(ctx context.Context) {
	scenarios := []struct {
		name string
		pick bench.Picker
	}{
		{"hot links", pickHot},
		{"uniform random", pickClassed(b.links)},
		{"mixed", pickMix(b.links)},
	}
	faults := []struct {
		dep   string
		proxy *faultproxy.Proxy
	}{{"postgres", b.pgProxy}, {"redis", b.redisProxy}}
	for _, f := range faults {
		var failed, failedHot, sent, sentHot int64
		worst := time.Duration(0)
		for _, sc := range scenarios {
			l := b.redirectLoad(sc.pick)
			l.Duration, l.Seed = 12*time.Second, 3
			s, back := b.drill(ctx, fmt.Sprintf("%s, %s cut", sc.name, f.dep),
				fmt.Sprintf("%s, %d connections; the edge's %s connections cut for 4 s", sc.name, b.conns, f.dep),
				f.dep, l, f.proxy, 4*time.Second)
			failed, failedHot = failed+s.Result.FailedTotal(), failedHot+s.Result.Failed[0]
			sent, sentHot = sent+s.Result.Requests, sentHot+s.Result.Sent[0]
			if back < 0 || worst < 0 {
				worst = -1
			} else {
				worst = max(worst, back)
			}
		}
		pct := 100 * float64(failed) / float64(max(1, sent))
		if f.dep == "postgres" {
			b.headline("Postgres cut under load: failed redirects (every link is cached in Redis; hot ones also in process)",
				fmt.Sprintf("%d of %d (hot: %d of %d)", failed, sent, failedHot, sentHot), "zero", failed == 0)
			b.figure("Postgres cut: edge sees Postgres again after it returns (worst of 3)", formatDuration(worst), "without a restart", worst >= 0)
			continue
		}
		b.headline("Redis cut under load: failed redirects", fmt.Sprintf("%.3f%% (%d of %d)", pct, failed, sent), "under 1%", pct < 1)
		b.figure("Redis cut: edge uses Redis again after it returns (worst of 3)", formatDuration(worst), "within 5 s, without a restart",
			worst >= 0 && worst <= 5*time.Second)
	}
}

// handlerAllocs runs the edge's handler benchmark and reads its allocs/op.
func (b *benchRun) handlerAllocs(ctx context.Context) {
	out, err := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkCachedRedirect$",
		"-benchmem", "-benchtime", "200000x", "./edge/").CombinedOutput()
	m := regexp.MustCompile(`BenchmarkCachedRedirect\S*\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op`).FindSubmatch(out)
	if err != nil || m == nil {
		b.report.Notes = append(b.report.Notes, fmt.Sprintf("handler benchmark did not run: %v", err))
		return
	}
	b.headline("Allocations per cached redirect (handler benchmark)", fmt.Sprintf("%s allocs/op, %s ns/op", m[3], m[1]), "zero", string(m[3]) == "0")
}

func (b *benchRun) figure(name, measured, target string, met bool) {
	b.report.Figures = append(b.report.Figures, bench.Figure{Name: name, Measured: measured, Target: target, Met: met})
}

// headline records a figure that the README's short table shows too.
func (b *benchRun) headline(name, measured, target string, met bool) {
	b.report.Figures = append(b.report.Figures, bench.Figure{Name: name, Measured: measured, Target: target, Met: met, Headline: true})
}

// info records a figure SPEC sets no target for.
func (b *benchRun) info(name, measured, target string) {
	b.report.Figures = append(b.report.Figures, bench.Figure{Name: name, Measured: measured, Target: target, Informational: true})
}

// The lines between which the README carries the figures of the last run.
const (
	readmeStart = "<!-- bench:figures:start (written by make bench) -->"
	readmeEnd   = "<!-- bench:figures:end -->"
)

func (b *benchRun) write(reportPath, chartPath, jsonPath, readmePath string) error {
	b.report.Notes = append(b.report.Notes,
		"The load generator (bench.Run, on fasthttp's HostClient) runs on the same 2 cores as the server it measures, for the baseline and the edge alike; ratios, not absolute rates, are the claim.",
		"The edge runs as its own process with the rate limiter on but set to never refuse (all load comes from one address). It connects straight to Postgres and Redis for the edge-against-bare-server scenarios; for the fault drills it is restarted behind TCP proxies to them, which the drills cut. Every redirect request carries a browser User-Agent and a Referer, for the bare server too.",
		"Rows marked click storage deferred ran with the origin stopped: the edge queued each click in the Redis stream, and the restarted origin stored them afterwards (see the clicks-stored figures). The rows marked clicks stored live had the origin and Postgres inserting every click as a row and a click event on the same two cores as the edge, the load generator and the bare server.",
		"Drill recovery: 'ok again after' is the time from the proxy letting traffic through again until the edge's /health reports the dependency ok (polled every 50 ms). 'Throughput back within' counts whole seconds of the run until one with no failure and 90% of the throughput before the fault; on this shared box the edge also pushes its click backlog then.",
		"Open-loop latency counts from when a request was due, so it includes how late the load generator sent it. One goroutine releases the requests as they fall due, waiting on a timerfd at least 100 µs at a time, to the first free connection (before the fifth session of 2026-12-01 each connection paced itself with a Go sleep, which can last a whole millisecond when shorter than one); the half-peak figure gives the p99 of that delay, from due to sent, beside it.",
		fmt.Sprintf("Raw results: %s; logs of the processes the run started: %s.", jsonPath, b.logDir))
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{
		{reportPath, func(w io.Writer) error { return b.report.WriteMarkdown(w, chartPath) }},
		{chartPath, b.report.WriteSVG},
		{jsonPath, func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			return e.Encode(b.report)
		}},
	} {
		fh, err := os.Create(f.path)
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		err = f.write(fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	b.logf("wrote %s, %s and %s", reportPath, chartPath, jsonPath)
	if readmePath == "" {
		return nil
	}
	doc, err := os.ReadFile(readmePath)
	if err != nil {
		return fmt.Errorf("read %s: %w", readmePath, err)
	}
	var figures strings.Builder
	_ = b.report.WriteFigures(&figures)
	out, ok := bench.ReplaceBetween(string(doc), readmeStart, readmeEnd, figures.String())
	if !ok {
		return fmt.Errorf("%s has no %q ... %q block", readmePath, readmeStart, readmeEnd)
	}
	if err := os.WriteFile(readmePath, []byte(out), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", readmePath, err)
	}
	b.logf("updated the figures in %s", readmePath)
	return nil
}

func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(raw); m != nil {
			model = strings.TrimSpace(string(m[1]))
		}
	}
	return fmt.Sprintf("%d cores (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
