package origin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/origin"
)

// newKey creates an API key through the API with the test's admin token and
// returns it and its id.
func (e *env) newKey(role string, userID int64) (string, int64) {
	e.t.Helper()
	body := map[string]any{"name": role + " key", "role": role}
	if userID != 0 {
		body["user_id"] = userID
	}
	r := e.do("POST", "/keys", body)
	e.want(r, 201, "")
	key := r.str("key")
	if !rebound.KeyShaped(key) {
		e.t.Fatalf("POST /keys answered key %q", key)
	}
	return key, r.num("id")
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

func mustPrefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestKeysAreShownOnceAndStoredHashed(t *testing.T) {
	e := newEnv(t)
	key, id := e.newKey("reader", 0)
	r := e.do("POST", "/keys", map[string]any{"name": "ci", "role": "admin", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
	e.want(r, 201, "")
	if r.str("prefix") != r.str("key")[:rebound.KeyShownLen] || r.json["expires_at"] == nil || r.json["revoked_at"] != nil {
		t.Fatalf("created key: %s", r.body)
	}
	list := e.do("GET", "/keys", nil)
	e.want(list, 200, "")
	if strings.Contains(string(list.body), key) || strings.Contains(string(list.body), r.str("key")) ||
		strings.Contains(string(list.body), `"hash"`) || list.num("total") != 2 {
		t.Fatalf("GET /keys shows a key or its hash, or misses one: %s", list.body)
	}
	var stored []byte
	if err := e.pg().QueryRow(context.Background(), "SELECT hash FROM api_keys WHERE id = $1", id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if string(stored) != string(rebound.HashKey(key)) {
		t.Fatal("the stored hash is not the key's SHA-256")
	}
	e.want(e.do("GET", "/urls", nil, bearer(key)...), 200, "")
	e.want(e.do("DELETE", fmt.Sprintf("/keys/%d", id), nil), 204, "")
	e.want(e.do("GET", "/urls", nil, bearer(key)...), 401, "unauthorized")
	e.want(e.do("DELETE", "/keys/999999", nil), 404, "not_found")
	e.want(e.do("DELETE", "/keys/x", nil), 404, "not_found")
}

func TestKeyInputIsValidated(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		body        any
		status      int
		code, field string
	}{
		{map[string]any{"role": "admin"}, 400, "validation_failed", "name"},
		{map[string]any{"name": "", "role": "admin"}, 400, "validation_failed", "name"},
		{map[string]any{"name": strings.Repeat("n", 129), "role": "admin"}, 400, "validation_failed", "name"},
		{map[string]any{"name": "x\ny", "role": "admin"}, 400, "validation_failed", "name"},
		{map[string]any{"name": "k"}, 400, "validation_failed", "role"},
		{map[string]any{"name": "k", "role": "root"}, 400, "validation_failed", "role"},
		{map[string]any{"name": "k", "role": 3}, 400, "bad_request", "role"},
		{map[string]any{"name": "k", "role": "author"}, 400, "validation_failed", "user_id"},
		{map[string]any{"name": "k", "role": "author", "user_id": 4242}, 404, "not_found", "user_id"},
		{map[string]any{"name": "k", "role": "admin", "expires_at": "2020-01-01T00:00:00Z"}, 400, "validation_failed", "expires_at"},
		{map[string]any{"name": "k", "role": "admin", "expires_at": "tomorrow"}, 400, "validation_failed", "expires_at"},
		{`[]`, 400, "bad_request", ""},
	} {
		r := e.do("POST", "/keys", c.body)
		e.want(r, c.status, c.code)
		if r.str("field") != c.field {
			t.Errorf("%v: field %q, want %q", c.body, r.str("field"), c.field)
		}
	}
}

// TestBadCredentials sends every kind of wrong Authorization header: each
// is a 401 with the JSON error shape, never a 500.
func TestBadCredentials(t *testing.T) {
	e := newEnv(t)
	key, id := e.newKey("admin", 0)
	e.want(e.do("DELETE", fmt.Sprintf("/keys/%d", id), nil), 204, "")
	valid, _ := e.newKey("admin", 0)
	for name, header := range map[string]string{
		"no scheme":          valid,
		"basic":              "Basic dXNlcjpwYXNz",
		"empty bearer":       "Bearer ",
		"two tokens":         "Bearer " + valid + " " + token,
		"two tokens, comma":  "Bearer " + valid + "," + token,
		"short key":          "Bearer rb_abc",
		"long key":           "Bearer " + valid + "x",
		"bad character":      "Bearer rb_" + strings.Repeat("!", rebound.KeyRandomLen),
		"unknown key":        "Bearer rb_" + strings.Repeat("A", rebound.KeyRandomLen),
		"revoked key":        "Bearer " + key,
		"wrong token":        "Bearer not-the-token",
		"non-ASCII":          "Bearer rb_\u00e9\u00e9\u00e9",
		"a token in a token": "Bearer " + token + "x",
	} {
		r := e.do("GET", "/urls", nil, "Authorization", header, "X-Forwarded-For", name)
		if r.status != 401 || r.str("code") != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Two Authorization headers are refused, even when both are good.
	req, _ := http.NewRequest("GET", e.url+"/urls", nil)
	req.Header.Add("Authorization", "Bearer "+valid)
	req.Header.Add("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("two Authorization headers: %d", res.StatusCode)
	}
	e.want(e.do("GET", "/urls", nil, "Authorization", "bearer "+valid), 200, "")
}

func TestExpiredKeyIsRefused(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/keys", map[string]any{"name": "short", "role": "reader",
		"expires_at": time.Now().Add(1500 * time.Millisecond).Format(time.RFC3339Nano)})
	e.want(r, 201, "")
	key := r.str("key")
	e.want(e.do("GET", "/urls", nil, bearer(key)...), 200, "")
	time.Sleep(1600 * time.Millisecond)
	r = e.do("GET", "/urls", nil, bearer(key)...)
	e.want(r, 401, "unauthorized")
	if !strings.Contains(r.str("error"), "expired") {
		t.Errorf("error %q does not say the key expired", r.str("error"))
	}
}

// TestFailedAuthenticationsAreLimited: the 21st failure within a minute
// from one client is a 429 with Retry-After, whatever it sends; another
// client, and the same client without a failure, are unaffected.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	e := newEnv(t, func(o *origin.Options) { o.TrustedProxies = mustPrefixes("127.0.0.1/32") })
	attacker := []string{"X-Forwarded-For", "203.0.113.9"}
	for i := range 20 {
		r := e.do("GET", "/urls", nil, append([]string{"Authorization", "Bearer guess"}, attacker...)...)
		if r.status != 401 {
			t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := e.do("GET", "/urls", nil, append([]string{"Authorization", "Bearer guess"}, attacker...)...)
	e.want(r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Even the right token is not checked for a client over the limit.
	e.want(e.do("GET", "/urls", nil, attacker...), 429, "rate_limited")
	e.want(e.do("GET", "/urls", nil, "X-Forwarded-For", "203.0.113.10"), 200, "")
	// Requests without credentials are no guesses.
	for range 25 {
		e.want(e.do("GET", "/urls", nil, "Authorization", "", "X-Forwarded-For", "203.0.113.11"), 401, "unauthorized")
	}
	e.want(e.do("GET", "/urls", nil, "X-Forwarded-For", "203.0.113.11"), 200, "")
	// An untrusted peer's X-Forwarded-For is its own to forge: the limit
	// follows the peer, here the test's own 127.0.0.1.
	u := newEnv(t)
	for range 20 {
		u.do("GET", "/urls", nil, "Authorization", "Bearer guess", "X-Forwarded-For", "198.51.100.1")
	}
	u.want(u.do("GET", "/urls", nil, "X-Forwarded-For", "198.51.100.2"), 429, "rate_limited")
}

func TestAuthorOwnsItsLinks(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.createUser("alice"), e.createUser("bob")
	key, keyID := e.newKey("author", alice)
	as := bearer(key)

	r := e.do("POST", "/urls", map[string]any{"original_url": "https://a.example/1"}, as...)
	e.want(r, 201, "")
	if r.num("user_id") != alice {
		t.Fatalf("an author's link is owned by %v, want %d", r.json["user_id"], alice)
	}
	own := r.num("id")
	e.want(e.do("POST", "/urls", map[string]any{"original_url": "https://a.example/2", "user_id": bob}, as...), 403, "forbidden")
	e.want(e.do("POST", "/urls", map[string]any{"original_url": "https://a.example/2", "user_id": nil}, as...), 403, "forbidden")
	others := e.createLink(map[string]any{"original_url": "https://b.example/1", "user_id": bob}).num("id")
	orphan := e.createLink(map[string]any{"original_url": "https://c.example/1"}).num("id")

	for _, id := range []int64{others, orphan} {
		for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
			var body any
			if m == "PATCH" || m == "PUT" {
				body = map[string]any{"title": "mine now"}
			}
			e.want(e.do(m, fmt.Sprintf("/urls/%d", id), body, as...), 404, "not_found")
		}
		e.want(e.do("GET", fmt.Sprintf("/urls/%d/stats", id), nil, as...), 404, "not_found")
	}
	e.want(e.do("GET", fmt.Sprintf("/urls/%d/stats", own), nil, as...), 200, "")
	e.want(e.do("PATCH", fmt.Sprintf("/urls/%d", own), map[string]any{"user_id": bob}, as...), 403, "forbidden")
	r = e.do("PATCH", fmt.Sprintf("/urls/%d", own), map[string]any{"title": "Mine"}, as...)
	e.want(r, 200, "")

	list := e.do("GET", "/urls", nil, as...)
	e.want(list, 200, "")
	if list.num("total") != 1 {
		t.Fatalf("an author lists %d links, want its 1: %s", list.num("total"), list.body)
	}
	if l := e.do("GET", fmt.Sprintf("/urls?user_id=%d", bob), nil, as...); l.num("total") != 0 {
		t.Fatalf("an author filtering on another user sees %s", l.body)
	}

	e.want(e.do("GET", fmt.Sprintf("/users/%d", alice), nil, as...), 200, "")
	e.want(e.do("GET", fmt.Sprintf("/users/%d", bob), nil, as...), 403, "forbidden")
	e.want(e.do("GET", "/users", nil, as...), 403, "forbidden")
	e.want(e.do("GET", "/events", nil, as...), 403, "forbidden")
	e.want(e.do("GET", "/keys", nil, as...), 403, "forbidden")

	// A bulk import gives rows without user_id to the author's user and
	// reports rows naming another.
	csv := fmt.Sprintf("original_url,short_code,user_id\nhttps://a.example/b1,ab1,\nhttps://a.example/b2,ab2,%d\nhttps://a.example/b3,ab3,%d\n", bob, alice)
	res := e.do("POST", "/urls/bulk", csv, append(as, "Content-Type", "text/csv")...)
	e.want(res, 200, "")
	if res.num("imported") != 2 || res.num("skipped") != 1 || !strings.Contains(string(res.body), `"line":3`) {
		t.Fatalf("author import: %s", res.body)
	}
	var owner *int64
	if err := e.pg().QueryRow(context.Background(), "SELECT user_id FROM urls WHERE short_code = 'ab1'").Scan(&owner); err != nil || owner == nil || *owner != alice {
		t.Fatalf("an author's imported row is owned by %v (%v)", owner, err)
	}

	// Every event the key caused names it.
	var actors []json.RawMessage
	rows, err := e.pg().Query(context.Background(), "SELECT details->'actor' FROM events WHERE url_id = $1 ORDER BY id", own)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a json.RawMessage
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, a)
	}
	if len(actors) != 2 || string(actors[0]) != fmt.Sprint(keyID) || string(actors[1]) != fmt.Sprint(keyID) {
		t.Fatalf("actors of the author's link events: %s, want %d twice", actors, keyID)
	}
}

func TestReaderOnlyReads(t *testing.T) {
	e := newEnv(t)
	key, _ := e.newKey("reader", 0)
	l := e.createLink(map[string]any{"original_url": "https://r.example/"})
	for _, path := range []string{"/urls", fmt.Sprintf("/urls/%d", l.num("id")), fmt.Sprintf("/urls/%d/stats", l.num("id")), "/users", "/events", "/tags"} {
		e.want(e.do("GET", path, nil, bearer(key)...), 200, "")
	}
	e.want(e.do("POST", "/urls", map[string]any{"original_url": "https://r.example/2"}, bearer(key)...), 403, "forbidden")
	e.want(e.do("DELETE", fmt.Sprintf("/urls/%d", l.num("id")), nil, bearer(key)...), 403, "forbidden")
	e.want(e.do("GET", "/keys", nil, bearer(key)...), 403, "forbidden")
}

func TestEventsRecordTheActor(t *testing.T) {
	e := newEnv(t)
	key, id := e.newKey("admin", 0)
	l := e.createLink(map[string]any{"original_url": "https://e.example/"})
	e.want(e.do("DELETE", fmt.Sprintf("/urls/%d", l.num("id")), nil, bearer(key)...), 204, "")
	r := e.do("POST", "/events", map[string]any{"event_type": "note", "details": map[string]any{"actor": "someone else", "x": 1}}, bearer(key)...)
	e.want(r, 201, "")
	if d, _ := r.json["details"].(map[string]any); d["actor"] != float64(id) || d["x"] != float64(1) {
		t.Fatalf("a posted event's details: %v, want actor %d and x kept", r.json["details"], id)
	}
	csv := "event_type,details\nimported,\"{\"\"actor\"\":\"\"old system\"\"}\"\nimported,{}\n"
	e.want(e.do("POST", "/events/bulk", csv, append(bearer(key), "Content-Type", "text/csv")...), 200, "")
	got := map[string]int{}
	rows, err := e.pg().Query(context.Background(), "SELECT event_type, details->>'actor' FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, actor string
		if err := rows.Scan(&kind, &actor); err != nil {
			t.Fatal(err)
		}
		got[kind+" by "+actor]++
	}
	want := map[string]int{"created by token": 1, fmt.Sprintf("deleted by %d", id): 1, fmt.Sprintf("note by %d", id): 1,
		"imported by old system": 1, fmt.Sprintf("imported by %d", id): 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events by actor: %v, want %v", got, want)
	}
}

func TestKeyUseIsRecordedInBatches(t *testing.T) {
	e := newEnv(t, func(o *origin.Options) { o.KeyUseFlushInterval = 50 * time.Millisecond })
	e.runBackground()
	key, id := e.newKey("reader", 0)
	var used *time.Time
	read := func() *time.Time {
		if err := e.pg().QueryRow(context.Background(), "SELECT last_used_at FROM api_keys WHERE id = $1", id).Scan(&used); err != nil {
			t.Fatal(err)
		}
		return used
	}
	if read() != nil {
		t.Fatal("a new key has a last use")
	}
	before := time.Now()
	for range 10 {
		e.want(e.do("GET", "/urls", nil, bearer(key)...), 200, "")
	}
	deadline := time.Now().Add(5 * time.Second)
	for read() == nil {
		if time.Now().After(deadline) {
			t.Fatal("last_used_at was not written")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if used.Before(before.Add(-time.Second)) {
		t.Fatalf("last_used_at %v is before the requests (%v)", used, before)
	}
}

func TestTagsSearchAndSort(t *testing.T) {
	e := newEnv(t)
	a := e.createLink(map[string]any{"original_url": "https://shop.example/spring", "title": "Spring Sale", "tags": []string{"Promo", "spring", "promo"}})
	if fmt.Sprint(a.json["tags"]) != "[promo spring]" {
		t.Fatalf("tags %v, want lower-cased without repeats", a.json["tags"])
	}
	b := e.createLink(map[string]any{"original_url": "https://blog.example/post", "short_code": "Blog_1", "tags": []string{"promo"}})
	c := e.createLink(map[string]any{"original_url": "https://docs.example/half", "title": "50%_off"})
	ids := func(r response) string {
		var out []string
		for _, l := range r.json["data"].([]any) {
			out = append(out, fmt.Sprint(l.(map[string]any)["id"]))
		}
		return strings.Join(out, ",")
	}
	id := func(r response) string { return fmt.Sprint(r.num("id")) }
	for query, want := range map[string]string{
		"?tag=promo":                      id(b) + "," + id(a),
		"?tag=promo&tag=SPRING":           id(a),
		"?tag=none":                       "",
		"?q=SALE":                         id(a),
		"?q=blog_":                        id(b),
		"?q=50%25_":                       id(c),
		"?q=%25":                          id(c),
		"?q=example&sort=created_at":      id(a) + "," + id(b) + "," + id(c),
		"?q=example":                      id(c) + "," + id(b) + "," + id(a),
		"?q=example&tag=promo&per_page=1": id(b),
	} {
		r := e.do("GET", "/urls"+query, nil)
		e.want(r, 200, "")
		if got := ids(r); got != want {
			t.Errorf("GET /urls%s: ids %s, want %s", query, got, want)
		}
	}
	for query, total := range map[string]int64{"?q=example&tag=promo&per_page=1": 2, "?q=example&page=9": 3, "?q=nothing": 0,
		"?q=example&sort=-clicks&per_page=1": 3, "?tag=promo&page=9": 2} {
		if r := e.do("GET", "/urls"+query, nil); r.num("total") != total {
			t.Errorf("GET /urls%s: total %d, want %d", query, r.num("total"), total)
		}
	}
	// Clicks order the list and count toward their tags.
	e.want(e.do("GET", "/urls/Blog_1/redirect", nil), 302, "")
	e.want(e.do("GET", "/urls/Blog_1/redirect", nil), 302, "")
	e.want(e.do("GET", "/urls/"+a.str("short_code")+"/redirect", nil), 302, "")
	if r := e.do("GET", "/urls?sort=-clicks", nil); ids(r) != id(b)+","+id(a)+","+id(c) {
		t.Errorf("sort=-clicks: %s", ids(r))
	}
	if r := e.do("GET", "/urls?sort=clicks", nil); ids(r) != id(c)+","+id(a)+","+id(b) {
		t.Errorf("sort=clicks: %s", ids(r))
	}
	tags := e.do("GET", "/tags", nil)
	e.want(tags, 200, "")
	var body struct {
		Data []struct {
			Tag    string
			Links  int64
			Clicks int64
		}
	}
	if err := json.Unmarshal(tags.body, &body); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(body.Data) != "[{promo 2 3} {spring 1 1}]" {
		t.Fatalf("GET /tags: %s", tags.body)
	}
	// Tags change with an update, and an empty list clears them.
	r := e.do("PATCH", "/urls/"+id(a), map[string]any{"tags": []string{}})
	e.want(r, 200, "")
	if fmt.Sprint(r.json["tags"]) != "[]" {
		t.Fatalf("cleared tags: %v", r.json["tags"])
	}
	tagsNow := func() string {
		t.Helper()
		body.Data = nil
		r := e.do("GET", "/tags", nil)
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(body.Data)
	}
	if got := tagsNow(); got != "[{promo 1 2}]" {
		t.Fatalf("GET /tags after a link's tags were cleared: %s", got)
	}
	e.want(e.do("PATCH", "/urls/"+id(c), map[string]any{"tags": []string{"promo", "docs"}}), 200, "")
	e.want(e.do("DELETE", "/urls/"+id(b), nil), 204, "")
	if got := tagsNow(); got != "[{docs 1 0} {promo 1 0}]" {
		t.Fatalf("GET /tags after a retag and a delete: %s", got)
	}
	res := e.do("POST", "/urls/bulk", "original_url,tags\nhttps://i.example/1,Docs|new\nhttps://i.example/2,bad tag\n", "Content-Type", "text/csv")
	if res.num("imported") != 1 || res.num("skipped") != 1 {
		t.Fatalf("import with tags: %s", res.body)
	}
	if got := tagsNow(); got != "[{docs 2 0} {new 1 0} {promo 1 0}]" {
		t.Fatalf("GET /tags after an import: %s", got)
	}
}

func TestBadTagsAndSearches(t *testing.T) {
	e := newEnv(t)
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	for _, tags := range []any{[]string{"has space"}, []string{"ünï"}, []string{""}, []string{strings.Repeat("x", 65)},
		[]string{"a/b"}, many, "promo", []any{1}, nil} {
		r := e.do("POST", "/urls", map[string]any{"original_url": "https://t.example/", "tags": tags})
		if r.status != 400 || r.str("field") != "tags" {
			t.Errorf("tags %v: %d %s", tags, r.status, r.body)
		}
	}
	for _, q := range []string{"?tag=a%20b", "?tag=" + strings.Repeat("x", 65), "?sort=title", "?sort=", "?q=%00", "?q=%0a",
		"?q=" + strings.Repeat("x", 257), "?q=%ff", "?" + strings.Repeat("tag=a&", 21)} {
		r := e.do("GET", "/urls"+q, nil)
		if q == "?sort=" {
			e.want(r, 200, "")
			continue
		}
		e.want(r, 400, "bad_request")
	}
}

func TestEmailNeedsADotInItsDomain(t *testing.T) {
	e := newEnv(t)
	for _, email := range []string{"user@nodomain", "user@localhost", "user@.example", "user@example.", "user@a..b"} {
		r := e.do("POST", "/users", map[string]any{"username": "u", "email": email})
		e.want(r, 400, "validation_failed")
		if r.str("field") != "email" {
			t.Errorf("%s: field %q", email, r.str("field"))
		}
	}
	e.want(e.do("POST", "/users", map[string]any{"username": "u", "email": "user@mail.example.org"}), 201, "")
}
