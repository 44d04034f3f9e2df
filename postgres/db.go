// Package postgres implements Rebound's store on PostgreSQL with pgx: users,
// links, events, clicks and their bulk imports. Postgres is the source of
// truth; every link change writes its audit event in the same transaction.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/reboundhq/rebound"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tunes the connection pool. The zero value works.
type Options struct {
	MaxConns int32 // default 20
	// MinConns is how many connections the pool opens at start, in the
	// background, and keeps open while idle. Default 0.
	MinConns int32
	// Lazy skips the connection check, so a service can start while
	// Postgres is down and connect when it comes back.
	Lazy bool
	// QueryTimeout bounds every statement the store runs on its own; callers
	// may pass shorter deadlines in their context. Default 5s.
	QueryTimeout time.Duration
	// Tracking is how much of each click RecordClicks keeps.
	Tracking rebound.Tracking
}

// DB is the Postgres store. It is safe for concurrent use.
type DB struct {
	pool       *pgxpool.Pool
	timeout    time.Duration
	tracking   rebound.Tracking
	partitions partitionSet
}

// partitionSet remembers the days whose partition of clicks exists.
type partitionSet struct {
	mu    sync.Mutex
	known map[time.Time]bool
}

// Open connects to Postgres and checks the connection.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns = 20
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.MinConns = min(opts.MinConns, cfg.MaxConns)
	cfg.AfterConnect = warm
	// Connections opened together must not all expire together.
	cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 5
	// A dead server must not hang a request: connects and health checks fail fast.
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	db := &DB{pool: pool, timeout: 5 * time.Second, tracking: opts.Tracking, partitions: partitionSet{known: map[time.Time]bool{}}}
	if opts.QueryTimeout > 0 {
		db.timeout = opts.QueryTimeout
	}
	if opts.Lazy {
		return db, nil
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

// warm has a new backend plan a statement over every table, which loads
// their catalog entries and indexes, so that the first request on it does
// not. Measured with psql here: a fresh backend's first INSERT into urls took
// 5 to 7 ms, the next ones 0.5 ms; on a fresh origin whose 20 connections
// were opened at start, the slowest creates of a 500/s burst waited 200 to
// 250 ms without warming and 150 to 200 ms with it.
func warm(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, "EXPLAIN SELECT FROM users, urls, events, clicks, url_click_daily")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Postgres answered, so the connection is usable, just not warm:
		// the schema may not be there yet (an edge may start before the
		// origin migrates).
		return nil
	}
	if err != nil {
		return fmt.Errorf("warm new connection: %w", err)
	}
	return nil
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping checks that Postgres answers a query.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.ctx(ctx)
	defer cancel()
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

func (db *DB) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// Migrate applies every migration not yet applied. It takes Postgres's
// advisory lock, so concurrent callers apply each migration once.
func Migrate(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.ConnectTimeout = 5 * time.Second
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	if err := pingSQL(ctx, sqlDB); err != nil {
		return err
	}
	src, err := iofs.New(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	drv, err := pgxmigrate.WithInstance(sqlDB, &pgxmigrate.Config{})
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

func pingSQL(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	return nil
}

// translate maps constraint violations to domain errors that a client can be
// shown, marks failures to reach Postgres as unavailable (so a client is told
// to retry), and wraps anything else with what was being done.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	var de *rebound.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return rebound.Errorf(rebound.ENotFound, "not found")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			field := constraintField(pgErr.ConstraintName)
			return rebound.FieldErrorf(rebound.EConflict, field, "%s already exists", field)
		case "23503": // foreign_key_violation
			if strings.HasPrefix(pgErr.ConstraintName, "urls_domain") {
				return rebound.FieldErrorf(rebound.ENotFound, "domain", "domain names no domain")
			}
			return rebound.FieldErrorf(rebound.ENotFound, "user_id", "user_id names no user")
		}
	}
	if unreachable(err) {
		// The cause stays in the chain for the logs; clients see the sentence.
		return fmt.Errorf("%s: %w: %w", doing, errUnavailable, err)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

var errUnavailable = rebound.Errorf(rebound.EUnavailable, "the database is unavailable; retry shortly")

// unreachable reports whether err says that Postgres could not be reached,
// did not answer in time, or turned the statement away for a reason that
// passes (shutting down, out of connections, a deadlock or serialization
// victim), rather than that the statement or its data were wrong.
func unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if len(pgErr.Code) < 2 {
			return false
		}
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: too many connections, disk full, out of memory
			"57", // operator intervention: shutdown, cannot connect now, query canceled
			"40": // transaction rollback: serialization failure, deadlock
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// constraintField turns "users_email_key" into "email" and "urls_pkey" into "id".
func constraintField(constraint string) string {
	if strings.HasSuffix(constraint, "_pkey") {
		return "id"
	}
	name := strings.TrimSuffix(constraint, "_key")
	if i := strings.IndexByte(name, '_'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// inTx runs fn in a transaction, committing when it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return translate(err, "begin transaction")
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return translate(err, "commit")
	}
	return nil
}
