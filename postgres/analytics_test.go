package postgres_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

func newLink(t *testing.T, db *postgres.DB, code string) int64 {
	t.Helper()
	l, err := db.CreateLink(context.Background(), postgres.NewLink{ShortCode: code, OriginalURL: "https://example.com/" + code,
		IsActive: true, RedirectType: 302, Tags: []string{"promo"}})
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// sampleClicks makes n clicks of link over hours from start, cycling
// through a few devices, countries, referrers and campaigns.
func sampleClicks(edge, link int64, start time.Time, hours, n int) []rebound.Click {
	devices := []string{"desktop", "mobile", "tablet"}
	countries := []string{"DE", "US", "", "FR"}
	refs := []string{"", "news.example", "mail.example"}
	out := make([]rebound.Click, n)
	for i := range out {
		out[i] = rebound.Click{EdgeID: edge, Seq: int64(i + 1), LinkID: link,
			At:     start.Add(time.Duration(i%hours)*time.Hour + time.Duration(i)*time.Second%time.Hour),
			Device: devices[i%3], OS: "linux", Browser: "firefox", Country: countries[i%4], Referrer: refs[(i/3)%3],
			Bot: i%5 == 0, Rule: i%2 - 1, QR: i%7 == 0, UTMSource: []string{"", "news"}[i%2], UTMCampaign: "launch"}
	}
	return out
}

func rawCount(t *testing.T, dsn, where string, args ...any) int64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int64
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM clicks WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRollupsSumToRawClicks: whatever is delivered twice, every dimension's
// rollups sum to the raw clicks stored, per link and over every link, and a
// stats query answers the same from the rollups as from the raw clicks.
func TestRollupsSumToRawClicks(t *testing.T) {
	db, dsn := testenv.NewDB(t)
	ctx := context.Background()
	a, b := newLink(t, db, "rolla"), newLink(t, db, "rollb")
	start := time.Now().UTC().Truncate(time.Hour).Add(-50 * time.Hour)
	ca, cb := sampleClicks(1, a, start, 48, 700), sampleClicks(2, b, start, 48, 300)
	for _, batch := range [][]rebound.Click{ca[:400], cb, ca[300:], ca[:100]} { // overlaps: redeliveries
		if _, err := db.RecordClicks(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if n := rawCount(t, dsn, "url_id IN ($1, $2)", a, b); n != 1000 {
		t.Fatalf("%d raw clicks, want 1000", n)
	}
	q := rebound.StatsQuery{From: start, To: start.Add(48 * time.Hour), Interval: "day"}
	for _, d := range rebound.Dimensions[1:] {
		q.GroupBy, q.Grouped = d, true
		for _, scope := range []postgres.StatsScope{{LinkID: &a}, {}} {
			st, err := db.Stats(ctx, scope, q)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(700)
			if scope.LinkID == nil {
				want = 1000
			}
			var sum int64
			for _, g := range st.Groups {
				sum += g.Clicks
			}
			if st.Clicks != want || sum != want {
				t.Fatalf("group_by %s over %+v: clicks %d, groups sum %d, want %d", d, scope, st.Clicks, sum, want)
			}
		}
	}
	// A filter reads the raw clicks; the same question through the
	// rollups (no filter, grouped) must agree.
	q.GroupBy = rebound.DimCountry
	byCountry, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, q)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range byCountry.Groups {
		fq := q
		fq.Grouped, fq.Filters = false, map[rebound.Dimension]string{rebound.DimCountry: g.Key}
		st, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, fq)
		if err != nil {
			t.Fatal(err)
		}
		if st.Clicks != g.Clicks {
			t.Fatalf("country %s: %d clicks filtered, %d grouped", g.Key, st.Clicks, g.Clicks)
		}
	}
	if keys := groupKeys(byCountry); keys != "DE,FR,US,unknown" {
		t.Fatalf("country keys %s", keys)
	}
	// A filter with a group: mobile clicks by referrer.
	fq := q
	fq.GroupBy, fq.Filters = rebound.DimReferrer, map[rebound.Dimension]string{rebound.DimDevice: "mobile"}
	st, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, fq)
	if err != nil {
		t.Fatal(err)
	}
	if want := rawCount(t, dsn, "url_id = $1 AND device = 'mobile'", a); st.Clicks != want || len(st.Groups) != 3 {
		t.Fatalf("mobile by referrer: %+v, want %d clicks in 3 groups", st, want)
	}
	// Two days of series, summing to the total.
	if len(st.Series) != 3 && len(st.Series) != 2 {
		t.Fatalf("%d daily points over 48 hours", len(st.Series))
	}
	hourly := q
	hourly.Interval, hourly.Grouped = "hour", false
	st, err = db.Stats(ctx, postgres.StatsScope{LinkID: &a}, hourly)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Series) != 48 || st.Series[0].T != start || st.Series[0].Clicks != rawCount(t, dsn,
		"url_id = $1 AND at >= $2 AND at < $3", a, start, start.Add(time.Hour)) {
		t.Fatalf("hourly series: %d points, first %+v", len(st.Series), st.Series[0])
	}
	// The daily answer (whole days from the daily rollups, the edges from
	// the hourly ones) and the hourly one count the same clicks.
	var sum int64
	for _, p := range st.Series {
		sum += p.Clicks
	}
	daily, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, rebound.StatsQuery{From: start, To: start.Add(48 * time.Hour), Interval: "month"})
	if err != nil || sum != 700 || daily.Clicks != 700 {
		t.Fatalf("hourly sum %d, monthly %d (%v), want 700", sum, daily.Clicks, err)
	}
	// An hourly group of one link (from the raw clicks) and a daily one
	// (from the daily rollups) over the same whole days agree.
	whole := rebound.StatsQuery{From: start.Truncate(24 * time.Hour), To: start.Truncate(24*time.Hour).AddDate(0, 0, 4),
		GroupBy: rebound.DimCountry, Grouped: true}
	for _, iv := range []string{"hour", "day"} {
		whole.Interval = iv
		st, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, whole)
		if err != nil || fmt.Sprint(st.Groups) != fmt.Sprint(byCountry.Groups) {
			t.Fatalf("%sly groups %v (%v), want %v", iv, st.Groups, err, byCountry.Groups)
		}
	}
	// Per link, by tag.
	lq := q
	lq.GroupBy, lq.Tag = rebound.DimLink, "promo"
	st, err = db.Stats(ctx, postgres.StatsScope{}, lq)
	if err != nil {
		t.Fatal(err)
	}
	if got := groupKeys(st); got != fmt.Sprintf("%d,%d", a, b) || st.Groups[0].Clicks != 700 {
		t.Fatalf("by link: %+v", st.Groups)
	}
}

