package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

// dimensionKeys is, for each dimension a click is grouped by, the SQL that
// gives a click's key from the columns of clicks: rollups store these keys,
// and the raw-click queries group and filter by the same expressions, so
// both answer alike. "" in a column is the dimension's "none".
var dimensionKeys = map[rebound.Dimension]string{
	rebound.DimTotal:       "''",
	rebound.DimReferrer:    "CASE WHEN referrer = '' THEN '" + rebound.KeyDirect + "' ELSE referrer END",
	rebound.DimCountry:     "CASE WHEN country = '' THEN '" + rebound.KeyUnknown + "' ELSE country END",
	rebound.DimDevice:      "CASE WHEN device = '' THEN '" + rebound.KeyUnknown + "' ELSE device END",
	rebound.DimBrowser:     "CASE WHEN browser = '' THEN '" + rebound.KeyUnknown + "' ELSE browser END",
	rebound.DimOS:          "CASE WHEN os = '' THEN '" + rebound.KeyUnknown + "' ELSE os END",
	rebound.DimRule:        "CASE WHEN rule < 0 THEN '" + rebound.KeyDefault + "' ELSE rule::text END",
	rebound.DimUTMSource:   "CASE WHEN utm_source = '' THEN '" + rebound.KeyNone + "' ELSE utm_source END",
	rebound.DimUTMMedium:   "CASE WHEN utm_medium = '' THEN '" + rebound.KeyNone + "' ELSE utm_medium END",
	rebound.DimUTMCampaign: "CASE WHEN utm_campaign = '' THEN '" + rebound.KeyNone + "' ELSE utm_campaign END",
	rebound.DimBot:         "bot::text",
	rebound.DimTrigger:     "CASE WHEN qr THEN 'qr' ELSE 'link' END",
	rebound.DimLink:        "url_id::text",
}

// recordClicksSQL is built once: the rollup part lists every dimension.
var recordClicksSQL = func() string {
	var dims []string
	for _, d := range rebound.Dimensions {
		dims = append(dims, fmt.Sprintf("(%d::smallint, %s)", d, dimensionKeys[d]))
	}
	return `
		WITH t AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::boolean[],
				$7::smallint[], $8::boolean[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
			AS t(edge_id, seq, url_id, at, referrer, bot, rule, qr, country, device, browser, os, utm_source, utm_medium, utm_campaign)
		), ins AS (
			INSERT INTO clicks (edge_id, seq, url_id, at, event_id, user_id, rule, bot, qr, referrer, country, device, browser, os,
				utm_source, utm_medium, utm_campaign)
			SELECT t.edge_id, t.seq, t.url_id, t.at, CASE WHEN $17 THEN nextval('events_id_seq') END, u.user_id, t.rule, t.bot, t.qr,
				t.referrer, t.country, t.device, t.browser, t.os, t.utm_source, t.utm_medium, t.utm_campaign
			FROM t JOIN urls u ON u.id = t.url_id
			ORDER BY t.edge_id, t.seq
			ON CONFLICT DO NOTHING
			RETURNING url_id, at, rule, bot, qr, referrer, country, device, browser, os, utm_source, utm_medium, utm_campaign
		), cube AS (
			SELECT url_id, date_trunc('hour', at, 'UTC') AS hour, rule, bot, qr, referrer, country, device, browser, os,
				utm_source, utm_medium, utm_campaign, count(*) AS n
			FROM ins GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
		), rolled AS (
			INSERT INTO click_rollups AS r (url_id, dim, hour, key, clicks)
			SELECT l.u, x.d, cube.hour, x.k, sum(cube.n) FROM cube
			CROSS JOIN LATERAL (VALUES (cube.url_id), (0::bigint)) AS l(u)
			CROSS JOIN LATERAL (VALUES ` + strings.Join(dims, ", ") + `) AS x(d, k)
			WHERE ($16::bigint >> x.d) & 1 = 1 AND (l.u = 0 OR x.d = 0)
			GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
			ON CONFLICT (url_id, dim, hour, key) DO UPDATE SET clicks = r.clicks + EXCLUDED.clicks
		), rolled_daily AS (
			INSERT INTO click_rollups_daily AS r (url_id, dim, day, key, clicks)
			SELECT l.u, x.d, date_trunc('day', cube.hour, 'UTC'), x.k, sum(cube.n) FROM cube
			CROSS JOIN LATERAL (VALUES (cube.url_id), (0::bigint)) AS l(u)
			CROSS JOIN LATERAL (VALUES ` + strings.Join(dims, ", ") + `) AS x(d, k)
			WHERE ($16::bigint >> x.d) & 1 = 1
			GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
			ON CONFLICT (url_id, dim, day, key) DO UPDATE SET clicks = r.clicks + EXCLUDED.clicks
		), linked AS (
			SELECT cube.n, u.tags FROM cube JOIN urls u ON u.id = cube.url_id
		), daily AS (
			INSERT INTO url_click_daily AS d (url_id, day, clicks, bots)
			SELECT url_id, (hour AT TIME ZONE 'UTC')::date, sum(n), coalesce(sum(n) FILTER (WHERE bot), 0)
			FROM cube GROUP BY 1, 2 ORDER BY 1, 2
			ON CONFLICT (url_id, day) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks, bots = d.bots + EXCLUDED.bots
		), tagged AS (
			INSERT INTO tag_counts AS tc (tag, clicks)
			SELECT tag, sum(n) FROM linked CROSS JOIN LATERAL unnest(linked.tags) AS tag
			GROUP BY 1 ORDER BY 1
			ON CONFLICT (tag) DO UPDATE SET clicks = tc.clicks + EXCLUDED.clicks
		)
		SELECT count(*) FROM ins`
}()

