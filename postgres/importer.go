package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

// RowError is a CSV line that was not imported, and why.
type RowError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// ImportUser is one validated user row of a bulk import.
type ImportUser struct {
	Line      int
	ID        *int64
	Username  string
	Email     string
	CreatedAt *time.Time
}

// ImportLink is one validated link row of a bulk import.
type ImportLink struct {
	Line        int
	ID          *int64
	UserID      *int64
	ShortCode   string
	OriginalURL string
	Title       *string
	IsActive    bool
	Tags        []string
	Rules       []rebound.Rule
	Domain      *string
	CreatedAt   *time.Time
	UpdatedAt   *time.Time
}

// ImportEvent is one validated event row of a bulk import.
type ImportEvent struct {
	Line      int
	ID        *int64
	URLID     *int64
	UserID    *int64
	EventType string
	Timestamp *time.Time
	Details   []byte
}

// dedupe drops rows whose key was already seen earlier in the batch (or is
// empty), reporting them as errors, so that every remaining row is unique and
// a RETURNING key maps back to exactly one line.
func dedupe[T any](rows []T, line func(T) int, keys ...func(T) (string, string)) ([]T, []RowError) {
	seen := make([]map[string]bool, len(keys))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	var errs []RowError
	out := rows[:0:0]
rows:
	for _, r := range rows {
		for i, key := range keys {
			name, k := key(r)
			if k == "" {
				continue
			}
			if seen[i][k] {
				errs = append(errs, RowError{Line: line(r), Error: fmt.Sprintf("duplicate %s %q in this file", name, k)})
				continue rows
			}
		}
		for i, key := range keys {
			if _, k := key(r); k != "" {
				seen[i][k] = true
			}
		}
		out = append(out, r)
	}
	return out, errs
}

func optID(id *int64) string {
	if id == nil {
		return ""
	}
	return idString(*id)
}

// ImportUsers inserts a batch of users in one transaction. Rows that clash
// with existing users are reported, not fatal; given ids are kept and the id
// sequence moves past them.
func (db *DB) ImportUsers(ctx context.Context, rows []ImportUser) (int, []RowError, error) {
	rows, errs := dedupe(rows, func(r ImportUser) int { return r.Line },
		func(r ImportUser) (string, string) { return "id", optID(r.ID) },
		func(r ImportUser) (string, string) { return "username", r.Username },
		func(r ImportUser) (string, string) { return "email", r.Email })
	if len(rows) == 0 {
		return 0, errs, nil
	}
	ids, names, emails, created := make([]*int64, len(rows)), make([]string, len(rows)), make([]string, len(rows)), make([]*time.Time, len(rows))
	for i, r := range rows {
		ids[i], names[i], emails[i], created[i] = r.ID, r.Username, r.Email, r.CreatedAt
	}
	inserted := map[string]bool{}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		res, err := tx.Query(ctx, `INSERT INTO users (id, username, email, created_at)
			SELECT COALESCE(t.id, nextval('users_id_seq')), t.username, t.email, COALESCE(t.created_at, now())
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) AS t(id, username, email, created_at)
			ON CONFLICT DO NOTHING RETURNING username`, ids, names, emails, created)
		if err != nil {
			return translate(err, "import users")
		}
		got, err := pgx.CollectRows(res, pgx.RowTo[string])
		if err != nil {
			return translate(err, "import users")
		}
		for _, name := range got {
			inserted[name] = true
		}
		return advanceSequence(ctx, tx, "users")
	})
	if err != nil {
		return 0, nil, err
	}
	for _, r := range rows {
		if !inserted[r.Username] {
			errs = append(errs, RowError{Line: r.Line, Error: "a user with this id, username or email already exists"})
		}
	}
	return len(inserted), errs, nil
}

