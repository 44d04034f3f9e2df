package edge_test

import (
	"encoding/json"
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/postgres"
)

// FuzzHandle sends arbitrary paths and headers through the real handler
// (real Postgres and Redis behind it): never a panic or a 5xx other than
// 503, and every error is the documented JSON.
func FuzzHandle(f *testing.F) {
	h := newHarness(f, harnessOpts{edge: edge.Options{RateLimit: 1e9, RateBurst: 1e9}})
	h.link(postgres.NewLink{ShortCode: "fz", OriginalURL: "https://example.com/fz?q=1", IsActive: true, ForwardQuery: true})
	for _, seed := range [][4]string{
		{"/fz", "", "", ""}, {"/fz?a=%00&b=\r\n", "https://x.org", "bot", "1.2.3.4"}, {"/", "", "", ""},
		{"/%ZZ", "javascript:x", "", "::1, nonsense"}, {"//fz", "", "", ""}, {"/fz/../fz", "", "", ""},
		{"/health", "", "", ""}, {"/" + string(make([]byte, 70)), "http://a@b@c/", "", "fe80::1%eth0"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, path, referer, ua, xff string) {
		var req fasthttp.Request
		req.SetRequestURI(path)
		req.Header.Set("Referer", referer)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("X-Forwarded-For", xff)
		ctx := &fasthttp.RequestCtx{}
		ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, nil)
		h.srv.Handle(ctx)
		status := ctx.Response.StatusCode()
		switch {
		case status >= 300 && status < 400:
			if len(ctx.Response.Header.Peek("Location")) == 0 {
				t.Fatalf("%q: redirect without Location", path)
			}
		case status >= 400:
			if status >= 500 && status != 503 {
				t.Fatalf("%q: status %d", path, status)
			}
			var body map[string]any
			if err := json.Unmarshal(ctx.Response.Body(), &body); err != nil || body["code"] == nil {
				t.Fatalf("%q: error body %q", path, ctx.Response.Body())
			}
		}
	})
}
