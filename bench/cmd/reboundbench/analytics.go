package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/bench"
)

// statsClicks is the click history the stats scenario queries: this many
// clicks over statsDays days, on one link and over every link.
const (
	statsClicks = 10_000_000
	statsDays   = 30
)

// statsKeys is the keys each dimension's clicks spread over in the seeded
// history: as many referrers, countries and campaigns as a busy link's
// month shows, and the keys the fixed dimensions have.
var statsKeys = map[rebound.Dimension][]string{
	rebound.DimReferrer: keys("ref", 50), rebound.DimCountry: keys("C", 40),
	rebound.DimDevice:  {"desktop", "mobile", "tablet", "other"},
	rebound.DimBrowser: {"chrome", "firefox", "safari", "edge", "opera", "other"},
	rebound.DimOS:      {"ios", "android", "windows", "macos", "linux", "chromeos", "other"},
	rebound.DimRule:    {rebound.KeyDefault, "0", "1"}, rebound.DimUTMSource: keys("source", 20),
	rebound.DimUTMMedium: keys("medium", 5), rebound.DimUTMCampaign: keys("campaign", 30),
	rebound.DimBot: {"true", "false"}, rebound.DimTrigger: {"link", "qr"},
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// seedClickHistory writes the rollups that statsClicks clicks over the
// last statsDays days make, for link and for every link (url_id 0), as the
// click consumer would have written them: each hour's clicks, split evenly
// over each dimension's keys. Storing ten million raw clicks
// through the consumer would take minutes of the run; the stats read the
// rollups only.
func seedClickHistory(ctx context.Context, dbURL string, link int64) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect to seed click history: %w", err)
	}
	defer conn.Close(ctx)
	var dims []string
	for d, ks := range statsKeys {
		dims = append(dims, fmt.Sprintf("(%d, ARRAY['%s'])", d, strings.Join(ks, "','")))
	}
	const hours = statsDays * 24
	_, err = conn.Exec(ctx, `
		WITH per AS (
			SELECT h AS hour, $2::bigint / $3 + CASE WHEN row_number() OVER (ORDER BY h) <= $2::bigint % $3 THEN 1 ELSE 0 END AS n
			FROM generate_series(date_trunc('hour', now(), 'UTC') - ($3 - 1) * interval '1 hour', date_trunc('hour', now(), 'UTC'), interval '1 hour') AS h
		), dims(dim, keys) AS (VALUES `+strings.Join(dims, ", ")+`)
		INSERT INTO click_rollups AS r (url_id, dim, hour, key, clicks)
		SELECT u, 0, hour, '', n FROM per, unnest(ARRAY[$1::bigint, 0]) AS u
		UNION ALL
		SELECT 0, dim, hour, keys[i + 1], n / cardinality(keys) + CASE WHEN i < n % cardinality(keys) THEN 1 ELSE 0 END
		FROM per, dims, generate_series(0, cardinality(keys) - 1) AS i
		ON CONFLICT (url_id, dim, hour, key) DO UPDATE SET clicks = r.clicks + EXCLUDED.clicks`, link, statsClicks, hours)
	if err != nil {
		return fmt.Errorf("seed click history: %w", err)
	}
	// The run has stored no click yet: the daily rollups of the link and of
	// every link are the seeded hours of every link, summed.
	_, err = conn.Exec(ctx, `INSERT INTO click_rollups_daily (url_id, dim, day, key, clicks)
		SELECT u, dim, date_trunc('day', hour, 'UTC'), key, sum(clicks) FROM click_rollups, unnest(ARRAY[$1::bigint, 0]) AS u
		WHERE url_id = 0 GROUP BY 1, 2, 3, 4`, link)
	if err != nil {
		return fmt.Errorf("seed daily click history: %w", err)
	}
	_, err = conn.Exec(ctx, "VACUUM (ANALYZE) click_rollups, click_rollups_daily")
	return err
}

// analyticsStats measures the stats of SPEC 11 over a seeded history of
// ten million clicks: one link's, and every link's (GET /stats).
func (b *benchRun) analyticsStats(ctx context.Context) {
	const link = 1 // the first imported link
	start := time.Now()
	if err := seedClickHistory(ctx, b.benchDB, link); err != nil {
		b.logf("%v", err)
		b.figure("Stats over 10,000,000 clicks for 30 days with a group_by, p99", "not measured: "+err.Error(), "under 50 ms", false)
		return
	}
	b.logf("seeded the rollups of %d clicks in %.1fs", statsClicks, time.Since(start).Seconds())
	var names []string
	for d := range statsKeys {
		names = append(names, d.String())
	}
	auth := map[string]string{"Authorization": "Bearer " + b.token}
	for _, c := range []struct{ name, path string }{
		{"one link's", fmt.Sprintf("/urls/%d/stats", link)},
		{"every link's (GET /stats)", "/stats"},
	} {
		res := bench.Run(ctx, bench.Load{
			Addr: b.originAddr, Conns: 4, Duration: 5 * time.Second, Header: auth, Seed: 13,
			OK: func(s int) bool { return s == http.StatusOK },
			Pick: func(rnd *rand.Rand, dst []byte) ([]byte, int) {
				return append(dst, c.path+"?group_by="+names[rnd.IntN(len(names))]...), 0
			},
		})
		b.logf("stats, %s: p99 %.2f ms, %d failed", c.name, res.P99, res.FailedTotal())
		b.report.Singles = append(b.report.Singles, bench.Single{Name: "stats, " + c.name,
			Load:   fmt.Sprintf("GET %s?group_by=DIM (one of the 11 dimensions at random), last 30 days, daily series; %d clicks in the rollups; 4 connections, 5 s", c.path, statsClicks),
			Result: res})
		b.figure(fmt.Sprintf("Stats of %s 10,000,000 clicks over 30 days with a group_by, p99", strings.TrimSuffix(c.name, " (GET /stats)")),
			fmt.Sprintf("%.2f ms (%d failed)", res.P99, res.FailedTotal()), "under 50 ms",
			res.P99 < 50 && res.FailedTotal() == 0 && res.Requests > 0)
	}
}

// busyJiffies reads the CPU time the machine spent on anything but idling
// and waiting for I/O, in clock ticks (USER_HZ, 100 a second on Linux).
func busyJiffies() (int64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		return 0, fmt.Errorf("read cpu time: empty /proc/stat")
	}
	fields := strings.Fields(s.Text()) // cpu user nice system idle iowait irq softirq steal ...
	var busy int64
	for i, v := range fields[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu time: %q", s.Text())
		}
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait, not guest time (counted in user)
			busy += n
		}
	}
	return busy, nil
}

// stored is the number of clicks Postgres holds; -1 when it cannot tell.
func (b *benchRun) stored(ctx context.Context) int64 {
	conn, err := pgx.Connect(ctx, b.benchDB)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT COALESCE(sum(clicks), 0) FROM url_click_daily`).Scan(&n); err != nil {
		return -1
	}
	return n
}