// groupKeys lists the keys of st's groups, sorted.
func groupKeys(st rebound.Stats) string {
	var keys []string
	for _, g := range st.Groups {
		keys = append(keys, g.Key)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

// TestClickEventsFromClicks: each stored click is a "click" event of GET
// /events, with an id in the events' sequence, paged and counted with the
// other events; clicks redelivered make no second event.
func TestClickEventsFromClicks(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	a := newLink(t, db, "evclick")
	clicks := sampleClicks(3, a, time.Now().UTC().Add(-time.Hour), 1, 5)
	for range 2 {
		if _, err := db.RecordClicks(ctx, clicks); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateEvent(ctx, rebound.Event{URLID: &a, EventType: "note"}); err != nil {
		t.Fatal(err)
	}
	events, total, err := db.ListEvents(ctx, postgres.EventFilter{URLID: &a}, rebound.Page{Page: 1, PerPage: 4})
	if err != nil {
		t.Fatal(err)
	}
	// created, 5 clicks, note.
	if total != 7 || len(events) != 4 || events[0].EventType != rebound.EventCreated || events[1].EventType != rebound.EventClick {
		t.Fatalf("total %d, page %+v", total, events)
	}
	for i := 1; i < len(events); i++ {
		if events[i].ID <= events[i-1].ID {
			t.Fatalf("events out of id order: %+v", events)
		}
	}
	if string(events[1].Details) != `{"bot": true, "referrer": ""}` {
		t.Fatalf("click event details %s", events[1].Details)
	}
	kind := rebound.EventClick
	_, total, err = db.ListEvents(ctx, postgres.EventFilter{URLID: &a, EventType: &kind}, rebound.Page{Page: 2, PerPage: 4})
	if err != nil || total != 5 {
		t.Fatalf("click events: %d, %v", total, err)
	}
	last, _, err := db.ListEvents(ctx, postgres.EventFilter{URLID: &a}, rebound.Page{Page: 2, PerPage: 4})
	if err != nil || len(last) != 3 || last[2].EventType != "note" {
		t.Fatalf("second page %+v, %v", last, err)
	}
}

// TestClickRetentionDropsPartitions: partitions past the retention go
// whole; their rollups stay.
func TestClickRetentionDropsPartitions(t *testing.T) {
	db, dsn := testenv.NewDB(t)
	ctx := context.Background()
	a := newLink(t, db, "retain")
	now := time.Now().UTC()
	old := sampleClicks(4, a, now.AddDate(0, 0, -100), 1, 10)
	recent := sampleClicks(5, a, now.Add(-2*time.Hour), 1, 10)
	if _, err := db.RecordClicks(ctx, append(old, recent...)); err != nil {
		t.Fatal(err)
	}
	dropped, err := db.DropClickPartitions(ctx, now.AddDate(0, 0, -90))
	if err != nil || len(dropped) != 1 || dropped[0] != "clicks_"+now.AddDate(0, 0, -100).Format("20060102") {
		t.Fatalf("dropped %v, %v", dropped, err)
	}
	if n := rawCount(t, dsn, "url_id = $1", a); n != 10 {
		t.Fatalf("%d raw clicks left, want 10", n)
	}
	st, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, rebound.StatsQuery{From: now.AddDate(0, 0, -120).Truncate(time.Hour),
		To: now.Truncate(time.Hour).Add(time.Hour), Interval: "month"})
	if err != nil || st.Clicks != 20 {
		t.Fatalf("rollups after the drop: %d, %v", st.Clicks, err)
	}
	// Clicks of a dropped day arriving late get their partition again.
	late := sampleClicks(6, a, now.AddDate(0, 0, -100), 1, 3)
	if n, err := db.RecordClicks(ctx, late); err != nil || n != 3 {
		t.Fatalf("late clicks: %d, %v", n, err)
	}
	var buf bytes.Buffer
	if err := db.WriteClicksCSV(ctx, &buf, a, now.AddDate(0, 0, -1), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 11 || strings.Join(recs[0], ",") != postgres.ClicksCSVHeader {
		t.Fatalf("csv: %d records, %v: %q", len(recs), err, recs)
	}
	if recs[1][6] != "desktop" || recs[1][10] != "" || recs[1][11] != "launch" {
		t.Fatalf("first click %q", recs[1])
	}
}

// TestTrackingMinimal keeps time, link, rule and bot, and rolls up only
// those.
func TestTrackingMinimal(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4, Tracking: rebound.TrackingMinimal})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	a := newLink(t, db, "minimal")
	if _, err := db.RecordClicks(ctx, sampleClicks(7, a, time.Now().UTC().Add(-time.Hour), 1, 20)); err != nil {
		t.Fatal(err)
	}
	if n := rawCount(t, dsn, "url_id = $1 AND (device <> '' OR country <> '' OR referrer <> '' OR utm_campaign <> '' OR qr)", a); n != 0 {
		t.Fatalf("%d clicks kept dimensions minimal tracking drops", n)
	}
	now := time.Now().UTC()
	q := rebound.StatsQuery{From: now.Add(-3 * time.Hour).Truncate(time.Hour), To: now.Truncate(time.Hour).Add(time.Hour),
		Interval: "day", GroupBy: rebound.DimDevice, Grouped: true}
	st, err := db.Stats(ctx, postgres.StatsScope{LinkID: &a}, q)
	if err != nil || st.Clicks != 20 || len(st.Groups) != 0 {
		t.Fatalf("minimal by device: %+v, %v", st, err)
	}
	q.GroupBy = rebound.DimBot
	if st, err = db.Stats(ctx, postgres.StatsScope{LinkID: &a}, q); err != nil || len(st.Groups) != 2 {
		t.Fatalf("minimal by bot: %+v, %v", st, err)
	}
}
