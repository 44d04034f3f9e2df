package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

// linkFields are the columns of a link but its version; linkColumns adds it.
// A delete returns linkFields and a fresh version for the code's tombstone.
const (
	linkFields = `id, user_id, short_code, original_url, title, is_active, redirect_type,
	forward_query, expires_at, max_clicks, tags, rules, domain, password_hash, created_at, updated_at`
	linkColumns = linkFields + `, version`
)

// scanLink reads linkColumns, and then extra columns into extra.
func scanLink(row pgx.Row, extra ...any) (rebound.Link, error) {
	var l rebound.Link
	var rt int16
	err := row.Scan(append([]any{&l.ID, &l.UserID, &l.ShortCode, &l.OriginalURL, &l.Title, &l.IsActive, &rt,
		&l.ForwardQuery, &l.ExpiresAt, &l.MaxClicks, &l.Tags, &l.Rules, &l.Domain, &l.PasswordHash, &l.CreatedAt, &l.UpdatedAt, &l.Version}, extra...)...)
	l.RedirectType = int(rt)
	if l.Tags == nil {
		l.Tags = []string{}
	}
	if l.Rules == nil {
		l.Rules = []rebound.Rule{}
	}
	l.PasswordProtected = l.PasswordHash != nil
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	if l.ExpiresAt != nil {
		t := l.ExpiresAt.UTC()
		l.ExpiresAt = &t
	}
	return l, err
}

// Opt is a field of a patch: Set tells whether the client gave it at all, so
// that a nullable field can be cleared (Set with a nil Value).
type Opt[T any] struct {
	Set   bool
	Value T
}

// Some returns an Opt that is set to v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// LinkPatch holds the fields of a link to change. Values must already be
// validated, except that user_id is checked against the users table.
type LinkPatch struct {
	UserID       Opt[*int64]
	ShortCode    Opt[string]
	OriginalURL  Opt[string]
	Title        Opt[*string]
	IsActive     Opt[bool]
	RedirectType Opt[int]
	ForwardQuery Opt[bool]
	ExpiresAt    Opt[*time.Time]
	MaxClicks    Opt[*int64]
	Tags         Opt[[]string]
	Rules        Opt[[]rebound.Rule]
	Domain       Opt[*string]
	// PasswordHash sets (a hash) or clears (nil) the link's password.
	PasswordHash Opt[*string]
}

// NewLink is a link to create. An empty ShortCode asks for a generated one.
type NewLink struct {
	UserID       *int64
	ShortCode    string
	OriginalURL  string
	Title        *string
	IsActive     bool
	RedirectType int
	ForwardQuery bool
	ExpiresAt    *time.Time
	MaxClicks    *int64
	Tags         []string
	Rules        []rebound.Rule
	Domain       *string
	PasswordHash *string
	// Actor is recorded as the created event's details.actor when set.
	Actor json.RawMessage
}

// maxCodeAttempts bounds retries of a generated code that collided. With 62^7
// codes a second collision in a row is already astronomically unlikely.
const maxCodeAttempts = 5

// CreateLink inserts a link and its "created" event in one statement.
func (db *DB) CreateLink(ctx context.Context, in NewLink) (rebound.Link, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	generated := in.ShortCode == ""
	for attempt := 1; ; attempt++ {
		if generated {
			in.ShortCode = rebound.GenerateCode()
		}
		// One statement, so one round trip instead of five (BEGIN, three
		// INSERTs, COMMIT): the link, its audit event and its place in the
		// search indexer's queue are written atomically without a
		// transaction of their own.
		l, err := scanLink(db.pool.QueryRow(ctx, `WITH link AS (
				INSERT INTO urls
				(user_id, short_code, original_url, title, is_active, redirect_type, forward_query, expires_at, max_clicks, tags, rules, domain, password_hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $12, $13::jsonb, $14, $15) RETURNING `+linkColumns+`
			), event AS (
				INSERT INTO events (url_id, user_id, event_type, details)
				SELECT id, user_id, $10, jsonb_strip_nulls(jsonb_build_object('short_code', short_code,
					'original_url', original_url, 'actor', $11::jsonb)) FROM link
			), searchable AS (
				INSERT INTO url_search_pending (url_id) SELECT id FROM link
			)
			SELECT `+linkColumns+` FROM link`,
			in.UserID, in.ShortCode, in.OriginalURL, in.Title, in.IsActive, in.RedirectType,
			in.ForwardQuery, in.ExpiresAt, in.MaxClicks, rebound.EventCreated, nullJSON(in.Actor), tagsArg(in.Tags), RulesArg(in.Rules), in.Domain, in.PasswordHash))
		err = translate(err, "create link")
		if generated && attempt < maxCodeAttempts && rebound.ErrorCode(err) == rebound.EConflict &&
			rebound.ErrorField(err) == "short_code" {
			continue
		}
		return l, err
	}
}

