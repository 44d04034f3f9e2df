package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// queueCacheWrites records, in the transaction of a link's change, that
// Redis owes each of codes the change of the given version (the table's
// migration says why). A code already queued keeps the newer version.
func queueCacheWrites(ctx context.Context, tx pgx.Tx, version int64, codes ...string) error {
	_, err := tx.Exec(ctx, `INSERT INTO cache_outbox (short_code, version) SELECT unnest($1::text[]), $2
		ON CONFLICT (short_code) DO UPDATE
		SET version = greatest(cache_outbox.version, EXCLUDED.version), queued_at = now()`, codes, version)
	return translate(err, "queue cache write")
}

// CacheWritten takes codes off the cache outbox, each once Redis holds what
// Postgres held for it at the given version or later. A change queued since
// with a newer version stays queued.
func (db *DB) CacheWritten(ctx context.Context, written map[string]int64) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	codes := make([]string, 0, len(written))
	versions := make([]int64, 0, len(written))
	for code, version := range written {
		codes = append(codes, code)
		versions = append(versions, version)
	}
	_, err := db.pool.Exec(ctx, `DELETE FROM cache_outbox o
		USING unnest($1::text[], $2::bigint[]) AS w(short_code, version)
		WHERE o.short_code = w.short_code AND o.version <= w.version`, codes, versions)
	return translate(err, "take codes off cache outbox")
}

// OwedCacheWrites returns up to limit codes of the cache outbox queued more
// than age ago, oldest first, each with the version Redis is owed.
func (db *DB) OwedCacheWrites(ctx context.Context, age time.Duration, limit int) (map[string]int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, `SELECT short_code, version FROM cache_outbox
		WHERE queued_at < now() - make_interval(secs => $1) ORDER BY queued_at LIMIT $2`, age.Seconds(), limit)
	if err != nil {
		return nil, translate(err, "read cache outbox")
	}
	owed := map[string]int64{}
	var code string
	var version int64
	_, err = pgx.ForEachRow(rows, []any{&code, &version}, func() error {
		owed[code] = version
		return nil
	})
	if err != nil {
		return nil, translate(err, "read cache outbox")
	}
	return owed, nil
}
