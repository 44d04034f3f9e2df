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
	srv := bench.NewBaseline(timingLinks)
	ln := listen(b)
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	drive(b, ln.Addr().String())
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
	srv := edge.New(edge.Options{Store: db, Cache: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimit: 1e9, RateBurst: 1e9, Subscribe: true})
	ln := listen(b)
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	drive(b, ln.Addr().String())
}

var _ = cache.Found // the edge's cache package, wired above through testenv

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
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + addr + "/" + bench.Code(i))
		if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 302 {
			b.Fatalf("warm %s: %v %d", bench.Code(i), err, resp.StatusCode())
		}
	}
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
			uri = bench.AppendCode(uri[:base], rnd.IntN(timingLinks))
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