// GetLink returns the link with id, or a not_found error.
func (db *DB) GetLink(ctx context.Context, id int64) (rebound.Link, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	l, err := scanLink(db.pool.QueryRow(ctx, "SELECT "+linkColumns+" FROM urls WHERE id = $1", id))
	return l, notFound(translate(err, "get link"), "url")
}

// LinkByKey returns the link with the given key (rebound.LinkKey: its
// code on the default domain, "host/code" on another), or a not_found error.
func (db *DB) LinkByKey(ctx context.Context, key string) (rebound.Link, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	domain, code := rebound.SplitLinkKey(key)
	l, err := scanLink(db.pool.QueryRow(ctx, "SELECT "+linkColumns+
		" FROM urls WHERE short_code = $1 AND coalesce(domain, '') = coalesce($2, '')", code, domain))
	return l, notFound(translate(err, "get link by code"), "url")
}

// LinksByKeys returns the links holding any of keys (rebound.LinkKey), by
// key. A key no link holds is not in the map.
func (db *DB) LinksByKeys(ctx context.Context, keys []string) (map[string]rebound.Link, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	codes, domains := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		d, c := rebound.SplitLinkKey(k)
		codes[i] = c
		if d != nil {
			domains[i] = *d
		}
	}
	rows, err := db.pool.Query(ctx, "SELECT "+linkColumns+` FROM urls WHERE (short_code, coalesce(domain, '')) IN
		(SELECT * FROM unnest($1::text[], $2::text[]))`, codes, domains)
	if err != nil {
		return nil, translate(err, "get links by keys")
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rebound.Link, error) { return scanLink(r) })
	if err != nil {
		return nil, translate(err, "get links by keys")
	}
	byCode := make(map[string]rebound.Link, len(links))
	for _, l := range links {
		byCode[l.Key()] = l
	}
	return byCode, nil
}

// LinkFilter narrows a link listing; nil and empty fields do not filter.
type LinkFilter struct {
	UserID    *int64
	IsActive  *bool
	ShortCode *string
	// Tags keeps links that have every one of them.
	Tags []string
	// Query keeps links whose short_code, original_url or title holds it,
	// ignoring case.
	Query *string
}

// LinkSort orders a link listing.
type LinkSort string

// The orders of a link listing; the default is the newest first.
const (
	SortNewest     LinkSort = "-created_at"
	SortOldest     LinkSort = "created_at"
	SortMostClicks LinkSort = "-clicks"
	SortFewest     LinkSort = "clicks"
)

// linkOrders are the ORDER BY clauses of each sort, each ending in a unique
// key so that pages do not overlap.
var linkOrders = map[LinkSort]string{
	SortNewest:     "u.created_at DESC, u.id DESC",
	SortOldest:     "u.created_at, u.id",
	SortMostClicks: "t.clicks DESC, u.id DESC",
	SortFewest:     "t.clicks, u.id",
}

