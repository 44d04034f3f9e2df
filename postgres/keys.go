package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

const keyColumns = "id, name, role, user_id, prefix, created_at, last_used_at, expires_at, revoked_at"

func scanKey(row pgx.Row) (rebound.APIKey, error) {
	var k rebound.APIKey
	err := row.Scan(&k.ID, &k.Name, &k.Role, &k.UserID, &k.Prefix, &k.CreatedAt, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt)
	k.CreatedAt = k.CreatedAt.UTC()
	for _, t := range []**time.Time{&k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return k, err
}

// NewKey is an API key to store. The key itself is never stored: only its
// hash, and its first characters as Prefix.
type NewKey struct {
	Name      string
	Role      rebound.Role
	UserID    *int64 // required for an author; its user must exist
	ExpiresAt *time.Time
	Hash      []byte
	Prefix    string
}

// CreateKey stores a key. An author's user_id that names no user is a
// not_found error on user_id.
func (db *DB) CreateKey(ctx context.Context, in NewKey) (rebound.APIKey, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	k, err := scanKey(db.pool.QueryRow(ctx, `INSERT INTO api_keys (name, role, user_id, prefix, hash, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+keyColumns, in.Name, in.Role, in.UserID, in.Prefix, in.Hash, in.ExpiresAt))
	return k, translate(err, "create key")
}

// ListKeys returns one page of keys ordered by id, revoked ones included,
// and the total count.
func (db *DB) ListKeys(ctx context.Context, p rebound.Page) ([]rebound.APIKey, int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, "SELECT "+keyColumns+" FROM api_keys ORDER BY id LIMIT $1 OFFSET $2", p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, translate(err, "list keys")
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rebound.APIKey, error) { return scanKey(r) })
	if err != nil {
		return nil, 0, translate(err, "list keys")
	}
	if keys == nil {
		keys = []rebound.APIKey{}
	}
	var total int64
	err = db.pool.QueryRow(ctx, "SELECT count(*) FROM api_keys").Scan(&total)
	return keys, total, translate(err, "count keys")
}

// RevokeKey marks a key revoked and returns it; revoking it again keeps the
// first time. An id that names no key is not_found.
func (db *DB) RevokeKey(ctx context.Context, id int64) (rebound.APIKey, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	k, err := scanKey(db.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 RETURNING `+keyColumns, id))
	return k, notFound(translate(err, "revoke key"), "key")
}

// KeyByHash returns the key whose hash is given, revoked or expired alike,
// or a not_found error.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (rebound.APIKey, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	k, err := scanKey(db.pool.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE hash = $1", hash))
	return k, notFound(translate(err, "look up key"), "key")
}

// TouchKeys records when keys were last used, in one statement for many
// keys; a time earlier than the one stored is ignored.
func (db *DB) TouchKeys(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	// In id order: two origins flushing at once lock the same rows in
	// the same order, so they wait for each other instead of deadlocking.
	ids := slices.Sorted(maps.Keys(used))
	at := make([]time.Time, len(ids))
	for i, id := range ids {
		at[i] = used[id]
	}
	_, err := db.pool.Exec(ctx, `UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, t.at)
		FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, at) WHERE k.id = t.id`, ids, at)
	return translate(err, "record key use")
}
