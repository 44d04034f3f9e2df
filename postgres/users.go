package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
)

const userColumns = "id, username, email, created_at"

func scanUser(row pgx.Row) (rebound.User, error) {
	var u rebound.User
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.CreatedAt)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// UserPatch holds the fields of a user to change; nil fields stay as they are.
type UserPatch struct {
	Username *string
	Email    *string
}

// CreateUser inserts a user. Username and email must already be validated.
func (db *DB) CreateUser(ctx context.Context, username, email string) (rebound.User, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	u, err := scanUser(db.pool.QueryRow(ctx,
		"INSERT INTO users (username, email) VALUES ($1, $2) RETURNING "+userColumns, username, email))
	return u, translate(err, "create user")
}

// GetUser returns the user with id, or a not_found error.
func (db *DB) GetUser(ctx context.Context, id int64) (rebound.User, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	u, err := scanUser(db.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	return u, notFound(translate(err, "get user"), "user")
}

// ListUsers returns one page of users ordered by id, and the total count.
func (db *DB) ListUsers(ctx context.Context, p rebound.Page) ([]rebound.User, int64, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx,
		"SELECT "+userColumns+", count(*) OVER () FROM users ORDER BY id LIMIT $1 OFFSET $2", p.PerPage, p.Offset())
	if err != nil {
		return nil, 0, translate(err, "list users")
	}
	users := []rebound.User{}
	var total int64
	for rows.Next() {
		var u rebound.User
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.CreatedAt, &total); err != nil {
			return nil, 0, translate(err, "list users")
		}
		u.CreatedAt = u.CreatedAt.UTC()
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, translate(err, "list users")
	}
	if len(users) == 0 { // past the last page the window gives no total
		err := db.pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&total)
		if err != nil {
			return nil, 0, translate(err, "count users")
		}
	}
	return users, total, nil
}

// UpdateUser changes the given fields of a user and returns the result.
func (db *DB) UpdateUser(ctx context.Context, id int64, p UserPatch) (rebound.User, error) {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	u, err := scanUser(db.pool.QueryRow(ctx,
		`UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email)
		 WHERE id = $1 RETURNING `+userColumns, id, p.Username, p.Email))
	return u, notFound(translate(err, "update user"), "user")
}

// DeleteUser deletes a user; its links stay, with no owner.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	tag, err := db.pool.Exec(ctx, "DELETE FROM users WHERE id = $1", id)
	if err != nil {
		return translate(err, "delete user")
	}
	if tag.RowsAffected() == 0 {
		return rebound.Errorf(rebound.ENotFound, "user not found")
	}
	return nil
}

// notFound gives a generic not-found error a sentence naming what was missing.
func notFound(err error, what string) error {
	if rebound.ErrorCode(err) == rebound.ENotFound && rebound.ErrorField(err) == "" {
		return rebound.Errorf(rebound.ENotFound, "%s not found", what)
	}
	return err
}