// byClicks are the sorts by clicks: their query sums the daily counters of
// the links the filters leave, and only of those.
var byClicks = map[LinkSort]bool{SortMostClicks: true, SortFewest: true}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likePattern wraps s, escaped, for a substring match.
func likePattern(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// ListLinks returns one page of links in the given order (newest first when
// empty), and the total matching.
func (db *DB) ListLinks(ctx context.Context, f LinkFilter, sort LinkSort, p rebound.Page) ([]rebound.Link, int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	order, ok := linkOrders[sort]
	if !ok {
		order = linkOrders[SortNewest]
	}
	var pattern *string
	if f.Query != nil {
		lp := likePattern(*f.Query)
		pattern = &lp
	}
	var tags []string
	if len(f.Tags) > 0 {
		tags = f.Tags
	}
	where := ` WHERE ($1::bigint IS NULL OR u.user_id = $1) AND ($2::boolean IS NULL OR u.is_active = $2)
		AND ($3::text IS NULL OR u.short_code = $3) AND ($4::text[] IS NULL OR u.tags @> $4)`
	if pattern != nil {
		// Only with a search; and as an array the matches are gathered once
		// and the links read by primary key, whatever Postgres guesses of a
		// substring's selectivity (a guess of thousands had it scan every
		// link for a hash join).
		where += ` AND u.id = ANY (ARRAY` + searchMatches + `)`
	} else {
		where += ` AND $5::text IS NULL`
	}
	cols := "u." + strings.ReplaceAll(linkColumns, ", ", ", u.")
	// A search's total comes with its page (a window count), so that the
	// trigram search runs once, not once for the page and again to count.
	// Other filters count apart: a window over a million active links
	// would read them all before the page's LIMIT.
	var total int64
	var extra []any
	counted := ""
	if pattern != nil {
		counted, extra = ", count(*) OVER ()", []any{&total}
	}
	list := "SELECT " + cols + counted + " FROM urls u" + where + " ORDER BY " + order + " LIMIT $6 OFFSET $7"
	if byClicks[sort] {
		// Filter first, then sum each remaining link's counters (a few rows
		// each): summing before the filters would read every link's.
		list = "WITH m AS MATERIALIZED (SELECT " + cols + " FROM urls u" + where + ") SELECT u.*" + counted + " FROM m u" +
			" CROSS JOIN LATERAL (SELECT coalesce(sum(d.clicks), 0) AS clicks FROM url_click_daily d WHERE d.url_id = u.id) t" +
			" ORDER BY " + order + " LIMIT $6 OFFSET $7"
	}
	rows, err := db.pool.Query(ctx, list, f.UserID, f.IsActive, f.ShortCode, tags, pattern, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, translate(err, "list links")
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rebound.Link, error) { return scanLink(r, extra...) })
	if err != nil {
		return nil, 0, translate(err, "list links")
	}
	if len(links) > 0 && pattern != nil {
		return links, total, nil
	}
	var count pgx.Row
	onlyTags := f.UserID == nil && f.IsActive == nil && f.ShortCode == nil && pattern == nil
	switch {
	case onlyTags && tags == nil:
		// Kept by triggers (migration 000004): counting every row costs a
		// scan of a million.
		count = db.pool.QueryRow(ctx, "SELECT sum(links)::bigint FROM url_counts")
	case onlyTags && len(tags) == 1:
		// Likewise: a tag on 1% of a million links is 10,000 rows to visit.
		count = db.pool.QueryRow(ctx, "SELECT coalesce((SELECT links FROM tag_counts WHERE tag = $1), 0)", tags[0])
	default: // no match, or a page past the last: the window had no row to give the total on
		count = db.pool.QueryRow(ctx, "SELECT count(*) FROM urls u"+where, f.UserID, f.IsActive, f.ShortCode, tags, pattern)
	}
	if err := count.Scan(&total); err != nil {
		return nil, 0, translate(err, "count links")
	}
	if links == nil {
		links = []rebound.Link{}
	}
	return links, total, nil
}

// TagCount is one tag, the links that carry it and their clicks.
type TagCount struct {
	Tag    string `json:"tag"`
	Links  int64  `json:"links"`
	Clicks int64  `json:"clicks"`
}

// Tags returns every tag in use (by userID's links only, when not nil), the
// most used first. Every link's tags are kept counted (tag_counts,
// migration 000004); one user's are counted from its links.
func (db *DB) Tags(ctx context.Context, userID *int64) ([]TagCount, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	q := `SELECT tag, links, clicks FROM tag_counts WHERE links > 0 ORDER BY links DESC, tag`
	args := []any{}
	if userID != nil {
		q = `SELECT tag, count(*), coalesce(sum(t.clicks), 0)::bigint
			FROM urls u CROSS JOIN LATERAL unnest(u.tags) AS tag
			CROSS JOIN LATERAL (SELECT sum(d.clicks) AS clicks FROM url_click_daily d WHERE d.url_id = u.id) t
			WHERE u.user_id = $1 GROUP BY tag ORDER BY count(*) DESC, tag`
		args = append(args, *userID)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, translate(err, "list tags")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TagCount, error) {
		var c TagCount
		err := r.Scan(&c.Tag, &c.Links, &c.Clicks)
		return c, err
	})
	if out == nil {
		out = []TagCount{}
	}
	return out, translate(err, "list tags")
}