// RecordClicks stores a batch of clicks, in statements of up to recordChunk
// clicks, each writing the click rows
// (each with the id of its click event, unless tracking is off), their
// rollups (by the hour: each link's total, and every link's per dimension;
// by the day: per link and dimension, and every link's), the daily counters
// and the per-tag clicks. A click already stored (same edge,
// sequence and time) is skipped, so redelivering a batch counts nothing
// twice; the rollups add only what was inserted, so they always sum to the
// clicks stored; a batch cut short by a failure is stored whole when it
// is delivered again. Clicks of links deleted meanwhile are dropped. What the
// tracking level does not keep is blanked first. It returns the number of
// clicks newly stored.
//
// Rows are written in key order (clicks by edge and sequence, counters by
// link and day or hour, tags by name): batches written at once by several
// origins, or by an edge while Redis is down, touch the same counter rows,
// and taking their locks in whatever order the aggregate produced
// deadlocked them.
func (db *DB) RecordClicks(ctx context.Context, clicks []rebound.Click) (int64, error) {
	var stored int64
	for len(clicks) > 0 {
		chunk := clicks[:min(len(clicks), recordChunk)]
		clicks = clicks[len(chunk):]
		n, err := db.recordChunk(ctx, chunk)
		if err != nil {
			return stored, err
		}
		stored += n
	}
	return stored, nil
}

// recordChunk is the most clicks one statement stores, and
// recordTimeout how long it may take. A click of a link with few clicks
// adds about fifteen rollup rows (its link's per dimension and day, and its
// link's and every link's hour): an origin's batch of 100,000 clicks of a
// million links took longer than the store's 5 s statement timeout, and
// the origin retried it for ever. Statements of 5,000 clicks instead cost
// hot links more CPU a click (make ingest, same tree: 21.4 µs in one run,
// against 15.8 to 18.2 µs in three as one statement), each statement
// updating the same rollup rows again; so a batch stays one
// statement, with time to finish.
const (
	recordChunk   = 100_000
	recordTimeout = 2 * time.Minute
)

