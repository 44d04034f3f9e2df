package postgres

import (
	"context"
	"time"

	"github.com/reboundhq/rebound"
)

// RecordClicks stores a batch of clicks: the click rows, one "click" event
// each, the daily counters and the per-tag clicks, in one statement. A click already stored
// (same edge and sequence) is skipped, so redelivering a batch counts nothing
// twice. Clicks of links deleted meanwhile are dropped. It returns the number
// of clicks newly stored.
//
// Rows are written in key order (clicks by edge and sequence, counters by
// link and day, tags by name): batches written at once by several origins, or by an edge
// while Redis is down, touch the same counter rows, and taking their locks in
// whatever order the aggregate produced deadlocked them.
func (db *DB) RecordClicks(ctx context.Context, clicks []rebound.Click) (int64, error) {
	if len(clicks) == 0 {
		return 0, nil
	}
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	edge := make([]int64, len(clicks))
	seq := make([]int64, len(clicks))
	link := make([]int64, len(clicks))
	at := make([]time.Time, len(clicks))
	ref := make([]string, len(clicks))
	bot := make([]bool, len(clicks))
	rule := make([]int16, len(clicks))
	for i, c := range clicks {
		edge[i], seq[i], link[i], at[i], ref[i], bot[i], rule[i] = c.EdgeID, c.Seq, c.LinkID, c.At, c.Referrer, c.Bot, int16(c.Rule)
	}
	var n int64
	err := db.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO clicks (edge_id, seq, url_id, at, referrer, bot, rule)
			SELECT t.edge_id, t.seq, t.url_id, t.at, t.referrer, t.bot, t.rule
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::boolean[], $7::smallint[])
				AS t(edge_id, seq, url_id, at, referrer, bot, rule)
			WHERE EXISTS (SELECT 1 FROM urls u WHERE u.id = t.url_id)
			ORDER BY t.edge_id, t.seq
			ON CONFLICT DO NOTHING
			RETURNING url_id, at, referrer, bot
		), linked AS (
			SELECT ins.url_id, ins.at, ins.referrer, ins.bot, u.user_id, u.tags FROM ins JOIN urls u ON u.id = ins.url_id
		), ev AS (
			INSERT INTO events (url_id, user_id, event_type, timestamp, details)
			SELECT url_id, user_id, 'click', at, jsonb_build_object('referrer', referrer, 'bot', bot)
			FROM linked
		), daily AS (
			INSERT INTO url_click_daily AS d (url_id, day, clicks, bots)
			SELECT url_id, (at AT TIME ZONE 'UTC')::date, count(*), count(*) FILTER (WHERE bot)
			FROM ins GROUP BY 1, 2 ORDER BY 1, 2
			ON CONFLICT (url_id, day) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks, bots = d.bots + EXCLUDED.bots
		), tagged AS (
			INSERT INTO tag_counts AS tc (tag, clicks)
			SELECT tag, count(*) FROM linked CROSS JOIN LATERAL unnest(linked.tags) AS tag
			GROUP BY 1 ORDER BY 1
			ON CONFLICT (tag) DO UPDATE SET clicks = tc.clicks + EXCLUDED.clicks
		)
		SELECT count(*) FROM ins`, edge, seq, link, at, ref, bot, rule).Scan(&n)
	if err != nil {
		return 0, translate(err, "record clicks")
	}
	return n, nil
}

// statsDays is how many days of daily counts the stats answer carries.
const statsDays = 90

// LinkStats summarises the clicks of the link with id.
func (db *DB) LinkStats(ctx context.Context, id int64) (rebound.LinkStats, error) {
	if _, err := db.GetLink(ctx, id); err != nil {
		return rebound.LinkStats{}, err
	}
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	s := rebound.LinkStats{Daily: []rebound.DailyClicks{}, Referrers: []rebound.ReferrerCount{}, Rules: []rebound.RuleClicks{}}
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(sum(clicks), 0), COALESCE(sum(bots), 0) FROM url_click_daily WHERE url_id = $1`,
		id).Scan(&s.Clicks, &s.Bots)
	if err != nil {
		return s, translate(err, "sum clicks")
	}
	if err := db.pool.QueryRow(ctx, `SELECT max(at) FROM clicks WHERE url_id = $1`, id).Scan(&s.LastClickAt); err != nil {
		return s, translate(err, "last click")
	}
	if s.LastClickAt != nil {
		t := s.LastClickAt.UTC()
		s.LastClickAt = &t
	}
	rows, err := db.pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), clicks FROM
		(SELECT day, clicks FROM url_click_daily WHERE url_id = $1 ORDER BY day DESC LIMIT $2) d ORDER BY day`, id, statsDays)
	if err != nil {
		return s, translate(err, "daily clicks")
	}
	for rows.Next() {
		var d rebound.DailyClicks
		if err := rows.Scan(&d.Date, &d.Clicks); err != nil {
			return s, translate(err, "daily clicks")
		}
		s.Daily = append(s.Daily, d)
	}
	if err := rows.Err(); err != nil {
		return s, translate(err, "daily clicks")
	}
	rows, err = db.pool.Query(ctx, `SELECT referrer, count(*) FROM clicks WHERE url_id = $1 AND referrer <> ''
		GROUP BY referrer ORDER BY count(*) DESC, referrer LIMIT 10`, id)
	if err != nil {
		return s, translate(err, "referrers")
	}
	for rows.Next() {
		var r rebound.ReferrerCount
		if err := rows.Scan(&r.Referrer, &r.Clicks); err != nil {
			return s, translate(err, "referrers")
		}
		s.Referrers = append(s.Referrers, r)
	}
	if err := rows.Err(); err != nil {
		return s, translate(err, "referrers")
	}
	// Clicks per rule: -1 counts those the link's own target took.
	rows, err = db.pool.Query(ctx, `SELECT rule, count(*) FROM clicks WHERE url_id = $1 GROUP BY rule ORDER BY rule`, id)
	if err != nil {
		return s, translate(err, "rule clicks")
	}
	for rows.Next() {
		var r rebound.RuleClicks
		if err := rows.Scan(&r.Rule, &r.Clicks); err != nil {
			return s, translate(err, "rule clicks")
		}
		s.Rules = append(s.Rules, r)
	}
	return s, translate(rows.Err(), "rule clicks")
}

// ClickCount returns the clicks stored for the link with id.
func (db *DB) ClickCount(ctx context.Context, id int64) (int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT COALESCE(sum(clicks), 0) FROM url_click_daily WHERE url_id = $1`, id).Scan(&n)
	return n, translate(err, "count clicks")
}