// UpdateLink applies p to the link with id and writes an "updated" event (or
// "deactivated" when the change turns the link off), in one transaction that
// also queues the link's codes (old and new) on the cache outbox. It returns
// the link before and after the change.
func (db *DB) UpdateLink(ctx context.Context, id int64, p LinkPatch, actor json.RawMessage) (before, after rebound.Link, err error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		before, err = scanLink(tx.QueryRow(ctx, "SELECT "+linkColumns+" FROM urls WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return notFound(translate(err, "load link"), "url")
		}
		after = before
		changes := map[string]any{}
		apply(&after.UserID, p.UserID, "user_id", changes)
		apply(&after.ShortCode, p.ShortCode, "short_code", changes)
		apply(&after.OriginalURL, p.OriginalURL, "original_url", changes)
		apply(&after.Title, p.Title, "title", changes)
		apply(&after.IsActive, p.IsActive, "is_active", changes)
		apply(&after.RedirectType, p.RedirectType, "redirect_type", changes)
		apply(&after.ForwardQuery, p.ForwardQuery, "forward_query", changes)
		apply(&after.ExpiresAt, p.ExpiresAt, "expires_at", changes)
		apply(&after.MaxClicks, p.MaxClicks, "max_clicks", changes)
		apply(&after.Tags, p.Tags, "tags", changes)
		apply(&after.Rules, p.Rules, "rules", changes)
		apply(&after.Domain, p.Domain, "domain", changes)
		if p.PasswordHash.Set {
			// The event says what changed, never the hash.
			after.PasswordHash = p.PasswordHash.Value
			after.PasswordProtected = after.PasswordHash != nil
			changes["password_protected"] = map[string]any{"from": before.PasswordProtected, "to": after.PasswordProtected}
		}
		after, err = scanLink(tx.QueryRow(ctx, `UPDATE urls SET user_id = $2, short_code = $3, original_url = $4,
			title = $5, is_active = $6, redirect_type = $7, forward_query = $8, expires_at = $9, max_clicks = $10,
			tags = $11, rules = $12::jsonb, domain = $13, password_hash = $14, updated_at = now(), version = nextval('link_versions') WHERE id = $1 RETURNING `+linkColumns,
			id, after.UserID, after.ShortCode, after.OriginalURL, after.Title, after.IsActive, after.RedirectType,
			after.ForwardQuery, after.ExpiresAt, after.MaxClicks, tagsArg(after.Tags), RulesArg(after.Rules), after.Domain, after.PasswordHash))
		if err != nil {
			return translate(err, "update link")
		}
		if before.ShortCode != after.ShortCode || before.OriginalURL != after.OriginalURL || !equalPtr(before.Title, after.Title) {
			if _, err := tx.Exec(ctx, "INSERT INTO url_search_pending (url_id) VALUES ($1) ON CONFLICT DO NOTHING", id); err != nil {
				return translate(err, "queue link for search")
			}
		}
		codes := []string{after.Key()}
		if before.Key() != after.Key() {
			codes = append(codes, before.Key())
		}
		if err := queueCacheWrites(ctx, tx, after.Version, codes...); err != nil {
			return err
		}
		kind := rebound.EventUpdated
		if before.IsActive && !after.IsActive {
			kind = rebound.EventDeactivated
		}
		return insertEvent(ctx, tx, &after.ID, after.UserID, kind, withActor(map[string]any{
			"short_code": after.ShortCode, "changes": changes,
		}, actor))
	})
	return before, after, err
}

// apply sets *dst from o when o is set, and records the change.
func apply[T any](dst *T, o Opt[T], name string, changes map[string]any) {
	if !o.Set {
		return
	}
	changes[name] = map[string]any{"from": *dst, "to": o.Value}
	*dst = o.Value
}

// DeleteLink deletes a link and writes its "deleted" event in one
// transaction, which also queues its code on the cache outbox. It returns
// the deleted link, with the version of its deletion.
func (db *DB) DeleteLink(ctx context.Context, id int64, actor json.RawMessage) (rebound.Link, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	var l rebound.Link
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		l, err = scanLink(tx.QueryRow(ctx, "DELETE FROM urls WHERE id = $1 RETURNING "+linkFields+", nextval('link_versions')", id))
		if err != nil {
			return notFound(translate(err, "delete link"), "url")
		}
		if err := queueCacheWrites(ctx, tx, l.Version, l.Key()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM url_search WHERE url_id = $1", id); err != nil {
			return translate(err, "drop link from search")
		}
		return insertEvent(ctx, tx, &l.ID, l.UserID, rebound.EventDeleted, withActor(map[string]any{
			"short_code": l.ShortCode, "original_url": l.OriginalURL,
		}, actor))
	})
	return l, err
}

func insertEvent(ctx context.Context, tx pgx.Tx, urlID, userID *int64, kind string, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", kind, err)
	}
	_, err = tx.Exec(ctx, "INSERT INTO events (url_id, user_id, event_type, details) VALUES ($1, $2, $3, $4)",
		urlID, userID, kind, b)
	return translate(err, "write "+kind+" event")
}

// withActor adds details.actor when actor is set.
func withActor(details map[string]any, actor json.RawMessage) map[string]any {
	if len(actor) > 0 {
		details["actor"] = actor
	}
	return details
}

// nullJSON is a jsonb argument: NULL when b is empty.
func nullJSON(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// RulesArg is a rules column value: NULL for no rules, else their JSON.
func RulesArg(rules []rebound.Rule) *string {
	if len(rules) == 0 {
		return nil
	}
	b, err := json.Marshal(rules)
	if err != nil { // Rules hold strings, ints and times: it cannot fail
		panic(fmt.Sprintf("encode rules: %v", err))
	}
	s := string(b)
	return &s
}

// tagsArg is a tags column value: an empty array, never NULL.
func tagsArg(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// idString formats an id for messages.
func idString(id int64) string { return strconv.FormatInt(id, 10) }

// equalPtr reports whether a and b are both nil or point to equal values.
func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
