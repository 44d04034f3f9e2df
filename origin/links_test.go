package origin_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCreateLink(t *testing.T) {
	e := newEnv(t)
	uid := e.createUser("owner")
	r := e.createLink(map[string]any{"original_url": "https://example.com/a?b=c", "user_id": uid, "title": "A"})
	code := r.str("short_code")
	if !regexp.MustCompile(`^[A-Za-z0-9]{7}$`).MatchString(code) {
		t.Fatalf("generated code %q", code)
	}
	if r.str("short_url") != "http://sho.rt/"+code || r.num("user_id") != uid || r.json["is_active"] != true ||
		r.num("redirect_type") != 302 || r.json["forward_query"] != false || r.json["expires_at"] != nil ||
		r.json["max_clicks"] != nil || r.str("created_at") == "" || r.str("updated_at") == "" || r.str("title") != "A" {
		t.Fatalf("created link %s", r.body)
	}
	// Two generated codes differ: they are random, not sequential.
	if r2 := e.createLink(map[string]any{"original_url": "https://example.com/2"}); r2.str("short_code") == code {
		t.Fatal("two links got the same code")
	}

	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r = e.createLink(map[string]any{"original_url": "http://example.org", "short_code": "My_Code-1",
		"redirect_type": 301, "forward_query": true, "expires_at": exp.Format(time.RFC3339), "max_clicks": 3})
	if r.str("short_code") != "My_Code-1" || r.num("redirect_type") != 301 || r.json["forward_query"] != true ||
		r.str("expires_at") != exp.Format(time.RFC3339) || r.num("max_clicks") != 3 {
		t.Fatalf("custom link %s", r.body)
	}
	e.want(e.do("POST", "/urls", map[string]any{"original_url": "http://x.org", "short_code": "My_Code-1"}), 409, "conflict")
	// Codes are case-sensitive.
	e.createLink(map[string]any{"original_url": "http://x.org", "short_code": "my_code-1"})

	// The create wrote its event in the same statement.
	r = e.do("GET", fmt.Sprintf("/events?url_id=%d&event_type=created", r.num("id")), nil)
	e.want(r, 200, "")
	if r.num("total") != 1 {
		t.Fatalf("created events: %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/events?user_id=%d&event_type=created", uid), nil)
	data, _ := r.json["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("created events of the owner: %s", r.body)
	}
	// An empty event_type is no filter (it used to match no event).
	if r := e.do("GET", fmt.Sprintf("/events?user_id=%d&event_type=", uid), nil); r.num("total") != 1 {
		t.Fatalf("events of the owner with an empty event_type: %s", r.body)
	}
	ev := data[0].(map[string]any)
	details, _ := ev["details"].(map[string]any)
	if details["short_code"] != code || details["original_url"] != "https://example.com/a?b=c" || ev["timestamp"] == "" {
		t.Fatalf("created event %v", ev)
	}
}

func TestLinkValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"no url", `{}`, 400, "validation_failed", "original_url"},
		{"ftp", `{"original_url":"ftp://x.org/f"}`, 400, "validation_failed", "original_url"},
		{"javascript", `{"original_url":"javascript:alert(1)"}`, 400, "validation_failed", "original_url"},
		{"relative", `{"original_url":"/just/a/path"}`, 400, "validation_failed", "original_url"},
		{"no host", `{"original_url":"http:///path"}`, 400, "validation_failed", "original_url"},
		{"credentials", `{"original_url":"https://user:pw@x.org/"}`, 400, "validation_failed", "original_url"},
		{"port out of range", `{"original_url":"https://x.org:99999/"}`, 400, "validation_failed", "original_url"},
		{"port zero", `{"original_url":"https://x.org:0/"}`, 400, "validation_failed", "original_url"},
		{"crlf", `{"original_url":"https://x.org/\r\nSet-Cookie: a=b"}`, 400, "validation_failed", "original_url"},
		{"space", `{"original_url":"https://x.org/a b"}`, 400, "validation_failed", "original_url"},
		{"own short link", `{"original_url":"http://sho.rt/abc"}`, 400, "validation_failed", "original_url"},
		{"own short link over https", `{"original_url":"https://SHO.RT/x/../abc?q=1"}`, 400, "validation_failed", "original_url"},
		{"too long", `{"original_url":"https://x.org/` + strings.Repeat("a", 8200) + `"}`, 400, "validation_failed", "original_url"},
		{"url number", `{"original_url":42}`, 400, "bad_request", "original_url"},
		{"reserved", `{"original_url":"https://x.org","short_code":"health"}`, 400, "validation_failed", "short_code"},
		{"bad code", `{"original_url":"https://x.org","short_code":"a/b"}`, 400, "validation_failed", "short_code"},
		{"long code", `{"original_url":"https://x.org","short_code":"` + strings.Repeat("a", 65) + `"}`, 400, "validation_failed", "short_code"},
		{"empty code", `{"original_url":"https://x.org","short_code":""}`, 400, "validation_failed", "short_code"},
		{"redirect 303", `{"original_url":"https://x.org","redirect_type":303}`, 400, "validation_failed", "redirect_type"},
		{"redirect string", `{"original_url":"https://x.org","redirect_type":"301"}`, 400, "bad_request", "redirect_type"},
		{"user string", `{"original_url":"https://x.org","user_id":"1"}`, 400, "bad_request", "user_id"},
		{"user float", `{"original_url":"https://x.org","user_id":1.5}`, 400, "bad_request", "user_id"},
		{"unknown user", `{"original_url":"https://x.org","user_id":424242}`, 404, "not_found", "user_id"},
		{"negative user", `{"original_url":"https://x.org","user_id":-1}`, 404, "not_found", "user_id"},
		{"past expiry", `{"original_url":"https://x.org","expires_at":"2001-01-01T00:00:00Z"}`, 400, "validation_failed", "expires_at"},
		{"bad expiry", `{"original_url":"https://x.org","expires_at":"tomorrow"}`, 400, "validation_failed", "expires_at"},
		{"zero clicks", `{"original_url":"https://x.org","max_clicks":0}`, 400, "validation_failed", "max_clicks"},
		{"active string", `{"original_url":"https://x.org","is_active":"yes"}`, 400, "bad_request", "is_active"},
		{"title control", `{"original_url":"https://x.org","title":"a\u0000b"}`, 400, "validation_failed", "title"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/urls", c.body)
			e.want(r, c.status, c.code)
			if r.str("field") != c.field {
				t.Fatalf("field %q, want %q (%s)", r.str("field"), c.field, r.body)
			}
		})
	}
}

func TestUpdateAndDeleteLink(t *testing.T) {
	e := newEnv(t)
	r := e.createLink(map[string]any{"original_url": "https://example.com/old", "title": "t"})
	id, code := r.num("id"), r.str("short_code")
	path := fmt.Sprintf("/urls/%d", id)

	r = e.do("PATCH", path, map[string]any{"original_url": "https://example.com/new", "title": nil})
	e.want(r, 200, "")
	if r.str("original_url") != "https://example.com/new" || r.json["title"] != nil || r.str("short_code") != code {
		t.Fatalf("patched %s", r.body)
	}
	r = e.do("PUT", path, map[string]any{"is_active": false})
	e.want(r, 200, "")
	if r.json["is_active"] != false || r.str("original_url") != "https://example.com/new" {
		t.Fatalf("put %s", r.body)
	}
	e.want(e.do("PATCH", path, `{"original_url":"nope"}`), 400, "validation_failed")
	// A link pointed at its own short URL would redirect to itself.
	e.want(e.do("PATCH", path, map[string]any{"original_url": "http://sho.rt/" + code}), 400, "validation_failed")
	// Elsewhere on the public host is not a short link.
	r = e.do("PATCH", path, map[string]any{"original_url": "http://sho.rt/docs/page"})
	e.want(r, 200, "")
	e.want(e.do("PATCH", "/urls/999999", `{"title":"x"}`), 404, "not_found")

	r = e.do("GET", fmt.Sprintf("/events?url_id=%d", id), nil)
	kinds := eventTypes(r)
	if strings.Join(kinds, ",") != "created,updated,deactivated,updated" {
		t.Fatalf("events %v", kinds)
	}

	e.want(e.do("DELETE", path, nil), 204, "")
	e.want(e.do("GET", path, nil), 404, "not_found")
	e.want(e.do("DELETE", path, nil), 404, "not_found")
	r = e.do("GET", fmt.Sprintf("/events?url_id=%d&event_type=deleted", id), nil)
	if r.num("total") != 1 {
		t.Fatalf("deleted events: %s", r.body)
	}
}

