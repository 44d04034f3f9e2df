package postgres

import (
	"context"

	"github.com/reboundhq/rebound"
)

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
	// Referrers and rules are read from the rollups, which hold every
	// click ever stored, not only those raw clicks still kept.
	rows, err = db.pool.Query(ctx, `SELECT key, sum(clicks) FROM click_rollups_daily WHERE url_id = $1 AND dim = $2 AND key <> $3
		GROUP BY key ORDER BY sum(clicks) DESC, key LIMIT 10`, id, rebound.DimReferrer, rebound.KeyDirect)
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
	rows, err = db.pool.Query(ctx, `SELECT CASE WHEN key ~ '^[0-9]{1,2}$' THEN key::int ELSE -1 END AS rule, sum(clicks)
		FROM click_rollups_daily WHERE url_id = $1 AND dim = $2 GROUP BY 1 ORDER BY 1`, id, rebound.DimRule)
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
