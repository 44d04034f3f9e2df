package origin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorContract sends malformed requests of every kind and checks each
// answer's status and documented JSON shape.
func TestErrorContract(t *testing.T) {
	e := newEnv(t)
	huge := `{"original_url":"https://x.org/` + strings.Repeat("a", 2<<20) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		code               string
	}{
		{"malformed json", "POST", "/users", `{"username":`, nil, 400, "bad_request"},
		{"trailing garbage", "POST", "/users", `{"username":"a","email":"a@b.co"} x`, nil, 400, "bad_request"},
		{"array body", "POST", "/urls", `[{"original_url":"https://x.org"}]`, nil, 400, "bad_request"},
		{"string body", "POST", "/urls", `"https://x.org"`, nil, 400, "bad_request"},
		{"null body", "POST", "/events", `null`, nil, 400, "bad_request"},
		{"empty body", "POST", "/users", ``, nil, 400, "bad_request"},
		{"huge body", "POST", "/urls", huge, nil, 413, "payload_too_large"},
		{"form body", "POST", "/users", `username=a`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"unknown route", "GET", "/nope", nil, nil, 404, "not_found"},
		{"unknown nested route", "GET", "/users/1/nope", nil, nil, 404, "not_found"},
		{"trailing slash", "GET", "/users/", nil, nil, 404, "not_found"},
		{"unclean path", "GET", "/users/../urls", nil, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/users", nil, nil, 405, "method_not_allowed"},
		{"wrong method on item", "POST", "/urls/1", nil, nil, 405, "method_not_allowed"},
		{"no token", "GET", "/users", nil, []string{"Authorization", ""}, 401, "unauthorized"},
		{"bad token", "GET", "/users", nil, []string{"Authorization", "Bearer nope"}, 401, "unauthorized"},
		{"basic auth", "GET", "/users", nil, []string{"Authorization", "Basic dGVzdC10b2tlbg=="}, 401, "unauthorized"},
		{"page zero", "GET", "/users?page=0", nil, nil, 400, "bad_request"},
		{"page text", "GET", "/users?page=two", nil, nil, 400, "bad_request"},
		{"per_page too big", "GET", "/urls?per_page=101", nil, nil, 400, "bad_request"},
		{"per_page zero", "GET", "/events?per_page=0", nil, nil, 400, "bad_request"},
		{"user_id text", "GET", "/urls?user_id=abc", nil, nil, 400, "bad_request"},
		{"is_active text", "GET", "/urls?is_active=maybe", nil, nil, 400, "bad_request"},
		{"url_id negative", "GET", "/events?url_id=-3", nil, nil, 400, "bad_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.body, c.headers...)
			e.want(r, c.status, c.code)
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	// The second configured token works too.
	e.want(e.do("GET", "/users", nil, "Authorization", "Bearer second-token"), 200, "")
}

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/nope", nil, "X-Request-ID", "abc-123")
	if r.header.Get("X-Request-ID") != "abc-123" || r.str("request_id") != "abc-123" {
		t.Fatalf("request id %q / %q", r.header.Get("X-Request-ID"), r.str("request_id"))
	}
	r = e.do("GET", "/nope", nil, "X-Request-ID", "bad id\twith tab")
	if id := r.header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe request id kept: %q", id)
	}
}

func TestPublicEndpoints(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/health", nil, "Authorization", "")
	e.want(r, 200, "")
	if r.str("status") != "ok" || r.str("postgres") != "ok" || r.str("redis") != "ok" {
		t.Fatalf("health %s", r.body)
	}
	r = e.do("GET", "/metrics", nil, "Authorization", "")
	e.want(r, 200, "")
	if !strings.Contains(string(r.body), "rebound_origin_http_requests_total") {
		t.Fatal("metrics lack the request counter")
	}
	r = e.do("GET", "/openapi.json", nil, "Authorization", "")
	e.want(r, 200, "")
	if r.str("openapi") == "" {
		t.Fatal("openapi.json has no openapi version")
	}
	r = e.do("HEAD", "/health", nil)
	if r.status != http.StatusOK {
		t.Fatalf("HEAD /health: %d", r.status)
	}
}

// TestClientGoneIsNotAServerError: a request whose client hung up (its
// context cancelled) is recorded as 499, not answered and logged as a 500.
func TestClientGoneIsNotAServerError(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/urls", "/users/1", "/health"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, "GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != 499 {
			t.Errorf("%s with the client gone: %d %s", path, rec.Code, rec.Body)
		}
	}
}