// ImportLinks inserts a batch of links in one transaction and returns the
// links stored.
func (db *DB) ImportLinks(ctx context.Context, rows []ImportLink) ([]rebound.Link, []RowError, error) {
	rows, errs := dedupe(rows, func(r ImportLink) int { return r.Line },
		func(r ImportLink) (string, string) { return "id", optID(r.ID) },
		func(r ImportLink) (string, string) { return "short_code", rebound.LinkKey(r.Domain, r.ShortCode) })
	if len(rows) == 0 {
		return nil, errs, nil
	}
	var links []rebound.Link
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		missing, err := missingUsers(ctx, tx, rows)
		if err != nil {
			return err
		}
		known, err := knownDomains(ctx, tx)
		if err != nil {
			return err
		}
		keep := rows[:0:0]
		for _, r := range rows {
			if r.UserID != nil && missing[*r.UserID] {
				errs = append(errs, RowError{Line: r.Line, Error: fmt.Sprintf("user_id %d names no user", *r.UserID)})
				continue
			}
			if r.Domain != nil && !known[*r.Domain] {
				errs = append(errs, RowError{Line: r.Line, Error: fmt.Sprintf("domain %s names no domain", *r.Domain)})
				continue
			}
			keep = append(keep, r)
		}
		rows = keep
		n := len(rows)
		ids, users, codes, urls := make([]*int64, n), make([]*int64, n), make([]string, n), make([]string, n)
		titles, active, created, updated := make([]*string, n), make([]bool, n), make([]*time.Time, n), make([]*time.Time, n)
		// Tags travel as one text a row, joined by the CSV's own separator
		// (which no tag holds): unnest cannot take a ragged 2-D array.
		tags := make([]string, n)
		rules, domains := make([]*string, n), make([]*string, n)
		for i, r := range rows {
			rules[i], domains[i] = RulesArg(r.Rules), r.Domain
			ids[i], users[i], codes[i], urls[i] = r.ID, r.UserID, r.ShortCode, r.OriginalURL
			titles[i], active[i], created[i], updated[i] = r.Title, r.IsActive, r.CreatedAt, r.UpdatedAt
			tags[i] = strings.Join(r.Tags, rebound.TagSeparator)
		}
		res, err := tx.Query(ctx, `INSERT INTO urls (id, user_id, short_code, original_url, title, is_active, created_at, updated_at, tags, rules, domain)
			SELECT COALESCE(t.id, nextval('urls_id_seq')), t.user_id, t.code, t.url, t.title, t.active,
				COALESCE(t.created, now()), COALESCE(t.updated, t.created, now()),
				CASE WHEN t.tags = '' THEN '{}'::text[] ELSE string_to_array(t.tags, $10) END, t.rules, t.domain
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::timestamptz[], $8::timestamptz[], $9::text[], $11::jsonb[], $12::text[])
				AS t(id, user_id, code, url, title, active, created, updated, tags, rules, domain)
			ON CONFLICT DO NOTHING RETURNING `+linkColumns, ids, users, codes, urls, titles, active, created, updated, tags, rebound.TagSeparator, rules, domains)
		if err != nil {
			return translate(err, "import links")
		}
		links, err = pgx.CollectRows(res, func(r pgx.CollectableRow) (rebound.Link, error) { return scanLink(r) })
		if err != nil {
			return translate(err, "import links")
		}
		// An import indexes its links for search itself, in its own
		// transaction: queued, a million links would keep the indexer
		// busy for minutes after the import answered.
		if err := indexImported(ctx, tx, links); err != nil {
			return err
		}
		// No event per imported row: an import carries its own history (the
		// seed files come with their events.csv, whose ids must stay free).
		return advanceSequence(ctx, tx, "urls")
	})
	if err != nil {
		return nil, nil, err
	}
	stored := make(map[string]bool, len(links))
	for _, l := range links {
		stored[l.Key()] = true
	}
	for _, r := range rows {
		if !stored[rebound.LinkKey(r.Domain, r.ShortCode)] {
			errs = append(errs, RowError{Line: r.Line, Error: "a url with this id or short_code already exists"})
		}
	}
	return links, errs, nil
}

