package postgres

import (
	"context"
)

// searchDoc is a link's searchable text, as url_search keeps it (migration
// 000006): its code, target and title, joined by a newline, which none of
// them can hold, so no match spans two fields. alias names the urls row.
func searchDoc(alias string) string {
	return "(" + alias + ".short_code || E'\\n' || " + alias + ".original_url || E'\\n' || coalesce(" + alias + ".title, ''))"
}

// searchMatches is the set of ids of links whose searchable text holds the
// ILIKE pattern $5: from url_search for the links whose text is indexed
// and current, from the links themselves for those queued for the indexer.
// The queue is read as an array: vacuumed empty, it keeps its pages, and
// Postgres, guessing thousands of rows from them, planned a join with
// parallel workers that cost a search 150 ms at p99 (4 ms this way).
var searchMatches = `(SELECT s.url_id FROM url_search s WHERE s.doc ILIKE $5
		AND NOT EXISTS (SELECT 1 FROM url_search_pending q WHERE q.url_id = s.url_id)
	UNION ALL
	SELECT x.id FROM urls x WHERE x.id = ANY (ARRAY(SELECT q.url_id FROM url_search_pending q))
		AND ` + searchDoc("x") + ` ILIKE $5)`

// SearchBatch is how many queued links IndexSearch moves a call.
const SearchBatch = 1000

// IndexSearch moves up to SearchBatch queued links into url_search (and
// drops the text of queued links that are gone), and returns how many it
// took off the queue. Several origins may run it at once: each takes the
// queued links the others have not locked.
func (db *DB) IndexSearch(ctx context.Context) (int, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	var n int
	err := db.pool.QueryRow(ctx, `
		WITH taken AS (
			DELETE FROM url_search_pending WHERE url_id IN (
				SELECT url_id FROM url_search_pending ORDER BY url_id LIMIT $1 FOR UPDATE SKIP LOCKED)
			RETURNING url_id
		), gone AS (
			DELETE FROM url_search s USING taken t
			WHERE s.url_id = t.url_id AND NOT EXISTS (SELECT 1 FROM urls u WHERE u.id = t.url_id)
		), indexed AS (
			INSERT INTO url_search (url_id, doc)
			SELECT u.id, `+searchDoc("u")+` FROM urls u JOIN taken t ON u.id = t.url_id ORDER BY u.id
			ON CONFLICT (url_id) DO UPDATE SET doc = EXCLUDED.doc
		)
		SELECT count(*) FROM taken`, SearchBatch).Scan(&n)
	return n, translate(err, "index search")
}

// SearchBacklog returns how many links wait for the search indexer.
func (db *DB) SearchBacklog(ctx context.Context) (int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	var n int64
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM url_search_pending`).Scan(&n)
	return n, translate(err, "count search backlog")
}
