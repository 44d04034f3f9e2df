package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

const domainColumns = `host, not_found_url, root_url, created_at`

func scanDomain(row pgx.Row) (rebound.Domain, error) {
	var d rebound.Domain
	err := row.Scan(&d.Host, &d.NotFoundURL, &d.RootURL, &d.CreatedAt)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, err
}

// CreateDomain adds a domain; its host (normalised by the caller) must be
// new, or the error is a conflict on host.
func (db *DB) CreateDomain(ctx context.Context, d rebound.Domain) (rebound.Domain, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	out, err := scanDomain(db.pool.QueryRow(ctx, `INSERT INTO domains (host, not_found_url, root_url) VALUES ($1, $2, $3)
		RETURNING `+domainColumns, d.Host, d.NotFoundURL, d.RootURL))
	if rebound.ErrorCode(translate(err, "")) == rebound.EConflict {
		return out, rebound.FieldErrorf(rebound.EConflict, "host", "a domain with this host exists")
	}
	return out, translate(err, "create domain")
}

// Domains returns every domain, by host.
func (db *DB) Domains(ctx context.Context) ([]rebound.Domain, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, "SELECT "+domainColumns+" FROM domains ORDER BY host")
	if err != nil {
		return nil, translate(err, "list domains")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rebound.Domain, error) { return scanDomain(r) })
	if out == nil {
		out = []rebound.Domain{}
	}
	return out, translate(err, "list domains")
}

// DomainPatch holds the fields of a domain to change.
type DomainPatch struct {
	NotFoundURL Opt[*string]
	RootURL     Opt[*string]
}

// UpdateDomain changes a domain's fields, or answers not_found.
func (db *DB) UpdateDomain(ctx context.Context, host string, p DomainPatch) (rebound.Domain, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	d, err := scanDomain(db.pool.QueryRow(ctx, `UPDATE domains SET
		not_found_url = CASE WHEN $2 THEN $3 ELSE not_found_url END,
		root_url = CASE WHEN $4 THEN $5 ELSE root_url END
		WHERE host = $1 RETURNING `+domainColumns, host, p.NotFoundURL.Set, p.NotFoundURL.Value, p.RootURL.Set, p.RootURL.Value))
	return d, notFound(translate(err, "update domain"), "domain")
}

// DeleteDomain deletes a domain. While links use it, it answers a conflict,
// unless withLinks: then the links are deleted first, each with its
// "deleted" event and its code queued on the cache outbox, in the same
// transaction. It returns the deleted links.
func (db *DB) DeleteDomain(ctx context.Context, host string, withLinks bool, actor json.RawMessage) ([]rebound.Link, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	var deleted []rebound.Link
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var exists, used bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM domains WHERE host = $1 FOR UPDATE),
			EXISTS (SELECT 1 FROM urls WHERE domain = $1)`, host).Scan(&exists, &used); err != nil {
			return translate(err, "read domain")
		}
		if !exists {
			return rebound.Errorf(rebound.ENotFound, "no domain has this host")
		}
		if used && !withLinks {
			return rebound.FieldErrorf(rebound.EConflict, "host",
				"links use this domain: delete them, or ask again with ?with_links=true to delete them too")
		}
		if used {
			rows, err := tx.Query(ctx, "DELETE FROM urls WHERE domain = $1 RETURNING "+linkFields+", nextval('link_versions')", host)
			if err != nil {
				return translate(err, "delete the domain's links")
			}
			if deleted, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (rebound.Link, error) { return scanLink(r) }); err != nil {
				return translate(err, "delete the domain's links")
			}
			for _, l := range deleted {
				if err := queueCacheWrites(ctx, tx, l.Version, l.Key()); err != nil {
					return err
				}
				if err := insertEvent(ctx, tx, &l.ID, l.UserID, rebound.EventDeleted, withActor(map[string]any{
					"short_code": l.ShortCode, "original_url": l.OriginalURL, "domain": host,
				}, actor)); err != nil {
					return err
				}
			}
			ids := make([]int64, len(deleted))
			for i, l := range deleted {
				ids[i] = l.ID
			}
			if _, err := tx.Exec(ctx, "DELETE FROM url_search WHERE url_id = ANY($1)", ids); err != nil {
				return translate(err, "drop the domain's links from search")
			}
		}
		_, err := tx.Exec(ctx, "DELETE FROM domains WHERE host = $1", host)
		return translate(err, "delete domain")
	})
	return deleted, err
}
