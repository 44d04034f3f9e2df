package origin

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
	"github.com/reboundhq/rebound/qr"
)

// Bounds of a stats query.
const (
	defaultStatsRange = 30 * 24 * time.Hour
	maxStatsPoints    = 10_000 // intervals in one series
)

// statsQuery reads the parameters of GET /urls/{id}/stats and GET /stats
// (SPEC 11). A to given as a date includes that day; the store widens the
// range to the grain it counts in (postgres.Stats).
func statsQuery(r *http.Request, now time.Time, withLinks bool) (rebound.StatsQuery, error) {
	q := query{r: r}
	v := r.URL.Query()
	sq := rebound.StatsQuery{Interval: "day", Filters: map[rebound.Dimension]string{}}
	sq.To = q.time("to", now, true)
	sq.From = q.time("from", sq.To.Add(-defaultStatsRange), false)
	if q.err != nil {
		return sq, q.err
	}
	if !sq.From.Before(sq.To) {
		return sq, rebound.FieldErrorf(rebound.EValidation, "from", "from must be before to")
	}
	switch iv := v.Get("interval"); iv {
	case "", "day":
	case "hour", "month":
		sq.Interval = iv
	default:
		return sq, rebound.FieldErrorf(rebound.EBadRequest, "interval", "interval must be hour, day or month")
	}
	if sq.Interval == "hour" && sq.To.Sub(sq.From) > maxStatsPoints*time.Hour {
		return sq, rebound.FieldErrorf(rebound.EValidation, "interval",
			"an hourly series covers %d hours at most; ask for days or a shorter range", maxStatsPoints)
	}
	if g := v.Get("group_by"); g != "" {
		d, ok := rebound.ParseDimension(g)
		if !ok || d == rebound.DimLink && !withLinks {
			return sq, rebound.FieldErrorf(rebound.EBadRequest, "group_by", "group_by must be one of %s", dimensionList(withLinks))
		}
		sq.GroupBy, sq.Grouped = d, true
	}
	for _, d := range rebound.Dimensions[1:] {
		if f := q.str(d.String()); f != nil {
			sq.Filters[d] = *f
		}
	}
	if withLinks {
		if t := q.str("tag"); t != nil {
			sq.Tag = *t
		}
	}
	return sq, q.err
}

func dimensionList(withLinks bool) string {
	var names []string
	for _, d := range rebound.Dimensions[1:] {
		names = append(names, d.String())
	}
	if withLinks {
		names = append(names, rebound.DimLink.String())
	}
	return strings.Join(names, ", ")
}

