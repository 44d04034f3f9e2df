// Package testenv gives tests their own real Postgres database and Redis key
// prefix, so packages can run in parallel against the same servers without
// seeing each other's data. Nothing is mocked.
//
// The servers come from TEST_DATABASE_URL (a role allowed to create
// databases; default postgres://postgres@127.0.0.1:5432/postgres) and
// TEST_REDIS_URL (default redis://127.0.0.1:6379/0). A test fails, never
// skips, when they are unreachable: `make test` starts them.
package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/faultproxy"
	"github.com/reboundhq/rebound/postgres"
)

// AdminURL is the Postgres URL tests create their databases through.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL is the Redis server tests use.
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Name returns a random lower-case name with the given prefix.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewDatabase creates an empty, migrated database for the test, drops it
// when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	dsn := NewEmptyDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return dsn
}

// NewEmptyDatabase is NewDatabase without the migrations: for a test that
// migrates it itself.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := AdminURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test postgres %s (run `make test`, which starts it): %v", admin, err)
	}
	defer conn.Close(ctx)
	name := Name("rebound_test_")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewDB returns a store on a new test database.
func NewDB(t testing.TB) (*postgres.DB, string) {
	t.Helper()
	dsn := NewDatabase(t)
	db, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(db.Close)
	return db, dsn
}

// NewRedis returns a client of the test Redis and a key prefix of the
// test's own; the test's keys are deleted when it ends.
func NewRedis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	rdb, err := cache.Dial(RedisURL(), nil)
	if err != nil {
		t.Fatalf("dial test redis: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("connect to test redis %s (run `make test`, which starts it): %v", RedisURL(), err)
	}
	prefix := Name("t") + ":"
	t.Cleanup(func() {
		DeleteKeys(rdb, prefix)
		_ = rdb.Close()
	})
	return rdb, prefix
}

// ProxyURL starts a fault-injecting proxy to the host of rawURL (a
// Postgres DSN or a Redis URL) and returns it with rawURL pointed at it; the
// proxy closes when the test ends.
func ProxyURL(t testing.TB, rawURL string) (*faultproxy.Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	p, err := faultproxy.New(u.Host)
	if err != nil {
		t.Fatalf("start proxy to %s: %v", u.Host, err)
	}
	t.Cleanup(p.Close)
	u.Host = p.Addr()
	return p, u.String()
}

// ProxiedRedis returns a client of the test Redis that connects through a
// fault-injecting proxy, and the proxy; both close when the test ends. The
// client shares the server with NewRedis's, so a prefix from NewRedis
// isolates its keys.
func ProxiedRedis(t testing.TB) (*faultproxy.Proxy, redis.UniversalClient) {
	t.Helper()
	p, proxied := ProxyURL(t, RedisURL())
	rdb, err := cache.Dial(proxied, nil)
	if err != nil {
		t.Fatalf("dial test redis through the proxy: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return p, rdb
}

// ProxiedCache returns two cache clients sharing a key prefix of the
// test's own: proxied reaches Redis through a fault-injecting proxy (also
// returned), direct straight, so a test can cut or slow the one and look
// through the other. o.Prefix is replaced.
func ProxiedCache(t testing.TB, o cache.Options) (p *faultproxy.Proxy, proxied, direct *cache.Client) {
	t.Helper()
	rdb, prefix := NewRedis(t)
	p, prdb := ProxiedRedis(t)
	o.Prefix = prefix
	return p, cache.New(prdb, o), cache.New(rdb, o)
}

// RawExchange sends raw, a request as its bytes on the wire (malformed
// ones included), on a fresh connection to addr, and returns the answer and
// its body.
func RawExchange(t testing.TB, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("send %.30q: %v", raw, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("answer to %.30q: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body of the answer to %.30q: %v", raw, err)
	}
	return resp, body
}

// DeleteKeys removes every key with the prefix.
func DeleteKeys(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// NewCache returns a cache client with the test's own prefix.
func NewCache(t testing.TB) *cache.Client {
	t.Helper()
	rdb, prefix := NewRedis(t)
	return cache.New(rdb, cache.Options{Prefix: prefix, NegativeTTL: time.Second})
}

// Eventually retries cond every 10ms until it is true or d has passed.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// RepoRoot is the repository's top folder.
func RepoRoot() string { return repoRoot() }

// SeedDir is the hackathon's seed data, beside the repository.
func SeedDir() string { return fmt.Sprintf("%s/../shared/data/hackathon", repoRoot()) }

func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = parent(d) {
		if _, err := os.Stat(d + "/go.mod"); err == nil {
			return d
		}
	}
	return dir
}

func parent(d string) string {
	for i := len(d) - 1; i > 0; i-- {
		if d[i] == '/' {
			return d[:i]
		}
	}
	return "/"
}