func missingUsers(ctx context.Context, tx pgx.Tx, rows []ImportLink) (map[int64]bool, error) {
	want := map[int64]bool{}
	var ids []int64
	for _, r := range rows {
		if r.UserID != nil && !want[*r.UserID] {
			want[*r.UserID] = true
			ids = append(ids, *r.UserID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	res, err := tx.Query(ctx, "SELECT id FROM users WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, translate(err, "check user ids")
	}
	found, err := pgx.CollectRows(res, pgx.RowTo[int64])
	if err != nil {
		return nil, translate(err, "check user ids")
	}
	for _, id := range found {
		delete(want, id)
	}
	return want, nil
}

// ImportEvents inserts a batch of events in one transaction. url_id and
// user_id are kept as given: imported audit history may name deleted rows.
func (db *DB) ImportEvents(ctx context.Context, rows []ImportEvent) (int, []RowError, error) {
	rows, errs := dedupe(rows, func(r ImportEvent) int { return r.Line },
		func(r ImportEvent) (string, string) { return "id", optID(r.ID) })
	if len(rows) == 0 {
		return 0, errs, nil
	}
	n := len(rows)
	ids, urls, users, kinds := make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]string, n)
	ts, details := make([]*time.Time, n), make([]string, n)
	for i, r := range rows {
		ids[i], urls[i], users[i], kinds[i], ts[i], details[i] = r.ID, r.URLID, r.UserID, r.EventType, r.Timestamp, string(r.Details)
	}
	inserted := map[int64]bool{}
	count := 0
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		res, err := tx.Query(ctx, `INSERT INTO events (id, url_id, user_id, event_type, timestamp, details)
			SELECT COALESCE(t.id, nextval('events_id_seq')), t.url_id, t.user_id, t.kind, COALESCE(t.ts, now()), t.details::jsonb
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[])
				AS t(id, url_id, user_id, kind, ts, details)
			ON CONFLICT DO NOTHING RETURNING id`, ids, urls, users, kinds, ts, details)
		if err != nil {
			return translate(err, "import events")
		}
		got, err := pgx.CollectRows(res, pgx.RowTo[int64])
		if err != nil {
			return translate(err, "import events")
		}
		count = len(got)
		for _, id := range got {
			inserted[id] = true
		}
		return advanceSequence(ctx, tx, "events")
	})
	if err != nil {
		return 0, nil, err
	}
	for _, r := range rows {
		if r.ID != nil && !inserted[*r.ID] {
			errs = append(errs, RowError{Line: r.Line, Error: "an event with this id already exists"})
		}
	}
	return count, errs, nil
}

// advanceSequence moves table's id sequence past the largest id in use, so
// that rows imported with their own ids never collide with generated ones. It
// never moves the sequence back, so ids of deleted rows are not reused.
func advanceSequence(ctx context.Context, tx pgx.Tx, table string) error {
	seq := table + "_id_seq"
	_, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval('%[1]s', GREATEST((SELECT COALESCE(max(id), 1) FROM %[2]s),
		(SELECT last_value FROM %[1]s)))`, seq, table))
	return translate(err, "advance "+seq)
}

// indexImported writes the search text of freshly imported links.
func indexImported(ctx context.Context, tx pgx.Tx, links []rebound.Link) error {
	if len(links) == 0 {
		return nil
	}
	ids := make([]int64, len(links))
	for i, l := range links {
		ids[i] = l.ID
	}
	_, err := tx.Exec(ctx, `INSERT INTO url_search (url_id, doc)
		SELECT u.id, `+searchDoc("u")+` FROM urls u WHERE u.id = ANY($1) ORDER BY u.id`, ids)
	return translate(err, "index imported links for search")
}

// knownDomains returns the hosts of every domain. Domains are few.
func knownDomains(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	rows, err := tx.Query(ctx, "SELECT host FROM domains")
	if err != nil {
		return nil, translate(err, "read domains")
	}
	hosts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err, "read domains")
	}
	known := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		known[h] = true
	}
	return known, nil
}