// time reads an RFC 3339 time or a YYYY-MM-DD date (UTC); a date read as
// an end means the end of that day.
func (q *query) time(name string, def time.Time, end bool) time.Time {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		q.fail(name, "must be an RFC 3339 time or a YYYY-MM-DD date")
		return def
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// linkStatsAnswer is GET /urls/{id}/stats: SPEC 11's fields beside the
// summary of earlier releases. "clicks" is the range's (SPEC 11);
// total_clicks, bots, daily, referrers and rules are over every click.
type linkStatsAnswer struct {
	rebound.Stats
	TotalClicks int64                   `json:"total_clicks"`
	LastClickAt *time.Time              `json:"last_click_at"`
	Daily       []rebound.DailyClicks   `json:"daily"`
	Referrers   []rebound.ReferrerCount `json:"referrers"`
	Bots        int64                   `json:"bots"`
	Rules       []rebound.RuleClicks    `json:"rules"`
}

func (s *Server) linkStats(w http.ResponseWriter, r *http.Request) {
	id, err := s.ownedLinkID(r)
	var sq rebound.StatsQuery
	if err == nil {
		sq, err = statsQuery(r, time.Now(), false)
	}
	var summary rebound.LinkStats
	if err == nil {
		summary, err = s.store.LinkStats(r.Context(), id)
	}
	var st rebound.Stats
	if err == nil {
		st, err = s.store.Stats(r.Context(), postgres.StatsScope{LinkID: &id}, sq)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, linkStatsAnswer{Stats: st, TotalClicks: summary.Clicks, LastClickAt: summary.LastClickAt,
		Daily: summary.Daily, Referrers: summary.Referrers, Bots: summary.Bots, Rules: summary.Rules})
}

// allStats answers GET /stats: the clicks of every link the key may see
// (an author's: its user's links).
func (s *Server) allStats(w http.ResponseWriter, r *http.Request) {
	sq, err := statsQuery(r, time.Now(), true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var scope postgres.StatsScope
	if who := principal(r); who.Role == rebound.RoleAuthor {
		owner := int64(0) // a key of no user owns no link
		if who.UserID != nil {
			owner = *who.UserID
		}
		scope.OwnerID = &owner
	}
	st, err := s.store.Stats(r.Context(), scope, sq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// clicksCSV streams GET /urls/{id}/clicks.csv: the raw clicks kept
// (REBOUND_CLICK_RETENTION) in the range, oldest first. Once the first
// bytes are sent a failure can only cut the stream short; it is logged.
func (s *Server) clicksCSV(w http.ResponseWriter, r *http.Request) {
	l, err := s.visibleLink(r)
	var sq rebound.StatsQuery
	if err == nil {
		sq, err = statsQuery(r, time.Now(), false)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="clicks.csv"`)
	// The export may take long for a busy link: the store's per-statement
	// timeout does not bound it, the client's connection does.
	if err := s.store.WriteClicksCSV(r.Context(), w, l.ID, sq.From, sq.To); err != nil {
		s.log.WarnContext(r.Context(), "click export cut short", "err", err, "url_id", l.ID, "request_id", requestID(r.Context()))
	}
}

// linkQR answers GET /urls/{id}/qr: the QR code of the link's short URL.
func (s *Server) linkQR(w http.ResponseWriter, r *http.Request) {
	l, err := s.visibleLink(r)
	var format qr.Format
	var size int
	if err == nil {
		format, size, err = qr.ParseParams(r.URL.Query().Get("format"), r.URL.Query().Get("size"))
	}
	var img []byte
	if err == nil {
		img, err = qr.Draw(qr.Content(s.shortURLs.ShortURLOn(l.Domain, l.ShortCode)), format, size)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", format.ContentType())
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(img)
}

// partitionInterval is how often the origin prepares and drops partitions
// of clicks.
const partitionInterval = time.Hour

// maintainClickPartitions keeps the partitions of clicks ready for the next
// days and drops those past the retention, until ctx ends. Every origin
// does it; they agree under Postgres's locks.
func (s *Server) maintainClickPartitions(ctx context.Context) {
	t := time.NewTicker(partitionInterval)
	defer t.Stop()
	for {
		now := time.Now()
		if err := s.store.EnsureClickPartitions(ctx, now, 2); err != nil && ctx.Err() == nil {
			s.log.Warn("prepare click partitions", "err", err)
		}
		if s.clickRetention > 0 {
			dropped, err := s.store.DropClickPartitions(ctx, now.Add(-s.clickRetention))
			if err != nil && ctx.Err() == nil {
				s.log.Warn("drop click partitions", "err", err)
			}
			if len(dropped) > 0 {
				s.log.Info("dropped click partitions past retention", "partitions", dropped)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// visibleLink reads the link of the request's path, if the key may see it
// (an author: its user's links; to it, others do not exist).
func (s *Server) visibleLink(r *http.Request) (rebound.Link, error) {
	id, err := pathID(r, "url")
	var l rebound.Link
	if err == nil {
		l, err = s.store.GetLink(r.Context(), id)
	}
	if err == nil && !principal(r).Owns(l.UserID) {
		err = rebound.Errorf(rebound.ENotFound, "url not found")
	}
	return l, err
}
