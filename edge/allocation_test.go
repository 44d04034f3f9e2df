//go:build !race

package edge_test

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/postgres"
)

// TestCachedRedirectAllocatesNothing: a redirect served from the in-process
// tier, rate limit, metrics and click queueing included, allocates nothing;
// nor does one that evaluates three rules.
func TestCachedRedirectAllocatesNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{RateLimit: 1e9, RateBurst: 1e9}})
	h.link(postgres.NewLink{ShortCode: "zero", OriginalURL: "https://example.com/zero", IsActive: true})
	h.link(postgres.NewLink{ShortCode: "zerofwd", OriginalURL: "https://example.com/z", IsActive: true, ForwardQuery: true})
	h.link(postgres.NewLink{ShortCode: "zerorules", OriginalURL: "https://example.com/z", IsActive: true, ForwardQuery: true,
		Rules: parseRules(t, `[{"if":[{"type":"device","is":"ios"}],"to":"https://example.com/ios"},
			{"if":[{"type":"language","is":"fr"}],"to":"https://example.com/fr"},
			{"if":[{"type":"query","name":"src","value":"mail"},{"type":"split","percent":50}],"to":"https://example.com/mail"}]`)})
	for _, uri := range []string{"/zero", "/zerofwd?a=1", "/zerorules?src=mail"} {
		ctx := newCtx(uri)
		h.srv.Handle(ctx) // fills the in-process tier
		if ctx.Response.StatusCode() != 302 {
			t.Fatalf("%s: status %d", uri, ctx.Response.StatusCode())
		}
		allocs := testing.AllocsPerRun(1000, func() {
			ctx.Response.Reset()
			h.srv.Handle(ctx)
		})
		if allocs != 0 {
			t.Fatalf("%s: %v allocations per cached redirect", uri, allocs)
		}
	}
}

func newCtx(uri string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.SetRequestURI(uri)
	req.Header.Set("User-Agent", "Mozilla/5.0 Firefox/120.0")
	req.Header.Set("Referer", "https://news.example.org/")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5555}, nil)
	return ctx
}

// BenchmarkCachedRedirect measures the handler alone on a cached link. The
// comparison with a bare fasthttp server over real connections is in bench/.
func BenchmarkCachedRedirect(b *testing.B) {
	h := newHarness(b, harnessOpts{edge: edge.Options{RateLimit: 1e9, RateBurst: 1e9}})
	h.link(postgres.NewLink{ShortCode: "bench", OriginalURL: "https://example.com/bench", IsActive: true})
	ctx := newCtx("/bench")
	h.srv.Handle(ctx)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h.srv.Handle(ctx)
	}
}

// BenchmarkCachedRuledRedirect is BenchmarkCachedRedirect for a link with
// three rules (device, language, query) that a desktop Firefox in German
// falls through, so every condition is evaluated.
func BenchmarkCachedRuledRedirect(b *testing.B) {
	h := newHarness(b, harnessOpts{edge: edge.Options{RateLimit: 1e9, RateBurst: 1e9}})
	h.link(postgres.NewLink{ShortCode: "bench", OriginalURL: "https://example.com/bench", IsActive: true,
		Rules: parseRules(b, `[{"if":[{"type":"device","is":"ios"}],"to":"https://apps.example.com/1"},
			{"if":[{"type":"language","is":"fr"}],"to":"https://example.com/fr/1"},
			{"if":[{"type":"query","name":"src","value":"mail"}],"to":"https://example.com/mail/1"}]`)})
	ctx := newCtx("/bench")
	ctx.Request.Header.Set("Accept-Language", "de-DE,de;q=0.9")
	h.srv.Handle(ctx)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h.srv.Handle(ctx)
	}
}