func eventTypes(r response) []string {
	data, _ := r.json["data"].([]any)
	var out []string
	for _, d := range data {
		out = append(out, d.(map[string]any)["event_type"].(string))
	}
	return out
}

func TestListLinkFilters(t *testing.T) {
	e := newEnv(t)
	u1, u2 := e.createUser("one"), e.createUser("two")
	e.createLink(map[string]any{"original_url": "https://a.org", "user_id": u1, "short_code": "aaa"})
	e.createLink(map[string]any{"original_url": "https://b.org", "user_id": u1, "is_active": false})
	e.createLink(map[string]any{"original_url": "https://c.org", "user_id": u2})
	for _, c := range []struct {
		query string
		total int64
	}{
		{"", 3}, {fmt.Sprintf("?user_id=%d", u1), 2}, {"?is_active=false", 1}, {"?is_active=true", 2},
		{"?short_code=aaa", 1}, {"?short_code=zzz", 0}, {fmt.Sprintf("?user_id=%d&is_active=true", u1), 1},
		// An empty value is no filter, as a form sends a blank field.
		{"?short_code=&user_id=&is_active=", 3},
	} {
		r := e.do("GET", "/urls"+c.query, nil)
		e.want(r, 200, "")
		if r.num("total") != c.total {
			t.Errorf("GET /urls%s total %d, want %d", c.query, r.num("total"), c.total)
		}
	}
	r := e.do("GET", "/urls?short_code=aaa", nil)
	data := r.json["data"].([]any)
	if data[0].(map[string]any)["short_url"] != "http://sho.rt/aaa" {
		t.Fatalf("listed link %v", data[0])
	}
}

func TestEvents(t *testing.T) {
	e := newEnv(t)
	uid := e.createUser("evuser")
	lid := e.createLink(map[string]any{"original_url": "https://a.org"}).num("id")
	r := e.do("POST", "/events", map[string]any{"event_type": "shared", "url_id": lid, "user_id": uid,
		"details": map[string]any{"channel": "email"}})
	e.want(r, 201, "")
	if r.str("event_type") != "shared" || r.num("url_id") != lid || r.num("user_id") != uid ||
		r.json["details"].(map[string]any)["channel"] != "email" || r.str("timestamp") == "" {
		t.Fatalf("event %s", r.body)
	}
	e.want(e.do("POST", "/events", map[string]any{"event_type": "x"}), 201, "")
	for _, c := range []struct {
		body, code, field string
		status            int
	}{
		{`{"url_id":1}`, "validation_failed", "event_type", 400},
		{`{"event_type":"a b"}`, "validation_failed", "event_type", 400},
		{`{"event_type":"x","url_id":99999}`, "not_found", "url_id", 404},
		{`{"event_type":"x","user_id":99999}`, "not_found", "user_id", 404},
		{`{"event_type":"x","details":[1]}`, "bad_request", "details", 400},
		{`{"event_type":"x","details":"s"}`, "bad_request", "details", 400},
		{`{"event_type":"x","details":{"a":"\u0000"}}`, "validation_failed", "details", 400},
		{`{"event_type":"x","url_id":"1"}`, "bad_request", "url_id", 400},
	} {
		r := e.do("POST", "/events", c.body)
		e.want(r, c.status, c.code)
		if r.str("field") != c.field {
			t.Errorf("%s: field %q, want %q", c.body, r.str("field"), c.field)
		}
	}
	r = e.do("GET", "/events?event_type=shared", nil)
	if r.num("total") != 1 {
		t.Fatalf("filtered events %s", r.body)
	}
	r = e.do("GET", fmt.Sprintf("/events?user_id=%d", uid), nil)
	if r.num("total") != 1 {
		t.Fatalf("events by user %s", r.body)
	}
}

