package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

const eventColumns = "id, url_id, user_id, event_type, timestamp, details"

func scanEvent(row pgx.Row) (rebound.Event, error) {
	var e rebound.Event
	var details []byte
	err := row.Scan(&e.ID, &e.URLID, &e.UserID, &e.EventType, &e.Timestamp, &details)
	e.Timestamp = e.Timestamp.UTC()
	e.Details = json.RawMessage(details)
	return e, err
}

// CreateEvent inserts an event. A url_id or user_id that names no row is a
// not_found error with that field. Details must be a JSON object.
func (db *DB) CreateEvent(ctx context.Context, e rebound.Event) (rebound.Event, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	if len(e.Details) == 0 {
		e.Details = json.RawMessage("{}")
	}
	var out rebound.Event
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, "urls", "url_id", e.URLID); err != nil {
			return err
		}
		if err := mustExist(ctx, tx, "users", "user_id", e.UserID); err != nil {
			return err
		}
		var err error
		out, err = scanEvent(tx.QueryRow(ctx, `INSERT INTO events (url_id, user_id, event_type, details)
			VALUES ($1, $2, $3, $4) RETURNING `+eventColumns, e.URLID, e.UserID, e.EventType, []byte(e.Details)))
		return translate(err, "create event")
	})
	return out, err
}

func mustExist(ctx context.Context, tx pgx.Tx, table, field string, id *int64) error {
	if id == nil {
		return nil
	}
	var ok bool
	err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+" WHERE id = $1)", *id).Scan(&ok)
	if err != nil {
		return translate(err, "check "+field)
	}
	if !ok {
		return rebound.FieldErrorf(rebound.ENotFound, field, "%s %s names no row", field, idString(*id))
	}
	return nil
}

// EventFilter narrows an event listing; nil fields do not filter.
type EventFilter struct {
	URLID     *int64
	UserID    *int64
	EventType *string
}

// eventsView is every event: the rows of events, and one "click" event per
// stored click (its event_id, the link's owner then, and what a click event
// row held). Clicks stored before analytics have their events as rows of
// events and no event_id.
const eventsView = `(SELECT ` + eventColumns + ` FROM events
	UNION ALL
	SELECT event_id, url_id, user_id, 'click', at, jsonb_build_object('referrer', referrer, 'bot', bot)
	FROM clicks WHERE event_id IS NOT NULL) e`

// ListEvents returns one page of events ordered by id, and the total matching.
func (db *DB) ListEvents(ctx context.Context, f EventFilter, p rebound.Page) ([]rebound.Event, int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	const where = ` WHERE ($1::bigint IS NULL OR url_id = $1) AND ($2::bigint IS NULL OR user_id = $2)
		AND ($3::text IS NULL OR event_type = $3)`
	rows, err := db.pool.Query(ctx, "SELECT "+eventColumns+" FROM "+eventsView+where+" ORDER BY id LIMIT $4 OFFSET $5",
		f.URLID, f.UserID, f.EventType, p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, translate(err, "list events")
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rebound.Event, error) { return scanEvent(r) })
	if err != nil {
		return nil, 0, translate(err, "list events")
	}
	var total int64
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM "+eventsView+where, f.URLID, f.UserID, f.EventType).Scan(&total); err != nil {
		return nil, 0, translate(err, "count events")
	}
	if events == nil {
		events = []rebound.Event{}
	}
	return events, total, nil
}
