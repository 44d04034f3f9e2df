package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/cache"
)

// ingestPrefix is the Redis key prefix of the -ingest measurement.
const ingestPrefix = "rbingest:"

// runIngest measures what storing clicks costs an origin binary: it queues
// n clicks of 100 links in the click stream of a fresh database, starts
// the origin, and reports how fast it stored them and the machine's CPU
// per click meanwhile. Run it with two binaries (-rebound) to compare
// releases on the same machine.
func runIngest(ctx context.Context, logDir, bin string, n int, out io.Writer) error {
	dbURL, redisURL := os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL")
	if dbURL == "" || redisURL == "" {
		return fmt.Errorf("DATABASE_URL and REDIS_URL must be set (make ingest sets them)")
	}
	db, err := freshDatabase(ctx, dbURL, "rebound_ingest")
	if err != nil {
		return err
	}
	if err := clearPrefix(ctx, redisURL, ingestPrefix); err != nil {
		return err
	}
	defer func() { _ = clearPrefix(context.Background(), redisURL, ingestPrefix) }()
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	const token = "ingest-token"
	env := []string{"DATABASE_URL=" + db, "REDIS_URL=" + redisURL, "REBOUND_ORIGIN_ADDR=" + addr, "REBOUND_REDIS_PREFIX=" + ingestPrefix,
		"REBOUND_API_TOKENS=" + token, "REBOUND_LOG_LEVEL=warn"}
	origin, err := startHealthy(ctx, "origin", logDir, bin, []string{"origin", "-env", ""}, env, "http://"+addr+"/health")
	if err != nil {
		return err
	}
	const links = 100
	if _, err := uploadLinks(ctx, addr, token, links, "short_code,original_url", func(dst []byte, i int) []byte {
		dst = append(bench.AppendCode(dst, i), ',')
		return append(append(dst, bench.TargetURL(i)...), '\n')
	}, nil); err != nil {
		origin.stop()
		return err
	}
	origin.stop()
	rdb, err := cache.Dial(redisURL, nil)
	if err != nil {
		return err
	}
	defer rdb.Close()
	c := cache.New(rdb, cache.Options{Prefix: ingestPrefix})
	devices := []string{"desktop", "mobile", "tablet", "other"}
	batch := make([]rebound.Click, 0, 1000)
	at := time.Now().UTC()
	for i := range n {
		batch = append(batch, rebound.Click{EdgeID: 1, Seq: int64(i + 1), LinkID: int64(i%links + 1), At: at.Add(time.Duration(i) * time.Microsecond),
			Referrer: "news.example", Bot: i%10 == 0, Rule: -1, Device: devices[i%4], OS: "ios", Browser: "safari", Country: "DE"})
		if len(batch) == cap(batch) || i == n-1 {
			if err := c.AddClicks(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	before, err := busyJiffies()
	if err != nil {
		return err
	}
	start := time.Now()
	origin, err = startProc("origin", logDir, bin, []string{"origin", "-env", ""}, env...)
	if err != nil {
		return err
	}
	defer origin.stop()
	// The time counts from the origin's start: storing includes starting.
	stored, _ := waitClicksStored(ctx, db, int64(n), time.Minute, 20*time.Minute)
	originCPU, _ := cpuTime(origin.cmd.Process.Pid)
	after, err := busyJiffies()
	if err != nil {
		return err
	}
	took := time.Since(start)
	perClick := func(d float64) float64 { return d / float64(max(stored, 1)) }
	fmt.Fprintf(out, "%s: %d of %d clicks stored in %.1f s: %.0f clicks/s, %.1f µs of CPU (all processes) per click, %.1f µs of it the origin's\n",
		bin, stored, n, took.Seconds(), float64(stored)/took.Seconds(), perClick(float64(after-before)*10_000),
		perClick(float64(originCPU.Microseconds())))
	return nil
}