func (db *DB) recordChunk(ctx context.Context, clicks []rebound.Click) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	n := len(clicks)
	edge, seq, link := make([]int64, n), make([]int64, n), make([]int64, n)
	at := make([]time.Time, n)
	bot, qr := make([]bool, n), make([]bool, n)
	rule := make([]int16, n)
	var text [10][]string
	for i := range text {
		text[i] = make([]string, n)
	}
	days := map[time.Time]bool{}
	for i, c := range clicks {
		db.tracking.Strip(&c)
		edge[i], seq[i], link[i], at[i], bot[i], rule[i], qr[i] = c.EdgeID, c.Seq, c.LinkID, c.At, c.Bot, int16(c.Rule), c.QR
		for j, v := range [...]string{c.Referrer, c.Country, c.Device, c.Browser, c.OS, c.UTMSource, c.UTMMedium, c.UTMCampaign} {
			text[j][i] = v
		}
		days[dayOf(c.At)] = true
	}
	if err := db.partitions.ensure(ctx, db, days); err != nil {
		return 0, err
	}
	var mask int64
	for _, d := range rebound.Dimensions {
		if db.tracking.Rolled(d) {
			mask |= 1 << d
		}
	}
	var stored int64
	err := db.pool.QueryRow(ctx, recordClicksSQL, edge, seq, link, at, text[0], bot, rule, qr, text[1], text[2], text[3],
		text[4], text[5], text[6], text[7], mask, db.tracking != rebound.TrackingOff).Scan(&stored)
	if err != nil {
		return 0, translate(err, "record clicks")
	}
	return stored, nil
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// partitionName is the name of the partition of clicks that holds day.
func partitionName(day time.Time) string { return "clicks_" + day.Format("20060102") }

// ensure creates the partitions of clicks for the days not known to exist.
// Creating one takes a lock that every insert into clicks waits behind, so
// the origin creates tomorrow's ahead of time (EnsureClickPartitions) and
// this path only meets days nobody prepared: an edge's clock off, clicks
// replayed from long ago.
func (p *partitionSet) ensure(ctx context.Context, db *DB, days map[time.Time]bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for day := range days {
		if p.known[day] {
			continue
		}
		if err := db.createPartition(ctx, day); err != nil {
			return err
		}
		p.known[day] = true
	}
	return nil
}

// createPartition creates day's partition unless it exists. Two origins
// may try at once: the advisory lock makes the second find it.
func (db *DB) createPartition(ctx context.Context, day time.Time) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('rebound clicks partitions'))"); err != nil {
			return translate(err, "lock click partitions")
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", partitionName(day)).Scan(&exists); err != nil {
			return translate(err, "find click partition")
		}
		if exists {
			return nil
		}
		_, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s PARTITION OF clicks FOR VALUES FROM ('%s') TO ('%s')",
			partitionName(day), day.Format(time.RFC3339), day.AddDate(0, 0, 1).Format(time.RFC3339)))
		return translate(err, "create click partition "+partitionName(day))
	})
}

// EnsureClickPartitions creates the partitions of clicks from today to
// days ahead, so that inserts never wait for one to be created.
func (db *DB) EnsureClickPartitions(ctx context.Context, now time.Time, ahead int) error {
	days := map[time.Time]bool{}
	for i := 0; i <= ahead; i++ {
		days[dayOf(now).AddDate(0, 0, i)] = true
	}
	return db.partitions.ensure(ctx, db, days)
}

// DropClickPartitions drops the partitions of clicks whose every click is
// older than before, and returns their names. The clicks' rollups stay.
func (db *DB) DropClickPartitions(ctx context.Context, before time.Time) ([]string, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'clicks' AND c.relname ~ '^clicks_[0-9]{8}$' ORDER BY 1`)
	if err != nil {
		return nil, translate(err, "list click partitions")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err, "list click partitions")
	}
	var dropped []string
	for _, name := range names {
		day, err := time.Parse("20060102", strings.TrimPrefix(name, "clicks_"))
		if err != nil || !day.AddDate(0, 0, 1).Before(before) && !day.AddDate(0, 0, 1).Equal(before) {
			continue
		}
		if _, err := db.pool.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			return dropped, translate(err, "drop click partition "+name)
		}
		db.partitions.forget(day)
		dropped = append(dropped, name)
	}
	return dropped, nil
}

func (p *partitionSet) forget(day time.Time) {
	p.mu.Lock()
	delete(p.known, day)
	p.mu.Unlock()
}
