package bench_test

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// The two benchmarks below drive the bare fasthttp server and the edge with
// the same client over loopback, hot links only: their ratio is the claim of
// SPEC section 7 (reboundbench measures it with the servers in their own
// processes). Run: go test -run '^$' -bench 'Loopback' ./bench/

const timingLinks = 100

func BenchmarkBareServerLoopback(b *testing.B) {
	drive(b, startBaseline(b, timingLinks))
}

func BenchmarkEdgeLoopback(b *testing.B) {
	db, _ := testenv.NewDB(b)
	c := testenv.NewCache(b)
	ctx := context.Background()
	for i := range timingLinks {
		if _, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: bench.Code(i), OriginalURL: bench.TargetURL(i), IsActive: true, RedirectType: 302}); err != nil {
			b.Fatal(err)
		}
	}
	drive(b, startEdge(b, db, c))
}

// startEdge serves an edge on a loopback port until the benchmark ends, its
// rate limiter on but never refusing (all load comes from one address).
func startEdge(b *testing.B, db *postgres.DB, c *cache.Client) string {
	srv := edge.New(edge.Options{Store: db, Cache: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 1e9, RateBurst: 1e9, Subscribe: true})
	ln := listen(b)
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}

// uniformLinks is the link count of the uniform-random pair: ten times the
// edge's default in-process tier, so most lookups go to Redis.
const uniformLinks = 1_000_000

func BenchmarkBareServerLoopbackUniform(b *testing.B) {
	driveUniform(b, startBaseline(b, uniformLinks))
}

// BenchmarkEdgeLoopbackUniform seeds the links straight into Redis (the
// edge never needs Postgres for them) and serves them uniformly at random.
//
// The links live under a fixed key prefix, seeded once and kept: go test
// calls a benchmark function more than once, and a million keys per call
// would fill Redis.
func BenchmarkEdgeLoopbackUniform(b *testing.B) {
	db, _ := testenv.NewDB(b)
	rdb, _ := testenv.NewRedis(b)
	c := cache.New(rdb, cache.Options{Prefix: "rbgobench:", LinkTTL: time.Hour})
	ctx := context.Background()
	if lk := make([]cache.Lookup, 1); c.GetLinks(ctx, []string{bench.Code(uniformLinks - 1)}, lk) != nil || lk[0].State != cache.Found {
		if err := bench.SeedCache(ctx, c, uniformLinks); err != nil {
			b.Fatal(err)
		}
	}
	driveUniform(b, startEdge(b, db, c))
}

func listen(b testing.TB) net.Listener {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

// drive warms every hot link, then sends b.N requests over 64 connections
// and reports requests per second.
func drive(b *testing.B, addr string) {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 64, ReadTimeout: 5 * time.Second}
	for i := range timingLinks {
		warm(b, hc, addr, i)
	}
	run(b, hc, addr, timingLinks)
}

func driveUniform(b *testing.B, addr string) {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 64, ReadTimeout: 5 * time.Second}
	warm(b, hc, addr, 0)
	run(b, hc, addr, uniformLinks)
}

// warm requests link i once, so it is cached, and checks it redirects.
func warm(b *testing.B, hc *fasthttp.HostClient, addr string, i int) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/" + bench.Code(i))
	if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 302 {
		b.Fatalf("warm %s: %v %d", bench.Code(i), err, resp.StatusCode())
	}
}

// run sends b.N requests for links picked at random among the first n over
// 64 connections, and reports requests per second.
func run(b *testing.B, hc *fasthttp.HostClient, addr string, n int) {
	b.SetParallelism(32) // 64 connections on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		var resp fasthttp.Response
		req.Header.Set("User-Agent", browserUA)
		req.Header.Set("Referer", "https://news.example.org/item?id=1")
		rnd := rand.New(rand.NewPCG(rand.Uint64(), 1))
		uri := []byte("http://" + addr + "/")
		base := len(uri)
		for pb.Next() {
			uri = bench.AppendCode(uri[:base], rnd.IntN(n))
			req.SetRequestURIBytes(uri)
			if err := hc.Do(&req, &resp); err != nil || resp.StatusCode() != 302 {
				b.Errorf("status %d, %v", resp.StatusCode(), err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

const browserUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
