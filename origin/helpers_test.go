package origin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/origin"
	"github.com/reboundhq/rebound/postgres"
)

const token = "test-token"

// env is an origin served over HTTP on a database and Redis prefix of its own.
type env struct {
	t     testing.TB
	url   string
	db    *postgres.DB
	cache *cache.Client
	srv   *origin.Server
	dsn   string // set by newEnv
	pool  *pgxpool.Pool
}

func newEnv(t testing.TB, adjust ...func(*origin.Options)) *env {
	t.Helper()
	db, dsn := testenv.NewDB(t)
	e := serveEnv(t, db, testenv.NewCache(t), adjust...)
	e.dsn = dsn
	return e
}

// pg is a pool on the test's database, for checking what the API stored.
func (e *env) pg() *pgxpool.Pool {
	e.t.Helper()
	if e.pool == nil {
		p, err := pgxpool.New(context.Background(), e.dsn)
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(p.Close)
		e.pool = p
	}
	return e.pool
}

// serveEnv serves an origin on the given store and cache (behind a fault
// proxy, say) for the rest of the test; adjust, when given, changes its
// options first (to wrap the store or keep the logs, say).
func serveEnv(t testing.TB, db *postgres.DB, c *cache.Client, adjust ...func(*origin.Options)) *env {
	t.Helper()
	opts := origin.Options{
		Store: db, Cache: c, PublicURL: "http://sho.rt", Tokens: []string{token, "second-token"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PermanentMaxAge: time.Hour,
	}
	for _, f := range adjust {
		f(&opts)
	}
	srv := origin.New(opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &env{t: t, url: hs.URL, db: db, cache: c, srv: srv}
}

// runBackground runs the origin's background work (cache re-sync, click
// consumer) for the rest of the test.
func (e *env) runBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.srv.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// response is an answer with its body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r response) str(key string) string {
	s, _ := r.json[key].(string)
	return s
}

func (r response) num(key string) int64 {
	f, _ := r.json[key].(float64)
	return int64(f)
}

// do sends a request with the test token. body may be a string (sent as
// is) or any other value (sent as JSON).
func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	r, err := e.send(method, path, body, headers...)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// send is do for goroutines other than the test's: it returns its error
// instead of failing the test.
func (e *env) send(method, path string, body any, headers ...string) (response, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return response{}, fmt.Errorf("encode the body of %s %s: %w", method, path, err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		return response{}, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	out := response{status: res.StatusCode, header: res.Header}
	out.body, _ = io.ReadAll(res.Body)
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && len(out.body) > 0 {
		_ = json.Unmarshal(out.body, &out.json)
	}
	return out, nil
}

// want fails the test unless the response has the status (and, for errors,
// the documented error shape with the given code).
func (e *env) want(r response, status int, code string) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if code == "" {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("error Content-Type %q, want application/json; body %s", ct, r.body)
	}
	if r.str("code") != code || r.str("error") == "" || r.str("request_id") == "" {
		e.t.Fatalf("error body %s, want code %q with error and request_id", r.body, code)
	}
}

func (e *env) createUser(name string) int64 {
	e.t.Helper()
	r := e.do("POST", "/users", map[string]any{"username": name, "email": name + "@example.com"})
	e.want(r, 201, "")
	return r.num("id")
}

func (e *env) createLink(body map[string]any) response {
	e.t.Helper()
	r := e.do("POST", "/urls", body)
	e.want(r, 201, "")
	return r
}