// The slow path answers a redirect with the headers the edge gives it: the
// link's status, and Cache-Control public for the configured max-age when
// permanent (an hour in these tests), private for 90 s when temporary.
func TestSlowPathRedirectHeaders(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		status       int
		cacheControl string
	}{
		{301, "public, max-age=3600"}, {302, "private, max-age=90"},
		{307, "private, max-age=90"}, {308, "public, max-age=3600"},
	} {
		code := fmt.Sprintf("slow%d", c.status)
		e.createLink(map[string]any{"original_url": "https://example.com/" + code, "short_code": code, "redirect_type": c.status})
		r := e.do("GET", "/urls/"+code+"/redirect", nil, "Authorization", "")
		if r.status != c.status || r.header.Get("Location") != "https://example.com/"+code ||
			r.header.Get("Cache-Control") != c.cacheControl {
			t.Errorf("%s: %d %q %q, want %d with Cache-Control %q", code, r.status, r.header.Get("Location"),
				r.header.Get("Cache-Control"), c.status, c.cacheControl)
		}
	}
}

// The slow path keeps the edge's rules: a deactivated link and one past its
// click limit are 404 gone, counting no click, and a link created with
// forward_query gets the request's query appended to its target.
func TestSlowPathRedirectRules(t *testing.T) {
	e := newEnv(t)
	get := func(path string) response { return e.do("GET", path, nil, "Authorization", "") }

	e.createLink(map[string]any{"original_url": "https://example.com/off", "short_code": "slowoff", "is_active": false})
	e.want(get("/urls/slowoff/redirect"), 404, "gone")

	l := e.createLink(map[string]any{"original_url": "https://example.com/twice", "short_code": "slowtwice", "max_clicks": 2})
	for i := range 2 {
		if r := get("/urls/slowtwice/redirect"); r.status != 302 {
			t.Fatalf("click %d of 2: %d %s", i+1, r.status, r.body)
		}
	}
	e.want(get("/urls/slowtwice/redirect"), 404, "gone")
	e.want(get("/urls/slowtwice/redirect"), 404, "gone")
	// The two clicks let through are stored; the refused ones are not.
	id := l.num("id")
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := e.do("GET", fmt.Sprintf("/urls/%d/stats", id), nil).num("clicks")
		if n == 2 {
			break
		}
		if n > 2 || time.Now().After(deadline) {
			t.Fatalf("clicks of a link limited to 2: %d", n)
		}
		time.Sleep(50 * time.Millisecond)
	}

	e.createLink(map[string]any{"original_url": "https://example.com/q?a=1", "short_code": "slowfwd", "forward_query": true})
	if r := get("/urls/slowfwd/redirect?utm_source=x&b=2"); r.status != 302 ||
		r.header.Get("Location") != "https://example.com/q?a=1&utm_source=x&b=2" {
		t.Fatalf("forward_query: %d %q", r.status, r.header.Get("Location"))
	}
	e.createLink(map[string]any{"original_url": "https://example.com/noq", "short_code": "slownofwd"})
	if r := get("/urls/slownofwd/redirect?utm_source=x"); r.header.Get("Location") != "https://example.com/noq" {
		t.Fatalf("without forward_query: %d %q", r.status, r.header.Get("Location"))
	}
}
