// Package systemtest runs one origin and several edges together on real
// Postgres and Redis (single node or a private Redis Cluster) and checks
// that they behave as one system: cache coherence, the click pipeline,
// link limits, and graceful restarts that lose nothing.
package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/origin"
	"github.com/reboundhq/rebound/postgres"
)

const token = "sys-token"

type system struct {
	t         *testing.T
	db        *postgres.DB
	dsn       string
	prefix    string
	dial      func() redis.UniversalClient
	cache     *cache.Client
	originURL string
	origin    *origin.Server
	stopBg    context.CancelFunc
	bgDone    chan struct{}
	edges     []*edgeNode
	client    *http.Client
}

type edgeNode struct {
	srv *edge.Server
	url string
}

// redisTarget says how to reach Redis: one server, or a cluster.
type redisTarget struct {
	url     string
	cluster []string
}

func newSystem(t *testing.T, target redisTarget, edges int, edgeOpts edge.Options) *system {
	t.Helper()
	return newSystemAt(t, target, edges, edgeOpts, "http://edge")
}

// newSystemAt is newSystem with the origin's short URLs on publicURL.
func newSystemAt(t *testing.T, target redisTarget, edges int, edgeOpts edge.Options, publicURL string) *system {
	t.Helper()
	return newSystemWith(t, target, edges, edgeOpts, publicURL, nil)
}

// newSystemWith is newSystemAt with the origin's options adjusted.
func newSystemWith(t *testing.T, target redisTarget, edges int, edgeOpts edge.Options, publicURL string, adjust func(*origin.Options)) *system {
	t.Helper()
	db, dsn := testenv.NewDB(t)
	s := &system{t: t, db: db, dsn: dsn, prefix: testenv.Name("sys") + ":",
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
	s.dial = func() redis.UniversalClient {
		rdb, err := cache.Dial(target.url, target.cluster)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	direct := s.dial()
	t.Cleanup(func() { testenv.DeleteKeys(direct, s.prefix) })
	s.cache = s.newCache()
	opts := origin.Options{Store: db, Cache: s.newCache(), PublicURL: publicURL, Tokens: []string{token}, Logger: quiet()}
	if adjust != nil {
		adjust(&opts)
	}
	s.origin = origin.New(opts)
	hs := httptest.NewServer(s.origin)
	t.Cleanup(hs.Close)
	s.originURL = hs.URL
	s.startOriginBackground()
	t.Cleanup(s.stopOriginBackground)
	for range edges {
		s.addEdge(edgeOpts)
	}
	return s
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (s *system) newCache() *cache.Client {
	return cache.New(s.dial(), cache.Options{Prefix: s.prefix, NegativeTTL: 2 * time.Second})
}

func (s *system) startOriginBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopBg, s.bgDone = cancel, make(chan struct{})
	go func() { defer close(s.bgDone); s.origin.Run(ctx) }()
}

func (s *system) stopOriginBackground() {
	if s.stopBg != nil {
		s.stopBg()
		<-s.bgDone
		s.stopBg = nil
	}
}

func (s *system) addEdge(opts edge.Options) *edgeNode {
	s.t.Helper()
	db, err := postgres.Open(context.Background(), s.dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(db.Close)
	opts.Store, opts.Cache, opts.Logger, opts.Subscribe = db, s.newCache(), quiet(), true
	if opts.ClickFlushInterval == 0 {
		opts.ClickFlushInterval = 20 * time.Millisecond
	}
	n := &edgeNode{srv: edge.New(opts)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	go func() { _ = n.srv.Serve(ln) }()
	n.url = "http://" + ln.Addr().String()
	s.t.Cleanup(func() { n.stop() })
	s.edges = append(s.edges, n)
	// Wait until the edge follows invalidations, or the first write could
	// be published before it listens.
	testenv.Eventually(s.t, 10*time.Second, "edge subscribed", func() bool {
		res, err := http.Get(n.url + "/health")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return bytes.Contains(b, []byte(`"invalidation":"live"`))
	})
	return n
}

func (n *edgeNode) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
}

// api calls the origin and decodes a JSON answer.
func (s *system) api(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.originURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// hit asks an edge for a code and returns the status and Location.
func (s *system) hit(n *edgeNode, code string, headers ...string) (int, string) {
	s.t.Helper()
	status, loc, _ := s.hitCode(n, code, headers...)
	return status, loc
}

// hitCode is hit that also returns the error code of a JSON error body.
func (s *system) hitCode(n *edgeNode, code string, headers ...string) (int, string, string) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", n.url+"/"+code, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // the client sends req.Host, not a Host header
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", code, err)
	}
	defer res.Body.Close()
	var body struct{ Code string }
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, res.Header.Get("Location"), body.Code
}

// everyEdgeWithin fails unless every edge answers want for code within d of now.
func (s *system) everyEdgeWithin(d time.Duration, code string, wantStatus int, wantLocation string) {
	s.t.Helper()
	s.everyEdgeWithinOn(d, "", code, wantStatus, wantLocation)
}

// everyEdgeWithinOn is everyEdgeWithin for a request whose Host is host
// ("": the edge's own address).
func (s *system) everyEdgeWithinOn(d time.Duration, host, code string, wantStatus int, wantLocation string) {
	s.t.Helper()
	var headers []string
	if host != "" {
		headers = []string{"Host", host}
	}
	start := time.Now()
	for i, n := range s.edges {
		for {
			st, loc := s.hit(n, code, headers...)
			if st == wantStatus && (wantLocation == "" || loc == wantLocation) {
				break
			}
			if time.Since(start) > d {
				s.t.Fatalf("edge %d still answers %d %q for %s %v after the API answered; want %d %q",
					i, st, loc, code, time.Since(start), wantStatus, wantLocation)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}
