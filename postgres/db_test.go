package postgres_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// TestOpenBeforeMigrations: every new connection is warmed by planning over
// the tables, but an edge may connect before the origin has created them.
// Its connections must work all the same.
func TestOpenBeforeMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA bare"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "bare") // no tables in sight
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String(), postgres.Options{MaxConns: 2, MinConns: 2})
	if err != nil {
		t.Fatalf("open a database without the schema: %v", err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}
